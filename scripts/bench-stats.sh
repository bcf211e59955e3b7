#!/usr/bin/env bash
# Benchmarks the Mann-Whitney test against the sort floor measured in the same
# run and, where Rscript is installed, against R's wilcox.test(conf.int=TRUE)
# on samples of the same sizes. Prints a Markdown table for the README.
set -euo pipefail
cd "$(dirname "$0")/.."

count=${BENCH_COUNT:-5}
raw=$(go test ./stats -run '^$' -bench '^(BenchmarkMannWhitney|BenchmarkSortFloor)$' -benchmem -count "$count")
echo "$raw" | grep -E '^Benchmark'
echo

# median ns/op per benchmark name
median() {
	echo "$raw" | awk -v name="$1" '$1 ~ "^"name"(-[0-9]+)?$" {print $3}' | sort -n |
		awk '{a[NR]=$1} END {if (NR==0) {print "NaN"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'
}
allocs() {
	echo "$raw" | awk -v name="$1" '$1 ~ "^"name"(-[0-9]+)?$" {print $7; exit}'
}

r_ns() {
	local n=$1 reps=$2
	Rscript -e "set.seed(1); n <- $n; x <- rnorm(n, 101, 10); y <- rnorm(n, 100, 10); invisible(wilcox.test(x, y, conf.int = TRUE)); t <- system.time(for (i in 1:$reps) wilcox.test(x, y, conf.int = TRUE))[['elapsed']] / $reps; cat(sprintf('%.0f', t * 1e9))"
}

have_r=false
command -v Rscript >/dev/null 2>&1 && have_r=true

printf '| n per sample | MannWhitney | sort floor | ratio to floor | allocs/op | R wilcox.test | R / judge |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|\n'
for n in 1000 10000 100000; do
	mw=$(median "BenchmarkMannWhitney/n=$n")
	fl=$(median "BenchmarkSortFloor/n=$n")
	al=$(allocs "BenchmarkMannWhitney/n=$n")
	r="n/a"
	rr="n/a"
	if $have_r; then
		reps=$(( n >= 100000 ? 1 : (n >= 10000 ? 3 : 20) ))
		rns=$(r_ns "$n" "$reps")
		r=$(awk -v v="$rns" 'BEGIN {printf "%.1f ms", v/1e6}')
		rr=$(awk -v a="$rns" -v b="$mw" 'BEGIN {printf "%.0f×", a/b}')
	fi
	awk -v n="$n" -v mw="$mw" -v fl="$fl" -v al="$al" -v r="$r" -v rr="$rr" 'BEGIN {
		printf "| %d | %.2f ms | %.2f ms | %.2f× | %s | %s | %s |\n", n, mw/1e6, fl/1e6, mw/fl, al, r, rr }'
done

# Concurrent fetching: an analysis of 20 metrics against a real Prometheus
# (started by the analysis package's tests) against the slowest of its 40
# queries run alone in the same iteration.
echo
echo "Fetching (go test ./analysis -bench BenchmarkFetchConcurrency):"
go test ./analysis -run '^$' -bench '^BenchmarkFetchConcurrency$' -count 3 | grep -E '^Benchmark'
