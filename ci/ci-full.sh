#!/usr/bin/env bash
# What CI's gate (ci/ci-tests.sh) leaves out to stay within its time: every patch of the series
# checked on its own across the whole workspace and the fuzz crate; upstream's fuzz targets with
# fake hashes; every input of the fork's fuzz corpora rather than a sample; and upstream's
# unpublished crates, each a workspace of its own: lightning-tests (upgrades from and downgrades
# to older LDK releases, which build three more `lightning`s), the MSRV check without
# dev-dependencies, the externalized functional tests and the benchmarks. Run it beside
# ci/ci-tests.sh before resolving work that touches the series or the fuzz targets; about 50
# minutes on a 2-core developer machine.
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
export CARGO_TERM_COLOR=never
# shellcheck source=ci/lib.sh
. ci/lib.sh

# The flags of upstream's `cargo test` of its fake-hashes set; the real-hashes set is built with
# those of upstream's fuzzers (see ci/fuzz-corpus.sh why without `chacha20_poly1305_fuzz`).
FUZZ_FLAGS="--cfg=fuzzing --cfg=secp256k1_fuzz --cfg=chacha20_poly1305_fuzz"
REAL_HASHES_FLAGS="--cfg=fuzzing --cfg=secp256k1_fuzz"

step "materialize the fork" ci/series.sh apply
if [ -n "$(find patches -maxdepth 1 -name '*.patch' -print -quit 2>/dev/null)" ]; then
	step "each patch compiles on its own (all targets)" ci/check-each-commit.sh
fi
# The suites of the gate's queue-mode step with a manager that answers every forward later,
# through `allocate_resources`: the gate's build, so nothing is built again after it. Moved here
# when the gate grew by every crate's suite and upstream's fuzz crate.
deferred_queue_mode_tests() {
	LDK_TEST_RESOURCE_MANAGER=deferred cargo test --profile ci --workspace --tests -- \
		"${ENVIRONMENT_SKIPS[@]}"
}
step "tests, every decision given later" deferred_queue_mode_tests
fuzz_fake_hashes() {
	CARGO_TARGET_DIR=target/fuzz RUSTFLAGS="$FUZZ_FLAGS --cfg=hashes_fuzz" \
		cargo test --manifest-path fuzz/fuzz-fake-hashes/Cargo.toml --bins
}
step "fuzz: test vectors of the fake-hashes targets" fuzz_fake_hashes
# The fork's targets' regression cases are among these; the corpora follow, with the same build.
fuzz_real_hashes() {
	# Line tables only as debug info, as ci/fuzz-corpus.sh builds it.
	CARGO_TARGET_DIR=target/fuzz RUSTFLAGS="$REAL_HASHES_FLAGS" \
		CARGO_PROFILE_DEV_DEBUG=line-tables-only CARGO_PROFILE_TEST_DEBUG=line-tables-only \
		cargo test --manifest-path fuzz/fuzz-real-hashes/Cargo.toml --bins
}
step "fuzz: test vectors of the real-hashes targets" fuzz_real_hashes
step "fuzz: every input of our corpora" env FUZZ_REPLAY=all ci/fuzz-corpus.sh
# Each of upstream's unpublished crates is a workspace of its own, with its own lock file; they
# share the main target directory for what they have in common.
lightning_tests() {
	cargo test --manifest-path lightning-tests/Cargo.toml
}
step "lightning-tests: upgrades and downgrades" lightning_tests
step "no_std check (upstream's no-std-check crate)" \
	cargo check --manifest-path no-std-check/Cargo.toml
step "MSRV check without dev-dependencies" \
	cargo check --manifest-path msrv-no-dev-deps-check/Cargo.toml
step "externalized functional tests" \
	cargo check --manifest-path ext-functional-test-demo/Cargo.toml
bench_check() {
	RUSTFLAGS="--cfg=ldk_bench" cargo check --manifest-path bench/Cargo.toml --benches
}
step "upstream's benchmarks compile" bench_check

step "patch tooling test" ci/test-series.sh

echo
echo "==> summary"
print_step_times
print_total_time "$START"
