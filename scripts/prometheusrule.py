#!/usr/bin/env python3
"""k8s/components/monitoring/prometheusrule.yaml: compose/prometheus/alerts.yml as a
PrometheusRule (prometheus-operator), so Kubernetes and the compose stack alert alike.

    python3 scripts/prometheusrule.py            write it
    python3 scripts/prometheusrule.py --check    fail unless its groups equal alerts.yml's
                                                 (parsed YAML, not text; scripts/check-alerts.sh)

--rules and --out name other files (the self-test of check-alerts.sh).
"""

import argparse
import sys

import yaml

RULES = "compose/prometheus/alerts.yml"
OUT = "k8s/components/monitoring/prometheusrule.yaml"
HEADER = """\
# Generated from compose/prometheus/alerts.yml by scripts/prometheusrule.py: edit alerts.yml and
# run the script (scripts/check-alerts.sh fails when the groups differ). What each alert means
# and what to do is in its description. Prometheus Operator selects PrometheusRules by label
# (ruleSelector): add the label yours wants (kube-prometheus-stack: release: <its release>).
"""


class Literal(str):
    pass


def _literal(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _long_strings(node):
    if isinstance(node, dict):
        return {k: _long_strings(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_long_strings(v) for v in node]
    if isinstance(node, str) and "\n" in node:
        return Literal(node)
    return node


def render(groups):
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "gadai", "labels": {"app.kubernetes.io/part-of": "gadai"}},
        "spec": {"groups": groups},
    }
    yaml.add_representer(Literal, _literal, Dumper=yaml.SafeDumper)
    return HEADER + yaml.safe_dump(_long_strings(doc), sort_keys=False, width=100, allow_unicode=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--rules", default=RULES)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    groups = yaml.safe_load(open(args.rules))["groups"]
    if not args.check:
        open(args.out, "w").write(render(groups))
        print(f"wrote {args.out}")
        return 0
    doc = yaml.safe_load(open(args.out))
    if doc.get("kind") != "PrometheusRule" or doc.get("spec", {}).get("groups") != groups:
        print(f"prometheusrule: {args.out} does not hold the groups of {args.rules}: "
              "run python3 scripts/prometheusrule.py", file=sys.stderr)
        return 1
    alerts = sum(len(g["rules"]) for g in groups)
    print(f"prometheusrule: {args.out} holds the {len(groups)} groups ({alerts} rules) of {args.rules}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
