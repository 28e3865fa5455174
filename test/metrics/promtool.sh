#!/bin/sh
# promtool.sh SOURCE_DIR - Prometheus's own checks of what this project
# ships for it: the renderer's full sample (test/data/metrics/sample.prom,
# which check_metrics compares byte for byte with metrics_render's output)
# through `promtool check metrics`, the alerting rules through `promtool
# check rules`, and when each alert fires through `promtool test rules`
# (test/metrics/rules_test.yml).  Exit 77 (skipped) without promtool
# (Debian: prometheus).
set -eu
src=${1:?usage: promtool.sh SOURCE_DIR}
if ! command -v promtool >/dev/null 2>&1; then
    echo "SKIP: promtool is not installed (Debian package prometheus)"
    exit 77
fi
# promtool check metrics prints lint problems and exits non-zero on them.
out=$(promtool check metrics <"$src/test/data/metrics/sample.prom" 2>&1) || {
    echo "promtool check metrics: $out"
    exit 1
}
[ -z "$out" ] || { echo "promtool check metrics: $out"; exit 1; }
echo "promtool check metrics: sample.prom: ok"
promtool check rules "$src/contrib/prometheus/hosted-milter.rules.yml"
cd "$src/test/metrics"
promtool test rules rules_test.yml
