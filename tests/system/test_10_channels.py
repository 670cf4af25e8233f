"""Every channel against its provider's fake (issue 5): delivery, 429 with
Retry-After honoured, 5xx then success, a timeout, permanent errors to the
dead-letter topic, fallback to the subscriber's next channel, dead channels
not tried again, broadcast routes posted once per alert, and a shared rate
limit that holds across two dispatchers. Counts come from the fake's
ledger; no duplicate is allowed anywhere."""

import json
import os
import subprocess

from conftest import BUILD, REPO, lib, wait_alert_complete, wait_until
from providers import FAKE_LIMIT_SMS, FCM_TOPIC, RATE_SMS, TELEGRAM_CHANNEL, TWILIO_FROM

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")
BUCHAREST = (44.4268, 26.1025)
PROVIDER_OF = {"sms": "twilio", "telegram": "telegram", "push": "fcm", "email": "smtp"}


def sub(sub_id, channels, where=BUCHAREST, lang="en"):
    return (json.dumps({"id": sub_id, "lat": where[0], "lon": where[1], "lang": lang,
                        "channels": channels}) + "\n").encode()


def one_of_each(tag):
    """Four subscribers, one per provider channel; @returns (lines, {channel: recipient})."""
    rcpt = {"sms": "+4070%07d" % (abs(hash(tag)) % 10**7), "telegram": "9%08d" % (abs(hash(tag)) % 10**8),
            "push": "tok-%s" % tag, "email": "%s@example.org" % tag}
    chans = {"sms": {"sms": {"phone": rcpt["sms"]}}, "telegram": {"telegram": {"chat_id": rcpt["telegram"]}},
             "push": {"push": {"token": rcpt["push"], "platform": "android"}},
             "email": {"email": {"address": rcpt["email"]}}}
    return [sub("%s-%s" % (tag, c), chans[c]) for c in chans], rcpt


def alert_now(stack):
    with open(EVENT, "rb") as f:
        _, reply = lib.post_event(stack.api, stack.token, f.read())
    alert = lib.alert_of(reply)["alert_id"]
    return alert, wait_alert_complete(stack, alert)


def delivered(providers, rcpt):
    """Waits until each provider's fake has each recipient, then checks none twice."""
    def have():
        return all(providers.rows(PROVIDER_OF[c]).get(r) for c, r in rcpt.items())
    wait_until(have, 30, 0.1, "every channel's message at its fake")
    for c, r in rcpt.items():
        assert providers.rows(PROVIDER_OF[c])[r] == 1, (c, providers.rows(PROVIDER_OF[c]))


def dead_letters(stack, alert):
    dump = subprocess.run([os.path.join(BUILD, "tests", "tools", "qc-kafka-dlq"), stack.bootstrap],
                          check=True, capture_output=True, text=True).stdout
    return [d for d in map(json.loads, filter(str.strip, dump.splitlines())) if d.get("alert_id") == alert]


def test_each_channel_and_broadcasts(stack, providers):
    providers.reset()
    lines, rcpt = one_of_each("ch1")
    lib.import_subscribers(stack.api, stack.token, lines)
    alert, _ = alert_now(stack)
    delivered(providers, rcpt)
    # One post per alert to each broadcast route, whichever dispatcher won.
    wait_until(lambda: providers.rows("telegram").get(TELEGRAM_CHANNEL), 20, 0.1, "the channel post")
    wait_until(lambda: providers.rows("fcm").get("topic:" + FCM_TOPIC), 20, 0.1, "the topic message")
    assert providers.rows("telegram")[TELEGRAM_CHANNEL] == 1
    assert providers.rows("fcm")["topic:" + FCM_TOPIC] == 1
    # What each driver put on the wire.
    sms = providers.last("twilio")
    assert "From=%2B40312345678" in sms["body"] or "From=" + TWILIO_FROM in sms["body"]
    mail = providers.last("smtp")
    assert "Message-ID: <qc_%s_0_ch1-email_email@quakecast.test>" % alert in mail["body"]
    assert "text/html" in mail["body"] and "Drop, Cover, Hold On" in mail["body"]
    s = providers.summary()
    for p in ("twilio", "telegram", "fcm", "smtp"):
        assert s["providers"][p]["unauthorized"] == 0 and s["providers"][p]["bad_request"] == 0, (p, s)


def test_429_with_retry_after_is_honoured(stack, providers):
    providers.reset()
    lines, rcpt = one_of_each("ch2")
    for c in ("sms", "telegram", "push"):
        providers.fault({"provider": PROVIDER_OF[c], "status": 429, "retry_after": 2, "count": 1,
                         "match_recipient": rcpt[c]})
    providers.fault({"provider": "smtp", "smtp_code": 450, "count": 1, "match_recipient": rcpt["email"]})
    lib.import_subscribers(stack.api, stack.token, lines)
    alert_now(stack)
    delivered(providers, rcpt)
    s = providers.summary()
    assert s["early_retry"] == 0, s
    for c in rcpt:
        assert s["providers"][PROVIDER_OF[c]]["faulted"], (c, s["providers"][PROVIDER_OF[c]])


