#!/usr/bin/env bash
# Side-by-side benchmark of the real etcd and swetcd on this machine (issue 7).
#
#   bench/compare.sh [run|restart|memory] [options]
#
# Modes:
#   run      (default) the workload table: puts, ranges and watch delivery, single member
#            and 3 members on loopback, every workload on fresh data dirs, etcd and swetcd
#            alternating (the order flips every round); prints medians and swetcd/etcd ratios.
#   restart  loads --keys keys into each server once, then restarts it --rounds times:
#            process start to the first answered (linearizable) get.
#   memory   loads --keys keys into a fresh server and reads its resident memory (VmRSS),
#            after the load and again after a restart; --rounds times per server.
#
# Options:
#   --rounds N          rounds per server (default 3)
#   --scratch-path DIR  SwiftPM scratch path for the release build (default .build,
#                       or $SCRATCH_PATH)
#   --skip-build        use the binaries already in the scratch path
#   --etcd PATH         the real etcd (default /usr/bin/etcd, or $ETCD)
#   --only A,B          run only these workloads: put-1, put-64, put-256, put-1000-3m-leader,
#                       put-1000-3m-all, range-l-1000, range-s-1000, connect-16, watch-10k
#   --scale F           multiply every workload's request count (e.g. 0.2 for a smoke run)
#   --keys N            keys for restart/memory (default 1000000)
#   --work-dir DIR      where data dirs, logs and JSON reports go (default: a new temp dir)
#   --tls               both servers with TLS on the client and peer ports, client
#                       certificates required (certificates from bench/tls-pki.sh)
#   --auth              both servers with auth enabled, the workloads run as a user with
#                       read-write access to every key (not root, so each request is checked
#                       against its permissions) and a simple token
#
# Needs bash, python3 and etcdctl (to write the key the range workloads read).
set -euo pipefail

MODE=run
ROUNDS=3
SCRATCH=${SCRATCH_PATH:-.build}
SKIP_BUILD=0
ETCD=${ETCD:-/usr/bin/etcd}
ETCDCTL=${ETCDCTL:-etcdctl}
ONLY=""
SCALE=1
KEYS=1000000
WORK=""
TLS=0
AUTH=0

case "${1:-}" in run | restart | memory) MODE=$1; shift ;; esac
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --scratch-path) SCRATCH=$2; shift 2 ;;
        --skip-build) SKIP_BUILD=1; shift ;;
        --etcd) ETCD=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --scale) SCALE=$2; shift 2 ;;
        --keys) KEYS=$2; shift 2 ;;
        --work-dir) WORK=$2; shift 2 ;;
        --tls) TLS=1; shift ;;
        --auth) AUTH=1; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "compare.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
