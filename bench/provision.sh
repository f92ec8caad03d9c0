#!/usr/bin/env bash
# Provisioning benchmark: 10,000 VRFs created one SET PDU each (RD +
# StorageType nonVolatile + RowStatus createAndGo, each acknowledged durable)
# by a single client over loopback: VRFs/s and SET latency; then restart time
# (spawn -> first GET of mplsL3VpnConfiguredVrfs.0 answering 10000) and RSS
# with 10,000 VRFs. Goal: >= 2,000 VRFs/s and restart < 1 s.
#
# There is no comparator for the VRF figures (net-snmp has no VRF table and no
# durable row creation to compare with): the goals are printed beside ours.
# Same-run baseline for round-trip cost on this machine: 10,000 sequential
# GETs of sysUpTime.0 (same client) against l3vpnd and against net-snmp snmpd.
#
# Everything runs inside a fresh network namespace (l3b-prov-PID) on its
# loopback, so whatever l3vpnd programs into the kernel for 10,000 VRFs stays
# there and vanishes with it.
#
# usage: bench/provision.sh [-n RUNS]     (as root)
# env:   RUNS=5  COUNT=10000  GETS=10000  NO_BUILD=1 (skip cargo build)  KEEP=1
# Exits 0 when all runs completed and the checks held (a missed goal is
# reported, not an error); non-zero with the reason when l3vpnd misbehaved.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}
COUNT=${COUNT:-10000}
GETS=${GETS:-10000}
while [ $# -gt 0 ]; do
    case $1 in
    -n | --runs) RUNS=$2; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
    esac
done
for v in RUNS COUNT GETS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[ "$COUNT" -le 100000 ] && [ "$GETS" -le 1000000 ] || die "COUNT <= 100000, GETS <= 1000000"

need_root
ensure_netsnmp
build_release
[ -x "$L3VPND" ] || die "missing $L3VPND"

NS=l3b-prov-$$
RUN=$(mktemp -d /tmp/l3b-prov.XXXXXX)
SNMPD_PID=
L3_PID=
CONFIGURED_VRFS=1.3.6.1.2.1.10.166.11.1.1.1.0
SYSUPTIME=1.3.6.1.2.1.1.3.0
# mplsL3VpnVrfRD of VRF "vrf1": 1.3.6.1.2.1.10.166.11.1.2.2.1.4.<len>.<octets>
RD_VRF1=1.3.6.1.2.1.10.166.11.1.2.2.1.4.4.118.114.102.49
FAILS=()

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$SNMPD_PID" 10
    stop_pid "$L3_PID" 10
    ip netns del "$NS" 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
        echo "run dir kept: $RUN" >&2
    else
        rm -rf "$RUN"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

nsx() { ip netns exec "$NS" "$@"; }
client() { nsx "$PROVISION" "$@"; }
fail() {
    echo "CHECK FAILED: $*" >&2
    FAILS+=("$*")
}
l3_log_tail() { echo "--- last lines of $1:" >&2; tail -n 25 "$1" >&2 || true; }

make_netns "$NS"
port() { client --mode free-port; }

SNMPD_PORT=$(port)
start_snmpd "$NS" "$RUN" "$SNMPD_PORT"
note "snmpd: pid $SNMPD_PID on 127.0.0.1:$SNMPD_PORT in $NS"

declare -a P_CPU P_RATE P_P50 P_P99 P_RETRY R_MS R_FIRST RSS_B RSS_A G_L3 G_L3_P50 G_SD G_SD_P50 STOP_MS DISK

