"""Authorisation (issue 6), one test per rule: a subscriber's token opens
that subscriber only; the admin token opens everyone; admin views need the
admin token; no token is no access; a wrong admin token is refused."""

import pytest

from selfsvc import call, redis, signup_verified


@pytest.fixture(scope="module")
def two(stack, providers):
    a = signup_verified(stack, providers)
    b = signup_verified(stack, providers)
    return a, b


def test_no_token_is_401(stack, two):
    (aid, _, _), _ = two
    for method, body in [("GET", None), ("PATCH", {"min_mmi": 5}), ("DELETE", None)]:
        st, err = call(stack, method, "/v1/subscribers/" + aid, body)
        assert st == 401 and err["error"]["code"] == "unauthorized", (method, err)


def test_own_token_reads_and_changes_own(stack, two):
    (aid, atok, _), _ = two
    st, got = call(stack, "GET", "/v1/subscribers/" + aid, token=atok)
    assert st == 200 and got["id"] == aid
    st, got = call(stack, "PATCH", "/v1/subscribers/" + aid, {"min_mmi": 5}, token=atok)
    assert st == 200 and got["min_mmi"] == 5


def test_token_cannot_read_another(stack, two):
    (_, atok, _), (bid, _, bphone) = two
    st, err = call(stack, "GET", "/v1/subscribers/" + bid, token=atok)
    assert st == 403 and err["error"]["code"] == "forbidden"
    assert bphone not in str(err)


def test_token_cannot_change_another(stack, two):
    (_, atok, _), (bid, btok, _) = two
    before = call(stack, "GET", "/v1/subscribers/" + bid, token=btok)[1]
    st, err = call(stack, "PATCH", "/v1/subscribers/" + bid, {"min_mmi": 9}, token=atok)
    assert st == 403 and err["error"]["code"] == "forbidden"
    after = call(stack, "GET", "/v1/subscribers/" + bid, token=btok)[1]
    assert after == before


def test_token_cannot_delete_another(stack, two):
    (_, atok, _), (bid, btok, _) = two
    st, err = call(stack, "DELETE", "/v1/subscribers/" + bid, token=atok)
    assert st == 403
    assert call(stack, "GET", "/v1/subscribers/" + bid, token=btok)[0] == 200


def test_unknown_id_with_a_token_is_403_not_404(stack, two):
    """A subscriber token tells nothing about which other ids exist."""
    (_, atok, _), _ = two
    assert call(stack, "GET", "/v1/subscribers/sub-doesnotexist", token=atok)[0] == 403
    assert call(stack, "GET", "/v1/subscribers/bad%20id", token=atok)[0] == 403


def test_made_up_token_is_refused(stack, two):
    (aid, atok, _), _ = two
    forged = atok[:-4] + ("AAAA" if not atok.endswith("AAAA") else "BBBB")
    assert call(stack, "GET", "/v1/subscribers/" + aid, token=forged)[0] == 403
    # Not a subscriber token, not the admin token: no credential at all.
    assert call(stack, "GET", "/v1/subscribers/" + aid, token=stack.token + "x")[0] == 401


def test_admin_token_opens_everyone(stack, two):
    (aid, _, _), (bid, _, _) = two
    for sid in (aid, bid):
        st, got = call(stack, "GET", "/v1/subscribers/" + sid, token=stack.token)
        assert st == 200 and got["id"] == sid
    st, got = call(stack, "PATCH", "/v1/subscribers/" + bid, {"min_mmi": 3}, token=stack.token)
    assert st == 200 and got["min_mmi"] == 3


def test_admin_may_change_an_address(stack, two):
    _, (bid, btok, _) = two
    st, got = call(stack, "PATCH", "/v1/subscribers/" + bid, {"channels": {"email": {"address": "ops@example.org"}}},
                   token=stack.token)
    assert st == 200 and got["channels"]["email"]["address"] == "ops@example.org"


@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/subscribers"),
    ("GET", "/v1/subscribers/export"),
    ("POST", "/v1/subscribers/import"),
    ("GET", "/v1/alerts"),
    ("POST", "/v1/events"),
])
def test_admin_views_refuse_a_subscriber_token(stack, two, method, path):
    (_, atok, _), _ = two
    st, err = call(stack, method, path, raw=b"" if method == "POST" else None, token=atok)
    assert st == 401, (path, err)
    st, err = call(stack, method, path, raw=b"" if method == "POST" else None)
    assert st == 401, (path, err)


def test_deleted_subscriber_token_opens_nothing(stack, providers):
    sid, tok, _ = signup_verified(stack, providers)
    assert call(stack, "DELETE", "/v1/subscribers/" + sid, token=tok)[0] == 204
    assert call(stack, "GET", "/v1/subscribers/" + sid, token=tok)[0] == 403
    assert call(stack, "DELETE", "/v1/subscribers/" + sid, token=stack.token)[0] == 404


def test_admin_token_is_not_stored_in_clear(stack):
    """The processor keeps the admin token's SHA-256 and compares hashes in
    constant time; nothing in Redis carries it."""
    assert redis(stack, "--scan", "--pattern", "*" + stack.token + "*") == ""
