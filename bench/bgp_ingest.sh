#!/usr/bin/env bash
# BGP ingest benchmark (issue 4): 1,000,000 VPNv4 routes (1,000 RDs/RTs x
# 1,000 /24s, 250 per UPDATE, ~15 MB pre-encoded by bgp's `replay` example)
# over one iBGP session on a veth pair between two network namespaces, into:
#   l3vpnd's speaker (bgp's `ingest` example: the speaker plus an event
#   consumer standing in for vpn-core), BIRD 2 (vpn4 table), GoBGP, FRR bgpd;
#   and "l3vpnd-full": the real daemon (target/release/l3vpnd, shadow FIB)
#   with RDS VRFs "v1".."v<RDS>" created over SNMP before the session comes
#   up (VRF v<i>: RD 65001:<i-1>, one import RT 65000:<i-1>, i.e. exactly
#   the feed's RT of RD 65000:<i-1>), so every route is also imported into
#   its VRF's RIB and installed in the shadow FIB.
# Prints, side by side: seconds from session up until every route is in the
# daemon's VPN table (l3vpnd-full: in its VRF RIB and in the shadow FIB, i.e.
# the sum of mplsL3VpnVrfPerfCurrNumRoutes and that of l3vpndVrfFibRoutes less
# the 2 catch-all defaults per VRF both reach the route count), CPU seconds
# of the daemon, its peak RSS.
#
# Usage (root): bench/bgp_ingest.sh            # l3vpnd bird gobgp frr
#               ONLY="l3vpnd-full l3vpnd bird" bench/bgp_ingest.sh
#               ROUTES_PER_RD=100 bench/bgp_ingest.sh   # smaller feed
# NO_BUILD=1 skips the cargo build. Traffic stays inside the namespaces.
# l3vpnd-full only:
#   FULL_PEER=snmp (default): the daemon starts with [bgp] asn/router_id and
#     no peer; after the VRFs, the PE-PE peer row is created over SNMP
#     (L3VPND-MIB l3vpndBgpPeerTable); CPU is counted from just before that SET.
#   FULL_PEER=config: the daemon starts without the peer (VRFs created
#     nonVolatile), is stopped, and restarted with [[bgp.peer]] in its
#     config file; CPU is then the daemon's whole CPU since the restart
#     (store load included: an upper bound).
#   FULL_WAIT=600 bounds the wait (s; on timeout the count reached is shown),
#   FULL_POLL=0.1 is the interval between walks of the route counts (s), so
#   the time is an upper bound by up to that much.
#   PROFILE=1: `perf record -g` the daemon for PERF_SECS=10 s from session up
#     and print the top of `perf report --no-children --sort symbol` (the
#     figures of that run are then perturbed by perf). PERF_ARGS="-g" are the
#     perf record options (e.g. "-F 499 --call-graph dwarf,16384": the release
#     build has no frame pointers, so -g call chains stop early); perf.data
#     stays in the log folder.
# Churn (issue 4, "withdraw and re-announce 100,000 of them"), l3vpnd-full
# and bird only, off by default:
#   CHURN=100000: once all routes are in, the replayer withdraws the feed's
#     first CHURN routes (MP_UNREACH_NLRI, 250 per UPDATE; RDs 65000:0.. in
#     feed order), and once the count has dropped to ROUTES-CHURN, re-announces
#     them (the feed's own UPDATEs: same attributes and labels). Each phase is
#     timed from the replayer starting to write it until the count (l3vpnd-full:
#     the VRF RIBs' and the FIB's counts as above, both; bird: `show route
#     count` of vpntab) reaches ROUTES-CHURN, resp. ROUTES again, with the
#     daemon's CPU seconds over the phase and in the 2 s after the count
#     settled (near 0: nothing was left to do).
#   CHURN_WAIT=600 bounds each phase (s), CHURN_POLL=0.1 is the interval
#     between count polls (s; the times are upper bounds by that plus one poll).
#     An l3vpnd-full poll that fails or misses VRF rows (e.g. the agent does
#     not answer within its 5 s timeout + 1 retry while the daemon is busy) is
#     skipped, not counted; $RUN/l3vpnd-full/counts holds the good ones.
#   Example: ONLY="l3vpnd-full bird" CHURN=100000 bench/bgp_ingest.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root

