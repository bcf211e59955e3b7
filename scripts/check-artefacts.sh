#!/usr/bin/env bash
# Fails when a tracked file is a build artefact: an executable binary (ELF,
# Mach-O, PE) or an object file. Build outputs belong in bin/ (ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r -d '' f; do
	[ -f "$f" ] || continue
	magic=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
	case "$magic" in
	7f454c46 | cffaedfe | cefaedfe | feedfacf | feedface | 4d5a*) bad+=("$f") ;;
	esac
done < <(git ls-files -z)
if [ ${#bad[@]} -gt 0 ]; then
	echo "build artefacts are tracked (remove them with git rm --cached; bin/ is ignored):" >&2
	printf '  %s\n' "${bad[@]}" >&2
	exit 1
fi
