"""Decisions over an earthquake's life (issue 4): a deep Vrancea quake
alerts Bucharest and not a far city below its threshold; the magnitude
raised alerts only the newly reached; the same quake reported by a second
source seconds later is the same alert and warns nobody again; a
retraction reaches exactly those alerted. Counted at the webhook sink."""

import json
import time
import uuid

from conftest import SECRET, lib, wait_alert_complete, wait_until

VRANCEA = (45.77, 26.76, 94.0)
# Predicted MMI (the Vrancea model, tools/qc_ipe.py) at these towns, and
# their subscribers' thresholds (met from threshold - 0.5):
# M6.5: Bucharest 5.2 (threshold IV), Brasov 4.2 (V), Timisoara 1.0 (IV);
# M7.0: 6.1, 4.8, 1.3. Brasov lies behind the Carpathian arc.
TOWNS = {"buc": (44.4268, 26.1025, 4), "bra": (45.6427, 25.5887, 5), "tim": (45.7489, 21.2087, 4)}


def quake(net, code, mag, origin_ms, updated_ms, status="reviewed", dlat=0.0):
    return json.dumps({
        "type": "Feature", "id": net + code,
        "properties": {"mag": mag, "place": "Vrancea, Romania", "time": origin_ms, "updated": updated_ms,
                       "status": status, "type": "earthquake", "net": net, "code": code, "magType": "mww"},
        "geometry": {"type": "Point", "coordinates": [VRANCEA[1], VRANCEA[0] + dlat, VRANCEA[2]]},
    }).encode()


def post(stack, doc):
    _, reply = lib.post_event(stack.api, stack.token, doc, replay=None)
    ev = reply["events"][0]
    return ev


def counts(sink, alert, ids):
    got = lib.sink_ids(sink, alert)
    return {i: got[i][0] if i in got else 0 for i in ids}


def cap(stack, alert):
    """The alert's latest CAP message: (msgType, references)."""
    import xml.etree.ElementTree as ET
    status, body = lib.http_request("GET", "%s/v1/alerts/%s.cap" % (stack.api, alert))
    assert status == 200, body
    ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
    root = ET.fromstring(body)
    refs = root.find("cap:references", ns)
    return root.find("cap:msgType", ns).text, (refs.text.split() if refs is not None else [])


def test_alert_update_second_source_and_retraction(stack, sink):
    tag = uuid.uuid4().hex[:8]
    ids = {t: ["rv-%s-%s-%d" % (tag, t, k) for k in range(3)] for t in TOWNS}
    lines = [(json.dumps({"id": i, "lat": TOWNS[t][0], "lon": TOWNS[t][1], "min_mmi": TOWNS[t][2], "lang": "ro",
                          "channels": {"webhook": {"url": sink + "/hook", "secret": SECRET}}}) + "\n").encode()
             for t in ids for i in ids[t]]
    lib.import_subscribers(stack.api, stack.token, lines)
    everyone = [i for t in ids for i in ids[t]]
    origin = int(time.time() * 1000) - 2000
    code = "qc" + tag

    # 1. The first estimate: M6.5 reaches Bucharest only.
    ev = post(stack, quake("us", code, 6.5, origin, origin + 1000))
    assert ev["decision"] == "alert", ev
    alert = ev["alert_id"]
    wait_alert_complete(stack, alert)
    wait_until(lambda: all(counts(sink, alert, ids["buc"]).values()), 20, 0.1, "Bucharest warned")
    c = counts(sink, alert, everyone)
    assert all(c[i] == 1 for i in ids["buc"]), c
    assert not any(c[i] for i in ids["bra"] + ids["tim"]), c
    wait_until(lambda: cap(stack, alert)[0] == "Alert", 10, 0.1, "the CAP alert")

    # 2. Raised to M7.0: Brasov is newly reached; Bucharest is not warned again.
    ev = post(stack, quake("us", code, 7.0, origin, origin + 5000))
    assert ev["decision"] == "update" and ev["alert_id"] == alert, ev
    wait_alert_complete(stack, alert)
    wait_until(lambda: all(counts(sink, alert, ids["bra"]).values()), 20, 0.1, "Brasov warned")
    c = counts(sink, alert, everyone)
    assert all(c[i] == 1 for i in ids["buc"] + ids["bra"]), c
    assert not any(c[i] for i in ids["tim"]), c
    kind, refs = wait_until(lambda: (lambda r: r if r[0] == "Update" else None)(cap(stack, alert)), 10, 0.1, "CAP")
    assert len(refs) == 1 and ",quakecast-%s-0," % alert in refs[0], refs

    # 3. A repeat of the same revision, and a report of the same quake by
    # another source, 11 km away, 3 s apart: the same alert, nobody again.
    ev = post(stack, quake("us", code, 7.0, origin, origin + 5000))
    assert ev["decision"] == "duplicate" and ev["alert_id"] == alert, ev
    ev = post(stack, quake("emsc", "20" + tag, 6.9, origin + 3000, origin + 6000, dlat=0.1))
    assert ev["decision"] == "duplicate" and ev["alert_id"] == alert and ev["reason"] == "associated", ev
    # A revision down warns nobody either.
    ev = post(stack, quake("us", code, 6.6, origin, origin + 7000))
    assert ev["decision"] == "duplicate" and ev["reason"] == "revised_down", ev

    # 4. Retracted by its source: a cancellation to exactly those warned.
    ev = post(stack, quake("us", code, 7.0, origin, origin + 9000, status="deleted"))
    assert ev["decision"] == "cancel" and ev["alert_id"] == alert, ev
    wait_alert_complete(stack, alert)
    warned = ids["buc"] + ids["bra"]
    wait_until(lambda: all(v == 2 for v in counts(sink, alert, warned).values()), 20, 0.1, "the cancellations")
    c = counts(sink, alert, everyone)
    assert all(c[i] == 2 for i in warned) and not any(c[i] for i in ids["tim"]), c
    kind, refs = wait_until(lambda: (lambda r: r if r[0] == "Cancel" else None)(cap(stack, alert)), 10, 0.1, "CAP")
    assert len(refs) == 2, refs  # the Cancel names the Alert and the Update
    # After a retraction, more reports of that quake alert nobody.
    ev = post(stack, quake("emsc", "20" + tag, 7.1, origin + 3000, origin + 12000, dlat=0.1))
    assert ev["decision"] == "duplicate" and ev["reason"] == "alert_cancelled", ev
    ev = post(stack, quake("us", code, 7.0, origin, origin + 13000, status="deleted"))
    assert ev["decision"] == "duplicate" and ev["reason"] == "already_cancelled", ev
