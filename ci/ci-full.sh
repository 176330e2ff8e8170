#!/usr/bin/env bash
# What CI's gate (ci/ci-tests.sh) leaves out to stay within its time: every patch of the series
# checked on its own, with all its targets (tests, benches, examples) and without std, and the
# fuzz targets' every checked-in input replayed rather than a sample. Run it beside ci/ci-tests.sh before resolving work that touches
# the series or the fuzz targets; about 20 minutes on a 2-core developer machine.
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
export CARGO_TERM_COLOR=never
# shellcheck source=ci/lib.sh
. ci/lib.sh

step "materialize the fork" ci/series.sh apply
if [ -n "$(find patches -maxdepth 1 -name '*.patch' -print -quit 2>/dev/null)" ]; then
	step "each patch compiles on its own (all targets)" ci/check-each-commit.sh
fi
fuzz_replay_all() {
	FUZZ_REPLAY=all RUSTFLAGS="--cfg fuzzing" \
		cargo test --profile ci --manifest-path fuzz/Cargo.toml
}
step "fuzz replay: every input of test_cases/" fuzz_replay_all

echo
echo "==> summary"
print_step_times
print_total_time "$START"
