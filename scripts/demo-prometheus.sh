#!/usr/bin/env bash
# A live analysis against a real, local Prometheus: fixture series (a
# baseline and a canary whose p90 latency is 40% higher) are backfilled with
# promtool, prometheus serves them on a loopback port, and judge analyze
# --scopes fetches and judges them. Nothing outside this machine is used.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-prometheus.sh
work=$(mktemp -d)
port=${DEMO_PROMETHEUS_PORT:-19190}
cleanup() { [ -n "${prom_pid:-}" ] && kill "$prom_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# Six hours ago, on the hour: promtool cannot backfill the last three.
start=$(( ( $(date +%s) - 6*3600 ) / 3600 * 3600 ))
awk -v start="$start" 'BEGIN {
	print "# TYPE demo_request_latency_seconds gauge"
	print "# TYPE demo_errors_per_second gauge"
	for (i = 0; i < 60; i++) {
		t = start + 60*i
		noise = 0.04*sin(i*1.9) + 0.02*cos(i*0.7)
		printf "demo_request_latency_seconds{pod=\"checkout-baseline\",quantile=\"0.9\"} %.6f %d\n", 0.250*(1+noise), t
		printf "demo_request_latency_seconds{pod=\"checkout-canary\",quantile=\"0.9\"} %.6f %d\n", 0.350*(1+0.04*sin((i+5)*1.9)), t
		printf "demo_errors_per_second{pod=\"checkout-baseline\"} %.6f %d\n", 0.5*(1+0.3*sin(i*1.3)), t
		printf "demo_errors_per_second{pod=\"checkout-canary\"} %.6f %d\n", 0.5*(1+0.3*sin((i+2)*1.3)), t
	}
	print "# EOF"
}' > "$work/fixtures.om"
promtool tsdb create-blocks-from openmetrics "$work/fixtures.om" "$work/data" >/dev/null
printf 'global:\n  scrape_interval: 1h\n' > "$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
	--storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
for _ in $(seq 1 100); do
	curl -fs "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
	sleep 0.2
done
curl -fs "http://127.0.0.1:$port/-/ready" >/dev/null || { cat "$work/prometheus.log"; exit 1; }

cat > "$work/judge.yaml" <<YAML
metrics:
  accounts:
    - name: local-prometheus
      type: prometheus
      url: http://127.0.0.1:$port
YAML
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
end=$(( start + 59*60 ))
cat > "$work/scopes.json" <<JSON
{"scopes": {"default": {
  "controlScope":    {"scope": "checkout-baseline", "start": "$(iso "$start")", "end": "$(iso "$end")", "step": 60},
  "experimentScope": {"scope": "checkout-canary",   "start": "$(iso "$start")", "end": "$(iso "$end")", "step": 60}}}}
JSON
echo "\$ judge analyze --config judge.yaml --canary-config fixtures/prometheus/canary-config.yaml --scopes scopes.json"
code=0
"${JUDGE_BIN:-bin/judge}" analyze --config "$work/judge.yaml" --canary-config fixtures/prometheus/canary-config.yaml \
	--scopes "$work/scopes.json" --save-data "$work/fetched.json" || code=$?
echo "exit $code"
[ "$code" -le 2 ]

# What the user copies from: kept after the demo's Prometheus is gone.
out=${DEMO_OUT:-demo-prometheus-out}
mkdir -p "$out"
cp "$work/judge.yaml" "$work/scopes.json" "$work/fetched.json" "$out/"
cp fixtures/prometheus/canary-config.yaml "$out/canary-config.yaml"
echo
echo "Kept in $out/ to copy from:"
echo "  $out/judge.yaml          the metrics account (point url at your Prometheus)"
echo "  $out/canary-config.yaml  the canary config with its PromQL queries"
echo "  $out/scopes.json         the baseline and canary scopes and window (a Kayenta CanaryExecutionRequest)"
echo "  $out/fetched.json        the series fetched, a MetricSetPairList; replay them offline:"
echo "    bin/judge analyze --canary-config $out/canary-config.yaml --data $out/fetched.json"
