#!/usr/bin/env bash
# Big-walk benchmark (issue 3, "Benchmarks": big walk and RSS per route).
#
# l3vpnd side, per run, a fresh daemon (shadow FIB, its own netns on
# loopback): VRFS volatile VRFs (no disk), RSS with 0 routes, then
# VRFS x PER_VRF static routes loaded through mplsL3VpnVrfRteTable by the bulk
# loader (bench/src/bin/routes.rs, BATCH routes per SET PDU, one client, one
# PDU in flight): load time, routes/s, agent CPU; the agent's own count
# (sum of mplsL3VpnVrfPerfCurrNumRoutes) must equal the routes sent; RSS with
# all routes -> bytes per route. Then:
#  (c) round trip of the first GETNEXT into the table (GETNEXT of
#      mplsL3VpnVrfRteEntry, RTT_COUNT times, timed inside one client
#      process: first, p50, p99);
#  (a) `snmpbulkwalk -v2c -Cr50` of one column (COLUMN, default 9 = Proto);
#  (b) the same of the whole table 1.3.6.1.2.1.10.166.11.1.4.1;
#      per walk: varbinds, wall s, varbinds/s, agent CPU s (utime+stime delta
#      of /proc/PID/stat), agent CPU us per varbind, client CPU s;
#  (b') the whole table walked by the in-process GETBULK client (same
#      max-repetitions 50): what the agent serves without net-snmp's client
#      decoding and printing every varbind.
# snmpd side, same run (d): net-snmp snmpd in its own netns with
# SNMPD_ROUTES kernel routes (10.0.0.0 + i*256 /24 via a veth peer address,
# table main, `ip -batch`), walking IP-FORWARD-MIB inetCidrRouteTable
# 1.3.6.1.2.1.4.24.7 with the same snmpbulkwalk: cold (first walk after snmpd
# start) and warm (second walk); each walk bounded by `timeout SNMPD_TIMEOUT`.
# Reference figures (issue 3, measured earlier, not re-run): snmpd 145k
# varbinds/s warm, 15.8 s cold at 100k routes; FRR RFC 4382 via AgentX 17k
# varbinds/s, ~54 us CPU per varbind. Goal: >= 300k varbinds/s on the 1M-row
# table, first GETNEXT < 1 ms.
# With PERF=1 (default when perf exists) one extra whole-table walk after the
# measured runs is profiled (`perf record -g -p PID`); top symbols printed.
#
# usage: bench/bigwalk.sh [-n RUNS]       (as root)
# env:   RUNS=3 VRFS=100 PER_VRF=10000 BATCH=40 PLEN=32 COLUMN=9 RTT_COUNT=1000
#        SNMPD_ROUTES=100000 WALK_TIMEOUT=900 (l3vpnd walks) SNMPD_TIMEOUT=120
#        L3_ARGS="" (extra l3vpnd arguments, e.g. "--max-msg-size 65507")
#        AGENTS="l3vpnd snmpd" PERF=1 NO_BUILD=1 (skip cargo build) KEEP=1
# Exits 0 when every step completed and the checks held (a missed goal or a
# timed-out snmpd walk is reported, not an error).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-3}
VRFS=${VRFS:-100}
PER_VRF=${PER_VRF:-10000}
BATCH=${BATCH:-40}
PLEN=${PLEN:-32}
COLUMN=${COLUMN:-9}
RTT_COUNT=${RTT_COUNT:-1000}
SNMPD_ROUTES=${SNMPD_ROUTES:-100000}
WALK_TIMEOUT=${WALK_TIMEOUT:-900}
SNMPD_TIMEOUT=${SNMPD_TIMEOUT:-120}
L3_ARGS=${L3_ARGS:-}
AGENTS=${AGENTS:-l3vpnd snmpd}
if command -v perf >/dev/null; then PERF=${PERF:-1}; else PERF=0; fi
ROUTES_BIN=${ROUTES_BIN:-$ROOT/target/release/routes}
while [ $# -gt 0 ]; do
    case $1 in
    -n | --runs) RUNS=$2; shift 2 ;;
    -h | --help) sed -n '2,41p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
    esac
