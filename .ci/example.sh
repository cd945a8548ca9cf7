#!/usr/bin/env bash
# CI: a driver author's package (Examples/DriverExample) takes this
# checkout as a versioned git dependency (`from: "0.1.0"`), builds, runs
# its own tests and runs `compare --driver` on its driver through the
# harness's CLI entry point (HarnessCLI.main(drivers:)).
#
# The dependency is a local bare clone holding the checkout's HEAD commit
# tagged 0.1.0, reached by a file:// URL (MMN_HARNESS_URL); the example is
# built in a scratch copy, so nothing is written into the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# SwiftPM refuses a versioned dependency whose targets carry unsafe build
# flags ("contains unsafe build flags"): say so here, in one line, rather
# than after a long build.
if grep -q '\.unsafeFlags(' Package.swift; then
  echo "example.sh: Package.swift has unsafeFlags (line $(grep -n '\.unsafeFlags(' Package.swift | cut -d: -f1 | paste -sd,)): SwiftPM refuses them in a dependency taken by version (from: \"0.1.0\"); move the flags into attributes/pragmas in the C sources first" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bare="$work/mmn-harness.git"
rev=$(git rev-parse HEAD)
git init --bare --quiet "$bare"
# The commit under test as version 0.1.0 (uncommitted changes are not in it).
git push --quiet "$bare" "$rev:refs/heads/main" "$rev:refs/tags/0.1.0"

cp -R Examples/DriverExample "$work/example"
rm -rf "$work/example/.build" "$work/example/Package.resolved"
export MMN_HARNESS_URL="file://$bare"
cd "$work/example"

swift build
swift test

# The harness's CLI with the example's driver: every built-in scenario with
# a role the driver fits. compare exits non-zero only for a crashed cell.
out=$(swift run driver-harness compare --driver page-table-mirror --variant original,upstream-fix)
echo "$out"
grep -q 'oom-flaky-neighbour:victim=page-table-mirror' <<<"$out" || {
  echo "example.sh: compare --driver page-table-mirror did not run oom-flaky-neighbour with the driver as victim" >&2
  exit 1
}
# The package's own scenario, registered through the same entry point.
out=$(swift run driver-harness compare --scenario mirror-before-refusal --variant original,upstream-fix)
echo "$out"
grep -q '^mirror-before-refusal ' <<<"$out" || {
  echo "example.sh: compare --scenario mirror-before-refusal did not run the example's scenario" >&2
  exit 1
}
echo "example.sh: Examples/DriverExample built, tested and compared against mmn-harness 0.1.0 ($rev)"
