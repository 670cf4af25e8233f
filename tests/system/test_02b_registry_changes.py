"""Adding, changing and deleting subscribers keeps segments correct (issue
3): a deleted subscriber is never notified, one who moved away is not
warned at the old place, one who moved into range is."""

import json
import os

from conftest import REPO, SECRET, lib, wait_alert_complete, wait_until

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")
BUCHAREST = (44.4268, 26.1025)
LISBON = (38.7223, -9.1393)


def doc(sub_id, where, sink):
    return (json.dumps({"id": sub_id, "lat": where[0], "lon": where[1], "lang": "ro",
                        "channels": {"webhook": {"url": sink + "/hook", "secret": SECRET}}}) + "\n").encode()


def test_delete_and_move(stack, sink):
    auth = {"Authorization": "Bearer " + stack.token}
    lib.import_subscribers(stack.api, stack.token, [doc("reg-keep", BUCHAREST, sink), doc("reg-del", BUCHAREST, sink),
                                                    doc("reg-move", BUCHAREST, sink), doc("reg-far", LISBON, sink)])
    status, _ = lib.http_request("DELETE", stack.api + "/v1/subscribers/reg-del", headers=auth)
    assert status == 204
    status, body = lib.http_request("DELETE", stack.api + "/v1/subscribers/reg-del", headers=auth)
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
    status, _ = lib.http_request("DELETE", stack.api + "/v1/subscribers/reg-keep", headers={"Authorization": "Bearer x"})
    assert status == 401
    # Moves: the same ids imported again with new places.
    lib.import_subscribers(stack.api, stack.token, [doc("reg-move", LISBON, sink), doc("reg-far", BUCHAREST, sink)])
    with open(EVENT, "rb") as f:
        _, reply = lib.post_event(stack.api, stack.token, f.read())
    alert = lib.alert_of(reply)["alert_id"]
    st = wait_alert_complete(stack, alert)
    wait_until(lambda: lib.sink_summary(sink, alert)["distinct"] >= st["notified"], 20, 0.1, "sink to catch up")
    got = set(lib.sink_ids(sink, alert))
    assert "reg-keep" in got and "reg-far" in got
    assert "reg-del" not in got and "reg-move" not in got