[[ "$SCRATCH" = /* ]] || SCRATCH="$ROOT/$SCRATCH"
WORK=${WORK:-$(mktemp -d /tmp/swetcd-compare.XXXXXX)}
mkdir -p "$WORK/json" "$WORK/logs"
SCHEME=http
SERVER_TLS=""   # the servers' TLS flags
CLIENT_TLS=""   # swetcd-bench's and etcdctl's
if [[ $TLS = 1 ]]; then
    "$ROOT/bench/tls-pki.sh" "$WORK/pki"
    pki=$WORK/pki SCHEME=https
    SERVER_TLS="--cert-file $pki/server.crt --key-file $pki/server.key --client-cert-auth --trusted-ca-file $pki/ca.crt"
    SERVER_TLS+=" --peer-cert-file $pki/server.crt --peer-key-file $pki/server.key --peer-client-cert-auth"
    SERVER_TLS+=" --peer-trusted-ca-file $pki/ca.crt"
    CLIENT_TLS="--cacert $pki/ca.crt --cert $pki/client.crt --key $pki/client.key"
fi

BENCH_AUTH=""   # swetcd-bench's and etcdctl's --user
[[ $AUTH = 0 ]] || BENCH_AUTH="--user bench:bench"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ $SKIP_BUILD = 0 ]]; then
    log "building release swetcd and swetcd-bench in $SCRATCH"
    swift build --scratch-path "$SCRATCH" -c release --product swetcd >&2
    swift build --scratch-path "$SCRATCH" -c release --product swetcd-bench >&2
fi
SWETCD="$SCRATCH/release/swetcd"
BENCH="$SCRATCH/release/swetcd-bench"
for binary in "$SWETCD" "$BENCH" "$ETCD"; do
    [[ -x "$binary" ]] || { echo "compare.sh: $binary not found" >&2; exit 1; }
done

# --- servers ---------------------------------------------------------------------------

PIDS=()         # processes of the cluster running now
ENDPOINTS=""    # its client endpoints, comma-separated
DATA_DIRS=()
START_ARGS=()   # one command line per member, to restart it

cleanup() {
    stop_cluster
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_ports N: N distinct free TCP ports on 127.0.0.1.
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# binary_of SERVER: the executable of "etcd" or "swetcd".
binary_of() { if [[ $1 = etcd ]]; then echo "$ETCD"; else echo "$SWETCD"; fi; }

# start_cluster SERVER MEMBERS TAG: fresh data dirs, the same flags for both servers.
start_cluster() {
    local server=$1 members=$2 tag=$3 binary ports cluster="" i
    binary=$(binary_of "$server")
    read -r -a ports <<<"$(free_ports $((2 * members)))"
    for ((i = 0; i < members; i++)); do
        cluster+="${cluster:+,}m$i=$SCHEME://127.0.0.1:${ports[2 * i + 1]}"
    done
    PIDS=() DATA_DIRS=() START_ARGS=() ENDPOINTS=""
    for ((i = 0; i < members; i++)); do
        local client=${ports[2 * i]} peer=${ports[2 * i + 1]} dir="$WORK/data/$tag-$server-m$i"
        rm -rf "$dir"
        mkdir -p "$(dirname "$dir")"
        local args="$binary --name m$i --data-dir $dir"
        args+=" --listen-client-urls $SCHEME://127.0.0.1:$client --advertise-client-urls $SCHEME://127.0.0.1:$client"
        args+=" --listen-peer-urls $SCHEME://127.0.0.1:$peer --initial-advertise-peer-urls $SCHEME://127.0.0.1:$peer"
        args+=" --initial-cluster $cluster --initial-cluster-token compare-$tag --initial-cluster-state new $SERVER_TLS"
        START_ARGS+=("$args")
        DATA_DIRS+=("$dir")
        ENDPOINTS+="${ENDPOINTS:+,}$SCHEME://127.0.0.1:$client"
    done
    for ((i = 0; i < members; i++)); do start_member "$i" "$tag-$server"; done
    wait_ready || { log "  $server ($members members) did not answer; logs in $WORK/logs"; return 1; }
    [[ $AUTH = 0 ]] || enable_auth
}

# enable_auth: root, a user "bench" allowed to read and write every key, auth on.
enable_auth() {
    ctl() {
        # shellcheck disable=SC2086
        ETCDCTL_API=3 "$ETCDCTL" --endpoints "$ENDPOINTS" $CLIENT_TLS "$@" >/dev/null
    }
    ctl user add root:root && ctl user grant-role root root && ctl role add bench &&
        ctl role grant-permission bench readwrite "" --from-key && ctl user add bench:bench &&
        ctl user grant-role bench bench && ctl auth enable
}

# start_member I LOGNAME: (re)starts member I from its command line.
start_member() {
    # shellcheck disable=SC2086
    ${START_ARGS[$1]} >>"$WORK/logs/$2-m$1.log" 2>&1 &
    PIDS[$1]=$!
}

# wait_ready: every member answers a linearizable get (so a leader exists).
wait_ready() {
    local endpoint
    for endpoint in ${ENDPOINTS//,/ }; do
        # shellcheck disable=SC2086
        "$BENCH" wait-get --endpoints "$endpoint" $CLIENT_TLS --timeout 120 --json >/dev/null || return 1
    done
}

# stop_cluster: SIGTERM to every member, SIGKILL after 15 s.
stop_cluster() {
    local pid waited
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        waited=0
        while kill -0 "$pid" 2>/dev/null && ((waited < 150)); do sleep 0.1; waited=$((waited + 1)); done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}

# scaled N: N times --scale, at least 1.
scaled() { python3 -c "import sys; print(max(1, int(float(sys.argv[1]) * float(sys.argv[2]))))" "$1" "$SCALE"; }

# bench OUTFILE ARGS…: one swetcd-bench run, its JSON report in OUTFILE (kept on failure too).
bench() {
    local out=$1
    shift
    # shellcheck disable=SC2086
    if ! timeout 600 "$BENCH" "$@" $CLIENT_TLS $BENCH_AUTH --json >"$out" 2>>"$WORK/logs/bench-stderr.log"; then
        log "  FAILED: swetcd-bench $* (see $WORK/logs/bench-stderr.log)"
        rm -f "$out"
        return 0
    fi
}

# order ROUND: the servers in this round's order (flips every round).
order() { if (($1 % 2)); then echo "etcd swetcd"; else echo "swetcd etcd"; fi; }

# Machine and versions, for the record.
describe_machine() {
    echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"\
        "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, kernel $(uname -r)"
    echo "etcd:    $("$ETCD" --version | head -1)"
    [[ $TLS = 0 ]] || echo "tls:     client and peer ports, client certificates required (ECDSA P-256)"
    [[ $AUTH = 0 ]] || echo "auth:    enabled, simple tokens, workloads as a non-root user with read-write on every key"
    echo "swetcd:  $SWETCD ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet 2>/dev/null || echo '+changes'))"
    python3 - "$WORK" <<'EOF'
import os, statistics, sys, time
path = os.path.join(sys.argv[1], "fdatasync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
samples = []
for _ in range(200):
    os.write(fd, b"x" * 4096)
    start = time.perf_counter()
    os.fdatasync(fd)
    samples.append(time.perf_counter() - start)
os.close(fd)
os.unlink(path)
print(f"disk:    fdatasync of a 4 KiB append in {sys.argv[1]}: p50 {statistics.median(samples) * 1000:.3f} ms")
EOF
}

# --- run: the workload table -----------------------------------------------------------

# id | members | what | swetcd-bench arguments (@EP@ is the cluster's endpoints)
WORKLOADS=$(cat <<EOF
put-1|1|put, 1 client|put --endpoints @EP@ --clients 1 --conns 1 --total $(scaled 3000) --key-size 8 --val-size 256 --key-space-size 100000
put-64|1|put, 64 clients|put --endpoints @EP@ --clients 64 --conns 8 --total $(scaled 50000) --key-size 8 --val-size 256 --key-space-size 100000
put-256|1|put, 256 clients|put --endpoints @EP@ --clients 256 --conns 32 --total $(scaled 60000) --key-size 8 --val-size 256 --key-space-size 100000
put-1000-3m-leader|3|put, 1000 clients, 3 members, to leader|put --endpoints @EP@ --target-leader --clients 1000 --conns 100 --total $(scaled 60000) --key-size 8 --val-size 256 --key-space-size 100000
put-1000-3m-all|3|put, 1000 clients, 3 members, to all|put --endpoints @EP@ --clients 1000 --conns 100 --total $(scaled 60000) --key-size 8 --val-size 256 --key-space-size 100000
range-l-1000|1|range linearizable, 1000 clients|range benchkey --endpoints @EP@ --consistency l --clients 1000 --conns 100 --total $(scaled 150000)
range-s-1000|1|range serializable, 1000 clients|range benchkey --endpoints @EP@ --consistency s --clients 1000 --conns 100 --total $(scaled 150000)
connect-16|1|new connection and a get, 16 clients|connect --endpoints @EP@ --clients 16 --total $(scaled 5000)
watch-10k|1|watch, 10,000 watchers, delivery|watch --endpoints @EP@ --streams 10 --watch-per-stream 1000 --watched-key-total 1 --put-total $(scaled 50) --put-rate 10 --clients 1 --key-size 8 --val-size 256
EOF
)

selected() { [[ -z $ONLY ]] || [[ ",$ONLY," == *",$1,"* ]]; }

run_table() {
    local round server id members what args
    describe_machine | tee "$WORK/machine.txt"
    for ((round = 1; round <= ROUNDS; round++)); do
        while IFS='|' read -r id members what args; do
            selected "$id" || continue
            for server in $(order "$round"); do
                log "round $round/$ROUNDS  $id  $server"
                if ! start_cluster "$server" "$members" "$id-r$round"; then
                    stop_cluster
                    continue
                fi
                if [[ $id == range-* ]]; then
                    # The key every range reads: 8 bytes, a 256-byte value, as the puts write.
                    # shellcheck disable=SC2086
                    ETCDCTL_API=3 "$ETCDCTL" --endpoints "$ENDPOINTS" $CLIENT_TLS $BENCH_AUTH put benchkey "$(printf 'v%.0s' {1..256})" >/dev/null
                fi
                # shellcheck disable=SC2086
                bench "$WORK/json/$id.$server.$round.json" ${args//@EP@/$ENDPOINTS}
                stop_cluster
                rm -rf "$WORK/data"
            done
        done <<<"$WORKLOADS"
    done
    python3 - "$WORK/json" "$ROUNDS" <<'EOF'
import json, os, statistics, sys

directory, rounds = sys.argv[1], int(sys.argv[2])
# id, label, [(metric, target)]; a target is (direction, ratio) or None.
rows = [
    ("put-1", "put, 1 client", [("p50", ("<=", 1.0)), ("rps", None), ("p99", None)]),
    ("put-64", "put, 64 clients", [("rps", (">=", 1.5)), ("p99", ("<=", 1.0))]),
    ("put-256", "put, 256 clients", [("rps", (">=", 1.5)), ("p99", ("<=", 1.0))]),
    ("put-1000-3m-leader", "put, 1000 clients, 3 members, leader", [("rps", (">=", 1.5)), ("p99", ("<=", 1.0))]),
    ("put-1000-3m-all", "put, 1000 clients, 3 members, all", [("rps", (">=", 1.5)), ("p99", ("<=", 1.0))]),
    ("range-l-1000", "range linearizable, 1000 clients", [("rps", (">=", 1.5)), ("p99", None)]),
    ("range-s-1000", "range serializable, 1000 clients", [("rps", (">=", 1.5)), ("p99", None)]),
    ("connect-16", "new connection + get, 16 clients", [("rps", (">=", 1.0)), ("p50", None)]),
    ("watch-10k", "watch, 10,000 watchers", [("p99", ("<=", 1.0)), ("p50", None)]),
]
names = {"rps": "requests/s", "p50": "p50 ms", "p99": "p99 ms"}

def load(workload, server):
    reports = []
    for round in range(1, rounds + 1):
        path = os.path.join(directory, f"{workload}.{server}.{round}.json")
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                reports.append(json.load(f))
    return reports

def metric(report, name):
    if name == "rps":
        return report["requests_per_second"]
    return report["latency_ms"][name]

def median(reports, name):
    return statistics.median(metric(r, name) for r in reports) if reports else None

def fmt(value):
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3f}" if value < 10 else f"{value:.1f}"

header = f"{'workload':38} {'metric':11} {'etcd':>11} {'swetcd':>11} {'ratio':>7} {'target':>7}  {'':4} {'n':>5} {'errors':>7}"
print()
print(header)
print("-" * len(header))
for workload, label, metrics in rows:
    etcd, swetcd = load(workload, "etcd"), load(workload, "swetcd")
    if not etcd and not swetcd:
        continue
    errors = f"{sum(r['errors'] for r in etcd)}/{sum(r['errors'] for r in swetcd)}"
    for index, (name, target) in enumerate(metrics):
        a, b = median(etcd, name), median(swetcd, name)
        ratio = b / a if a and b is not None else None
        verdict, goal = "", ""
        if target and ratio is not None:
            direction, bound = target
            goal = f"{direction}{bound}"
            verdict = "ok" if (ratio <= bound if direction == "<=" else ratio >= bound) else "MISS"
        print(f"{label if index == 0 else '':38} {names[name]:11} {fmt(a):>11} {fmt(b):>11} "
              f"{(f'{ratio:.2f}x' if ratio is not None else '-'):>7} {goal:>7}  {verdict:4} "
              f"{f'{len(etcd)}/{len(swetcd)}' if index == 0 else '':>5} {errors if index == 0 else '':>7}")
print()
print("medians over rounds; ratio = swetcd/etcd; n = rounds with a report (etcd/swetcd);")
print("errors = failed requests or missing events summed over rounds (etcd/swetcd).")
EOF
}

# --- restart and memory ----------------------------------------------------------------

# load_keys: KEYS sequential 8-byte keys with 256-byte values into the running cluster.
load_keys() {
    log "  loading $KEYS keys"
    bench "$WORK/json/load.$1.json" put --endpoints "$ENDPOINTS" --clients 256 --conns 16 --total "$KEYS" \
        --key-size 8 --val-size 256 --key-space-size "$KEYS" --sequential-keys
    [[ -s "$WORK/json/load.$1.json" ]] || { echo "compare.sh: loading keys into $1 failed" >&2; exit 1; }
}

# rss_kib PID: resident set size in KiB.
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

run_restart() {
    local server round since
    describe_machine | tee "$WORK/machine.txt"
    declare -A args
    for server in etcd swetcd; do
        log "$server: fresh member"
        start_cluster "$server" 1 "restart"
        load_keys "$server"
        args[$server]=${START_ARGS[0]}
        stop_cluster
    done
    for ((round = 1; round <= ROUNDS; round++)); do
        for server in $(order "$round"); do
            log "round $round/$ROUNDS  restart  $server"
            START_ARGS=("${args[$server]}")
            ENDPOINTS=$(sed -E 's/.*--listen-client-urls (https?:\/\/[^ ]+).*/\1/' <<<"${START_ARGS[0]}")
            since=$(date +%s%N)
            start_member 0 "restart-$server"
            bench "$WORK/json/restart.$server.$round.json" wait-get --endpoints "$ENDPOINTS" --since-unix-ns "$since" \
                --timeout 600 --interval 2
            stop_cluster
        done
    done
    rm -rf "$WORK/data"
    python3 - "$WORK/json" "$ROUNDS" "$KEYS" <<'EOF'
import json, os, statistics, sys
directory, rounds, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seconds = {}
for server in ("etcd", "swetcd"):
    values = []
    for round in range(1, rounds + 1):
        path = os.path.join(directory, f"restart.{server}.{round}.json")
        if os.path.exists(path) and os.path.getsize(path) > 0:
            values.append(json.load(open(path))["duration_s"])
    seconds[server] = values
    print(f"{server:7} restart with {keys:,} keys, start to first answered get: "
          + ", ".join(f"{v:.3f}" for v in values) + " s"
          + (f"  (median {statistics.median(values):.3f} s)" if values else ""))
if seconds["etcd"] and seconds["swetcd"]:
    ratio = statistics.median(seconds["swetcd"]) / statistics.median(seconds["etcd"])
    print(f"ratio swetcd/etcd {ratio:.2f}x (target <=0.5: {'ok' if ratio <= 0.5 else 'MISS'})")
EOF
}

run_memory() {
    local server round out="$WORK/memory.txt"
    describe_machine | tee "$WORK/machine.txt"
    : >"$out"
    for ((round = 1; round <= ROUNDS; round++)); do
        for server in $(order "$round"); do
            log "round $round/$ROUNDS  memory  $server"
            start_cluster "$server" 1 "memory-r$round"
            load_keys "$server"
            sleep 5
            echo "$server $round loaded $(rss_kib "${PIDS[0]}")" >>"$out"
            stop_cluster
            start_member 0 "memory-r$round-$server"
            wait_ready
            sleep 5
            echo "$server $round restarted $(rss_kib "${PIDS[0]}")" >>"$out"
            stop_cluster
            rm -rf "$WORK/data"
        done
    done
    python3 - "$out" "$KEYS" <<'EOF'
import statistics, sys
samples = {}
for line in open(sys.argv[1]):
    server, _, when, kib = line.split()
    samples.setdefault((server, when), []).append(int(kib) / 1024)
keys = int(sys.argv[2])
for when, label in (("loaded", "after loading"), ("restarted", "after a restart")):
    medians = {}
    for server in ("etcd", "swetcd"):
        values = samples.get((server, when), [])
        if values:
            medians[server] = statistics.median(values)
            print(f"{server:7} resident memory holding {keys:,} keys, {label}: "
                  + ", ".join(f"{v:.0f}" for v in values) + f" MiB  (median {medians[server]:.0f} MiB)")
    if len(medians) == 2:
        ratio = medians["swetcd"] / medians["etcd"]
        print(f"        ratio swetcd/etcd {label}: {ratio:.2f}x (target <=0.75: {'ok' if ratio <= 0.75 else 'MISS'})")
EOF
}

log "mode $MODE, $ROUNDS rounds, work dir $WORK"
case "$MODE" in
    run) run_table ;;
    restart) run_restart ;;
    memory) run_memory ;;
esac
log "reports and logs in $WORK"
