#!/usr/bin/env bash
# Prints docs/statistics.md's A/A sweeps: the default judge's false-fail rate (and
# the regression's detection) per realistic shape, window length (10 to
# 720 points) and with or without history (judge backtest --synthetic).
# NOISES, POINTS, CASES, SEED and REGRESSION change the sweep; the
# defaults are the first sweep's (nine shapes, 200 A/A analyses a cell).
set -euo pipefail
judge=${JUDGE:-bin/judge}
noises=${NOISES:-independent shared aligned-cpu p99-histogram rate-window poisson daily sawtooth fleet-history}
for noise in $noises; do
  for n in ${POINTS:-10 30 60 240 720}; do
    for h in "" "--history -1"; do
      # shellcheck disable=SC2086 # $h is one flag and its value, or nothing
      r=$("$judge" backtest --synthetic --seed "${SEED:-5}" --cases "${CASES:-400}" --noise "$noise" --rho 0.5 --points "$n" $h \
        --regression "${REGRESSION:-level-shift:1.5}" --judge default 2>&1 |
        sed -nE 's/.*recall ([0-9.]+%)\).*false fails [0-9]+ \(([0-9.]+%)\).*/\2 (detected \1)/p')
      echo "$noise points=$n ${h:-with history}: $r"
    done
  done
done
