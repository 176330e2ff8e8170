#!/usr/bin/env bash
# Applies patches/ one patch at a time to pristine upstream, in a scratch copy of the workspace,
# and checks after each that the whole workspace compiles: every crate of upstream's workspace
# and ours with std, the libraries without std, and upstream's fuzz crate (a workspace of its
# own) as its fuzzers build it. Every patch of the series must compile on its own, across the
# workspace, as upstream requires of every commit.
#
# Usage: ci/check-each-commit.sh [--gate]
#   (no flag)  every patch, all targets (tests, benches, examples) with std, libraries without
#              std, and the fuzz crate
#   --gate     the libraries of every patch but the last, with std. The last patch's tree is the
#              materialized one, which the gate builds whole.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

GATE=0
case "${1:-}" in
"") ;;
--gate) GATE=1 ;;
*)
	echo "usage: $0 [--gate]" >&2
	exit 2
	;;
esac

# A stable scratch path keeps re-runs incremental; registry dependencies share the main target.
WS="$ROOT/target/each-commit/workspace"
rm -rf "$WS"
mkdir -p "$WS"
cp -a Cargo.toml Cargo.lock rustfmt.toml .cargo lightning-resource-manager jamming-demo example-node "$WS/"
ci/series.sh materialize-to "$WS" --base-only

mapfile -t patches < <(find patches -maxdepth 1 -name '*.patch' 2>/dev/null | LC_ALL=C sort)
CHECKED=("${patches[@]}")
if [ "$GATE" = 1 ]; then
	CHECKED=("${patches[@]:0:${#patches[@]}-1}")
	STD_TARGETS=(--lib)
	CHECK_NO_STD=0
else
	STD_TARGETS=(--all-targets)
	CHECK_NO_STD=1
fi
export CARGO_TARGET_DIR="$ROOT/target"
# Consecutive patches change little of the crates, which incremental checking exploits, even
# where the caller turned it off for cold builds.
export CARGO_INCREMENTAL=1
OUR_CRATES=(lightning-resource-manager jamming-demo example-node)
# Upstream's fuzz crate, with the flags of its two sets of targets (upstream's
# ci/check-compiles.sh), in a target directory of its own: the flags change every crate's build.
check_fuzz_crate() {
	local flags="--cfg=fuzzing --cfg=secp256k1_fuzz --cfg=chacha20_poly1305_fuzz"
	CARGO_TARGET_DIR="$ROOT/target/fuzz" RUSTFLAGS="$flags --cfg=hashes_fuzz" \
		cargo check --quiet --manifest-path fuzz/fuzz-fake-hashes/Cargo.toml --features stdin_fuzz
	CARGO_TARGET_DIR="$ROOT/target/fuzz" RUSTFLAGS="$flags" \
		cargo check --quiet --manifest-path fuzz/fuzz-real-hashes/Cargo.toml --features stdin_fuzz
}
for patch in "${CHECKED[@]}"; do
	echo "--- $(basename "$patch")"
	GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 \
		GIT_COMMITTER_NAME="ldk-fork series" GIT_COMMITTER_EMAIL="series@ldk-fork.invalid" \
		git --git-dir="$WS/.git-series" --work-tree="$WS" am --quiet "$ROOT/$patch"
	(
		cd "$WS"
		# Upstream's crates: ours build against the last patch's API only.
		cargo check --quiet --workspace "${OUR_CRATES[@]/#/--exclude=}" "${STD_TARGETS[@]}"
		if [ "$CHECK_NO_STD" = 1 ]; then
			cargo check --quiet -p lightning -p lightning-background-processor --no-default-features
			check_fuzz_crate
		fi
	) || {
		echo "each-commit: $(basename "$patch") does not compile on its own" >&2
		exit 1
	}
done
if [ "$GATE" = 1 ]; then
	echo "each-commit: ${#CHECKED[@]} of ${#patches[@]} patches compile on their own" \
		"(the workspace's libraries, with std; the last patch is the tree the gate builds whole)"
else
	echo "each-commit: all ${#patches[@]} patches compile on their own (the whole workspace: all targets, no_std, the fuzz crate)"
fi
