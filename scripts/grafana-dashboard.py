#!/usr/bin/env python3
"""Renders compose/grafana/dashboards/gadai.json from compose/grafana/queries.json.

    python3 scripts/grafana-dashboard.py                    write the dashboard
    python3 scripts/grafana-dashboard.py --check [--rules-out FILE]
        fail when the dashboard is stale or broken: not JSON, a panel without a target, a
        target without an expr, a template variable other than $__rate_interval, a datasource
        uid other than the provisioned one. --rules-out writes every expr as a recording rule,
        so that `promtool check rules FILE` parses them (scripts/check-alerts.sh does).

--dashboard and --queries name other files (the self-test of check-alerts.sh).
"""

import argparse
import json
import re
import sys

QUERIES = "compose/grafana/queries.json"
DASHBOARD = "compose/grafana/dashboards/gadai.json"
DATASOURCES = "compose/grafana/provisioning/datasources/prometheus.yml"
GRID_WIDTH = 24


def render(spec):
    ds = {"type": "prometheus", "uid": spec["datasource_uid"]}
    panels, x, y, row_height = [], 0, 0, 0
    for number, p in enumerate(spec["panels"], start=1):
        w, h = p.get("width", 12), p.get("height", 8)
        if x + w > GRID_WIDTH:
            x, y, row_height = 0, y + row_height, 0
        panel = {
            "id": number,
            "type": p["type"],
            "title": p["title"],
            "description": p.get("description", ""),
            "datasource": ds,
            "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "fieldConfig": {"defaults": {"unit": p.get("unit", "none")}, "overrides": []},
            "targets": [
                {
                    "refId": chr(ord("A") + i),
                    "datasource": ds,
                    "expr": t["expr"],
                    "legendFormat": t.get("legend", ""),
                    "range": True,
                }
                for i, t in enumerate(p["targets"])
            ],
        }
        if p["type"] == "stat":
            panel["options"] = {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "value",
                "graphMode": "none",
                "textMode": "value_and_name",
            }
        else:
            panel["fieldConfig"]["defaults"]["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10}
            panel["options"] = {
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                "tooltip": {"mode": "multi", "sort": "desc"},
            }
        panels.append(panel)
        x += w
        row_height = max(row_height, h)
    return {
        "uid": spec["uid"],
        "title": spec["title"],
        "description": "Generated from compose/grafana/queries.json by scripts/grafana-dashboard.py.",
        "tags": ["gadai"],
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": panels,
    }


def text_of(dashboard):
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def provisioned_uids(path):
    # The datasources file is small YAML; the uids are plain `uid:` lines.
    return set(re.findall(r"^\s*uid:\s*['\"]?([A-Za-z0-9_-]+)", open(path).read(), re.M))


def problems(dashboard, uids):
    found = []
    panels = dashboard.get("panels")
    if not panels:
        return ["the dashboard has no panels"]
    for panel in panels:
        where = f"panel {panel.get('title')!r}"
        if panel.get("datasource", {}).get("uid") not in uids:
            found.append(f"{where}: datasource uid {panel.get('datasource')} is not provisioned ({sorted(uids)})")
        targets = panel.get("targets") or []
        if not targets:
            found.append(f"{where}: no targets")
        for t in targets:
            expr = (t.get("expr") or "").strip()
            if not expr:
                found.append(f"{where}: target {t.get('refId')} has no expr")
            if re.search(r"\$(?!__rate_interval\b)", expr):
                found.append(f"{where}: {expr!r} uses a template variable")
            if t.get("datasource", {}).get("uid") not in uids:
                found.append(f"{where}: target {t.get('refId')} names datasource {t.get('datasource')}")
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--rules-out")
    ap.add_argument("--queries", default=QUERIES)
    ap.add_argument("--dashboard", default=DASHBOARD)
    args = ap.parse_args()

    spec = json.load(open(args.queries))
    want = text_of(render(spec))
    if not args.check:
        open(args.dashboard, "w").write(want)
        print(f"wrote {args.dashboard}")
        return 0

    try:
        dashboard = json.load(open(args.dashboard))
    except (OSError, ValueError) as e:
        print(f"grafana-dashboard: {args.dashboard}: {e}", file=sys.stderr)
        return 1
    found = problems(dashboard, provisioned_uids(DATASOURCES))
    if text_of(dashboard) != want:
        found.append(f"{args.dashboard} is stale: run python3 scripts/grafana-dashboard.py")
    for p in found:
        print(f"grafana-dashboard: {p}", file=sys.stderr)
    if found:
        return 1
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    if args.rules_out:
        rules = [{"record": f"gadai_dashboard_check:expr{i}", "expr": e} for i, e in enumerate(exprs)]
        # JSON is YAML: promtool reads it.
        json.dump({"groups": [{"name": "dashboard-exprs", "rules": rules}]}, open(args.rules_out, "w"), indent=1)
    print(f"grafana-dashboard: {args.dashboard}: {len(dashboard['panels'])} panels, {len(exprs)} exprs, up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