for ((r = 1; r <= RUNS; r++)); do
    note "run $r/$RUNS"
    DATA=$RUN/data-$r
    LOG=$RUN/l3vpnd-$r.log
    mkdir -p "$DATA"
    L3_PORT=$(port)

    # 1. fresh daemon, ready when it answers mplsL3VpnConfiguredVrfs.0 = 0
    t0=$(now_ns)
    start_l3vpnd "$NS" "$DATA" "$L3_PORT" "$LOG"
    if ! out=$(client --wait-ready --target "127.0.0.1:$L3_PORT" --community public \
        --oid "$CONFIGURED_VRFS" --expect 0 --since-ns "$t0" --max-wait-ms 20000); then
        l3_log_tail "$LOG"
        die "fresh l3vpnd (empty data dir) never answered $CONFIGURED_VRFS = 0 within 20 s"
    fi
    note "fresh start: $(kv "$(grep '^RESULT' <<<"$out")" ready_ms) ms to answer"

    # 2. provisioning: COUNT VRFs, one SET each
    c0=$(cpu_ticks "$L3_PID")
    if ! out=$(client --target "127.0.0.1:$L3_PORT" --community private --count "$COUNT" \
        --start 1 --prefix vrf --rd-asn 65000); then
        l3_log_tail "$LOG"
        die "provisioning failed (see the client's error above): $(tail -n1 <<<"$out")"
    fi
    grep -v "^RESULT" <<<"$out" >&2 || true
    c1=$(cpu_ticks "$L3_PID")
    P_CPU+=("$(awk -v t=$((c1 - c0)) -v k="$(getconf CLK_TCK)" 'BEGIN {print t/k}')")
    res=$(grep '^RESULT' <<<"$out")
    P_RATE+=("$(kv "$res" rate)") P_P50+=("$(kv "$res" p50_us)")
    P_P99+=("$(kv "$res" p99_us)") P_RETRY+=("$(kv "$res" retries)")

    # 3. the count as net-snmp sees it
    n=$(nsx snmpget -v2c -c public -On -Oqv -t 2 -r 1 "127.0.0.1:$L3_PORT" "$CONFIGURED_VRFS" 2>&1 || true)
    [ "$n" = "$COUNT" ] || fail "run $r: snmpget $CONFIGURED_VRFS = '$n' after provisioning, expected $COUNT"

    # 4. same-run round-trip baseline: GETs of sysUpTime.0, l3vpnd then snmpd
    if out=$(client --get-loop --target "127.0.0.1:$L3_PORT" --community public \
        --oid "$SYSUPTIME" --count "$GETS" --quiet); then
        res=$(grep '^RESULT' <<<"$out")
        G_L3+=("$(kv "$res" rate)") G_L3_P50+=("$(kv "$res" p50_us)")
    else
        fail "run $r: GET loop of sysUpTime.0 against l3vpnd failed"
    fi
    out=$(client --get-loop --target "127.0.0.1:$SNMPD_PORT" --community public \
        --oid "$SYSUPTIME" --count "$GETS" --quiet) || die "GET loop against snmpd failed"
    res=$(grep '^RESULT' <<<"$out")
    G_SD+=("$(kv "$res" rate)") G_SD_P50+=("$(kv "$res" p50_us)")

    # 5. stop (SIGTERM), bounded
    RSS_B+=("$(rss_kib "$L3_PID")")
    t0=$(now_ns)
    kill -TERM "$L3_PID"
    for ((i = 0; i < 3000; i++)); do kill -0 "$L3_PID" 2>/dev/null || break; sleep 0.01; done
    if kill -0 "$L3_PID" 2>/dev/null; then
        fail "run $r: l3vpnd still running 30 s after SIGTERM (killed)"
        kill -KILL "$L3_PID" 2>/dev/null || true
    fi
    rc=0; wait "$L3_PID" || rc=$?
    STOP_MS+=("$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN {printf "%.1f", (b-a)/1e6}')")
    [ "$rc" = 0 ] || [ "$rc" = 143 ] || fail "run $r: l3vpnd exited with status $rc on SIGTERM"
    DISK+=("$(du -sk "$DATA" | cut -f1)")
    L3_PID=

    # 6. restart: spawn -> first answer of ConfiguredVrfs = COUNT
    t0=$(now_ns)
    start_l3vpnd "$NS" "$DATA" "$L3_PORT" "$LOG"
    if ! out=$(client --wait-ready --target "127.0.0.1:$L3_PORT" --community public \
        --oid "$CONFIGURED_VRFS" --expect "$COUNT" --since-ns "$t0" --max-wait-ms 60000); then
        l3_log_tail "$LOG"
        die "restarted l3vpnd never answered $CONFIGURED_VRFS = $COUNT within 60 s"
    fi
    grep -v "^RESULT" <<<"$out" >&2 || true
    res=$(grep '^RESULT' <<<"$out")
    R_MS+=("$(kv "$res" ready_ms)") R_FIRST+=("$(kv "$res" first_answer_ms)")
    RSS_A+=("$(rss_kib "$L3_PID")")
    rd=$(nsx snmpget -v2c -c public -On -Oqv -t 2 -r 1 "127.0.0.1:$L3_PORT" "$RD_VRF1" 2>&1 || true)
    [ "$rd" = '"65000:1"' ] || [ "$rd" = "65000:1" ] ||
        fail "run $r: after restart mplsL3VpnVrfRD.\"vrf1\" = '$rd', expected \"65000:1\""

    stop_pid "$L3_PID" 30
    L3_PID=
    rm -rf "$DATA"