done
for v in RUNS VRFS PER_VRF BATCH PLEN COLUMN RTT_COUNT SNMPD_ROUTES WALK_TIMEOUT SNMPD_TIMEOUT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[ "$RUNS" -le 20 ] || die "RUNS <= 20"
[ "$SNMPD_ROUTES" -le 1000000 ] || die "SNMPD_ROUTES <= 1000000"
[ "$((VRFS * PER_VRF))" -le 10000000 ] || die "VRFS * PER_VRF <= 10000000"
[ "$COLUMN" -ge 7 ] && [ "$COLUMN" -le 18 ] || die "COLUMN must be 7..18"
[ "$WALK_TIMEOUT" -le 3600 ] && [ "$SNMPD_TIMEOUT" -le 3600 ] || die "timeouts <= 3600 s"

need_root
ensure_netsnmp
build_release

RUN=$(mktemp -d /tmp/l3b-big.XXXXXX)
NS_L3=l3b-big-l3-$$
NS_SD=l3b-big-sd-$$
L3_PID=
SNMPD_PID=
PERF_PID=
TCK=$(getconf CLK_TCK)
ROUTES=$((VRFS * PER_VRF))
RTE_TABLE=1.3.6.1.2.1.10.166.11.1.4.1
RTE_COLUMN=$RTE_TABLE.1.$COLUMN
CIDR_TABLE=1.3.6.1.2.1.4.24.7
FAILS=()

# Private copies: other engineers rebuild target/release while this runs.
cp "$L3VPND" "$RUN/l3vpnd"
cp "$ROUTES_BIN" "$RUN/routes"
L3VPND=$RUN/l3vpnd
ROUTES_BIN=$RUN/routes

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID" 2>/dev/null || true; fi
    stop_pid "$SNMPD_PID" 10
    stop_pid "$L3_PID" 30
    ip netns del "$NS_L3" 2>/dev/null || true
    ip netns del "$NS_SD" 2>/dev/null || true
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

