#!/usr/bin/env bash
# SNMPv3 walk benchmark (issue 6): net-snmp snmpd vs l3vpnd, same table, same
# client, same run.
#
# In one fresh network namespace with PAIRS veth pairs, the same client
# walks IF-MIB::ifTable (1.3.6.1.2.1.2.2) from each agent with
#   snmpbulkwalk -v3 -l authPriv -a SHA-256 -x AES -Cr50
# as a user both agents know (snmpd: createUser + rouser; l3vpnd: the same
# user in its TOML config, read view "all"). Per walk: wall time, varbinds/s
# (wall), and the agent's CPU time (utime+stime from /proc/PID/stat; the
# client's own crypto is most of the wall time, so the agent's share shows
# only in its CPU). Medians over RUNS runs.
# Goal: l3vpnd at least 3x snmpd in varbinds/s.
#
# usage: bench/v3walk.sh [-n RUNS]          (as root)
# env:   RUNS=5  PAIRS=1000  WALKS=3 (walks per run)  NO_BUILD=1 (skip cargo
#        build; uses target/release/l3vpnd)  KEEP=1 (keep the run dir)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}
PAIRS=${PAIRS:-1000}
WALKS=${WALKS:-3}
while [ $# -gt 0 ]; do
    case $1 in
    -n | --runs) RUNS=$2; shift 2 ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
    esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[[ $WALKS =~ ^[1-9][0-9]*$ ]] && [ "$WALKS" -le 50 ] || die "WALKS must be 1..50"
[[ $PAIRS =~ ^[1-9][0-9]*$ ]] && [ "$PAIRS" -le 4000 ] || die "PAIRS must be 1..4000"

need_root
ensure_netsnmp
if [ "${NO_BUILD:-0}" = 1 ]; then
    note "NO_BUILD=1: using $L3VPND"
else
    note "cargo build --release -p agent"
    (cd "$ROOT" && cargo build --release -p agent) || die "release build failed"
fi
[ -x "$L3VPND" ] || die "missing $L3VPND"

USER=benchv3
AUTH_PW=benchauth123
PRIV_PW=benchpriv123
NS=l3b-v3-$$
RUN=$(mktemp -d /tmp/l3b-v3walk.XXXXXX)
SNMPD_PORT=16171
L3_PORT=16172
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

V3=(-v3 -l authPriv -u "$USER" -a SHA-256 -A "$AUTH_PW" -x AES -X "$PRIV_PW")

