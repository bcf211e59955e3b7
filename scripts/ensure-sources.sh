#!/usr/bin/env bash
# Makes sure the metrics stores the source tests run against are on this
# machine, installing Debian's packages when missing: InfluxDB 1.x
# (influxdb), Graphite (graphite-web, with python3-whisper's tools) and
# VictoriaMetrics (victoria-metrics). The tests start their own servers on
# temporary directories; the services Debian starts on install are stopped.
set -euo pipefail
missing=()
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
command -v graphite-manage >/dev/null 2>&1 || missing+=(graphite-web)
command -v whisper-create >/dev/null 2>&1 || missing+=(python3-whisper)
command -v victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian's ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for svc in influxdb victoria-metrics carbon-cache; do
	$sudo service "$svc" stop >/dev/null 2>&1 || true
done
$sudo pkill -x influxd >/dev/null 2>&1 || true
$sudo pkill -x victoria-metrics >/dev/null 2>&1 || true
