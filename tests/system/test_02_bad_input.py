"""Bad input never crashes a process and never loses what was stored: a
malformed import line, a malformed event document and undecodable Kafka
records on both topics each get a clear error or a counted skip, and the
system still alerts afterwards."""

import json
import os
import subprocess

from conftest import BUILD, REPO, gen_subscribers, lib, wait_alert_complete, wait_until

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")


def auth(stack):
    return {"Authorization": "Bearer " + stack.token}


def test_import_rejects_bad_lines_and_keeps_good_ones(stack, sink):
    good = gen_subscribers(3, sink, seed=11, prefix="bad-ok-")
    body = (good[0] + b'{"id":"x1","lat":91,"lon":26,"channels":{"webhook":{"url":"http://127.0.0.1:1/h","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}}\n'
            + b"this is not json\n" + good[1]
            + b'{"id":"x2","lat":44,"lon":26,"channels":{}}\n'
            + b'{"id":"x3","lat":44,"lon":26,"channels":{"sms":{"phone":"0712"}}}\n' + good[2])
    status, data = lib.http_request("POST", stack.api + "/v1/subscribers/import", body, auth(stack))
    assert status == 200
    reply = json.loads(data)
    assert reply["imported"] == 3
    got = {r["line"]: r["code"] for r in reply["rejected"]}
    assert got == {2: "invalid_location", 3: "invalid_json", 5: "no_channel", 6: "invalid_phone"}
    assert all(r["error"] for r in reply["rejected"])


def test_import_needs_the_admin_token(stack):
    status, data = lib.http_request("POST", stack.api + "/v1/subscribers/import", b"{}\n",
                                    {"Authorization": "Bearer wrong"})
    assert status == 401 and json.loads(data)["error"]["code"] == "unauthorized"


def test_malformed_event_documents_get_400(stack):
    before = stack.metric(stack.api, "quakecast_bad_input_total")
    for doc in [b'{"type":"FeatureCollection","features":[', b"<xml/>",
                b'{"type":"Feature","properties":{"mag":5},"geometry":{"type":"Point","coordinates":[26,95,10]}}']:
        status, data = lib.http_request("POST", stack.api + "/v1/events", doc, auth(stack))
        assert status == 400, data
        err = json.loads(data)["error"]
        assert err["code"] == "invalid_document" and err["message"]
    assert stack.metric(stack.api, "quakecast_bad_input_total") >= before + 3
    assert stack.healthy()


def test_undecodable_kafka_records_are_skipped(stack, sink):
    put = os.path.join(BUILD, "tests", "tools", "qc-kafka-put")
    urls = stack.dispatcher_urls()
    before_p = stack.metric(stack.api, 'quakecast_bad_input_total{kind="kafka_record"}')
    before_d = sum(stack.metric(u, 'quakecast_bad_input_total{kind="kafka_record"}') for u in urls)
    for topic in ("quake.events", "quake.dispatch"):
        for i, junk in enumerate([b"\xc1\xc1garbage", b"\x81\xa1v\x05", b""]):
            subprocess.run([put, stack.bootstrap, topic, "junk-%d" % i], input=junk, check=True)
    wait_until(lambda: stack.metric(stack.api, 'quakecast_bad_input_total{kind="kafka_record"}') >= before_p + 3,
               30, 0.2, "processor to count the bad records")
    wait_until(lambda: sum(stack.metric(u, 'quakecast_bad_input_total{kind="kafka_record"}') for u in urls)
               >= before_d + 3, 30, 0.2, "dispatchers to count the bad records")
    procs = stack.ps()
    infra = {"redis", "kafka"} if stack.vars["QUAKECAST_TOPOLOGY"] == "single" else \
        {"redis-%d" % i for i in range(1, 7)} | {"kafka-%d" % i for i in range(1, 4)}
    assert {"processor", "dispatcher-1", "dispatcher-2"} | infra <= set(procs)
    assert stack.healthy()
    # Nothing stored was lost and the pipeline still works.
    lines = gen_subscribers(200, sink, seed=12, prefix="after-bad-")
    lib.import_subscribers(stack.api, stack.token, lines)
    with open(EVENT, "rb") as f:
        _, reply = lib.post_event(stack.api, stack.token, f.read())
    alert = lib.alert_of(reply)["alert_id"]
    st = wait_alert_complete(stack, alert)
    assert st["notified"] == st["targeted"] > 0
