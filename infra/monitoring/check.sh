#!/usr/bin/env bash
# Static checks of the monitoring configuration with the servers' own tools (Debian's
# prometheus and prometheus-alertmanager packages): rule syntax, rule unit tests, the
# Prometheus config with its rule files, the Alertmanager config with its templates, and
# which Slack channel each severity is routed to. Run by infra/ci/static-checks.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MON="$ROOT/infra/monitoring"
for tool in promtool amtool; do
  command -v "$tool" >/dev/null ||
    { echo "$tool is missing: run infra/local/install-services.sh" >&2; exit 1; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

promtool check rules "$MON"/rules/*.yml
promtool test rules "$MON"/tests/*.test.yml

# The shipped configs name container paths (/etc/prometheus, /etc/alertmanager): check copies
# pointing at the repository, so the rule files and templates are really read.
mkdir -p "$WORK/am/secrets" "$WORK/am/templates"
sed "s#/etc/prometheus/#$MON/#g" "$MON/prometheus.yml" >"$WORK/prometheus.yml"
promtool check config "$WORK/prometheus.yml"
sed "s#/etc/alertmanager/#$WORK/am/#g" "$MON/alertmanager.yml" >"$WORK/am/alertmanager.yml"
cp "$MON"/templates/*.tmpl "$WORK/am/templates/"
echo 'https://hooks.slack.com/services/T0/B0/placeholder' >"$WORK/am/secrets/slack-webhook-url"
amtool check-config "$WORK/am/alertmanager.yml"

route() { amtool config routes test --config.file="$WORK/am/alertmanager.yml" "$@"; }
[ "$(route severity=critical component=edge)" = slack-reef-oncall ] ||
  { echo "critical alerts must go to slack-reef-oncall" >&2; exit 1; }
[ "$(route severity=warning component=drift)" = slack-reef-ops ] ||
  { echo "warnings must go to slack-reef-ops" >&2; exit 1; }
echo "monitoring: rules, rule tests, Prometheus and Alertmanager configs OK"
