#!/usr/bin/env bash
# Kernel install benchmark: l3vpnd's netlink FIB backend vs `ip -batch`.
#
# In one fresh network namespace (a veth pair, ve0 192.0.2.1/24), installs
# the same ROUTES routes across TABLES VRF tables (table 1000+t gets
# 10.{j/256}.{j%256}.0/24 via 192.0.2.2 dev ve0, proto 201) two ways:
#   ours:     fib/examples/fib_install (NetlinkFib::apply, one call)
#   ip-batch: `ip -batch FILE` of the same routes, one `route add` per line
# Both are timed as whole commands started with `ip netns exec`, so process
# start-up counts on both sides; ours also prints its apply() time alone.
# Every run starts from a table without routes of proto 201 and is checked
# to have installed exactly ROUTES routes. Runs alternate which side goes
# first. Goal: ours >= 0.8x the ip-batch rate.
#
# usage: bench/fib_install.sh [-n RUNS]          (as root)
# env:   RUNS=3  ROUTES=100000  TABLES=100  NO_BUILD=1 (skip cargo build)
# Prints medians, rates and the ratio, then (one extra, untimed-for-the-
# ratio run) how long a fresh backend's load() of all of them takes (what a
# restart does) and DelVrf of all tables. Exits 0 when every run installed
# every route (a missed goal is reported, not an error).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-3}
ROUTES=${ROUTES:-100000}
TABLES=${TABLES:-100}
while [ $# -gt 0 ]; do
    case $1 in
    -n | --runs) RUNS=$2; shift 2 ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
    esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[[ $ROUTES =~ ^[1-9][0-9]*$ && $TABLES =~ ^[1-9][0-9]*$ ]] || die "ROUTES, TABLES: positive integers"
((ROUTES % TABLES == 0 && ROUTES / TABLES <= 65536)) || die "ROUTES must be TABLES x (1..65536)"

need_root
command -v ip >/dev/null || die "iproute2 (ip) missing"
BIN=${FIB_INSTALL:-$ROOT/target/release/examples/fib_install}
if [ "${NO_BUILD:-0}" != 1 ]; then
    note "cargo build --release -p fib --example fib_install"
    (cd "$ROOT" && cargo build --release -p fib --example fib_install) || die "release build failed"
fi
[ -x "$BIN" ] || die "missing $BIN"

NS=l3b-fib-$$
RUN=$(mktemp -d /tmp/l3b-fib.XXXXXX)
cleanup() {
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_netns "$NS"
ip -n "$NS" link add ve0 type veth peer name ve1
ip -n "$NS" link set ve0 up
ip -n "$NS" link set ve1 up
ip -n "$NS" addr add 192.0.2.1/24 dev ve0

PER=$((ROUTES / TABLES))
awk -v tables="$TABLES" -v per="$PER" 'BEGIN {
    for (t = 0; t < tables; t++)
        for (j = 0; j < per; j++)
            printf "route add 10.%d.%d.0/24 via 192.0.2.2 dev ve0 table %d proto 201\n",
                int(j / 256), j % 256, 1000 + t
}' >"$RUN/routes.batch"
[ "$(wc -l <"$RUN/routes.batch")" = "$ROUTES" ] || die "batch file has the wrong length"

ours_count() { ip -n "$NS" route show table all proto 201 | wc -l; }

flush() {
    ip -n "$NS" route flush table all proto 201 >/dev/null 2>&1 || true
    [ "$(ours_count)" = 0 ] || die "flush left routes of proto 201"
}

ours=() ours_apply=() ipb=()
run_ours() {
    local t0 t1 out
    flush
    t0=$(now_ns)
    out=$(ip netns exec "$NS" "$BIN" --routes "$ROUTES" --tables "$TABLES" --dev ve0 \
        --gateway 192.0.2.2) || die "fib_install failed: $out"
    t1=$(now_ns)
    [ "$(ours_count)" = "$ROUTES" ] || die "ours installed $(ours_count) routes, not $ROUTES"
    ours+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')")
    ours_apply+=("$(kv "$out" apply_s)")
}
run_ipb() {
    local t0 t1
    flush
    t0=$(now_ns)
    ip netns exec "$NS" ip -batch "$RUN/routes.batch" || die "ip -batch failed"
    t1=$(now_ns)
    [ "$(ours_count)" = "$ROUTES" ] || die "ip -batch installed $(ours_count) routes, not $ROUTES"
    ipb+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')")
}

note "$RUNS runs of $ROUTES routes in $TABLES tables, namespace $NS"
for ((r = 1; r <= RUNS; r++)); do
    if ((r % 2)); then run_ours; run_ipb; else run_ipb; run_ours; fi
    note "run $r: ours ${ours[-1]} s (apply ${ours_apply[-1]} s), ip -batch ${ipb[-1]} s"
done
flush
out=$(ip netns exec "$NS" "$BIN" --routes "$ROUTES" --tables "$TABLES" --dev ve0 \
    --gateway 192.0.2.2 --load) || die "fib_install --load failed: $out"
[ "$(ours_count)" = 0 ] || die "DelVrf left routes of proto 201"

m_ours=$(median "${ours[@]}")
m_apply=$(median "${ours_apply[@]}")
m_ipb=$(median "${ipb[@]}")
awk -v n="$ROUTES" -v o="$m_ours" -v a="$m_apply" -v i="$m_ipb" -v runs="$RUNS" 'BEGIN {
    printf "%-28s %10s %14s\n", "kernel install (median of " runs ")", "seconds", "routes/s"
    printf "%-28s %10.3f %14.0f\n", "l3vpnd NetlinkFib (process)", o, n / o
    printf "%-28s %10.3f %14.0f\n", "l3vpnd NetlinkFib::apply", a, n / a
    printf "%-28s %10.3f %14.0f\n", "ip -batch (process)", i, n / i
    ratio = i / o
    printf "ratio ours/ip-batch rate: %.2fx (goal >= 0.8x): %s\n", ratio, (ratio >= 0.8 ? "met" : "MISSED")
}'
printf '%-28s %10.3f   (fresh backend, %s routes of ours)\n' "NetlinkFib::load" "$(kv "$out" load_s)" "$ROUTES"
printf '%-28s %10.3f   (%s tables)\n' "DelVrf of every table" "$(kv "$out" delvrf_s)" "$TABLES"