done

m() { median "$@"; }
echo
echo "Provisioning: $COUNT VRFs, one SET PDU each (RD + nonVolatile + createAndGo), one client," \
    "loopback in netns, median of $RUNS runs"
printf '%-34s %14s %14s\n' "" l3vpnd "goal"
printf '%-34s %14.0f %14s\n' "VRFs/s" "$(m "${P_RATE[@]}")" ">= 2000"
printf '%-34s %14.0f %14s\n' "SET latency p50 us" "$(m "${P_P50[@]}")" ""
printf '%-34s %14.0f %14s\n' "SET latency p99 us" "$(m "${P_P99[@]}")" ""
printf '%-34s %14.2f %14s\n' "l3vpnd CPU s for the $COUNT SETs" "$(m "${P_CPU[@]}")" ""
printf '%-34s %14s %14s\n' "SET retries (all runs)" \
    "$(printf '%s\n' "${P_RETRY[@]}" | awk '{s+=$1} END {print s}')" ""
printf '%-34s %14.1f %14s\n' "restart to $COUNT VRFs served, ms" "$(m "${R_MS[@]}")" "< 1000"
printf '%-34s %14.1f %14s\n' "restart to first answer, ms" "$(m "${R_FIRST[@]}")" ""
printf '%-34s %14.1f %14s\n' "RSS after restart, MiB" "$(awk -v k="$(m "${RSS_A[@]}")" 'BEGIN {print k/1024}')" ""
printf '%-34s %14.1f %14s\n' "RSS after provisioning, MiB" "$(awk -v k="$(m "${RSS_B[@]}")" 'BEGIN {print k/1024}')" ""
printf '%-34s %14.1f %14s\n' "stop on SIGTERM, ms" "$(m "${STOP_MS[@]}")" ""
printf '%-34s %14.1f %14s\n' "data dir on disk, MiB" "$(awk -v k="$(m "${DISK[@]}")" 'BEGIN {print k/1024}')" ""
echo "comparator: none (net-snmp snmpd has no VRF table and no durable row creation);" \
    "the goal figures stand beside ours"
echo
echo "Same-run baseline: $GETS sequential GETs of sysUpTime.0, same client, median of $RUNS runs"
printf '%-10s %12s %12s\n' agent "GETs/s" "p50 us"
if [ ${#G_L3[@]} -gt 0 ]; then
    printf '%-10s %12.0f %12.0f\n' l3vpnd "$(m "${G_L3[@]}")" "$(m "${G_L3_P50[@]}")"
else
    printf '%-10s %12s %12s\n' l3vpnd failed -
fi
printf '%-10s %12.0f %12.0f\n' snmpd "$(m "${G_SD[@]}")" "$(m "${G_SD_P50[@]}")"
echo
rate=$(m "${P_RATE[@]}")
rms=$(m "${R_MS[@]}")
awk -v r="$rate" -v t="$rms" 'BEGIN {
    printf "goal VRFs/s >= 2000: %s (%.0f)\n", (r >= 2000 ? "met" : "MISSED"), r
    printf "goal restart < 1 s: %s (%.0f ms)\n", (t < 1000 ? "met" : "MISSED"), t }'

if [ ${#FAILS[@]} -gt 0 ]; then
    echo
    echo "l3vpnd misbehaved:"
    printf '  - %s\n' "${FAILS[@]}"
    KEEP=1
    exit 1
fi
