#!/usr/bin/env bash
# Makes sure Prometheus and promtool are on this machine, installing Debian's
# prometheus package if they are missing. The tests start their own server on
# a backfilled temporary TSDB (metrics/prometheus/promtest); the service
# Debian starts on install is stopped.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
	exit 0
fi
echo "Prometheus missing: installing Debian's prometheus package" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
$sudo service prometheus stop >/dev/null 2>&1 || true
$sudo pkill -x prometheus >/dev/null 2>&1 || true
