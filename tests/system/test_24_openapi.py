"""docs/openapi.yaml is kept true (issue 6):

* every route the processor registers (and the sub-routes its handlers
  serve) is a path in the file;
* every error code the processor's sources can answer is in the file's
  ErrorCode list, and every listed code occurs in the sources;
* the live server answers every documented operation, probed without and
  with the admin token and with an empty or wrong body, only with statuses
  the file lists for it, and its JSON bodies match the documented schemas
  (a small validator for the JSON Schema subset the file uses).

test_27_openapi_fuzz.py fuzzes the server against the same file with
schemathesis (PyPI) for a bounded time where it is installed."""

import glob
import json
import os
import re

import pytest
import yaml

from conftest import REPO, lib
from selfsvc import call

SPEC_PATH = os.path.join(REPO, "docs", "openapi.yaml")
with open(SPEC_PATH) as f:
    SPEC = yaml.safe_load(f)
PATHS = SPEC["paths"]
CODES = set(SPEC["components"]["schemas"]["ErrorCode"]["enum"])
SOURCES = sorted(glob.glob(os.path.join(REPO, "processor", "**", "*.c"), recursive=True)) + [
    os.path.join(REPO, "shared", "src", "httpd.c"), os.path.join(REPO, "shared", "src", "subscriber.c")]


def source_text():
    out = {}
    for p in SOURCES:
        with open(p) as f:
            out[p] = f.read()
    return out


def test_every_route_is_documented():
    text = source_text()
    routes = []
    for src in text.values():
        routes += re.findall(r'qc_httpd_route\(\s*[\w.>-]+,\s*"([^"]+)",\s*(true|false)', src)
    assert len(routes) >= 10
    for path, exact in routes:
        if exact == "true":
            assert path in PATHS, "route %s is not in docs/openapi.yaml" % path
        else:
            assert any(p.startswith(path) and "{" in p for p in PATHS), "prefix route %s has no documented path" % path
    # Served by the binaries' own HTTP server and inside handlers:
    for path in ["/healthz", "/readyz", "/metrics", "/v1/subscribers/export", "/v1/subscribers/{id}/verify",
                 "/v1/subscribers/{id}", "/v1/alerts/{alert_id}", "/v1/alerts/{alert_id}.cap", "/static/{file}"]:
        assert path in PATHS, path
    assert '"export"' in text[os.path.join(REPO, "processor", "api", "subscribers.c")]
    assert '"/verify"' in text[os.path.join(REPO, "processor", "api", "subscribers.c")]


CODE_PATTERNS = [
    r'qc_http_reply_error\(\s*[^,]+,\s*[^,]+,\s*"([a-z_]+)"',
    r'qc_http_reply_error\(\s*[^,]+,\s*[^,]+,\s*[^,;]*\?\s*"([a-z_]+)"\s*:\s*"([a-z_]+)"',
    r'one_error\(\s*o,\s*\d+,\s*"([a-z_]+)"',
    r'reject\(\s*su,\s*\d+,\s*"([a-z_]+)"',
    r'reject\(\s*im,\s*[\w>.-]+,\s*"([a-z_]+)"',
    r'qc_api_reply_limited\([^,]+,[^,]+,\s*"([a-z_]+)"',
    r'FAIL\("([a-z_]+)"',
    r'badcode\s*=\s*"([a-z_]+)"',
    r'badcode\s*=[^;]*\?\s*"([a-z_]+)"\s*:\s*"([a-z_]+)"',
    r'(?<!"field", )"code",\s*"([a-z_]+)"',
]


def emitted_codes():
    found = set()
    for src in source_text().values():
        for pat in CODE_PATTERNS:
            for m in re.findall(pat, src):
                found.update([m] if isinstance(m, str) else [x for x in m if x])
    return found


def test_every_error_code_is_documented():
    found = emitted_codes()
    assert {"wrong_code", "invalid_phone", "too_deep", "rate_limited", "forbidden"} <= found  # the patterns work
    missing = found - CODES
    assert not missing, "error codes answered but not in docs/openapi.yaml: %s" % sorted(missing)


def test_every_documented_code_exists():
    blob = "\n".join(source_text().values())
    stale = {c for c in CODES if '"%s"' % c not in blob}
    assert not stale, "codes in docs/openapi.yaml that no source emits: %s" % sorted(stale)