fail() {
    echo "CHECK FAILED: $*" >&2
    FAILS+=("$*")
}
has_agent() { case " $AGENTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
busy() {
    echo "loadavg $(cut -d' ' -f1-3 /proc/loadavg), rustc processes: $(pgrep -xc rustc || true)," \
        "cargo processes: $(pgrep -xc cargo || true)"
}
secs() { awk -v t="$1" -v k="$TCK" 'BEGIN {printf "%.2f", t/k}'; }
l3_log_tail() { echo "--- last lines of $1:" >&2; tail -n 25 "$1" | cut -c1-300 >&2 || true; }

# do_walk NS PORT PID OID TIMEOUT TAG: one snmpbulkwalk -Cr50 -On of OID,
# bounded by `timeout`; counts varbind lines. Prints
# "varbinds wall_s agent_ticks client_cpu_s exit_status".
do_walk() {
    local ns=$1 port=$2 pid=$3 oid=$4 limit=$5 tag=$6 c0 c1 t0 t1 n rc cl
    c0=$(cpu_ticks "$pid") || die "agent pid $pid is gone"
    t0=$(now_ns)
    n=$({
        ip netns exec "$ns" /usr/bin/time -f '%U %S' -o "$RUN/$tag.time" \
            timeout "$limit" snmpbulkwalk -v2c -c public -Cr50 -t 5 -r 1 -On \
            "127.0.0.1:$port" "$oid" 2>"$RUN/$tag.err"
        echo $? >"$RUN/$tag.rc"
    } | grep -c '^\.1\.' || true)
    t1=$(now_ns)
    c1=$(cpu_ticks "$pid") || die "agent pid $pid died during the walk $tag"
    rc=$(cat "$RUN/$tag.rc")
    cl=$(awk 'NF == 2 && $1 ~ /^[0-9.]+$/ {print $1 + $2}' "$RUN/$tag.time" | tail -n1)
    if [ -s "$RUN/$tag.err" ]; then
        echo "WARN: walk $tag stderr: $(head -c 300 "$RUN/$tag.err")" >&2
    fi
    echo "$n $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b-a)/1e9}') $((c1 - c0)) ${cl:-nan} $rc"
}

# ---------------------------------------------------------------- setup
note "machine: $(nproc) cores; $(busy)"
note "run dir $RUN; l3vpnd $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)" \
    "(+ uncommitted: $(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l) paths), built" \
    "$(date -r "$L3VPND" '+%F %T')"
BUSY_START=$(busy)

if has_agent l3vpnd; then
    make_netns "$NS_L3"
fi
if has_agent snmpd; then
    make_netns "$NS_SD"
    ip -n "$NS_SD" link add va type veth peer name vb
    ip -n "$NS_SD" addr add 192.0.2.1/24 dev va
    ip -n "$NS_SD" link set va up
    ip -n "$NS_SD" link set vb up
    t0=$(now_ns)
    awk -v n="$SNMPD_ROUTES" 'BEGIN { for (i = 0; i < n; i++) { a = 167772160 + i * 256
        printf "route add %d.%d.%d.0/24 via 192.0.2.2 dev va\n",
            int(a / 16777216), int(a / 65536) % 256, int(a / 256) % 256 } }' |
        ip -n "$NS_SD" -batch - || die "ip -batch of $SNMPD_ROUTES routes failed"
    KROUTES=$(ip -n "$NS_SD" route show table main | wc -l)
    note "$NS_SD: $KROUTES routes in table main (ip -batch:" \
        "$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN {printf "%.2f", (b-a)/1e9}') s)"
fi

declare -a L_S L_RATE L_CPU L_P50 L_P99 RSS0 RSS1 RSS2 BPR
declare -a RT_FIRST RT_P50 RT_P99
declare -a C_N C_W C_CPU C_CL T_N T_W T_CPU T_CL I_N I_W I_CPU I_PDU
declare -a S_CN S_CW S_CCPU S_CST S_WN S_WW S_WCPU S_WST S_RSS S_RT50 S_RT99

