#!/usr/bin/env bash
# Makes sure Debian's chromium is on this machine for the headless browser
# test of the web UI (cmd/judge/ui_browser_test.go), with Liberation Sans:
# the charts are laid out with its metrics (those of Arial and Helvetica,
# which users' browsers have), so the test measures them as users see them.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "Liberation Sans" || missing+=(fonts-liberation)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian's ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
