#!/usr/bin/env bash
# Instructions per request of a fixed request stream, from callgrind (steady on a loaded
# machine, unlike wall-clock figures). Runs BIN under callgrind twice: once with only the
# start-up and a fixed load (1000 string keys, a list), once with the same plus redis-benchmark
# TEST; the difference divided by N is the cost of one request. Leaves the second callgrind
# file for callgrind_annotate (which then includes start-up and load).
#   benches/callgrind-requests.sh BIN PORT TEST [PIPELINE] [N] [OUT]
# e.g. benches/callgrind-requests.sh target/release/rusty-redis-server 29310 get 16 200000
# Optional environment (the defaults keep the figures comparable with earlier runs):
#   KEYSPACE=N   redis-benchmark -r for TEST (default 1000; vs-redis uses 100000, where the
#                table no longer fits the caches); the load then covers the keyspace, so GET
#                and INCR find their keys as in vs-redis. CG_RANGE is the same setting.
#   CG_WARM=N    before measuring, both runs send N requests of TEST at -P 64 with KEYSPACE, so
#                the difference is the steady state of a filled key (e.g. a 100,000-member zset)
#   CG_CACHE=1   add --cache-sim=yes (cache misses per request, for callgrind_annotate)
#   CG_OPTS=...  more callgrind options
set -euo pipefail
bin=$1 port=$2 test=$3 pipe=${4:-16} n=${5:-200000} out=${6:-/tmp/callgrind.$test.$pipe.out}
keyspace=${KEYSPACE:-${CG_RANGE:-1000}} warm=${CG_WARM:-0} cache=${CG_CACHE:-0}
load=$(( keyspace > 2000 ? keyspace * 5 : 20000 ))
cg_opts=(${CG_OPTS:-})
[ "$cache" = 1 ] && cg_opts+=(--cache-sim=yes)

run() { # file, test or empty
    valgrind --tool=callgrind --dump-instr=no ${cg_opts[@]+"${cg_opts[@]}"} \
        --callgrind-out-file="$1" "$bin" --port "$port" --save "" --appendonly no \
        >/dev/null 2>&1 &
    local vg=$!
    for _ in $(seq 300); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-benchmark -p "$port" -t set,lpush -n "$load" -r "$keyspace" -P 16 -q >/dev/null
    if [ "$warm" -gt 0 ]; then
        redis-benchmark -p "$port" -t "$test" -n "$warm" -c 50 -P 64 -r "$keyspace" -q >/dev/null
    fi
    if [ -n "$2" ]; then
        redis-benchmark -p "$port" -t "$2" -n "$n" -c 50 -P "$pipe" -r "$keyspace" -q >/dev/null
    fi
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$vg"
    wait "$vg" || true
    grep -E '^summary:' "$1" | awk '{print $2}'
}
base_file=$out.base
run "$base_file" "" >/dev/null
base=$(grep -E '^summary:' "$base_file" | awk '{print $2}')
ir=$(run "$out" "$test")
echo "$test P=$pipe -r $keyspace: $(( (ir - base) / n )) Ir/request ($ir - $base base)"
