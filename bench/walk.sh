#!/usr/bin/env bash
# Walk benchmark: net-snmp snmpd vs l3vpnd serving IF-MIB::ifTable.
#
# In one fresh network namespace with 2000 veth interfaces (1000 pairs), the
# same client (`snmpbulkwalk -v2c -Cr50`) walks ifTable (1.3.6.1.2.1.2.2) from
# each agent. Per walk we measure the agent's CPU time (utime+stime delta from
# /proc/PID/stat; the client's own time is a big part of the wall time, so
# wall time alone hides the agent), the wall time and varbinds/s.
# Goal: l3vpnd uses at most a third of snmpd's CPU for the same walk.
#
# usage: bench/walk.sh [-n RUNS]          (as root)
# env:   RUNS=5  PAIRS=1000  WALKS=1 (walks per run; CPU is in 10 ms ticks,
#        WALKS=10 resolves a fast agent better)  NO_BUILD=1 (skip cargo build)
#        AGENTS="snmpd l3vpnd" (which agents to walk)  KEEP=1 (keep run dir)
# Prints a table of medians over RUNS runs and the CPU ratio; exits 0 when
# every walk completed (a missed goal is reported, not an error).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}
PAIRS=${PAIRS:-1000}
AGENTS=${AGENTS:-snmpd l3vpnd}
WALKS=${WALKS:-1}
while [ $# -gt 0 ]; do
    case $1 in
    -n | --runs) RUNS=$2; shift 2 ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
    esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[[ $WALKS =~ ^[1-9][0-9]*$ ]] && [ "$WALKS" -le 100 ] || die "WALKS must be 1..100"
[[ $PAIRS =~ ^[1-9][0-9]*$ ]] && [ "$PAIRS" -le 4000 ] || die "PAIRS must be 1..4000"

need_root
ensure_netsnmp
build_release
case " $AGENTS " in *" l3vpnd "*) [ -x "$L3VPND" ] || die "missing $L3VPND" ;; esac

NS=l3b-walk-$$
RUN=$(mktemp -d /tmp/l3b-walk.XXXXXX)
SNMPD_PORT=16161
L3_PORT=16162
SNMPD_PID=
L3_PID=
TCK=$(getconf CLK_TCK)

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

note "namespace $NS with $PAIRS veth pairs"
make_netns "$NS"
{
    for ((i = 1; i <= PAIRS; i++)); do
        echo "link add wa$i type veth peer name wb$i"
    done
    for ((i = 1; i <= PAIRS; i++)); do
        echo "link set wa$i up"
        echo "link set wb$i up"
    done
} | ip -n "$NS" -batch - || die "creating veths failed"
NIFS=$(ip -n "$NS" -o link show | wc -l)
note "$NIFS interfaces in $NS"

declare -A PID PORT
for a in $AGENTS; do
    case $a in
    snmpd)
        start_snmpd "$NS" "$RUN" "$SNMPD_PORT"
        PID[snmpd]=$SNMPD_PID PORT[snmpd]=$SNMPD_PORT
        ;;
    l3vpnd)
        mkdir -p "$RUN/l3data"
        start_l3vpnd "$NS" "$RUN/l3data" "$L3_PORT" "$RUN/l3vpnd.log"
        if ! wait_snmp "$NS" "127.0.0.1:$L3_PORT" 20; then
            tail -n 30 "$RUN/l3vpnd.log" >&2
            die "l3vpnd did not answer a GETNEXT on 127.0.0.1:$L3_PORT within 20 s"
        fi
        PID[l3vpnd]=$L3_PID PORT[l3vpnd]=$L3_PORT
        ;;
    *) die "unknown agent $a" ;;
    esac
    note "$a: pid ${PID[$a]} on 127.0.0.1:${PORT[$a]}"
done