for ((r = 1; r <= RUNS; r++)); do
    note "run $r/$RUNS: $(busy)"
    # ------------------------------------------------------------ l3vpnd
    if has_agent l3vpnd; then
        DATA=$RUN/data-$r
        LOG=$RUN/l3vpnd-$r.log
        mkdir -p "$DATA"
        L3_PORT=$(ip netns exec "$NS_L3" "$PROVISION" --mode free-port)
        # start_l3vpnd (lib.sh) plus L3_ARGS
        # shellcheck disable=SC2086
        ip netns exec "$NS_L3" "$L3VPND" --data-dir "$DATA" --snmp-listen "127.0.0.1:$L3_PORT" \
            --ro-community public --rw-community private --log-level info $L3_ARGS \
            </dev/null >>"$LOG" 2>&1 &
        L3_PID=$!
        T="127.0.0.1:$L3_PORT"
        rt() { ip netns exec "$NS_L3" "$ROUTES_BIN" --target "$T" "$@"; }
        if ! wait_snmp "$NS_L3" "$T" 20; then
            l3_log_tail "$LOG"
            die "l3vpnd did not answer on $T within 20 s"
        fi
        out=$(rt --mode vrfs --vrfs "$VRFS") || { l3_log_tail "$LOG"; die "creating $VRFS VRFs failed"; }
        sleep 0.5 # let the reconciler settle before the 0-route RSS
        RSS0+=("$(rss_kib "$L3_PID")")
        c0=$(cpu_ticks "$L3_PID")
        if ! out=$(rt --mode load --vrfs "$VRFS" --per-vrf "$PER_VRF" --batch "$BATCH" \
            --plen "$PLEN" --quiet); then
            l3_log_tail "$LOG"
            die "loading routes failed: $(tail -n1 <<<"$out")"
        fi
        c1=$(cpu_ticks "$L3_PID")
        grep -v '^RESULT' <<<"$out" >&2 || true
        res=$(grep '^RESULT' <<<"$out")
        L_S+=("$(kv "$res" secs)") L_RATE+=("$(kv "$res" rate)")
        L_P50+=("$(kv "$res" p50_us)") L_P99+=("$(kv "$res" p99_us)")
        L_CPU+=("$(secs $((c1 - c0)))")
        if out=$(rt --mode count --vrfs "$VRFS" --expect "$ROUTES"); then
            note "$(grep -v '^RESULT' <<<"$out")"
        else
            fail "run $r: mplsL3VpnVrfPerfCurrNumRoutes: $out"
        fi
        sleep 0.5
        RSS1+=("$(rss_kib "$L3_PID")")
        BPR+=("$(awk -v a="${RSS0[-1]}" -v b="${RSS1[-1]}" -v n="$ROUTES" 'BEGIN {printf "%.1f", (b-a)*1024/n}')")
        note "RSS ${RSS0[-1]} KiB with 0 routes, ${RSS1[-1]} KiB with $ROUTES: ${BPR[-1]} bytes/route"

        # (c) first GETNEXT into the table, in one process
        if out=$(rt --mode rtt --oid "$RTE_TABLE" --count "$RTT_COUNT"); then
            res=$(grep '^RESULT' <<<"$out")
            RT_FIRST+=("$(kv "$res" first_us)") RT_P50+=("$(kv "$res" p50_us)")
            RT_P99+=("$(kv "$res" p99_us)")
            note "$(grep -v '^RESULT' <<<"$out" | cut -c1-400)"
        else
            fail "run $r: GETNEXT round trips: $out"
        fi

        # (a) one column, (b) whole table, with snmpbulkwalk
        read -r n w c cl rc <<<"$(do_walk "$NS_L3" "$L3_PORT" "$L3_PID" "$RTE_COLUMN" "$WALK_TIMEOUT" "l3-col-$r")"
        note "column walk: $n varbinds, $w s, agent $(secs "$c") s CPU, client $cl s CPU, exit $rc"
        [ "$rc" = 0 ] || fail "run $r: snmpbulkwalk of $RTE_COLUMN exited $rc (124 = timeout ${WALK_TIMEOUT}s)"
        [ "$n" = "$ROUTES" ] || fail "run $r: column walk returned $n varbinds, expected $ROUTES"
        C_N+=("$n") C_W+=("$w") C_CPU+=("$(secs "$c")") C_CL+=("$cl")
        read -r n w c cl rc <<<"$(do_walk "$NS_L3" "$L3_PORT" "$L3_PID" "$RTE_TABLE" "$WALK_TIMEOUT" "l3-tab-$r")"
        note "table walk: $n varbinds, $w s, agent $(secs "$c") s CPU, client $cl s CPU, exit $rc"
        [ "$rc" = 0 ] || fail "run $r: snmpbulkwalk of $RTE_TABLE exited $rc (124 = timeout ${WALK_TIMEOUT}s)"
        [ "$n" = "$((ROUTES * 12))" ] || fail "run $r: table walk returned $n varbinds, expected $((ROUTES * 12))"
        T_N+=("$n") T_W+=("$w") T_CPU+=("$(secs "$c")") T_CL+=("$cl")

        # (b') whole table, in-process GETBULK client
        c0=$(cpu_ticks "$L3_PID")
        if out=$(timeout "$WALK_TIMEOUT" ip netns exec "$NS_L3" "$ROUTES_BIN" --target "$T" \
            --mode bulkwalk --oid "$RTE_TABLE" --max-rep 50); then
            c1=$(cpu_ticks "$L3_PID")
            res=$(grep '^RESULT' <<<"$out")
            I_N+=("$(kv "$res" varbinds)") I_W+=("$(kv "$res" secs)") I_PDU+=("$(kv "$res" pdus)")
            I_CPU+=("$(secs $((c1 - c0)))")
            note "$(grep -v '^RESULT' <<<"$out")"
        else
            fail "run $r: in-process bulk walk: $out"
        fi
        RSS2+=("$(rss_kib "$L3_PID")")

        if [ "$PERF" = 1 ] && [ "$r" = "$RUNS" ]; then
            note "profiling one more whole-table snmpbulkwalk (perf record -g -p $L3_PID)"
            perf record -g -p "$L3_PID" -o "$RUN/perf-walk.data" >/dev/null 2>"$RUN/perf-record.err" &
            PERF_PID=$!
            sleep 1
            do_walk "$NS_L3" "$L3_PORT" "$L3_PID" "$RTE_TABLE" "$WALK_TIMEOUT" "l3-perf" >/dev/null
            kill -INT "$PERF_PID" 2>/dev/null || true
            for ((i = 0; i < 600; i++)); do kill -0 "$PERF_PID" 2>/dev/null || break; sleep 0.1; done
            wait "$PERF_PID" 2>/dev/null || true
            PERF_PID=
        fi
        # stop: SIGTERM, bounded
        stop_pid "$L3_PID" 30
        wait "$L3_PID" 2>/dev/null || true
        L3_PID=
        LOGSZ=$(du -k "$LOG" | cut -f1)
        rm -rf "$DATA"
        [ "${KEEP:-0}" = 1 ] || rm -f "$LOG"
    fi

    # ------------------------------------------------------------ snmpd
    if has_agent snmpd; then
        SD_PORT=$(ip netns exec "$NS_SD" "$PROVISION" --mode free-port)
        rm -rf "$RUN/snmpd-$r"
        mkdir -p "$RUN/snmpd-$r"
        start_snmpd "$NS_SD" "$RUN/snmpd-$r" "$SD_PORT"
        rss_a=$(rss_kib "$SNMPD_PID")
        for kind in cold warm; do
            read -r n w c cl rc <<<"$(do_walk "$NS_SD" "$SD_PORT" "$SNMPD_PID" "$CIDR_TABLE" "$SNMPD_TIMEOUT" "sd-$kind-$r")"
            st=ok
            [ "$rc" = 0 ] || st="exit$rc"
            [ "$rc" = 124 ] && st="TIMEOUT"
            note "snmpd $kind walk: $n varbinds, $w s, snmpd $(secs "$c") s CPU, client $cl s CPU, $st"
            if [ "$kind" = cold ]; then
                S_CN+=("$n") S_CW+=("$w") S_CCPU+=("$(secs "$c")") S_CST+=("$st")
            else
                S_WN+=("$n") S_WW+=("$w") S_WCPU+=("$(secs "$c")") S_WST+=("$st")
            fi
        done
        S_RSS+=("$(awk -v a="$rss_a" -v b="$(rss_kib "$SNMPD_PID")" 'BEGIN {printf "%d %d", a, b}')")
        # first GETNEXT into inetCidrRouteTable, right after the warm walk
        if out=$(ip netns exec "$NS_SD" "$ROUTES_BIN" --target "127.0.0.1:$SD_PORT" --mode rtt \
            --oid "$CIDR_TABLE.1" --count "$RTT_COUNT" --timeout-ms 30000); then
            res=$(grep '^RESULT' <<<"$out")
            S_RT50+=("$(kv "$res" p50_us)") S_RT99+=("$(kv "$res" p99_us)")
        else
            echo "WARN: run $r: GETNEXT round trips against snmpd failed: $out" >&2
        fi
        stop_pid "$SNMPD_PID" 10
        SNMPD_PID=
    fi
