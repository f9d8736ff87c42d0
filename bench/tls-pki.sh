#!/usr/bin/env bash
# Makes the certificates bench/compare.sh --tls runs with, in DIR (openssl):
#   ca.crt            the CA both servers' members and the benchmark trust
#   server.crt/.key   for 127.0.0.1 and localhost, server and client use: every member's
#                     client and peer certificate
#   client.crt/.key   the benchmark's (and etcdctl's) client certificate
# ECDSA P-256 throughout, as most deployments' cert-manager or cfssl issue.
#
#   bench/tls-pki.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
quiet() { "$@" >/dev/null 2>&1 || { echo "tls-pki.sh: $* failed" >&2; exit 1; }; }
quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -days 7 -subj "/CN=swetcd bench CA"
issue() {
    local name=$1 cn=$2 ext=$3
    printf '%s\n' "$ext" >"$name.ext"
    quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn"
    quiet openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" -days 7 \
        -extfile "$name.ext"
}
issue server server $'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth'
issue client client 'extendedKeyUsage=clientAuth'
