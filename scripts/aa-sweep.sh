#!/usr/bin/env bash
# Prints the README's A/A sweep: the default judge's false-fail rate per
# realistic shape, window length (10 to 720 points) and with or without
# history, 200 A/A analyses each (judge backtest --synthetic).
set -euo pipefail
judge=${JUDGE:-bin/judge}
for noise in independent shared aligned-cpu p99-histogram rate-window poisson daily sawtooth fleet-history; do
  for n in 10 30 60 240 720; do
    for h in "" "--history -1"; do
      # shellcheck disable=SC2086 # $h is one flag and its value, or nothing
      r=$("$judge" backtest --synthetic --seed "${SEED:-5}" --cases 400 --noise "$noise" --rho 0.5 --points "$n" $h \
        --regression level-shift:1.5 --judge default 2>&1 | sed -nE 's/.*false fails [0-9]+ \(([0-9.]+%)\).*/\1/p')
      echo "$noise points=$n ${h:-with history}: $r"
    done
  done
done
