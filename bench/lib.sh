# Shared helpers of bench/walk.sh and bench/provision.sh (sourced, not run).
# Everything here stays on loopback or inside namespaces the scripts create.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
L3VPND=${L3VPND:-$ROOT/target/release/l3vpnd}
PROVISION=${PROVISION:-$ROOT/target/release/provision}

die() { echo "ERROR: $*" >&2; exit 1; }
note() { echo "== $*" >&2; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (network namespaces)"; }

# net-snmp tools and agent; installs them on a fresh Debian 12 if missing.
ensure_netsnmp() {
    if command -v snmpbulkwalk >/dev/null && command -v snmpget >/dev/null &&
        [ -x /usr/sbin/snmpd ]; then
        return
    fi
    note "installing snmp snmpd"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends snmp snmpd
}

# Builds the daemon and the bench client in release mode (one build at a time:
# cargo serializes on the target dir lock). Skipped with NO_BUILD=1.
build_release() {
    if [ "${NO_BUILD:-0}" = 1 ]; then
        note "NO_BUILD=1: using existing binaries"
    else
        note "cargo build --release -p agent -p l3vpnd-bench"
        (cd "$ROOT" && cargo build --release -p agent -p l3vpnd-bench) ||
            die "release build failed"
    fi
    [ -x "$PROVISION" ] || die "missing $PROVISION"
}

# median of the arguments (numbers)
median() {
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2 }'
}

# mean of the arguments
mean() { printf '%s\n' "$@" | awk '{s+=$1} END { if (NR) print s/NR; else print "nan" }'; }

# value of KEY in a "RESULT k=v k=v" line: kv LINE KEY
kv() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1; }

# utime+stime of PID in clock ticks
cpu_ticks() {
    local s
    s=$(cat "/proc/$1/stat") || return 1
    s=${s##*) }                  # drop "pid (comm) ", comm may hold spaces
    set -- $s                    # now $1 = state (field 3), utime = field 14
    echo $(( ${12} + ${13} ))
}

# VmRSS of PID in KiB
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

now_ns() { date +%s%N; }

# Sends TERM to PID, waits up to $2 s (default 10), then KILL. Returns 0.
stop_pid() {
    local pid=$1 limit=${2:-10} i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < limit * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    echo "WARN: pid $pid ignored SIGTERM for ${limit}s, killing" >&2
    kill -KILL "$pid" 2>/dev/null || true
    return 0
}

# Polls until an SNMP agent at ADDR (in namespace NS) answers a GETNEXT,
# at most $3 s. wait_snmp NS ADDR SECONDS
wait_snmp() {
    local ns=$1 addr=$2 limit=${3:-10} i
    for ((i = 0; i < limit * 10; i++)); do
        if ip netns exec "$ns" snmpgetnext -v2c -c public -t 0.1 -r 0 -On "$addr" 1.3.6.1.2.1 \
            >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# net-snmp snmpd config on 127.0.0.1:PORT. Like shared/peers/snmpd.conf plus
# dontLogTCPWrappersConnects: otherwise snmpd logs every request to its log
# file, which l3vpnd does not do, and that would inflate snmpd's CPU time.
write_snmpd_conf() {
    cat >"$1" <<EOF
agentaddress udp:127.0.0.1:$2
rocommunity public 127.0.0.1
sysDescr baseline-snmpd
dontLogTCPWrappersConnects yes
EOF
}

# Starts snmpd in namespace NS: start_snmpd NS RUNDIR PORT; sets SNMPD_PID.
# Its persistent store goes to RUNDIR/snmpd-persist (snmpd writes a file
# named snmpd.conf there, so it must not be the config's folder).
start_snmpd() {
    local ns=$1 dir=$2 port=$3
    mkdir -p "$dir/snmpd-persist"
    write_snmpd_conf "$dir/snmpd.conf" "$port"
    MIBS= SNMP_PERSISTENT_DIR="$dir/snmpd-persist" ip netns exec "$ns" \
        /usr/sbin/snmpd -f -C -c "$dir/snmpd.conf" -Lf "$dir/snmpd.log" -p "$dir/snmpd.pid" \
        </dev/null >/dev/null 2>&1 &
    SNMPD_PID=$!
    wait_snmp "$ns" "127.0.0.1:$port" 10 || {
        tail -n 20 "$dir/snmpd.log" >&2
        die "snmpd did not answer on 127.0.0.1:$port in $ns"
    }
    if [ -s "$dir/snmpd.pid" ]; then SNMPD_PID=$(cat "$dir/snmpd.pid"); fi
}

# Starts l3vpnd in namespace NS: start_l3vpnd NS DATADIR PORT LOG; sets L3_PID.
# `ip netns exec` execs the daemon, so $! is the daemon's own pid.
start_l3vpnd() {
    local ns=$1 data=$2 port=$3 log=$4
    ip netns exec "$ns" "$L3VPND" --data-dir "$data" --snmp-listen "127.0.0.1:$port" \
        --ro-community public --rw-community private --log-level info \
        </dev/null >>"$log" 2>&1 &
    L3_PID=$!
}

make_netns() {
    ip netns add "$1" || die "ip netns add $1"
    ip -n "$1" link set lo up
}
