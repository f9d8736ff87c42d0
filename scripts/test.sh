#!/usr/bin/env bash
# Runs swetcd's whole test suite: unit tests, simulations, and the end-to-end tests that
# drive swetcd and the real etcd with the real etcdctl. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
# curl fetches /health and the gateway over TLS in the client TLS tests.
command -v curl >/dev/null 2>&1 || need+=(curl)
# libfaketime steps a member's wall clock back (WallClockStepTests).
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1 ] \
  || need+=(libfaketime)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} (the reference etcd the differential tests compare against, curl, libfaketime)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

swift build --build-tests
# Every fuzz seed and regression input replayed, and a short seeded mutation run per target.
./scripts/fuzz.sh --ci
swift test --skip-build