done
BUSY_END=$(busy)

# ---------------------------------------------------------------- report
m() { median "$@"; }
per_s() { awk -v n="$1" -v w="$2" 'BEGIN {printf "%.0f", (w > 0 ? n/w : 0)}'; }
us_per() { awk -v c="$1" -v n="$2" 'BEGIN {printf "%.2f", (n > 0 ? c*1e6/n : 0)}'; }
row() { printf '%-44s %14s %14s %14s %12s %10s %10s\n' "$@"; }

echo
echo "Big walk, median of $RUNS runs. Machine: $(nproc) cores, shared with concurrent builds:"
echo "  at start: $BUSY_START"
echo "  at end:   $BUSY_END"
if has_agent l3vpnd; then
    echo
    echo "l3vpnd (shadow FIB, volatile VRFs): $ROUTES routes = $VRFS VRFs x $PER_VRF (/$PLEN)," \
        "bulk loader $BATCH routes per SET PDU, one client, one PDU in flight"
    printf '  load: %.1f s, %.0f routes/s, l3vpnd CPU %.2f s, SET p50 %.0f us p99 %.0f us\n' \
        "$(m "${L_S[@]}")" "$(m "${L_RATE[@]}")" "$(m "${L_CPU[@]}")" "$(m "${L_P50[@]}")" "$(m "${L_P99[@]}")"
    echo "  (l3vpnd logs every SET with its varbinds at info: ${LOGSZ:-?} KiB of log for one load)"
    r0=$(m "${RSS0[@]}") r1=$(m "${RSS1[@]}") r2=$(m "${RSS2[@]}")
    printf '  RSS: %.1f MiB with %d VRFs and 0 routes, %.1f MiB with %d routes, %.1f MiB after the walks\n' \
        "$(awk -v k="$r0" 'BEGIN {print k/1024}')" "$VRFS" "$(awk -v k="$r1" 'BEGIN {print k/1024}')" \
        "$ROUTES" "$(awk -v k="$r2" 'BEGIN {print k/1024}')"
    printf '  RSS per route: %.0f bytes ((rss1 - rss0) / %d; per run: %s)\n' "$(m "${BPR[@]}")" "$ROUTES" "${BPR[*]}"
