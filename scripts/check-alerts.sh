#!/usr/bin/env bash
# Checks the monitoring files with promtool (Debian's `prometheus` package, installed when
# missing):
#   compose/prometheus/alerts.yml           promtool check rules, and its unit tests
#                                           (compose/prometheus/alerts.test.yml: every alert,
#                                           firing and not firing)
#   compose/prometheus/prometheus.yml       promtool check config
#   k8s/components/monitoring/prometheusrule.yaml  holds the same groups as alerts.yml
#                                           (scripts/prometheusrule.py --check)
#   compose/grafana/dashboards/gadai.json   generated from compose/grafana/queries.json and up to
#                                           date, every panel with a plain PromQL expr on the
#                                           provisioned datasource, and every expr parsed by
#                                           promtool (scripts/grafana-dashboard.py --check)
# Then it feeds broken copies to each check and fails if one is accepted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v promtool >/dev/null 2>&1; then
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  echo "check-alerts: installing Debian's prometheus package (for promtool)"
  "${sudo[@]}" apt-get update -qq >/dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
if ! python3 -c 'import yaml' >/dev/null 2>&1; then
  echo "check-alerts: installing PyYAML"
  python3 -m pip install --quiet "$(grep -m1 '^PyYAML==' tools/requirements-deploy.txt)"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

promtool check rules compose/prometheus/alerts.yml
promtool test rules compose/prometheus/alerts.test.yml
promtool check config compose/prometheus/prometheus.yml
python3 scripts/prometheusrule.py --check
python3 scripts/grafana-dashboard.py --check --rules-out "$WORK/dashboard-exprs.json"
promtool check rules "$WORK/dashboard-exprs.json"

# expect_failure WHAT CMD...: CMD must exit non-zero.
expect_failure() {
  local what=$1
  shift
  if "$@" >"$WORK/selftest.log" 2>&1; then
    cat "$WORK/selftest.log" >&2
    echo "check-alerts: FAILED: self-test: $what was accepted" >&2
    exit 1
  fi
  local reason
  reason=$(grep -m1 -E 'alertname|parse|not found|does not|uses|stale|is not' "$WORK/selftest.log" \
    || grep -m1 . "$WORK/selftest.log")
  echo "  ok: self-test: $what is rejected: $(sed -E 's/^[[:space:]]+//' <<<"$reason" | cut -c1-150)"
}

echo "check-alerts: self-test (broken copies must be rejected)"
mkdir -p "$WORK/rules"
cp compose/prometheus/alerts.test.yml "$WORK/rules/"
sed 's/ > 1000$/ > 5000/' compose/prometheus/alerts.yml >"$WORK/rules/alerts.yml"
expect_failure "a lag threshold the tests do not expect (promtool test rules)" \
  promtool test rules "$WORK/rules/alerts.test.yml"
sed 's/^        expr: service_ready == 0$/        expr: service_ready == = 0/' compose/prometheus/alerts.yml >"$WORK/rules/alerts.yml"
expect_failure "an expr that does not parse (promtool check rules)" promtool check rules "$WORK/rules/alerts.yml"
cp compose/prometheus/alerts.yml "$WORK/rules/alerts.yml"
sed 's/^    dns_sd_configs:$/    dns_sd_config:/' compose/prometheus/prometheus.yml >"$WORK/rules/prometheus.yml"
expect_failure "a misspelled key in prometheus.yml (promtool check config)" \
  promtool check config "$WORK/rules/prometheus.yml"
sed 's/ > 0.1$/ > 0.2/' compose/prometheus/alerts.yml >"$WORK/rules/alerts.yml"
expect_failure "a PrometheusRule that differs from alerts.yml" \
  python3 scripts/prometheusrule.py --check --rules "$WORK/rules/alerts.yml"
sed 's/\[5m\]/[$__range]/' compose/grafana/queries.json >"$WORK/queries.json"
python3 scripts/grafana-dashboard.py --queries "$WORK/queries.json" --dashboard "$WORK/gadai.json" >/dev/null
expect_failure "a dashboard expr with a template variable" \
  python3 scripts/grafana-dashboard.py --check --queries "$WORK/queries.json" --dashboard "$WORK/gadai.json"
sed 's/"datasource_uid": "gadai-prometheus"/"datasource_uid": "prometheus"/' compose/grafana/queries.json >"$WORK/queries.json"
python3 scripts/grafana-dashboard.py --queries "$WORK/queries.json" --dashboard "$WORK/gadai.json" >/dev/null
expect_failure "a dashboard on a datasource uid that is not provisioned" \
  python3 scripts/grafana-dashboard.py --check --queries "$WORK/queries.json" --dashboard "$WORK/gadai.json"
sed 's/rate(orders_accepted_total/rate(orders_accepted/' compose/grafana/dashboards/gadai.json >"$WORK/gadai.json"
expect_failure "a dashboard edited by hand (stale against queries.json)" \
  python3 scripts/grafana-dashboard.py --check --dashboard "$WORK/gadai.json"
python3 - compose/grafana/queries.json "$WORK/queries.json" <<'PYEOF'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["panels"][0]["targets"][0]["expr"] = "sum by (service) (rate(service_ready[5m])"
json.dump(spec, open(sys.argv[2], "w"))
PYEOF
python3 scripts/grafana-dashboard.py --queries "$WORK/queries.json" --dashboard "$WORK/gadai.json" >/dev/null
python3 scripts/grafana-dashboard.py --check --queries "$WORK/queries.json" --dashboard "$WORK/gadai.json" \
  --rules-out "$WORK/bad-exprs.json" >/dev/null
expect_failure "a dashboard expr that does not parse (promtool check rules)" promtool check rules "$WORK/bad-exprs.json"
echo "check-alerts: all checks passed"
