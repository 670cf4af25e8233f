"""Area broadcasts (issue 13, item 3): people who listen to their area's
push topic or Telegram channel are warned by one message per area, cell and
threshold, carrying that area's own intensity and countdown, and get no
personal message on that channel; an area whose message the provider
refuses falls back to personal messages, so nobody is lost with it.

Checked from what the fake providers received, with the two dispatchers of
the session stack racing for the same areas, and with the route names the
public API gives (GET /v1/areas), so the API and the dispatcher agree."""

import json
import math
import os
import time
import urllib.parse

from conftest import REPO, lib, redis_cli, wait_alert_complete, wait_until

import qc_ipe

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")

# Cells of the 0.25 degree grid (none shared with another test's people of
# these channels), 30-170 km from the 1977 epicentre.
BUCHAREST = (44.43, 26.10)
PLOIESTI = (44.94, 26.02)
BRAILA = (45.27, 27.96)
# Cells with nobody in them: Galati (reached by the 1977 quake at IV), and
# Cluj (about 330 km away: not reached at VII)
GALATI_CELL, CLUJ_CELL = "181:112", "187:94"


def areas(stack, lat, lon, mmi):
    q = urllib.parse.urlencode({"lat": lat, "lon": lon, "min_mmi": mmi})
    return lib.http_json("GET", stack.api + "/v1/areas?" + q)


def person(pid, lat, lon, mmi, channels):
    return (json.dumps({"id": pid, "lat": lat, "lon": lon, "lang": "en", "min_mmi": mmi,
                        "channels": channels}) + "\n").encode()


def test_areas_api_names_and_refusals(stack):
    a = areas(stack, 44.43, 26.10, 5)
    assert a["cell"] == "177:104" and a["min_mmi"] == 5
    assert a["push"]["topic"] == "qc_N177_E104_i5"
    assert a["telegram"]["channel"] == "@qctg_N177_E104_i5"
    s = areas(stack, -33.45, -70.66, 4)  # Santiago: south and west
    assert s["push"]["topic"] == "qc_S134_W283_i4", s
    for bad in ("lat=91&lon=0", "lat=x&lon=0", "lat=1&lon=0&min_mmi=11", "lat=1&lon=0&min_mmi=4.5", "lon=2"):
        status, body = lib.http_request("GET", stack.api + "/v1/areas?" + bad)
        assert status == 400, (bad, status, body)
        assert json.loads(body)["error"]["code"] in ("invalid_location", "invalid_min_mmi")


