#!/usr/bin/env bash
# Makes sure Debian's podman is on this machine for the container image's
# test (container/image_test.go): podman loads bin/judge-image.tar and
# inspects it, and runs it where the machine lets it run containers.
set -euo pipefail
command -v podman >/dev/null 2>&1 && exit 0
echo "installing Debian's podman" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq podman >/dev/null
