#!/usr/bin/env bash
# Backtests a canary config on past deployments held by a real, local
# Prometheus: eight hours of a checkout service (a baseline pod, four canary
# analyses of which two regressed, two full rollouts of which one regressed)
# are backfilled with promtool; judge backtest --incidents fetches every
# case through the analysis runner, judges it with both judges and keeps
# what it fetched in a cache; a second run, with Prometheus stopped,
# backtests a candidate config (without the error metric) from the cache
# alone. Nothing outside this machine
# is used. docs/backtest.md walks through the output.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-prometheus.sh
work=$(mktemp -d)
port=${DEMO_PROMETHEUS_PORT:-19191}
judge=${JUDGE_BIN:-bin/judge}
cleanup() { [ -n "${prom_pid:-}" ] && kill "$prom_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# Eleven hours ago, on the hour: the eight hours end before the last three,
# which promtool cannot backfill.
start=$(( ( $(date +%s) - 11*3600 ) / 3600 * 3600 ))
awk -v start="$start" -f fixtures/backtest/series.awk > "$work/fixtures.om"
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

printf 'metrics:\n  accounts:\n    - name: local-prometheus\n      type: prometheus\n      url: http://127.0.0.1:%s\n' "$port" > "$work/judge.yaml"
iso() { date -u -d "@$(( start + 60*$1 ))" +%Y-%m-%dT%H:%M:%SZ; }
canary() { # name label pod first-minute
	cat <<YAML
  - name: $1
    label: $2
    scopes:
      default:
        controlScope:    {scope: checkout-baseline, start: $(iso "$4"), end: $(iso $(( $4 + 29 ))), step: 60}
        experimentScope: {scope: $3, start: $(iso "$4"), end: $(iso $(( $4 + 29 ))), step: 60}
YAML
}
rollout() { # name label minute
	printf '  - name: %s\n    label: %s\n    change: {scope: checkout, at: %s, window: 30m, step: 60s}\n' "$1" "$2" "$(iso "$3")"
}
{
	echo "cases:"
	canary canary-1187 good checkout-canary-1187 120
	canary canary-1188 regression checkout-canary-1188 180
	canary canary-1189 good checkout-canary-1189 240
	canary canary-1190 regression checkout-canary-1190 300
	rollout rollout-0412 good 200
	rollout rollout-0413 regression 400
} > "$work/incidents.yaml"

cfg=fixtures/prometheus/canary-config.yaml
echo "\$ judge backtest --config judge.yaml --canary-config $cfg --incidents incidents.yaml --cache cache --judge both"
code=0
"$judge" backtest --config "$work/judge.yaml" --canary-config "$cfg" --incidents "$work/incidents.yaml" --cache "$work/cache" --judge both || code=$?
echo "exit $code"
[ "$code" -eq 0 ]

kill "$prom_pid" && wait "$prom_pid" 2>/dev/null || true
prom_pid=""
echo
echo "# Prometheus stopped: a candidate config without the error metric, from the cache alone"
echo "\$ judge backtest --config judge.yaml --canary-config fixtures/backtest/candidate.yaml --incidents incidents.yaml --cache cache --judge default"
"$judge" backtest --config "$work/judge.yaml" --canary-config fixtures/backtest/candidate.yaml --incidents "$work/incidents.yaml" --cache "$work/cache" --judge default

out=${DEMO_OUT:-demo-backtest-out}
mkdir -p "$out"
cp -r "$work/judge.yaml" "$work/incidents.yaml" "$work/cache" "$out/"
echo
echo "Kept in $out/: judge.yaml, incidents.yaml and cache/ (one MetricSetPairList per case)."