def test_one_message_per_area_instead_of_one_each(stack, providers):
    providers.reset()
    lines, area_tokens, personal_tokens, area_chats = [], [], [], []
    for k in range(20):  # Bucharest, warned from IV, listening to the topic
        tok = "area-b4-%02d" % k
        area_tokens.append(tok)
        lines.append(person("area-b4-%02d" % k, BUCHAREST[0] + k * 0.005, BUCHAREST[1] + 0.01, 4,
                            {"push": {"token": tok, "area": True}}))
    for k in range(5):  # Bucharest, from V
        tok = "area-b5-%02d" % k
        area_tokens.append(tok)
        lines.append(person("area-b5-%02d" % k, BUCHAREST[0] + 0.01, BUCHAREST[1] + k * 0.005, 5,
                            {"push": {"token": tok, "area": True}}))
    for k in range(5):  # Bucharest, not listening: personal push
        tok = "area-bp-%02d" % k
        personal_tokens.append(tok)
        lines.append(person("area-bp-%02d" % k, BUCHAREST[0] + 0.02, BUCHAREST[1] + k * 0.005, 4,
                            {"push": {"token": tok}}))
    refused = []
    for k in range(10):  # Ploiesti, listening, but the provider refuses the topic
        tok = "area-p4-%02d" % k
        refused.append(tok)
        lines.append(person("area-p4-%02d" % k, PLOIESTI[0] + k * 0.005, PLOIESTI[1] + 0.01, 4,
                            {"push": {"token": tok, "area": True}}))
    for k in range(8):  # Braila, in the Telegram channel of their area
        chat = "7700%04d" % k
        area_chats.append(chat)
        lines.append(person("area-t4-%02d" % k, BRAILA[0] + k * 0.005, BRAILA[1] + 0.01, 4,
                            {"telegram": {"chat_id": chat, "area": True}}))
    topic_b4 = areas(stack, *BUCHAREST, 4)["push"]["topic"]
    topic_b5 = areas(stack, *BUCHAREST, 5)["push"]["topic"]
    topic_p4 = areas(stack, *PLOIESTI, 4)["push"]["topic"]
    chan_t4 = areas(stack, *BRAILA, 4)["telegram"]["channel"]
    providers.fault({"provider": "fcm", "status": 400, "error": "INVALID_ARGUMENT",
                     "match_recipient": "topic:" + topic_p4})
    # Bucharest's IV topic is answered late, so it is the last push the
    # provider accepts: its body is then readable (/_sink/last).
    providers.fault({"provider": "fcm", "delay_ms": 2500, "match_recipient": "topic:" + topic_b4})
    assert lib.import_subscribers(stack.api, stack.token, lines) == len(lines)
    reached0 = sum(stack.metric(u, "quakecast_area_reached_total") for u in stack.dispatcher_urls())
    with open(EVENT, "rb") as f:
        _, reply = lib.post_event(stack.api, stack.token, f.read())
    alert = lib.alert_of(reply)["alert_id"]
    wait_alert_complete(stack, alert)
    fcm = wait_until(lambda: (lambda r: r if all(t in r for t in refused + personal_tokens) else None)(
        providers.rows("fcm")), 30, 0.2, "the personal pushes")
    tg = providers.rows("telegram")
    # one topic message per area and threshold, whichever dispatcher sent it
    assert fcm.get("topic:" + topic_b4) == 1, fcm
    assert fcm.get("topic:" + topic_b5) == 1, fcm
    assert tg.get(chan_t4) == 1, tg
    # nobody listening to a topic that went out got a personal message too
    assert not [t for t in area_tokens if t in fcm], [t for t in area_tokens if t in fcm]
    assert not [c for c in area_chats if c in tg]
    # the refused topic: its people were sent personally, once each
    assert "topic:" + topic_p4 not in fcm
    assert all(fcm.get(t) == 1 for t in refused), {t: fcm.get(t) for t in refused}
    assert all(fcm.get(t) == 1 for t in personal_tokens)
    # the area's own figures: the cell's strongest predicted intensity (the
    # model at the cell's nearest point and on a 5 x 5 grid, computed here
    # by tools/qc_ipe.py, written apart from the C) and its countdown
    deadline = time.time() + 15
    last = providers.last("fcm")
    while last.get("recipient") != "topic:" + topic_b4 and time.time() < deadline:
        time.sleep(0.2)
        last = providers.last("fcm")
    if last.get("recipient") != "topic:" + topic_b4:
        # a slow (sanitizer) build may accept another push after it: the
        # body is then not readable here; the release pass checks it
        print("areas: the Bucharest topic was not the last push; its figures not checked")
    else:
        data = json.loads(last["body"])["message"]["data"]
        ev = lib.load_event(EVENT)
        lat0, lon0 = math.floor(BUCHAREST[0] / 0.25) * 0.25, math.floor(BUCHAREST[1] / 0.25) * 0.25
        pts = [(lat0 + 0.25 * i / 4, lon0 + 0.25 * j / 4) for i in range(5) for j in range(5)]
        pts.append((min(max(ev["lat"], lat0), lat0 + 0.25), min(max(ev["lon"], lon0), lon0 + 0.25)))
        cell_max = max(qc_ipe.mmi_at(ev["mag"], ev["depth_km"], ev["lat"], ev["lon"], a, b) for a, b in pts)
        assert data["area"] == topic_b4
        assert abs(float(data["mmi"]) - cell_max) <= 0.1, (data["mmi"], cell_max)
        assert float(data["mmi"]) >= 6.5  # 1977: Bucharest VII
        assert data["intensity_model"] == "VACAREANU2015+WGRW12"
        assert 0 < int(data["seconds_to_shaking"]) < 60, data
    st = lib.alert_status(stack.api, stack.token, alert)
    reached = sum(stack.metric(u, "quakecast_area_reached_total") for u in stack.dispatcher_urls()) - reached0
    assert reached == 25 + 8, reached
    # everyone was counted warned: the area's listeners with their areas
    assert st["notified"] >= 25 + 8 + 10 + 5, st
    print("areas: 3 topic/channel messages reached %d people; %d personal pushes (%d after a refused topic)"
          % (reached, len(refused) + len(personal_tokens), len(refused)))
    # the registry kept the routes its records listen to (what the plan reads)
    routes = set(registry_routes(stack))
    assert {"p|177:104|4", "p|177:104|5", "p|179:104|4", "t|181:111|4"} <= routes, routes
    assert not [r for r in routes if r.startswith("p|177:104|") and r not in ("p|177:104|4", "p|177:104|5")]


def registry_routes(stack, *cmd):
    port = stack.vars["QUAKECAST_REDIS_PORT"]
    return redis_cli(stack.vars, port, "-c", *(cmd or ("SMEMBERS", "qc:{reg}:areas"))).split()


def test_plan_posts_every_reached_area_at_once(stack, providers):
    """The area plan: the first dispatcher to see a new alert posts every
    route with listeners that the quake reaches at the route's threshold,
    from the registry's route set, without waiting for a chunk with one of
    its people (here there is none: the routes alone are planted), and no
    route it does not reach."""
    providers.reset()
    planted = ["p|%s|4" % GALATI_CELL, "t|%s|4" % GALATI_CELL, "p|%s|7" % CLUJ_CELL]
    assert registry_routes(stack, "SADD", "qc:{reg}:areas", *planted)
    planned0 = sum(stack.metric(u, "quakecast_area_planned_total") for u in stack.dispatcher_urls())
    try:
        with open(EVENT, "rb") as f:
            _, reply = lib.post_event(stack.api, stack.token, f.read())
        alert = lib.alert_of(reply)["alert_id"]
        wait_alert_complete(stack, alert)
        galati = (45.43, 28.05)
        topic = areas(stack, *galati, 4)["push"]["topic"]
        chan = areas(stack, *galati, 4)["telegram"]["channel"]
        assert topic == "qc_N181_E112_i4" and chan == "@qctg_N181_E112_i4"
        fcm = wait_until(lambda: (lambda r: r if "topic:" + topic in r else None)(providers.rows("fcm")),
                         30, 0.2, "the planned Galati topic")
        tg = wait_until(lambda: (lambda r: r if chan in r else None)(providers.rows("telegram")),
                        30, 0.2, "the planned Galati channel")
        assert fcm["topic:" + topic] == 1 and tg[chan] == 1, (fcm, tg)
        assert "topic:qc_N187_E94_i7" not in fcm, fcm  # Cluj: not reached at VII
        planned = sum(stack.metric(u, "quakecast_area_planned_total") for u in stack.dispatcher_urls()) - planned0
        assert planned >= 2, planned
    finally:
        registry_routes(stack, "SREM", "qc:{reg}:areas", *planted)
