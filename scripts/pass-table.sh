#!/usr/bin/env bash
# Prints docs/statistics.md's table of what the default judge certifies:
# for each shape of scripts/shape-table.sh, the share of regressions that
# end FAIL (detected), PASS (waved through) and, of unchanged canaries,
# FAIL (false fails) and PASS (certified: every metric's test could have
# seen its allowed effect), with and without history. Usage:
#   scripts/pass-table.sh [extra backtest flags, e.g. --points 30 --seed 2]
set -euo pipefail
judge=${JUDGE:-bin/judge}
rows=$(sed -nE 's/^  "([a-z0-9-]+ [a-z-]+:[0-9.]+ [0-9.]+)"$/\1/p' "$(dirname "$0")/shape-table.sh")
echo "| shape (\`--noise\`, \`--regression\`, \`--rho\`) | with history: regressions FAIL / PASS, unchanged FAIL / PASS | without history |"
echo "|---|---:|---:|"
while read -r noise reg rho; do
  line="| \`$noise\`, \`$reg\`, $rho |"
  for h in "" "--history -1"; do
    # shellcheck disable=SC2086 # $h is one flag and its value, or nothing
    line+=" $("$judge" backtest --synthetic --cases "${CASES:-400}" --noise "$noise" --regression "$reg" --rho "$rho" --judge default $h "$@" 2>&1 |
      sed -nE 's/^judge default: incidents ([0-9]+), .*\(recall ([0-9.]+%)\); controls ([0-9]+), .*\(([0-9.]+%)\);.*PASS: incidents ([0-9]+), controls ([0-9]+)$/\1 \2 \3 \4 \5 \6/p' |
      awk '{printf "%s / %.1f%%, %s / %.1f%%", $2, 100*$5/$1, $4, 100*$6/$3}') |"
  done
  echo "$line"
done <<<"$rows"
