#!/usr/bin/env bash
# Notification benchmark: 1,000 VRFs (Mid threshold 1, High threshold 2)
# each get 3 static routes over SNMP at once (10 VRFs, 30 route rows per SET
# PDU), so every VRF crosses Mid and High in one commit and l3vpnd
# originates 2,000 informs (SNMPv2c, to net-snmp snmptrapd). Reported:
#   - the time from the first route SET until l3vpndNotifyInformsAcked says
#     all 2,000 are acknowledged (and the informs/s that makes);
#   - the GET latency (p50/p99/max) a second manager sees meanwhile, beside
#     the same GET on the idle agent;
#   - checks: snmptrapd logged exactly 2,000 informs (plus coldStart), each
#     (notification, VRF) once; nothing lost, dropped or retried.
#
# Everything runs on 127.0.0.1 with the shadow FIB (nothing is programmed
# into the kernel); root is not needed.
#
# usage: bench/notify.sh [-n RUNS]
# env:   RUNS=3  VRFS=1000  PER_PDU=10  GETS=2000  NO_BUILD=1 (skip cargo
#        build)  KEEP=1 (keep the run directory)
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
L3VPND=${L3VPND:-$ROOT/target/release/l3vpnd}
CLIENT=${CLIENT:-$ROOT/target/release/notify_bench}

RUNS=${RUNS:-3}
VRFS=${VRFS:-1000}
PER_PDU=${PER_PDU:-10}
GETS=${GETS:-2000}
while [ $# -gt 0 ]; do
    case $1 in
    -n | --runs) RUNS=$2; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

die() { echo "ERROR: $*" >&2; exit 1; }
note() { echo "== $*" >&2; }

command -v snmptrapd >/dev/null || [ -x /usr/sbin/snmptrapd ] ||
    die "snmptrapd not found (apt-get install snmptrapd)"
TRAPD=$(command -v snmptrapd || echo /usr/sbin/snmptrapd)

if [ "${NO_BUILD:-0}" != 1 ]; then
    note "cargo build --release -p agent -p l3vpnd-bench"
    (cd "$ROOT" && cargo build --release -p agent -p l3vpnd-bench) || die "build failed"
fi
[ -x "$L3VPND" ] || die "missing $L3VPND"
[ -x "$CLIENT" ] || die "missing $CLIENT"

RUN=$(mktemp -d /tmp/l3b-notify.XXXXXX)
L3_PID=
TRAPD_PID=
stop() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    stop "$L3_PID"
    stop "$TRAPD_PID"
    if [ "${KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
        echo "run dir kept: $RUN" >&2
    else
        rm -rf "$RUN"
    fi
    exit $rc
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
kv() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1; }
median() {
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {
        if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2 }'
}

declare -a ACK GP50 GP99 GMAX IP50 IP99 RATE SETS
for ((run = 1; run <= RUNS; run++)); do
    dir="$RUN/run$run"
    mkdir -p "$dir/persist"
    tport=$(free_port)
    aport=$(free_port)
    echo "disableAuthorization yes" >"$dir/snmptrapd.conf"
    MIBS= SNMP_PERSISTENT_DIR="$dir/persist" "$TRAPD" -f -Lo -n -C -On \
        -c "$dir/snmptrapd.conf" -F 'NOTIFY %P|%v\n' "udp:127.0.0.1:$tport" \
        >"$dir/trapd.log" 2>&1 </dev/null &
    TRAPD_PID=$!
    for ((i = 0; i < 100; i++)); do
        grep -q "NET-SNMP version" "$dir/trapd.log" 2>/dev/null && break
        sleep 0.05
    done
    cat >"$dir/l3vpnd.toml" <<EOF
[[notify_target]]
name = "nms"
address = "127.0.0.1:$tport"
type = "inform"
EOF
    "$L3VPND" --config "$dir/l3vpnd.toml" --data-dir "$dir/data" \
        --snmp-listen "127.0.0.1:$aport" --log-level warn \
        >"$dir/l3vpnd.log" 2>&1 </dev/null &
    L3_PID=$!
    note "run $run: l3vpnd on $aport, snmptrapd on $tport"
    out=$("$CLIENT" --target "127.0.0.1:$aport" --vrfs "$VRFS" --per-pdu "$PER_PDU" --gets "$GETS") ||
        { tail -n 20 "$dir/l3vpnd.log" >&2; die "client failed"; }
    res=$(printf '%s\n' "$out" | grep '^RESULT ')
    echo "$res"
    # snmptrapd's view: every inform logged once.
    sleep 0.5
    informs=$(grep -c '^NOTIFY INFORM' "$dir/trapd.log" || true)
    want=$((2 * VRFS + 1))
    [ "$informs" = "$want" ] || die "snmptrapd logged $informs informs, expected $want"
    dup=$(grep '^NOTIFY INFORM' "$dir/trapd.log" | sed 's/.*1.3.6.1.6.3.1.1.4.1.0 = OID: //; s/ = Gauge32.*//' |
        awk -F'\t' '{print $1, $2}' | sort | uniq -d | wc -l)
    [ "$dup" = 0 ] || die "snmptrapd logged $dup (notification, VRF) pairs more than once"
    for k in lost dropped retried; do
        [ "$(kv "$res" $k)" = 0 ] || note "run $run: $k=$(kv "$res" $k)"
    done
    ACK+=("$(kv "$res" all_acked_s)")
    SETS+=("$(kv "$res" route_sets_s)")
    RATE+=("$(kv "$res" informs_per_s)")
    GP50+=("$(kv "$res" get_p50_ms)")
    GP99+=("$(kv "$res" get_p99_ms)")
    GMAX+=("$(kv "$res" get_max_ms)")
    IP50+=("$(kv "$res" idle_get_p50_ms)")
    IP99+=("$(kv "$res" idle_get_p99_ms)")
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$L3_PID/status" 2>/dev/null || echo "?")
    note "run $run: snmptrapd logged $informs informs (coldStart + $((2 * VRFS))), each once; l3vpnd RSS ${rss} KiB"
    stop "$L3_PID"; L3_PID=
    stop "$TRAPD_PID"; TRAPD_PID=
done

echo
echo "notify bench: $VRFS VRFs x (Mid + High) = $((2 * VRFS)) informs, $PER_PDU VRFs per route SET, $RUNS run(s), medians"
printf '  route SETs done after         %8.3f s\n' "$(median "${SETS[@]}")"
printf '  all informs acknowledged in   %8.3f s   (%s informs/s)\n' "$(median "${ACK[@]}")" "$(median "${RATE[@]}")"
printf '  GET latency meanwhile         p50 %.3f ms   p99 %.3f ms   max %.3f ms\n' \
    "$(median "${GP50[@]}")" "$(median "${GP99[@]}")" "$(median "${GMAX[@]}")"
printf '  GET latency, idle agent       p50 %.3f ms   p99 %.3f ms\n' "$(median "${IP50[@]}")" "$(median "${IP99[@]}")"
