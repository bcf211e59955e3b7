#!/usr/bin/env bash
# Makes sure Debian's chromium is on this machine for the headless browser
# test of the web UI (cmd/judge/ui_browser_test.go), installing it if missing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
	exit 0
fi
echo "Chromium missing: installing Debian's chromium package" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
