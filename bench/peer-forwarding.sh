#!/usr/bin/env bash
# Measures the calls a follower forwards to its leader on a side channel, not through Raft:
# lease keep-alives sent to a follower (swetcd forwards them over grpc-swift-2 on the peer
# port, etcd over rafthttp's HTTP), next to the same load sent to the leader. Three members
# on loopback per server; prints one line per (server, target). A benchmark, not a test.
#
# Usage: bench/peer-forwarding.sh [--swetcd PATH] [--etcd PATH] [--bench PATH] [--total N] [--clients N]
set -euo pipefail
cd "$(dirname "$0")/.."
SWETCD=.build/release/swetcd ETCD=${ETCD:-/usr/bin/etcd} BENCH=.build/release/swetcd-bench TOTAL=20000 CLIENTS=16
while [[ $# -gt 0 ]]; do
    case $1 in
        --swetcd) SWETCD=$2; shift 2 ;;
        --etcd) ETCD=$2; shift 2 ;;
        --bench) BENCH=$2; shift 2 ;;
        --total) TOTAL=$2; shift 2 ;;
        --clients) CLIENTS=$2; shift 2 ;;
        *) echo "peer-forwarding.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
WORK=$(mktemp -d /tmp/peer-forwarding.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_ports() { python3 -c "
import socket
socks=[socket.socket() for _ in range($1)]
for s in socks: s.bind(('127.0.0.1',0))
print(' '.join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()"; }

for server in swetcd etcd; do
    binary=$SWETCD; [[ $server = etcd ]] && binary=$ETCD
    read -r -a ports <<<"$(free_ports 6)"
    cluster="m0=http://127.0.0.1:${ports[1]},m1=http://127.0.0.1:${ports[3]},m2=http://127.0.0.1:${ports[5]}"
    endpoints=()
    PIDS=()
    for i in 0 1 2; do
        client=${ports[2 * i]} peer=${ports[2 * i + 1]}
        "$binary" --name m$i --data-dir "$WORK/$server-m$i" \
            --listen-client-urls http://127.0.0.1:$client --advertise-client-urls http://127.0.0.1:$client \
            --listen-peer-urls http://127.0.0.1:$peer --initial-advertise-peer-urls http://127.0.0.1:$peer \
            --initial-cluster "$cluster" --initial-cluster-token forwarding-$server >"$WORK/$server-m$i.log" 2>&1 &
        PIDS+=($!)
        endpoints+=("127.0.0.1:$client")
    done
    leader="" follower=""
    for _ in $(seq 1 100); do
        status=$(ETCDCTL_API=3 etcdctl --endpoints "$(IFS=,; echo "${endpoints[*]}")" endpoint status -w json 2>/dev/null || true)
        read -r leader follower < <(python3 -c "
import json,sys
try: s=json.loads(sys.argv[1])
except Exception: sys.exit(0)
lead=[e['Endpoint'] for e in s if e['Status']['leader']==e['Status']['header']['member_id']]
rest=[e['Endpoint'] for e in s if e['Endpoint'] not in lead]
if lead and len(s)==3: print(lead[0], rest[0])" "$status") || true
        [[ -n $leader ]] && break
        sleep 0.2
    done
    [[ -n $leader ]] || { echo "$server: no leader; logs in $WORK" >&2; trap - EXIT; exit 1; }
    for target in leader follower; do
        endpoint=$leader; [[ $target = follower ]] && endpoint=$follower
        report=$("$BENCH" lease-keepalive --endpoints "$endpoint" --clients "$CLIENTS" --conns 4 --total "$TOTAL" --json)
        python3 -c "
import json,sys
r=json.loads(sys.argv[1]); lat=r['latency_ms']
print('%-6s keep-alives to the %-8s %8.0f/s  p50 %6.2f ms  p99 %6.2f ms  errors %d' % (sys.argv[2], sys.argv[3], r['requests_per_second'], lat['p50'], lat['p99'], r['errors']))" "$report" "$server" "$target"
    done
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
done
