#!/bin/sh
# The differential KV test: real etcdctl against a fresh real etcd and a fresh swetcd.
#   scripts/difftest.sh            build swetcd, then run the test against it
#   scripts/difftest.sh --oracle   etcd against etcd (validates the harness and normalisation)
# Extra arguments go to `swift test`; DIFFTEST_SCRIPTS=get,txn etc. narrow the run
# (see Tests/DifferentialTests/README.md).
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--oracle" ]; then
    shift
    etcd_bin=${ETCD_BIN:-$(command -v etcd || true)}
    if [ -z "$etcd_bin" ]; then
        echo "install etcd-server etcd-client (apt-get install -y etcd-server etcd-client)" >&2
        exit 1
    fi
    SWETCD_BIN=$etcd_bin exec swift test --filter DifferentialTests "$@"
fi
swift build --product swetcd
exec swift test --filter DifferentialTests "$@"
