#!/usr/bin/env bash
# AddressSanitizer and ThreadSanitizer runs of the whole test suite (issue 6),
# called by .ci/run after the plain `swift test`. Each sanitizer builds in its
# own scratch directory (.build-asan, .build-tsan), so neither clobbers .build.
#
# Times on a 2-core machine (Debian 12, Swift 6.3.1), from a fresh clone:
# see the README's "Sanitizers" section; the script prints its own.
set -euo pipefail
cd "$(dirname "$0")/.."

timed() {
  local label=$1 start=$SECONDS status=0
  shift
  echo "::: $label"
  "$@" || status=$?
  echo "::: $label: $((SECONDS - start)) s (exit $status)"
  return "$status"
}

# Swift Testing only: every test is a Swift Testing test, and XCTest's own
# runner leaks at exit (LeakSanitizer reports XCTMainMisc's allocations).
TEST=(--disable-xctest)
# The plain run already checks that explore's pruning keeps every verdict:
# 350 searches of pure scheduling logic, about 2 minutes there and 10 or
# more under a sanitizer, which adds nothing the other explore tests do not.
TEST+=(--skip 'pruningKeepsEveryVerdict')

# ---------------------------------------------------------------- ASan
# LeakSanitizer runs with ASan. The suppressions are for the toolchain,
# not the project: swift-corelibs-foundation's Process.run() allocates a
# weak reference side table it never frees (BadInputTests and FaultTests
# spawn mmn-harness and the test binary with Process), and its
# waitUntilExit() leaks a run loop and a weak reference when called on a
# dispatch worker thread (IsolationTests, seen once on a fresh clone); and Swift Testing's
# runner and its async main task are still alive when the runner exits the
# process, which LeakSanitizer reports as indirect leaks of those objects
# (Testing.Runner._run, __swiftPMEntryPoint, _runAsyncMain,
# swift_task_create_common; seen with Swift 6.3.1 once the suite grew).
lsan_supp=$(mktemp)
trap 'rm -f "$lsan_supp"' EXIT
cat >"$lsan_supp" <<'SUPP'
leak:Foundation7ProcessC3run
leak:Foundation7ProcessC13waitUntilExit
leak:$s7Testing6RunnerV4_run
leak:$s7Testing19__swiftPMEntryPoint
leak:$s7Testing10entryPoint
leak:_runAsyncMain
leak:swift_task_create_common
SUPP
export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_init_order=1"
export LSAN_OPTIONS="suppressions=$lsan_supp:print_suppressions=0"
timed "ASan build" swift build --build-tests --sanitize=address --scratch-path .build-asan
timed "ASan tests" swift test --skip-build --sanitize=address --scratch-path .build-asan "${TEST[@]}"
unset ASAN_OPTIONS LSAN_OPTIONS

# ---------------------------------------------------------------- TSan
# Suppressions cover liburcu 0.13's own unannotated barriers only (see
# .ci/tsan.supp). TSan can see the port's RCU only once the project marks
# its shared accesses and annotates grace periods (CSupport/kernel/tsan.h);
# without that header every RCU-protected access is reported, so the run is
# advisory: it prints what TSan found and does not fail CI.
tsan_log=$(mktemp)
trap 'rm -f "$lsan_supp" "$tsan_log"' EXIT
export TSAN_OPTIONS="suppressions=$PWD/.ci/tsan.supp:halt_on_error=0:second_deadlock_stack=1"
timed "TSan build" swift build --build-tests --sanitize=thread --scratch-path .build-tsan
status=0
# stress --kasan's own tests run in the plain and ASan passes: their child is
# the ASan build, and a ThreadSanitizer parent under a full suite's load
# (3 to 5 times slower) was seen to miss their 2-second stress window.
timed "TSan tests" swift test --skip-build --sanitize=thread --scratch-path .build-tsan "${TEST[@]}" \
  --skip 'KasanModeTests' \
  >"$tsan_log" 2>&1 || status=$?
reports=$(grep -c '^WARNING: ThreadSanitizer' "$tsan_log" || true)
grep -E '^(✔|✘|Test run|.*failed)' "$tsan_log" | tail -n 20 || true
echo "::: TSan: $reports report(s)"
if [ "$reports" -gt 0 ]; then
  # The first frame of each report, most frequent first: enough to triage.
  grep -A2 '^WARNING: ThreadSanitizer' "$tsan_log" | grep -E '^ +#0 ' |
    awk '{ n = split($3, path, "/"); print $2, path[n] }' | sort | uniq -c | sort -rn | head -n 20
fi
if [ -f CSupport/kernel/tsan.h ]; then
  [ "$status" -eq 0 ] && [ "$reports" -eq 0 ] || { cat "$tsan_log" | tail -n 200; exit 1; }
else
  echo "::: TSan advisory: CSupport/kernel/tsan.h is absent, so the RCU annotations are off"
  # A test that fails under TSan is still a failure.
  if grep -q '✘' "$tsan_log"; then exit 1; fi
fi
