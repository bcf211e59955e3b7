#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries (initdb, pg_ctl) are on this machine,
# installing Debian's postgresql package if they are missing. The tests start
# their own throwaway cluster (store/pgtest); no server is left running here.
set -euo pipefail
# PostgreSQL refuses to run as root; as root the tests run it as "postgres".
ensure_user() {
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin postgres
	fi
}
if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
	ensure_user
	exit 0
fi
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
	ensure_user
	exit 0
fi
echo "PostgreSQL server binaries missing: installing Debian's postgresql package" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# Debian starts a cluster of its own on install; the tests do not need it.
$sudo service postgresql stop >/dev/null 2>&1 || true