ONLY=${ONLY:-"l3vpnd bird gobgp frr"}
RDS=${RDS:-1000}
PER_RD=${ROUTES_PER_RD:-1000}
ROUTES=$((RDS * PER_RD))
NS_DUT=bgping-dut
NS_FEED=bgping-feed
REPLAY=$ROOT/target/release/examples/replay
FULL_PEER=${FULL_PEER:-snmp}
FULL_WAIT=${FULL_WAIT:-600}
FULL_POLL=${FULL_POLL:-0.1}
PROFILE=${PROFILE:-0}
PERF_SECS=${PERF_SECS:-10}
PERF_ARGS=${PERF_ARGS:--g}
case $FULL_PEER in snmp | config) ;; *) die "FULL_PEER must be snmp or config" ;; esac
CHURN=${CHURN:-0}
CHURN_WAIT=${CHURN_WAIT:-600}
CHURN_POLL=${CHURN_POLL:-0.1}
[[ "$CHURN" =~ ^[0-9]+$ ]] && [ "$CHURN" -le "$ROUTES" ] || die "CHURN must be 0..$ROUTES"
INGEST=$ROOT/target/release/examples/ingest
HZ=$(getconf CLK_TCK)
RUN=$(mktemp -d /tmp/bgp_ingest.XXXXXX)
chmod 755 "$RUN"

if [ "${NO_BUILD:-0}" != 1 ]; then
    note "cargo build --release -p bgp --examples"
    (cd "$ROOT" && cargo build --release -p bgp --examples) || die "build failed"
    if [[ " $ONLY " == *" l3vpnd-full "* ]]; then
        note "cargo build --release -p agent -p l3vpnd-bench"
        (cd "$ROOT" && cargo build --release -p agent -p l3vpnd-bench) || die "build failed"
    fi
fi
[ -x "$REPLAY" ] && [ -x "$INGEST" ] || die "missing $REPLAY / $INGEST"
if [[ " $ONLY " == *" l3vpnd-full "* ]]; then
    [ -x "$L3VPND" ] && [ -x "$PROVISION" ] || die "missing $L3VPND / $PROVISION"
    ensure_netsnmp
fi

cleanup() {
    for p in "${PIDS[@]:-}"; do stop_pid "$p" 5; done
    ip netns del $NS_DUT 2>/dev/null || true
    ip netns del $NS_FEED 2>/dev/null || true
}
PIDS=()
trap cleanup EXIT

ip netns del $NS_DUT 2>/dev/null || true
ip netns del $NS_FEED 2>/dev/null || true
ip netns add $NS_DUT
ip netns add $NS_FEED
ip link add vbgping-d type veth peer name vbgping-f
ip link set vbgping-d netns $NS_DUT
ip link set vbgping-f netns $NS_FEED
ip -n $NS_DUT addr add 10.99.0.1/30 dev vbgping-d
ip -n $NS_FEED addr add 10.99.0.2/30 dev vbgping-f
for ns in $NS_DUT $NS_FEED; do ip -n $ns link set lo up; done
ip -n $NS_DUT link set vbgping-d up
ip -n $NS_FEED link set vbgping-f up

hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# Starts the replayer; sets REPLAY_PID and REPLAY_OUT. With CHURN > 0 and a
# variant that measures churn (l3vpnd-full, bird), the replayer also has the
# churn phase, triggered by the files $RUN/churn.<variant>.{withdraw,announce}.
start_replay() {
    REPLAY_OUT=$RUN/replay.$1.out
    local churn=() hold=900
    if [ "$CHURN" -gt 0 ] && { [ "$1" = l3vpnd-full ] || [ "$1" = bird ]; }; then
        churn=(--churn "$CHURN" --churn-trigger "$RUN/churn.$1")
        hold=$((900 + 2 * CHURN_WAIT)) # the session must outlive both phases
    fi
    ip netns exec $NS_FEED "$REPLAY" --listen 10.99.0.2:179 --rds "$RDS" --per-rd "$PER_RD" \
        --per-update 250 --hold "$hold" "${churn[@]}" >"$REPLAY_OUT" 2>"$RUN/replay.$1.err" &
    REPLAY_PID=$!
    PIDS+=("$REPLAY_PID")
    for _ in $(seq 100); do grep -q '^READY' "$REPLAY_OUT" 2>/dev/null && return; sleep 0.1; done
    die "replayer not ready"
}