# ---- a JSON Schema subset validator: type, enum, required, properties,
# additionalProperties (false or schema), items, nullable, allOf, oneOf, $ref,
# minimum/maximum, pattern ----

def resolve(schema):
    while "$ref" in schema:
        node = SPEC
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def validate(value, schema, where="$"):
    schema = resolve(schema)
    if value is None and schema.get("nullable"):
        return
    for sub in schema.get("allOf", []):
        validate(value, sub, where)
    if "oneOf" in schema:
        ok = 0
        for sub in schema["oneOf"]:
            try:
                validate(value, sub, where)
                ok += 1
            except AssertionError:
                pass
        assert ok == 1, "%s: matches %d of oneOf" % (where, ok)
    t = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool}
    if t == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), "%s: not an integer: %r" % (where, value)
    elif t == "number":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), "%s: not a number" % where
    elif t:
        assert isinstance(value, types[t]), "%s: not %s: %r" % (where, t, value)
    if "enum" in schema:
        assert value in schema["enum"], "%s: %r not in %s" % (where, value, schema["enum"])
    if "pattern" in schema and isinstance(value, str):
        assert re.search(schema["pattern"], value), "%s: %r does not match %s" % (where, value, schema["pattern"])
    if "minimum" in schema:
        assert value >= schema["minimum"], where
    if "maximum" in schema:
        assert value <= schema["maximum"], where
    if isinstance(value, dict):
        for k in schema.get("required", []):
            assert k in value, "%s: missing %s" % (where, k)
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                validate(v, props[k], where + "." + k)
            elif extra is False:
                raise AssertionError("%s: unexpected %s" % (where, k))
            elif isinstance(extra, dict):
                validate(v, extra, where + "." + k)
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            validate(v, schema["items"], "%s[%d]" % (where, i))


def fill(path):
    return (path.replace("{id}", "sub-000000000000000000000042").replace("{alert_id}", "a999999")
            .replace("{file}", "style.css"))


OPERATIONS = [(p, m) for p, ops in PATHS.items() for m in ops if m in ("get", "post", "patch", "delete")]


@pytest.mark.parametrize("path,method", OPERATIONS, ids=["%s %s" % (m.upper(), p) for p, m in OPERATIONS])
def test_live_statuses_and_bodies_are_documented(stack, path, method):
    op = PATHS[path][method]
    documented = {int(s) for s in op["responses"]}
    url = fill(path)
    bodies = [None] if method in ("get", "delete") else [b"", b"{}", b"[", b'{"lat":1}']
    for token in (None, stack.token):
        for raw in bodies:
            status, body = call(stack, method.upper(), url, raw=raw, token=token)
            assert status in documented, "%s %s answered %d (%s), not documented" % (method.upper(), path, status, body)
            resp = resolve(op["responses"][str(status)])
            schema = (resp.get("content") or {}).get("application/json", {}).get("schema")
            if schema and isinstance(body, (dict, list)):
                validate(body, schema)
            if isinstance(body, dict) and "error" in body:
                validate(body, SPEC["components"]["schemas"]["Error"])


def test_happy_bodies_match(stack, providers):
    from selfsvc import code_from_twilio, doc, fresh_phone
    phone = fresh_phone()
    op = PATHS["/v1/subscribers"]["post"]
    st, pending = call(stack, "POST", "/v1/subscribers", doc(phone))
    assert st == 202
    validate(pending, op["responses"]["202"]["content"]["application/json"]["schema"])
    code, _ = code_from_twilio(providers, phone)
    st, v = call(stack, "POST", "/v1/subscribers/%s/verify" % pending["id"], {"code": code})
    validate(v, PATHS["/v1/subscribers/{id}/verify"]["post"]["responses"]["201"]["content"]["application/json"]["schema"])
    st, got = call(stack, "GET", "/v1/subscribers/" + pending["id"], token=v["token"])
    validate(got, PATHS["/v1/subscribers/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
    st, page = call(stack, "GET", "/v1/subscribers?limit=5", token=stack.token)
    validate(page, PATHS["/v1/subscribers"]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
    st, alerts = call(stack, "GET", "/v1/alerts?limit=5", token=stack.token)
    validate(alerts, PATHS["/v1/alerts"]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
    for a in alerts["alerts"][:2]:
        st, status = call(stack, "GET", "/v1/alerts/" + a["alert_id"])
        validate(status, PATHS["/v1/alerts/{alert_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
    assert json  # noqa
    assert lib
