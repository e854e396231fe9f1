#!/usr/bin/env bash
# Runs the same three workloads through cachegen and through joblib.Memory
# on this machine, and prints a table of times and ratios. Installs
# Debian's python3-joblib and python3-numpy when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
if ! "$py" -c 'import joblib, numpy' 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-joblib python3-numpy >/dev/null
fi
go_out=$(go test -run '^$' -bench '^(BenchmarkHitSmall|BenchmarkKeyFloat64Slice64MiB|BenchmarkHitFloat64Slice64MiB|BenchmarkHitFloat64Slice64MiBMapped)$' -benchtime 2s -count 3 ./runtime)
py_out=$("$py" bench/joblib_bench.py)
# best ns/op per benchmark, in seconds
go_s() { echo "$go_out" | awk -v b="$1" '$1 ~ "^"b"(-[0-9]+)?$" { if (!m || $3 < m) m = $3 } END { printf "%.9f", m / 1e9 }'; }
py_s() { echo "$py_out" | awk -v w="$1" '$1 == w { printf "%.9f", $2 }'; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3), joblib $("$py" -c 'import joblib; print(joblib.__version__)')"
printf '%-34s %13s %12s %16s\n' workload cachegen joblib "joblib/cachegen"
row() {
  g=$(go_s "$2"); p=$(py_s "$3")
  awk -v n="$1" -v g="$g" -v p="$p" 'BEGIN { printf "%-34s %10.3f ms %9.3f ms %15.1fx\n", n, g * 1e3, p * 1e3, p / g }'
}
row "hit, small result" BenchmarkHitSmall small_hit
row "key of a 64 MiB float64 array" BenchmarkKeyFloat64Slice64MiB key_64mib
row "hit, 64 MiB float64 result" BenchmarkHitFloat64Slice64MiB hit_64mib
row "hit, 64 MiB, mapped" BenchmarkHitFloat64Slice64MiBMapped hit_64mib_mapped
