#!/usr/bin/env bash
# BGP ingest benchmark (issue 4): 1,000,000 VPNv4 routes (1,000 RDs/RTs x
# 1,000 /24s, 250 per UPDATE, ~15 MB pre-encoded by bgp's `replay` example)
# over one iBGP session on a veth pair between two network namespaces, into:
#   l3vpnd's speaker (bgp's `ingest` example: the speaker plus an event
#   consumer standing in for vpn-core), BIRD 2 (vpn4 table), GoBGP, FRR bgpd.
# Prints, side by side: seconds from session up until every route is in the
# daemon's VPN table, CPU seconds of the daemon, its peak RSS.
#
# Usage (root): bench/bgp_ingest.sh            # all four
#               ONLY="l3vpnd bird" bench/bgp_ingest.sh
#               ROUTES_PER_RD=100 bench/bgp_ingest.sh   # smaller feed
# NO_BUILD=1 skips the cargo build. Traffic stays inside the namespaces.
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
INGEST=$ROOT/target/release/examples/ingest
HZ=$(getconf CLK_TCK)
RUN=$(mktemp -d /tmp/bgp_ingest.XXXXXX)
chmod 755 "$RUN"

if [ "${NO_BUILD:-0}" != 1 ]; then
    note "cargo build --release -p bgp --examples"
    (cd "$ROOT" && cargo build --release -p bgp --examples) || die "build failed"
fi
[ -x "$REPLAY" ] && [ -x "$INGEST" ] || die "missing $REPLAY / $INGEST"

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

# Starts the replayer; sets REPLAY_PID and REPLAY_OUT.
start_replay() {
    REPLAY_OUT=$RUN/replay.$1.out
    ip netns exec $NS_FEED "$REPLAY" --listen 10.99.0.2:179 --rds "$RDS" --per-rd "$PER_RD" \
        --per-update 250 --hold 900 >"$REPLAY_OUT" 2>"$RUN/replay.$1.err" &
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
printf '%-8s %22s %10s %12s\n' daemon "session up -> all in" "CPU s" "peak RSS MiB"
for dut in $ONLY; do
    [ -n "${SECS[$dut]:-}" ] || continue
    printf '%-8s %22s %10s %12s\n' "$dut" "${SECS[$dut]} s" "${CPU[$dut]}" "${RSS[$dut]}"
done
if [ -n "${SECS[l3vpnd]:-}" ]; then
    for dut in $ONLY; do
        [ "$dut" = l3vpnd ] && continue
        [ -n "${SECS[$dut]:-}" ] || continue
        [[ "${SECS[$dut]}" =~ ^[0-9.]+$ ]] || continue
        printf 'ratio %s/l3vpnd: time %sx, CPU %sx, RSS %sx\n' "$dut" \
            "$(awk -v a="${SECS[$dut]}" -v b="${SECS[l3vpnd]}" 'BEGIN {printf "%.2f", a / b}')" \
            "$(awk -v a="${CPU[$dut]}" -v b="${CPU[l3vpnd]}" 'BEGIN {printf "%.2f", a / b}')" \
            "$(awk -v a="${RSS[$dut]}" -v b="${RSS[l3vpnd]}" 'BEGIN {printf "%.2f", a / b}')"
    done
fi
echo "(logs: $RUN)"
