"""Inbound SMS (issue 6): Twilio's incoming-message webhook, signed as
Twilio signs it (HMAC-SHA1 over the URL and the sorted POST parameters,
base64, in X-Twilio-Signature). STOP and its synonyms mark the SMS channel
dead (no alert goes there), START revives it, both are kept in the consent
record; a wrong or missing signature changes nothing."""

import base64
import hashlib
import hmac
import urllib.parse

import pytest

from conftest import lib
from providers import TWILIO_SID, TWILIO_TOKEN
from selfsvc import call, signup_verified


def twilio_signature(url, params, token=TWILIO_TOKEN):
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def inbound(stack, phone, text, sign=True, token=TWILIO_TOKEN):
    url = stack.api + "/v1/sms/inbound"
    params = {"From": phone, "To": "+40312345678", "Body": text, "MessageSid": "SM" + "ab" * 16,
              "AccountSid": TWILIO_SID, "NumMedia": "0"}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if sign:
        headers["X-Twilio-Signature"] = twilio_signature(url, params, token)
    return lib.http_request("POST", url, urllib.parse.urlencode(params).encode(), headers)


def sms_state(stack, sid):
    st, got = call(stack, "GET", "/v1/subscribers/" + sid, token=stack.token)
    assert st == 200
    return got["channels"]["sms"].get("dead", False), got["consent"].get("sms", {})


@pytest.mark.parametrize("word", ["STOP", "stop", "StopAll", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", " stop. "])
def test_stop_synonyms_opt_out(stack, providers, word):
    sid, _, phone = signup_verified(stack, providers)
    st, body = inbound(stack, phone, word)
    assert st == 200 and b"<Response>" in body
    dead, consent = sms_state(stack, sid)
    assert dead and consent["opted_out_at"].endswith("Z")


def test_start_opts_back_in(stack, providers):
    sid, tok, phone = signup_verified(stack, providers)
    assert inbound(stack, phone, "STOP")[0] == 200
    # A PATCH by the person keeps the opt-out.
    assert call(stack, "PATCH", "/v1/subscribers/" + sid, {"min_mmi": 5}, token=tok)[0] == 200
    assert sms_state(stack, sid)[0] is True
    assert inbound(stack, phone, "START")[0] == 200
    dead, consent = sms_state(stack, sid)
    assert not dead and "opted_out_at" not in consent and consent["opted_in_at"].endswith("Z")


def test_other_text_changes_nothing(stack, providers):
    sid, _, phone = signup_verified(stack, providers)
    assert inbound(stack, phone, "please stop sending")[0] == 200
    assert sms_state(stack, sid)[0] is False


def test_bad_signature_is_refused(stack, providers):
    sid, _, phone = signup_verified(stack, providers)
    st, body = inbound(stack, phone, "STOP", token="not-the-auth-token")
    assert st == 403 and b"bad_signature" in body
    st, _ = inbound(stack, phone, "STOP", sign=False)
    assert st == 403
    assert sms_state(stack, sid)[0] is False


def test_tampered_body_is_refused(stack, providers):
    """The signature covers every parameter: changing From after signing fails."""
    sid, _, phone = signup_verified(stack, providers)
    url = stack.api + "/v1/sms/inbound"
    params = {"From": "+40799999999", "Body": "STOP"}
    sig = twilio_signature(url, params)
    params["From"] = phone
    st, _ = lib.http_request("POST", url, urllib.parse.urlencode(params).encode(),
                             {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig})
    assert st == 403
    assert sms_state(stack, sid)[0] is False


def test_stop_applies_to_imported_subscribers(stack, providers):
    """The phone index covers operators' imports too."""
    phone = "+40733%06d" % (hash(stack.api) % 10 ** 6)
    line = ('{"id":"imp-stop-1","lat":-46.4,"lon":168.3,"channels":{"sms":{"phone":"%s"}}}\n' % phone).encode()
    st, res = lib.http_request("POST", stack.api + "/v1/subscribers/import", line,
                               {"Authorization": "Bearer " + stack.token, "Content-Type": "application/x-ndjson"})
    assert st == 200, res
    assert inbound(stack, phone, "STOP")[0] == 200
    dead, consent = sms_state(stack, "imp-stop-1")
    assert dead and "opted_out_at" in consent
