#!/usr/bin/env bash
# Prints the README's realistic-shapes table: for each shape, regression
# and ρ, detection and A/A of the default and kayenta judges and of the
# reference test (judge backtest --synthetic --judge all). Usage:
#   scripts/shape-table.sh [extra backtest flags, e.g. --points 240 --seed 2]
set -euo pipefail
judge=${JUDGE:-bin/judge}
rows=(
  "p99-histogram level-shift:1.2 0.5"
  "p99-histogram tail:10 0.5"
  "p99-histogram-busy level-shift:1.2 0.5"
  "rate-window level-shift:1.2 0.5"
  "shared level-shift:1.25 0.5"
  "shared step:1.35 0.5"
  "shared ramp:1.5 0.5"
  "aligned-cpu level-shift:1.25 0.5"
  "aligned-cpu-quiet level-shift:1.25 0.5"
  "aligned-cpu-quiet level-shift:1.1 0.5"
  "daily level-shift:1.25 0.5"
  "poisson burst:10 0"
  "sawtooth ramp:1.15 0"
  "sawtooth level-shift:1.1 0"
  "fleet-history level-shift:1.2 0"
  "independent level-shift:1.35 0.5"
  "independent level-shift:1.35 0.8"
  "rolling-mean level-shift:1.3 0"
  "rolling-mean level-shift:1.3 0.5"
  "rolling-mean-shared level-shift:1.3 0.5"
  "heavy-tailed level-shift:1.1 0.5"
)
echo "| shape (\`--noise\`, \`--regression\`, \`--rho\`) | default: detected / A/A | kayenta: detected / A/A | reference: detected / A/A |"
echo "|---|---:|---:|---:|"
for row in "${rows[@]}"; do
  read -r noise reg rho <<<"$row"
  line="| \`$noise\`, \`$reg\`, $rho |"
  while read -r cell; do
    line+=" $cell |"
  done < <("$judge" backtest --synthetic --cases "${CASES:-400}" --noise "$noise" --regression "$reg" --rho "$rho" --judge all "$@" 2>&1 |
    sed -nE 's/^judge [a-z]+: .*\(recall ([0-9.]+%)\).*false fails [0-9]+ \(([0-9.]+%)\).*/\1 \/ \2/p')
  echo "$line"
done