# Waits for the replayer's ESTABLISHED line; prints its time (ns).
wait_established() {
    local limit=$1 i
    for ((i = 0; i < limit * 20; i++)); do
        if grep -q '^ESTABLISHED' "$REPLAY_OUT"; then
            awk '/^ESTABLISHED/ {print $2}' "$REPLAY_OUT"
            return
        fi
        sleep 0.05
    done
    die "session not established within ${limit}s (see $RUN)"
}

# poll_count PID INTERVAL LIMIT CMD...: runs CMD (prints a route count) until
# it reaches ROUTES; prints "done_ns cpu_s rss_mib".
poll_count() {
    local pid=$1 interval=$2 limit=$3
    shift 3
    local start n
    start=$(date +%s)
    while :; do
        n=$("$@" 2>/dev/null || echo 0)
        n=${n:-0}
        if [ "$n" -ge "$ROUTES" ] 2>/dev/null; then
            local done_ns
            done_ns=$(now_ns)
            echo "$done_ns $(awk -v t="$(cpu_ticks "$pid")" -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz}') \
$(awk -v k="$(hwm_kib "$pid")" 'BEGIN {printf "%.1f", k / 1024}')"
            return
        fi
        [ $(($(date +%s) - start)) -lt "$limit" ] || { echo "timeout $n"; return; }
        sleep "$interval"
    done
}

declare -A SECS CPU RSS
declare -A CH_SECS CH_CPU CH_IDLE # key "<variant>:<withdraw|announce>"