# WALKS (default 1) back-to-back walks between the two /proc reads; wall and
# CPU are divided by WALKS. CPU time comes in 10 ms ticks: WALKS=10 gives a
# finer per-walk figure for a fast agent.
# One run; prints "varbinds wall_s_per_walk cpu_ticks_per_walk".
walk_once() {
    local a=$1 c0 c1 t0 t1 n w
    c0=$(cpu_ticks "${PID[$a]}") || die "$a (pid ${PID[$a]}) is gone"
    t0=$(now_ns)
    for ((w = 0; w < WALKS; w++)); do
        # count varbind lines (with -On each starts with ".1."), not raw lines
        n=$(ip netns exec "$NS" snmpbulkwalk -v2c -c public -Cr50 -t 5 -r 1 -On \
            "127.0.0.1:${PORT[$a]}" 1.3.6.1.2.1.2.2 2>"$RUN/walk-$a.err" | grep -c '^\.1\.' || true)
    done
    t1=$(now_ns)
    c1=$(cpu_ticks "${PID[$a]}") || die "$a (pid ${PID[$a]}) died during the walk"
    if [ -s "$RUN/walk-$a.err" ]; then
        echo "WARN: $a walk stderr: $(head -c 300 "$RUN/walk-$a.err")" >&2
    fi
    awk -v n="$n" -v a="$t0" -v b="$t1" -v c=$((c1 - c0)) -v k="$WALKS" \
        'BEGIN {printf "%d %.6f %.2f\n", n, (b-a)/1e9/k, c/k}'
}

declare -A WALLS TICKS VBS
for a in $AGENTS; do
    out=$(walk_once "$a")
    read -r n w c <<<"$out"
    note "warm-up walk $a: $n varbinds, ${w} s, $c ticks"
    [ "$n" -gt 0 ] || die "$a returned no varbinds for ifTable"
    VBS[$a]=$n WALLS[$a]="" TICKS[$a]=""
done

for ((r = 1; r <= RUNS; r++)); do
    for a in $AGENTS; do
        out=$(walk_once "$a")
        read -r n w c <<<"$out"
        echo "run $r $a: $n varbinds, wall ${w} s, agent cpu $c ticks per walk" >&2
        if [ "$n" != "${VBS[$a]}" ]; then
            echo "WARN: $a returned $n varbinds in run $r, ${VBS[$a]} in warm-up" >&2
        fi
        WALLS[$a]+=" $w" TICKS[$a]+=" $c"
    done
done

echo
echo "ifTable walk, snmpbulkwalk -v2c -Cr50, $NIFS interfaces in netns, median of $RUNS runs" \
    "of $WALKS walk(s) each, figures per walk (CLK_TCK=$TCK)"
printf '%-8s %12s %16s %15s %10s %12s\n' agent "wall s" "agent CPU s" "mean CPU s" varbinds "varbinds/s"
declare -A MCPU
for a in $AGENTS; do
    # shellcheck disable=SC2086
    mw=$(median ${WALLS[$a]})
    # shellcheck disable=SC2086
    mt=$(median ${TICKS[$a]})
    # shellcheck disable=SC2086
    at=$(mean ${TICKS[$a]})
    MCPU[$a]=$(awk -v t="$mt" -v k="$TCK" 'BEGIN {printf "%.3f", t/k}')
    printf '%-8s %12.3f %16.3f %15.3f %10d %12.0f\n' "$a" "$mw" "${MCPU[$a]}" \
        "$(awk -v t="$at" -v k="$TCK" 'BEGIN {print t/k}')" "${VBS[$a]}" \
        "$(awk -v n="${VBS[$a]}" -v w="$mw" 'BEGIN {print (w > 0 ? n/w : 0)}')"
done

if [ -n "${MCPU[snmpd]:-}" ] && [ -n "${MCPU[l3vpnd]:-}" ]; then
    if [ "${VBS[snmpd]}" != "${VBS[l3vpnd]}" ]; then
        echo "note: varbind counts differ (snmpd ${VBS[snmpd]}, l3vpnd ${VBS[l3vpnd]}):" \
            "the agents do not serve the same set of ifTable columns/rows"
        # which columns does each serve (count per column)?
        for a in snmpd l3vpnd; do
            ip netns exec "$NS" snmpbulkwalk -v2c -c public -Cr50 -On "127.0.0.1:${PORT[$a]}" \
                1.3.6.1.2.1.2.2 2>/dev/null | awk -F'[ .]' '{c[$11]++} END {
                    for (k in c) printf " col%s=%d", k, c[k]; print "" }' |
                sed "s/^/  $a:/"
        done
    fi
    ratio=$(awk -v l="${MCPU[l3vpnd]}" -v s="${MCPU[snmpd]}" \
        'BEGIN { if (s > 0) printf "%.3f", l/s; else print "n/a" }')
    verdict=$(awk -v r="$ratio" 'BEGIN { if (r == "n/a") print "n/a";
        else if (r <= 1/3) print "goal met (<= 0.333)"; else print "goal MISSED (> 0.333)" }')
    echo "ratio l3vpnd/snmpd CPU = $ratio   ($verdict)"
fi