# Polls until an agent answers a v3 GET (this also proves the user works).
wait_v3() {
    local addr=$1 i
    for ((i = 0; i < 200; i++)); do
        if ip netns exec "$NS" snmpget "${V3[@]}" -t 0.2 -r 0 -On "$addr" 1.3.6.1.2.1.1.3.0 \
            >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

note "namespace $NS with $PAIRS veth pairs"
make_netns "$NS"
{
    for ((i = 1; i <= PAIRS; i++)); do
        echo "link add va$i type veth peer name vb$i"
    done
    for ((i = 1; i <= PAIRS; i++)); do
        echo "link set va$i up"
        echo "link set vb$i up"
    done
} | ip -n "$NS" -batch - || die "creating veths failed"
NIFS=$(ip -n "$NS" -o link show | wc -l)
note "$NIFS interfaces in $NS"

# net-snmp snmpd with the v3 user (shared/peers/snmpd-v3.conf's way), without
# per-request connection logging (l3vpnd does not log reads either).
mkdir -p "$RUN/snmpd-persist"
cat >"$RUN/snmpd.conf" <<EOF
agentaddress udp:127.0.0.1:$SNMPD_PORT
sysDescr baseline-snmpd
dontLogTCPWrappersConnects yes
createUser $USER SHA-256 $AUTH_PW AES $PRIV_PW
rouser $USER authpriv
EOF
MIBS= SNMP_PERSISTENT_DIR="$RUN/snmpd-persist" ip netns exec "$NS" \
    /usr/sbin/snmpd -f -C -c "$RUN/snmpd.conf" -Lf "$RUN/snmpd.log" -p "$RUN/snmpd.pid" \
    </dev/null >/dev/null 2>&1 &
SNMPD_PID=$!
wait_v3 "127.0.0.1:$SNMPD_PORT" || { tail -n 20 "$RUN/snmpd.log" >&2; die "snmpd does not answer v3"; }
if [ -s "$RUN/snmpd.pid" ]; then SNMPD_PID=$(cat "$RUN/snmpd.pid"); fi

# l3vpnd with the same user; communities off (v3 only).
cat >"$RUN/l3vpnd.toml" <<EOF
communities = false

[[usm_user]]
name = "$USER"
auth = "SHA-256"
auth_password = "$AUTH_PW"
priv = "AES"
priv_password = "$PRIV_PW"
group = "bench"

[[vacm_access]]
group = "bench"
level = "authPriv"
read_view = "all"
EOF
mkdir -p "$RUN/l3data"
ip netns exec "$NS" "$L3VPND" --config "$RUN/l3vpnd.toml" --data-dir "$RUN/l3data" \
    --snmp-listen "127.0.0.1:$L3_PORT" --log-level warn </dev/null >>"$RUN/l3vpnd.log" 2>&1 &
L3_PID=$!
wait_v3 "127.0.0.1:$L3_PORT" || { tail -n 30 "$RUN/l3vpnd.log" >&2; die "l3vpnd does not answer v3"; }

declare -A PID PORT
PID[snmpd]=$SNMPD_PID PORT[snmpd]=$SNMPD_PORT
PID[l3vpnd]=$L3_PID PORT[l3vpnd]=$L3_PORT
AGENTS="snmpd l3vpnd"
for a in $AGENTS; do note "$a: pid ${PID[$a]} on 127.0.0.1:${PORT[$a]}"; done

# One run of WALKS walks; prints "varbinds wall_s_per_walk cpu_ticks_per_walk".
walk_once() {
    local a=$1 c0 c1 t0 t1 n w
    c0=$(cpu_ticks "${PID[$a]}") || die "$a (pid ${PID[$a]}) is gone"
    t0=$(now_ns)
    for ((w = 0; w < WALKS; w++)); do
        n=$(ip netns exec "$NS" snmpbulkwalk "${V3[@]}" -Cr50 -t 5 -r 1 -On \
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
    read -r n w c <<<"$(walk_once "$a")"
    note "warm-up walk $a: $n varbinds, ${w} s, $c ticks"
    [ "$n" -gt 0 ] || die "$a returned no varbinds for ifTable"
    VBS[$a]=$n WALLS[$a]="" TICKS[$a]=""
done
for ((r = 1; r <= RUNS; r++)); do
    for a in $AGENTS; do
        read -r n w c <<<"$(walk_once "$a")"
        echo "run $r $a: $n varbinds, wall ${w} s, agent cpu $c ticks per walk" >&2
        [ "$n" = "${VBS[$a]}" ] || echo "WARN: $a returned $n varbinds in run $r, ${VBS[$a]} in warm-up" >&2
        WALLS[$a]+=" $w" TICKS[$a]+=" $c"
    done
done

echo
echo "ifTable walk, snmpbulkwalk -v3 -l authPriv -a SHA-256 -x AES -Cr50, $NIFS interfaces in netns," \
    "median of $RUNS runs of $WALKS walk(s), figures per walk (CLK_TCK=$TCK)"
printf '%-8s %10s %10s %12s %12s %18s\n' agent varbinds "wall s" "varbinds/s" "agent CPU s" "varbinds/agent-CPU-s"
declare -A RATE CRATE
for a in $AGENTS; do
    # shellcheck disable=SC2086
    mw=$(median ${WALLS[$a]})
    # shellcheck disable=SC2086
    mt=$(median ${TICKS[$a]})
    cpu=$(awk -v t="$mt" -v k="$TCK" 'BEGIN {printf "%.3f", t/k}')
    RATE[$a]=$(awk -v n="${VBS[$a]}" -v w="$mw" 'BEGIN {printf "%.0f", (w > 0 ? n/w : 0)}')
    CRATE[$a]=$(awk -v n="${VBS[$a]}" -v c="$cpu" 'BEGIN {if (c > 0) printf "%.0f", n/c; else print "inf"}')
    printf '%-8s %10d %10.3f %12s %12s %18s\n' "$a" "${VBS[$a]}" "$mw" "${RATE[$a]}" "$cpu" "${CRATE[$a]}"
done
[ "${VBS[snmpd]}" = "${VBS[l3vpnd]}" ] ||
    echo "note: varbind counts differ (snmpd ${VBS[snmpd]}, l3vpnd ${VBS[l3vpnd]}): not the same ifTable columns"
ratio=$(awk -v l="${RATE[l3vpnd]}" -v s="${RATE[snmpd]}" 'BEGIN { if (s > 0) printf "%.2f", l/s; else print "n/a" }')
cratio=$(awk -v l="${CRATE[l3vpnd]}" -v s="${CRATE[snmpd]}" \
    'BEGIN { if (l == "inf") print "inf"; else if (s > 0) printf "%.2f", l/s; else print "n/a" }')
verdict=$(awk -v r="$ratio" 'BEGIN { if (r == "n/a") print "n/a"; else if (r >= 3) print "goal met (>= 3)";
    else print "goal MISSED (< 3)" }')
echo "ratio l3vpnd/snmpd varbinds/s (wall) = $ratio   ($verdict)"
echo "ratio l3vpnd/snmpd varbinds per agent CPU second = $cratio"
