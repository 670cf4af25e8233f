"""Every query of the Grafana dashboard the chart ships
(helm/quakecast/files/grafana-dashboard.json) parses under Prometheus's own
PromQL parser: each panel target's `expr`, and the metric of each
`label_values(...)` variable query, becomes a recording rule of a rules
file that `promtool check rules` (built by deploy/local/install-deps)
must accept. That the metrics exist is checked by deploy/validate
(tools/k8s-validate); this checks the grammar, which our bracket counting
there does not. A second test feeds a broken query through the same path
and requires promtool to refuse it."""

import json
import os
import re
import subprocess

import yaml

from validators import REPO, promtool

DASHBOARD = os.path.join(REPO, "helm", "quakecast", "files", "grafana-dashboard.json")

# Grafana's own variables, replaced by what Grafana would put there (its
# docs, "Global variables"): range ones by a duration, the rest by a name.
GRAFANA_RANGES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}


def dashboard_queries():
    """[(where, PromQL)] of every query in the dashboard."""
    with open(DASHBOARD) as f:
        dash = json.load(f)
    out = []

    def walk(o, where):
        if isinstance(o, dict):
            if isinstance(o.get("expr"), str):
                out.append((where + "/" + str(o.get("refId", "?")), o["expr"]))
            for k, v in o.items():
                walk(v, where + "/" + str(o.get("title", k)) if k == "targets" else where)
        elif isinstance(o, list):
            for x in o:
                walk(x, where)
    walk(dash.get("panels", []), "panel")
    for var in dash.get("templating", {}).get("list", []):
        q = var.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if var.get("type") != "query" or not isinstance(q, str):
            continue
        # label_values(metric_or_selector, label): the selector is PromQL.
        m = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", q)
        out.append(("variable " + var["name"], m.group(1) if m else q))
    return out


def grafana_to_promql(expr):
    for k, v in GRAFANA_RANGES.items():
        expr = expr.replace(k, v)
    # Other variables ($namespace, ${namespace}) only stand inside label
    # values here; a string keeps them as they are.
    return expr


def check_rules(tmp_path, queries):
    rules = {"groups": [{"name": "grafana-dashboard", "rules": [
        {"record": "dashboard:query_%d" % i, "expr": grafana_to_promql(q)} for i, (_, q) in enumerate(queries)]}]}
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    r = subprocess.run([promtool(), "check", "rules", "--lint=all", "--lint-fatal", str(path)], capture_output=True, text=True, timeout=60)
    print(r.stdout, r.stderr)
    return r.returncode, r.stdout + r.stderr


def test_every_dashboard_query_parses(tmp_path):
    queries = dashboard_queries()
    assert len(queries) >= 15, queries
    rc, out = check_rules(tmp_path, queries)
    assert rc == 0, out
    assert "SUCCESS: %d rules found" % len(queries) in out, out


def test_promtool_refuses_a_broken_query(tmp_path):
    queries = dashboard_queries()
    where, q = queries[0]
    broken = q.replace(")", "", 1)  # one bracket short
    rc, out = check_rules(tmp_path, queries[:1] + [(where, broken)])
    assert rc != 0, out
    assert "parse error" in out or "unclosed" in out, out