fi
echo
echo "Walks: snmpbulkwalk -v2c -Cr50 -On (client CPU = snmpbulkwalk's user+sys)"
row "" varbinds "wall s" "varbinds/s" "agent CPU s" "us/varbind" "client s"
if has_agent l3vpnd; then
    n=$(m "${C_N[@]}") w=$(m "${C_W[@]}") c=$(m "${C_CPU[@]}")
    row "l3vpnd (a) column $COLUMN, $ROUTES rows" "$n" "$w" "$(per_s "$n" "$w")" "$c" "$(us_per "$c" "$n")" "$(m "${C_CL[@]}")"
    n=$(m "${T_N[@]}") w=$(m "${T_W[@]}") c=$(m "${T_CPU[@]}")
    L3_TABLE_RATE=$(per_s "$n" "$w")
    row "l3vpnd (b) whole table, $ROUTES rows" "$n" "$w" "$L3_TABLE_RATE" "$c" "$(us_per "$c" "$n")" "$(m "${T_CL[@]}")"
    if [ ${#I_N[@]} -gt 0 ]; then
        n=$(m "${I_N[@]}") w=$(printf '%.3f' "$(m "${I_W[@]}")") c=$(m "${I_CPU[@]}")
        L3_INPROC_RATE=$(per_s "$n" "$w")
        row "l3vpnd (b') whole table, in-process client" "$n" "$w" "$L3_INPROC_RATE" "$c" "$(us_per "$c" "$n")" "-"
        printf '  (b'"'"') %s GETBULKs per walk: %.1f varbinds per response\n' "$(m "${I_PDU[@]}")" \
            "$(awk -v n="$n" -v p="$(m "${I_PDU[@]}")" 'BEGIN {print n/p}')"
    fi
fi
if has_agent snmpd; then
    for kind in cold warm; do
        if [ $kind = cold ]; then N=("${S_CN[@]}") W=("${S_CW[@]}") C=("${S_CCPU[@]}") ST=("${S_CST[@]}")
        else N=("${S_WN[@]}") W=("${S_WW[@]}") C=("${S_WCPU[@]}") ST=("${S_WST[@]}"); fi
        n=$(m "${N[@]}") w=$(m "${W[@]}") c=$(m "${C[@]}")
        row "snmpd (d) inetCidrRouteTable $kind, ${KROUTES}r" "$n" "$w" "$(per_s "$n" "$w")" "$c" "$(us_per "$c" "$n")" "-"
        printf '  status per run: %s\n' "${ST[*]}"
        eval "SD_${kind}_RATE=$(per_s "$n" "$w") SD_${kind}_W=$w"
    done
fi
row "reference: snmpd warm, 100k routes (issue)" "" "" "145000" "" "" ""
row "reference: snmpd cold, 100k routes (issue)" "" "15.8" "" "" "" ""
row "reference: FRR RFC 4382 via AgentX (issue)" "" "105 @100k" "17000" "" "~54" ""
echo
echo "First GETNEXT into the table, $RTT_COUNT round trips timed inside one client process (us)"
printf '%-44s %10s %10s %10s\n' "" first p50 p99
if has_agent l3vpnd && [ ${#RT_P50[@]} -gt 0 ]; then
    printf '%-44s %10.1f %10.1f %10.1f\n' "l3vpnd GETNEXT mplsL3VpnVrfRteEntry" "$(m "${RT_FIRST[@]}")" \
        "$(m "${RT_P50[@]}")" "$(m "${RT_P99[@]}")"
fi
if has_agent snmpd && [ ${#S_RT50[@]} -gt 0 ]; then
    printf '%-44s %10s %10.1f %10.1f\n' "snmpd GETNEXT inetCidrRouteEntry (warm)" "-" "$(m "${S_RT50[@]}")" \
        "$(m "${S_RT99[@]}")"
fi
if has_agent snmpd; then
    echo "snmpd RSS (KiB) before/after the two walks, per run: ${S_RSS[*]}"
fi
echo
if has_agent l3vpnd; then
    awk -v t="${L3_TABLE_RATE:-0}" -v i="${L3_INPROC_RATE:-0}" -v p="$(m "${RT_P50[@]:-0}")" \
        -v w="${SD_warm_RATE:-0}" -v f=17000 'BEGIN {
        printf "goal >= 300k varbinds/s, whole 1M-row table: snmpbulkwalk %s (%.0f/s); in-process client %s (%.0f/s)\n",
            (t >= 300000 ? "met" : "MISSED"), t, (i >= 300000 ? "met" : "MISSED"), i
        printf "goal first GETNEXT < 1 ms: %s (p50 %.1f us)\n", (p < 1000 ? "met" : "MISSED"), p
        if (w > 0) printf "ratio l3vpnd whole-table rate / snmpd warm rate (same run): %.2f\n", t / w
        printf "ratio l3vpnd whole-table rate / FRR reference 17k: %.1f\n", t / f }'
fi

if [ "$PERF" = 1 ] && [ -s "$RUN/perf-walk.data" ]; then
    echo
    echo "perf profile of l3vpnd during one whole-table snmpbulkwalk (self time, top 15 symbols):"
    perf report -i "$RUN/perf-walk.data" --stdio --no-children --sort symbol -g none \
        --percent-limit 0.3 2>/dev/null | grep -E '^ +[0-9.]+%' | sed 's/[ -]*$//' | head -n 15 || true
    echo "by thread (comm):"
    perf report -i "$RUN/perf-walk.data" --stdio --no-children --sort comm -g none \
        2>/dev/null | grep -E '^ +[0-9.]+%' | sed 's/[ -]*$//' | head -n 6 || true
fi

if [ ${#FAILS[@]} -gt 0 ]; then
    echo
    echo "checks failed:"
    printf '  - %s\n' "${FAILS[@]}"
    KEEP=1
    exit 1
fi