# churn NAME PID COUNT_CMD...: the churn phases against the running variant
# NAME (pid PID, replayer REPLAY_OUT), COUNT_CMD printing its route count.
churn() {
    local name=$1 pid=$2
    shift 2
    local phase target start line i n last t0 c0 done_ns c1 t1 limit
    for phase in withdraw announce; do
        if [ "$phase" = withdraw ]; then start=WITHDRAWING target=$((ROUTES - CHURN)) COUNT_AGG=max; else
            start=ANNOUNCING target=$ROUTES COUNT_AGG=min
        fi
        c0=$(cpu_ticks "$pid")
        touch "$RUN/churn.$name.$phase"
        line=
        for ((i = 0; i < 200; i++)); do
            line=$(grep "^$start " "$REPLAY_OUT" || true)
            [ -n "$line" ] && break
            sleep 0.05
        done
        if [ -z "$line" ]; then
            note "$name: the replayer did not start the $phase phase within 10 s (see $RUN)"
            CH_SECS[$name:$phase]="no $phase"; CH_CPU[$name:$phase]=-; CH_IDLE[$name:$phase]=-
            return
        fi
        t0=${line#* }
        limit=$(($(date +%s) + CHURN_WAIT))
        done_ns= last=?
        while :; do
            # A failed or partial poll prints nothing: it must not pass for a
            # withdrawal done.
            n=$("$@" 2>/dev/null || true)
            if [[ "$n" =~ ^[0-9]+$ ]]; then
                last=$n
                if { [ "$phase" = withdraw ] && [ "$n" -le "$target" ]; } ||
                    { [ "$phase" = announce ] && [ "$n" -ge "$target" ]; }; then
                    done_ns=$(now_ns)
                    c1=$(cpu_ticks "$pid")
                    break
                fi
            fi
            [ "$(date +%s)" -lt "$limit" ] || break
            sleep "$CHURN_POLL"
        done
        n=$last
        if [ -z "$done_ns" ]; then
            note "$name: $phase: count $n after ${CHURN_WAIT} s, expected $target (see $RUN)"
            CH_SECS[$name:$phase]="timeout($n routes)"
            CH_CPU[$name:$phase]=$(awk -v t=$(($(cpu_ticks "$pid") - c0)) -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz}')
            CH_IDLE[$name:$phase]=-
            churn_state "$name" "$pid"
            [ "$name" != l3vpnd-full ] ||
                note "l3vpnd-full: last peer state lines: $(grep 'BGP peer state' "$RUN/l3vpnd-full/l3vpnd.log" |
                    tail -n 2 | sed 's/.*peer=/peer=/' | paste -sd';')"
            return 0 # the next phase would measure a backlog
        fi
        # Is the daemon still busy (l3vpnd-full: the reconciler updating the
        # shadow FIB) once the count has settled? Its CPU in the next 2 s says.
        t1=$(cpu_ticks "$pid")
        sleep 2
        CH_IDLE[$name:$phase]=$(awk -v t=$(($(cpu_ticks "$pid") - t1)) -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz}')
        CH_SECS[$name:$phase]=$(awk -v a="$t0" -v b="$done_ns" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
        CH_CPU[$name:$phase]=$(awk -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz}')
        note "$name: churn $phase of $CHURN routes: count $n after ${CH_SECS[$name:$phase]} s," \
            "CPU ${CH_CPU[$name:$phase]} s, CPU in the 2 s after: ${CH_IDLE[$name:$phase]} s"
        churn_state "$name" "$pid"
    done
}

# l3vpnd-full: CPU by thread, VRF route count and Adj-RIB-In size, as notes.
churn_state() {
    [ "$1" = l3vpnd-full ] || return 0
    note "l3vpnd-full: CPU s by thread since start: $(thread_cpu "$2")"
    note "l3vpnd-full: VRF routes $(full_count_all), Adj-RIB-In (l3vpndBgpPeerRcvdVpnv4)" \
        "$(ip netns exec $NS_DUT snmpget -v2c -c public -On -Oqv -t 2 -r 1 "$FULL_SNMP" \
            "$PEER_ENTRY.22.$PEER_IDX" 2>/dev/null || echo '?')"
}

run_l3vpnd() {
    start_replay l3vpnd
    ip netns exec $NS_DUT "$INGEST" --listen 10.99.0.1:179 --peer 10.99.0.2 --routes "$ROUTES" \
        --hold 300 >"$RUN/ingest.out" 2>"$RUN/ingest.err" &
    local pid=$!
    PIDS+=("$pid")
    wait_established 30 >/dev/null
    local i line=
    for ((i = 0; i < 1200; i++)); do
        line=$(grep '^RESULT' "$RUN/ingest.out" || true)
        [ -n "$line" ] && break
        sleep 0.1
    done
    [ -n "$line" ] || die "l3vpnd: no RESULT (see $RUN)"
    SECS[l3vpnd]=$(kv "$line" secs)
    CPU[l3vpnd]=$(kv "$line" cpu)
    RSS[l3vpnd]=$(kv "$line" rss_mib)
    note "l3vpnd: $line"
    stop_pid "$pid"
    stop_pid "$REPLAY_PID"
}

record() { # name t_up "done cpu rss"
    local name=$1 up=$2
    set -- $3
    if [ "$1" = timeout ]; then
        SECS[$name]="timeout($2 routes)"; CPU[$name]=-; RSS[$name]=-
        return
    fi
    SECS[$name]=$(awk -v a="$up" -v b="$1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
    CPU[$name]=$2
    RSS[$name]=$3
}

# l3vpnd-full: the real daemon, RDS VRFs importing the feed's RTs.
FULL_SNMP=127.0.0.1:1161 # inside $NS_DUT
# L3VPND-MIB l3vpndBgpPeerEntry, index VRF "" (0), ipv4(1), 4 octets of 10.99.0.2
PEER_ENTRY=1.3.6.1.4.1.32473.1.1.3.10.1
PEER_IDX=0.1.4.10.99.0.2
CONFIGURED_VRFS=1.3.6.1.2.1.10.166.11.1.1.1.0
CURR_NUM_ROUTES=1.3.6.1.2.1.10.166.11.1.3.1.1.3 # mplsL3VpnVrfPerfCurrNumRoutes
FIB_ROUTES=1.3.6.1.4.1.32473.1.1.2.1.7 # L3VPND-MIB l3vpndVrfFibRoutes

full_conf() { # FILE WITH_PEER(0|1)
    {
        echo "snmp_listen = [\"$FULL_SNMP\"]"
        echo 'default_storage = "nonVolatile"'
        echo 'log_level = "info"'
        echo '[bgp]'
        echo 'asn = 65000'
        echo 'router_id = "10.99.0.1"'
        # no listen: the replayer listens, the daemon connects to it
        if [ "$2" = 1 ]; then
            echo '[[bgp.peer]]'
            echo 'address = "10.99.0.2"'
            echo 'remote_as = 65000'
            echo 'families = ["vpnv4"]'
        fi
    } >"$1"
}

full_start() { # DIR CONF
    ip netns exec $NS_DUT "$L3VPND" --config "$2" --data-dir "$1/data" \
        </dev/null >>"$1/l3vpnd.log" 2>&1 &
    FULL_PID=$!
    PIDS+=("$FULL_PID")
    wait_snmp $NS_DUT "$FULL_SNMP" 30 || {
        tail -n 20 "$1/l3vpnd.log" >&2
        die "l3vpnd-full: no SNMP answer on $FULL_SNMP (see $1)"
    }
}

# What the daemon holds, from two bulk walks: "rows_rib sum_rib rows_fib
# sum_fib" (mplsL3VpnVrfPerfCurrNumRoutes: the VRF RIBs; l3vpndVrfFibRoutes:
# the routes each VRF's FIB table holds, its 2 catch-all defaults included).
full_walks() {
    local rib fib
    rib=$(ip netns exec $NS_DUT snmpbulkwalk -v2c -c public -On -Oqv -Cr50 -t 5 -r 1 "$FULL_SNMP" \
        "$CURR_NUM_ROUTES") || rib=
    fib=$(ip netns exec $NS_DUT snmpbulkwalk -v2c -c public -On -Oqv -Cr50 -t 5 -r 1 "$FULL_SNMP" \
        "$FIB_ROUTES") || fib=
    echo "$(awk '{ s += $1 } END { print NR, s + 0 }' <<<"$rib") $(awk '{ s += $1 } END { print NR, s + 0 }' <<<"$fib")"
}

# The route count both the VRF RIBs and the FIB have reached: the smaller of
# the RIB sum and the FIB sum less the catch-alls (COUNT_AGG=max while routes
# are being withdrawn: then both must have come down).
full_count() {
    local rr rs fr fs n
    read -r rr rs fr fs < <(full_walks)
    n=$(awk -v a="$rs" -v b="$((fs - 2 * fr))" -v m="${COUNT_AGG:-min}" \
        'BEGIN { if ((m == "min") == (a < b)) print a; else print b }')
    echo "$(now_ns) $rs fib=$fs rows=$rr/$fr" >>"$RUN/l3vpnd-full/counts" # progress: unix ns, routes in VRFs, in FIB
    echo "$n"
}

# full_count, but prints nothing unless the walks returned all RDS VRFs' rows
# (the churn phases: a partial walk must not pass for a withdrawal).
full_count_all() {
    local rr rs fr fs
    read -r rr rs fr fs < <(full_walks)
    echo "$(now_ns) $rs fib=$fs rows=$rr/$fr" >>"$RUN/l3vpnd-full/counts"
    [ "$rr" = "$RDS" ] && [ "$fr" = "$RDS" ] || return 0
    awk -v a="$rs" -v b="$((fs - 2 * fr))" -v m="${COUNT_AGG:-min}" \
        'BEGIN { if ((m == "min") == (a < b)) print a; else print b }'
    return 0
}

# CPU seconds of PID's threads, summed by thread name: "name=s name=s ...".
thread_cpu() {
    local t st
    for t in /proc/"$1"/task/*; do
        st=$(cat "$t/stat" 2>/dev/null) || continue
        st=${st##*) }
        set -- $st
        echo "$(cat "$t/comm" 2>/dev/null | tr ' ' _) $((${12} + ${13}))"
    done | awk -v hz="$HZ" '{ c[$1] += $2 } END {
        for (n in c) if (c[n] > 0) printf "%s=%.2f\n", n, c[n] / hz }' | sort -t= -k2 -gr | paste -sd' '
}

run_l3vpnd-full() {
    local dir=$RUN/l3vpnd-full
    mkdir -p "$dir/data"
    full_conf "$dir/l3vpnd.toml" 0
    start_replay l3vpnd-full
    full_start "$dir" "$dir/l3vpnd.toml"
    local out
    out=$(ip netns exec $NS_DUT "$PROVISION" --mode vrf-import --target "$FULL_SNMP" \
        --community private --count "$RDS" --start 1 --first-rt 0 --prefix v \
        --rd-asn 65001 --rt-asn 65000 --quiet) || {
        tail -n 20 "$dir/l3vpnd.log" >&2
        die "l3vpnd-full: VRF creation failed: $out"
    }
    note "l3vpnd-full: $(grep -v '^RESULT' <<<"$out")"
    local n
    n=$(ip netns exec $NS_DUT snmpget -v2c -c public -On -Oqv -t 2 -r 1 "$FULL_SNMP" "$CONFIGURED_VRFS")
    [ "$n" = "$RDS" ] || die "l3vpnd-full: mplsL3VpnConfiguredVrfs = $n, expected $RDS"
    local c0=0
    if [ "$FULL_PEER" = config ]; then
        stop_pid "$FULL_PID" 30
        full_conf "$dir/l3vpnd-peer.toml" 1
        full_start "$dir" "$dir/l3vpnd-peer.toml"
        n=$(ip netns exec $NS_DUT snmpget -v2c -c public -On -Oqv -t 2 -r 1 "$FULL_SNMP" "$CONFIGURED_VRFS")
        [ "$n" = "$RDS" ] || die "l3vpnd-full: $n VRFs after the restart, expected $RDS"
    else
        c0=$(cpu_ticks "$FULL_PID")
        ip netns exec $NS_DUT snmpset -v2c -c private -t 5 -r 1 "$FULL_SNMP" \
            "$PEER_ENTRY.4.$PEER_IDX" u 65000 "$PEER_ENTRY.5.$PEER_IDX" x 20 \
            "$PEER_ENTRY.12.$PEER_IDX" i 4 >/dev/null || die "l3vpnd-full: peer row SET failed"
    fi
    local pid=$FULL_PID up perf_pid=
    up=$(wait_established 60)
    if [ "$PROFILE" = 1 ]; then
        # shellcheck disable=SC2086 # PERF_ARGS: several options
        perf record $PERF_ARGS -o "$dir/perf.data" -p "$pid" -- sleep "$PERF_SECS" >"$dir/perf.out" 2>&1 &
        perf_pid=$!
    fi
    local res
    res=$(poll_count "$pid" "$FULL_POLL" "$FULL_WAIT" full_count)
    if [ "${res%% *}" != timeout ]; then
        # CPU over the interval: minus what the daemon used before the peer SET
        set -- $res
        res="$1 $(awk -v c="$2" -v t="$c0" -v hz="$HZ" 'BEGIN {printf "%.2f", c - t / hz}') $3"
    fi
    record l3vpnd-full "$up" "$res"
    note "l3vpnd-full: CPU s by thread since start: $(thread_cpu "$pid")"
    # Is the daemon still busy (reconciler filling the shadow FIB) once the
    # VRF counts are complete? Its CPU in the next 2 s says.
    local t0 t1
    t0=$(cpu_ticks "$pid")
    sleep 2
    t1=$(cpu_ticks "$pid")
    note "l3vpnd-full: CPU in the 2 s after the counts were complete: $(awk -v t=$((t1 - t0)) -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz}') s"
    note "l3vpnd-full: RSS then: $(awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status") MiB (peak ${RSS[l3vpnd-full]} MiB)"
    note "l3vpnd-full: $(grep -m1 'new=Established' "$dir/l3vpnd.log" || echo 'no Established log line')"
    note "l3vpnd-full: ${SECS[l3vpnd-full]} s, CPU ${CPU[l3vpnd-full]} s, peak RSS ${RSS[l3vpnd-full]} MiB"
    if [ -n "$perf_pid" ]; then
        wait "$perf_pid" || true
        perf report -i "$dir/perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null |
            grep -v '^#' | grep -v '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//' |
            head -n 15 >"$dir/perf.top" || true
        note "l3vpnd-full: perf top 15 (self time, $PERF_SECS s from session up):"
        cat "$dir/perf.top" >&2
    fi
    if [ "$CHURN" -gt 0 ] && [[ "${SECS[l3vpnd-full]}" =~ ^[0-9.]+$ ]]; then
        churn l3vpnd-full "$pid" full_count_all
    fi
    stop_pid "$pid" 30
    stop_pid "$REPLAY_PID"
}

run_bird() {
    command -v bird >/dev/null || { note "bird not installed: skipped"; return; }
    cat >"$RUN/bird.conf" <<CONF
router id 10.99.0.1;
vpn4 table vpntab;
protocol device {}
protocol direct { ipv4; }
protocol bgp feed {
  local 10.99.0.1 as 65000;
  neighbor 10.99.0.2 as 65000;
  vpn4 mpls { table vpntab; import all; export none; };
}
CONF
    start_replay bird
    ip netns exec $NS_DUT bird -f -c "$RUN/bird.conf" -s "$RUN/bird.ctl" -P "$RUN/bird.pid" \
        >"$RUN/bird.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    local up
    up=$(wait_established 30)
    count() { birdc -s "$RUN/bird.ctl" show route table vpntab count | awk '/routes for/ {print $1}'; }
    record bird "$up" "$(poll_count "$pid" 0.1 120 count)"
    if [ "$CHURN" -gt 0 ] && [[ "${SECS[bird]}" =~ ^[0-9.]+$ ]]; then
        churn bird "$pid" count
    fi
    stop_pid "$pid"
    stop_pid "$REPLAY_PID"
}

run_gobgp() {
    command -v gobgpd >/dev/null || { note "gobgpd not installed: skipped"; return; }
    cat >"$RUN/gobgpd.toml" <<CONF
[global.config]
  as = 65000
  router-id = "10.99.0.1"
  local-address-list = ["10.99.0.1"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.99.0.2"
    peer-as = 65000
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv4-unicast"
CONF
    start_replay gobgp
    ip netns exec $NS_DUT gobgpd -f "$RUN/gobgpd.toml" --api-hosts 127.0.0.1:50051 --pprof-disable \
        >"$RUN/gobgpd.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    local up
    up=$(wait_established 30)
    count() {
        ip netns exec $NS_DUT gobgp -u 127.0.0.1 -p 50051 global rib -a vpnv4 summary |
            sed -n 's/.*Destination: \([0-9]*\).*/\1/p'
    }
    record gobgp "$up" "$(poll_count "$pid" 0.5 300 count)"
    stop_pid "$pid" 2
    stop_pid "$REPLAY_PID"
}

run_frr() {
    [ -x /usr/lib/frr/bgpd ] || { note "frr not installed: skipped"; return; }
    mkdir -p "$RUN/frr"
    cat >"$RUN/frr/bgpd.conf" <<CONF
hostname dut
router bgp 65000
 bgp router-id 10.99.0.1
 no bgp default ipv4-unicast
 neighbor 10.99.0.2 remote-as 65000
 neighbor 10.99.0.2 timers connect 1
 address-family ipv4 vpn
  neighbor 10.99.0.2 activate
 exit-address-family
CONF
    chown -R frr:frr "$RUN/frr"
    start_replay frr
    ip netns exec $NS_DUT /usr/lib/frr/bgpd -Z -f "$RUN/frr/bgpd.conf" -i "$RUN/frr/bgpd.pid" \
        --vty_socket "$RUN/frr" -u frr -g frr >"$RUN/frr/bgpd.out" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    local up
    up=$(wait_established 60)
    count() {
        vtysh --vty_socket "$RUN/frr" -c 'show bgp ipv4 vpn summary json' |
            sed -n 's/.*"pfxRcd":\([0-9]*\).*/\1/p' | head -n1
    }
    record frr "$up" "$(poll_count "$pid" 1 400 count)"
    stop_pid "$pid" 20
    stop_pid "$REPLAY_PID"
}

for dut in $ONLY; do
    note "== $dut: $ROUTES VPNv4 routes"
    "run_$dut"
    sleep 1
done

printf '\nBGP ingest: %d VPNv4 routes (%d RDs x %d /24, 250 per UPDATE), one iBGP session over veth\n' \
    "$ROUTES" "$RDS" "$PER_RD"
W=8 # name column: 8 wide unless a longer name (l3vpnd-full) is shown
for dut in $ONLY; do [ -z "${SECS[$dut]:-}" ] || [ ${#dut} -le $W ] || W=${#dut}; done
printf "%-${W}s %22s %10s %12s\n" daemon "session up -> all in" "CPU s" "peak RSS MiB"
for dut in $ONLY; do
    [ -n "${SECS[$dut]:-}" ] || continue
    printf "%-${W}s %22s %10s %12s\n" "$dut" "${SECS[$dut]} s" "${CPU[$dut]}" "${RSS[$dut]}"
done
if [ -n "${SECS[l3vpnd-full]:-}" ]; then
    echo "note: l3vpnd-full is the whole daemon: besides its VPN table it imports every route into" \
        "one of $RDS VRF RIBs (route-target match) and installs it in the shadow FIB; its time ends" \
        "when the VRF RIBs (sum of mplsL3VpnVrfPerfCurrNumRoutes) and the FIB (sum of" \
        "l3vpndVrfFibRoutes less 2 catch-all defaults per VRF), walked every ${FULL_POLL} s, both hold" \
        "$ROUTES. BIRD/GoBGP/FRR and l3vpnd (speaker only) just fill their VPN table."
fi
if [ -n "${SECS[l3vpnd]:-}" ]; then
    for dut in $ONLY; do
        [ "$dut" = l3vpnd ] || [ "$dut" = l3vpnd-full ] && continue
        [ -n "${SECS[$dut]:-}" ] || continue
        [[ "${SECS[$dut]}" =~ ^[0-9.]+$ ]] || continue
        printf 'ratio %s/l3vpnd: time %s, CPU %s, RSS %s\n' "$dut" \
            "$(awk -v a="${SECS[$dut]}" -v b="${SECS[l3vpnd]}" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else printf "n/a"}')" \
            "$(awk -v a="${CPU[$dut]}" -v b="${CPU[l3vpnd]}" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else printf "n/a"}')" \
            "$(awk -v a="${RSS[$dut]}" -v b="${RSS[l3vpnd]}" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else printf "n/a"}')"
    done
fi
if [[ "${SECS[l3vpnd-full]:-}" =~ ^[0-9.]+$ ]]; then
    for dut in $ONLY; do
        [ "$dut" = l3vpnd-full ] && continue
        [[ "${SECS[$dut]:-}" =~ ^[0-9.]+$ ]] || continue
        printf 'ratio l3vpnd-full/%s: time %s, CPU %s, RSS %s\n' "$dut" \
            "$(awk -v a="${SECS[l3vpnd-full]}" -v b="${SECS[$dut]}" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else printf "n/a"}')" \
            "$(awk -v a="${CPU[l3vpnd-full]}" -v b="${CPU[$dut]}" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else printf "n/a"}')" \
            "$(awk -v a="${RSS[l3vpnd-full]}" -v b="${RSS[$dut]}" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else printf "n/a"}')"
    done
fi
if [ "$CHURN" -gt 0 ]; then
    CH=()
    for dut in $ONLY; do if [ -n "${CH_SECS[$dut:withdraw]:-}" ]; then CH+=("$dut"); fi; done
    if [ ${#CH[@]} -gt 0 ]; then
        printf '\nChurn: withdraw, then re-announce, the first %d of the routes (250 per UPDATE)\n' "$CHURN"
        printf "%-${W}s %22s %8s %8s %22s %8s %8s\n" daemon "withdraw s" "CPU s" "CPU +2s" \
            "re-announce s" "CPU s" "CPU +2s"
        for dut in "${CH[@]}"; do
            printf "%-${W}s %22s %8s %8s %22s %8s %8s\n" "$dut" \
                "${CH_SECS[$dut:withdraw]}" "${CH_CPU[$dut:withdraw]}" "${CH_IDLE[$dut:withdraw]}" \
                "${CH_SECS[$dut:announce]:--}" "${CH_CPU[$dut:announce]:--}" "${CH_IDLE[$dut:announce]:--}"
        done
        echo "note: each time runs from the replayer starting to write the phase until the route count" \
            "(l3vpnd-full: the VRF RIBs and the FIB, both; bird: routes in" \
            "vpntab) is $((ROUTES - CHURN)), resp. $ROUTES, polled every ${CHURN_POLL} s (an upper bound);" \
            "CPU s is the daemon's CPU over the phase (count polls included). \"CPU +2s\" is the daemon's" \
            "CPU in the 2 s after the count settled (near 0 = nothing left to do). BIRD has no VRFs or FIB here."
        if [[ "${CH_SECS[l3vpnd-full:withdraw]:-}" =~ ^[0-9.]+$ ]] && [[ "${CH_SECS[bird:withdraw]:-}" =~ ^[0-9.]+$ ]]; then
            for phase in withdraw announce; do
                [[ "${CH_SECS[l3vpnd-full:$phase]:-}" =~ ^[0-9.]+$ ]] &&
                    [[ "${CH_SECS[bird:$phase]:-}" =~ ^[0-9.]+$ ]] || continue
                printf 'ratio l3vpnd-full/bird, %s: time %s, CPU %s\n' "$phase" \
                    "$(awk -v a="${CH_SECS[l3vpnd-full:$phase]}" -v b="${CH_SECS[bird:$phase]}" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else printf "n/a"}')" \
                    "$(awk -v a="${CH_CPU[l3vpnd-full:$phase]}" -v b="${CH_CPU[bird:$phase]}" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else printf "n/a"}')"
            done
        fi
    fi
fi
echo "(logs: $RUN)"
