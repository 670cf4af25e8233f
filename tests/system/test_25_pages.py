"""The web pages (issue 6) as served: embedded in the processor, no
external resource (the CSP allows this origin only), both languages
complete, every form control labelled. Their behaviour in a browser is
test_26_browser.py."""

import os
import re

import pytest

from conftest import REPO, lib

PAGES = ["/", "/dashboard", "/static/app-common.js", "/static/app-signup.js", "/static/app-dashboard.js",
         "/static/style.css", "/static/towns.json"]


def get(stack, path):
    import urllib.request
    with urllib.request.urlopen(stack.api + path, timeout=10) as r:
        return r.status, dict(r.headers), r.read().decode()


@pytest.mark.parametrize("path", PAGES)
def test_served_with_safe_headers(stack, path):
    status, headers, body = get(stack, path)
    assert status == 200 and body
    assert headers["X-Content-Type-Options"] == "nosniff"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    # The embedded copy is the file in the repository.
    name = {"/": "index.html", "/dashboard": "dashboard.html"}.get(path, path.rsplit("/", 1)[-1])
    with open(os.path.join(REPO, "processor", "web", name), encoding="utf-8") as f:
        assert f.read() == body


def test_no_external_resources(stack):
    for path in PAGES:
        body = get(stack, path)[2]
        urls = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"')]*", body)
        urls = [u for u in urls if "www.w3.org/2000/svg" not in u and "geonames.org" not in u]
        assert not urls, (path, urls)
        assert "<script>" not in body and " style=" not in body and "onclick=" not in body, path


def test_unknown_static_is_404(stack):
    st, _ = lib.http_request("GET", stack.api + "/static/../main.c")
    assert st == 404
    st, _ = lib.http_request("GET", stack.api + "/static/nothing.js")
    assert st == 404


def strings(js):
    """Keys of QC.add({...}) with their [English, Romanian] pair."""
    return dict(re.findall(r'"([a-z][\w.]*)":\s*\[\s*"((?:[^"\\]|\\.)*)",\s*"(?:[^"\\]|\\.)*"\s*\]', js))


@pytest.mark.parametrize("page,script", [("/", "/static/app-signup.js"), ("/dashboard", "/static/app-dashboard.js")])
def test_both_languages_and_labels(stack, page, script):
    html, js = get(stack, page)[2], get(stack, script)[2]
    keys = set(strings(js))
    pairs = re.findall(r'"([a-z][\w.]*)":\s*\[\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"\s*\]', js)
    assert pairs and all(en and ro for _, en, ro in pairs), "every string has English and Romanian"
    used = set(re.findall(r'data-i18n(?:-label)?="([^"]+)"', html))
    assert used <= keys, sorted(used - keys)
    # Every input and select has a <label for=...> (or is labelled by its wrapping label).
    ids = re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', html)
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))
    wrapped = set(re.findall(r'<label class="inline"><input[^>]*\bid="([^"]+)"', html))
    assert set(ids) <= labelled | wrapped, sorted(set(ids) - labelled - wrapped)
    assert re.search(r'<html lang="en">', html) and 'role="status"' in html


def test_map_data_carries_attribution(stack):
    import json
    doc = json.loads(get(stack, "/static/towns.json")[2])
    assert "GeoNames" in doc["attribution"] and len(doc["towns"]) > 100
    assert any(t[0] == "Bucharest" for t in doc["towns"])