def test_5xx_then_success(stack, providers):
    providers.reset()
    lines, rcpt = one_of_each("ch3")
    for c in ("sms", "telegram", "push"):
        providers.fault({"provider": PROVIDER_OF[c], "status": 503, "count": 2, "match_recipient": rcpt[c]})
    providers.fault({"provider": "smtp", "smtp_code": 451, "smtp_stage": "data", "count": 2,
                     "match_recipient": rcpt["email"]})
    lib.import_subscribers(stack.api, stack.token, lines)
    alert, st = alert_now(stack)
    delivered(providers, rcpt)
    # (other tests' planted bad records dead-letter on every alert: look at ours)
    assert not [d for d in dead_letters(stack, alert) if d["subscriber_id"].startswith("ch3-")]
    assert sum(stack.metric(u, "quakecast_send_retries_total") for u in stack.dispatcher_urls()) >= 8


def test_timeout_then_success(stack, providers):
    providers.reset()
    lines, rcpt = one_of_each("ch4")
    # Longer than the dispatcher's request timeout (5 s): the call is given
    # up, the fake sees the client go, the retry is delivered once.
    providers.fault({"provider": "telegram", "delay_ms": 6000, "count": 1,
                     "match_recipient": rcpt["telegram"]})
    lib.import_subscribers(stack.api, stack.token, lines)
    alert_now(stack)
    delivered(providers, rcpt)
    tg = providers.summary()["providers"]["telegram"]
    assert tg["requests"] == tg["received"] + 1, tg  # the held call, given up


def test_permanent_errors_dead_letter_fallback_and_dead_channels(stack, providers):
    providers.reset()
    auth = {"Authorization": "Bearer " + stack.token}
    phone, chat, token, mail = "+40700000001", "900000001", "tok-unregistered", "fallback@example.org"
    lines = [
        # SMS refused for good (invalid number): falls back to e-mail.
        sub("ch5-a", {"sms": {"phone": phone}, "email": {"address": mail}}),
        # The user blocked the bot, and has no other channel.
        sub("ch5-b", {"telegram": {"chat_id": chat}}),
        # Push token unregistered: falls back to Telegram (another chat).
        sub("ch5-c", {"push": {"token": token, "platform": "android"}, "telegram": {"chat_id": "900000002"}}),
    ]
    providers.fault({"provider": "twilio", "error": 21211, "match_recipient": phone})
    providers.fault({"provider": "telegram", "error": "blocked", "match_recipient": chat})
    providers.fault({"provider": "fcm", "error": "UNREGISTERED", "match_recipient": token})
    lib.import_subscribers(stack.api, stack.token, lines)
    alert, st = alert_now(stack)
    wait_until(lambda: providers.rows("smtp").get(mail) and providers.rows("telegram").get("900000002"),
               30, 0.1, "the fallbacks")
    assert providers.rows("smtp")[mail] == 1 and providers.rows("telegram")["900000002"] == 1
    assert chat not in providers.rows("telegram") and phone not in providers.rows("twilio")
    assert token not in providers.rows("fcm")
    letters = wait_until(lambda: (lambda d: d if len(d) >= 3 else None)(
        [d for d in dead_letters(stack, alert) if d["subscriber_id"].startswith("ch5-")]), 20, 0.2, "dead letters")
    by = {(d["subscriber_id"], d["channel"]): d for d in letters}
    assert set(by) == {("ch5-a", "sms"), ("ch5-b", "telegram"), ("ch5-c", "push")}, letters
    assert "21211" in by[("ch5-a", "sms")]["reason"] and by[("ch5-a", "sms")]["attempts"] == 1
    assert "UNREGISTERED" in by[("ch5-c", "push")]["reason"]
    # The dead channels are recorded on the subscribers...
    for sid, ch in (("ch5-a", "sms"), ("ch5-b", "telegram"), ("ch5-c", "push")):
        status, body = lib.http_request("GET", stack.api + "/v1/subscribers/" + sid, headers=auth)
        assert status == 200 and json.loads(body)["channels"][ch].get("dead") is True, body
    # ...and not tried on the next alert: it goes straight to what is left.
    before = providers.summary()["providers"]
    alert2, _ = alert_now(stack)
    wait_until(lambda: providers.rows("smtp").get(mail) == 2, 30, 0.1, "the second e-mail")
    after = providers.summary()["providers"]
    assert phone not in providers.rows("twilio")
    assert after["twilio"]["faulted"] == before["twilio"]["faulted"]
    assert after["fcm"]["faulted"] == before["fcm"]["faulted"]
    assert after["telegram"]["faulted"] == before["telegram"]["faulted"]


def test_rate_limit_holds_across_two_dispatchers(stack, providers):
    providers.reset()
    # Spread over many cells (so over many segments and both dispatchers),
    # all close enough to Vrancea to be warned.
    lines = []
    for i in range(160):
        where = (44.2 + (i % 16) * 0.1, 25.6 + (i // 16) * 0.12)
        lines.append(sub("ch6-%03d" % i, {"sms": {"phone": "+4071%07d" % i}}, where))
    lib.import_subscribers(stack.api, stack.token, lines)
    before = [stack.metric(u, 'quakecast_channel_sent_total{channel="sms"}') for u in stack.dispatcher_urls()]
    alert, st = alert_now(stack)
    wait_until(lambda: sum(1 for r in providers.rows("twilio") if r.startswith("+4071")) == 160, 60, 0.2,
               "every SMS")
    s = providers.summary("twilio")
    assert s["rate_limited"] == 0, s
    assert s["max_per_second"] <= FAKE_LIMIT_SMS, s
    assert s["max_per_second"] >= RATE_SMS * 0.6, s  # the limit was reached, not just obeyed
    assert s["duplicates"] == 0
    after = [stack.metric(u, 'quakecast_channel_sent_total{channel="sms"}') for u in stack.dispatcher_urls()]
    assert all(a > b for a, b in zip(after, before)), (before, after)
