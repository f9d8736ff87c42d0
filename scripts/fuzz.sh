#!/usr/bin/env bash
# Fuzzes swetcd: the targets in Tests/Fuzz/Targets.
#
#   scripts/fuzz.sh --ci                 on the normal debug build (no second build): replay every
#                                        seed and regression input, then a seeded mutation run of
#                                        CI_SECONDS (default 25) per target, seed 1. Fails on any crash.
#   scripts/fuzz.sh --minutes N [T...]   coverage-guided libFuzzer, each target (or those named) N
#                                        minutes, built with Swift's `--sanitize fuzzer` in its own
#                                        scratch path (.build-fuzz); keeps the inputs it finds in
#                                        .build-fuzz/corpus/<target>; reports execs/s and corpus size.
#   scripts/fuzz.sh --replay [T...]      the libFuzzer build, replaying the regression inputs only.
#
# Targets: fuzz-kv-apply (client requests through validation, the log and apply),
# fuzz-gateway-json (the JSON gateway's request decoding), fuzz-peer (Raft messages and
# batches from a peer), fuzz-storage-files (WAL segments and snapshot files on restart).
#
# Seeds: Tests/Fuzz/Corpus/<target> (regenerate with `.build/debug/<target> --write-seeds DIR`).
# A crash is written to Tests/Fuzz/Regressions/<target>/: keep it there, with the fix, and
# every later run replays it. Any input replays without libFuzzer too:
# `swift build --product <target> && .build/debug/<target> Tests/Fuzz/Regressions/<target>`.
#
# Why CI does not run libFuzzer: `--sanitize fuzzer` instruments every module, so it needs a
# second build of the whole package (SwiftNIO, gRPC, BoringSSL...), which would double CI's
# build time. The CI run is seeded random mutation on the normal build instead.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(fuzz-kv-apply fuzz-gateway-json fuzz-peer fuzz-storage-files)
scratch=.build-fuzz
mode="${1:-}"
shift || true
minutes=0
if [ "$mode" = "--minutes" ]; then
  minutes="${1:?--minutes needs a number}"
  shift
fi
case "$mode" in
  --ci | --minutes | --replay) ;;
  *) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

# libFuzzer handles crashes itself (and saves the input); the Swift runtime's backtracer
# would take the signal first.
export SWIFT_BACKTRACE=enable=no
common=(-timeout=20 -rss_limit_mb=4096 -max_len=8192 -print_final_stats=1)

build() {
  local start=$SECONDS
  for target in "${targets[@]}"; do
    swift build --scratch-path "$scratch" --sanitize fuzzer -Xswiftc -DFUZZING --product "$target"
  done
  echo "fuzz build: $((SECONDS - start)) s"
}

binary() { echo "$scratch/debug/$1"; }

replay() {
  local target=$1 dir=Tests/Fuzz/Regressions/$1
  local inputs=()
  [ -d "$dir" ] && mapfile -t inputs < <(find "$dir" -type f ! -name '.*' ! -name '*.md' | sort)
  [ ${#inputs[@]} -gt 0 ] || return 0
  echo "== $target: replaying ${#inputs[@]} regression inputs"
  local status=0 input
  # One process per input: libFuzzer stops at the first crash, and each should be reported.
  for input in "${inputs[@]}"; do
    if "$(binary "$target")" "${common[@]}" "$input" >"$scratch/logs/replay.log" 2>&1; then
      echo "   ok    $input"
    else
      echo "   CRASH $input"
      grep -E 'Fatal error|^ +#[0-9]+ 0x.* in .*/Sources/' "$scratch/logs/replay.log" | head -3
      status=1
    fi
  done
  return $status
}

# fuzz TARGET SECONDS CORPUS_DIR [libFuzzer flags...]: new inputs go to CORPUS_DIR, crashes to
# the regressions directory; prints execs/s and corpus size.
fuzz() {
  local target=$1 seconds=$2 corpus=$3
  shift 3
  local crashes=Tests/Fuzz/Regressions/$target log=$scratch/logs/$target.log
  mkdir -p "$corpus" "$crashes" "$scratch/logs"
  echo "== $target: fuzzing ${seconds}s"
  local status=0
  "$(binary "$target")" "${common[@]}" -max_total_time="$seconds" -artifact_prefix="$crashes/" "$@" \
    "$corpus" "Tests/Fuzz/Corpus/$target" >"$log" 2>&1 || status=$?
  local rate units
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  # Fork mode prints no final stats; its last status line has the rate.
  [ -n "$rate" ] || rate=$(grep -oE 'exec/s:? [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || true)
  units=$(find "$corpus" -type f | wc -l)
  echo "   $target: ${rate:-?} execs/s, corpus $units inputs ($(du -sh "$corpus" | cut -f1)), log $log"
  if [ $status -ne 0 ]; then
    grep -E 'Fatal error|ERROR: libFuzzer|Test unit written|^ *#[0-9]+ 0x.* in ' "$log" | head -30
    echo "   $target: CRASH (exit $status); input saved under $crashes/"
  fi
  return $status
}

# triage TARGET: replays the crashes of a long run and copies one input per distinct crash
# site (first frame in Sources/, else the fatal error's text) to the regressions directory.
triage() {
  local target=$1 found=0
  declare -A seen=()
  for input in "$scratch/crashes/$target"/crash-*; do
    [ -e "$input" ] || continue
    local out site
    out=$("$(binary "$target")" "${common[@]}" "$input" 2>&1 || true)
    site=$(grep -m1 -E '^ +#[0-9]+ 0x[0-9a-f]+ in .*/Sources/' <<<"$out" | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in //')
    [ -n "$site" ] || site=$(grep -m1 -oE 'Fatal error: .{0,60}' <<<"$out" || echo unknown)
    [ -z "${seen[$site]:-}" ] || continue
    seen[$site]=1
    found=1
    cp "$input" "Tests/Fuzz/Regressions/$target/"
    echo "   $target crash at $site -> Tests/Fuzz/Regressions/$target/$(basename "$input")"
  done
  return $found
}

# ci TARGET: on the normal build, replays the seeds and every regression input (each in its
# own process), then mutates them for CI_SECONDS with seed 1; a crashing input is kept.
ci() {
  local target=$1 bin=.build/debug/$1 log=.build/fuzz-ci/$1.log current=.build/fuzz-ci/$1.current
  mkdir -p .build/fuzz-ci
  local status=0 input
  for input in Tests/Fuzz/Corpus/"$target"/* Tests/Fuzz/Regressions/"$target"/*; do
    [ -f "$input" ] || continue
    if ! "$bin" "$input" >"$log" 2>&1; then
      echo "   CRASH $input"; grep -m3 -E 'Fatal error|error:' "$log" || true
      status=1
    fi
  done
  echo "== $target: replayed the seeds and regressions; mutating ${CI_SECONDS:-25}s"
  if ! "$bin" --mutate "${CI_SECONDS:-25}" 1 "$current" Tests/Fuzz/Corpus/"$target" Tests/Fuzz/Regressions/"$target" >"$log" 2>&1; then
    local kept
    kept=Tests/Fuzz/Regressions/$target/crash-mutate-$(sha1sum "$current" | cut -c1-16)
    cp "$current" "$kept"
    echo "   CRASH on a mutated input, kept as $kept:"; grep -m5 -E 'Fatal error|error:|#[0-9]+ ' "$log" || tail -5 "$log"
    status=1
  else
    echo "   $(tail -1 "$log")"
  fi
  return $status
}

failed=()
if [ "$mode" = "--ci" ]; then
  # The normal `swift build` (--build-tests, as the test command runs it) built them already;
  # a `swift build --product` here would re-plan the build and can rebuild far more.
  for target in "${targets[@]}"; do
    [ -x ".build/debug/$target" ] || { echo "fuzz: .build/debug/$target is missing: run swift build --build-tests first"; exit 2; }
  done
  for target in "${targets[@]}"; do
    ci "$target" || failed+=("$target")
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]}"
    exit 1
  fi
  echo "fuzz: no crashes"
  exit 0
fi
mkdir -p "$scratch/logs"
build
for target in "${targets[@]}"; do
  replay "$target" || failed+=("$target (regression)")
done
if [ "$mode" = "--minutes" ]; then
  for target in "${targets[@]}"; do
    # Fork mode keeps fuzzing past a crash; triage then keeps one input per distinct crash.
    rm -rf "$scratch/crashes/$target" && mkdir -p "$scratch/crashes/$target"
    fuzz "$target" $((minutes * 60)) "$scratch/corpus/$target" -fork=1 -ignore_crashes=1 \
      -artifact_prefix="$scratch/crashes/$target/" || true
    triage "$target" || failed+=("$target")
  done
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]}"
  exit 1
fi
echo "fuzz: no crashes"
