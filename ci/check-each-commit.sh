#!/usr/bin/env bash
# Applies patches/ one patch at a time to pristine upstream, in a scratch copy of the workspace,
# and runs `cargo check` with default features and without std after each: every patch of the
# series must compile on its own, as upstream requires of every commit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# A stable scratch path keeps re-runs incremental; registry dependencies share the main target.
WS="$ROOT/target/each-commit/workspace"
rm -rf "$WS"
mkdir -p "$WS"
cp -a Cargo.toml Cargo.lock rustfmt.toml .cargo lightning-resource-manager jamming-demo example-node "$WS/"
ci/series.sh materialize-to "$WS" --base-only

mapfile -t patches < <(find patches -maxdepth 1 -name '*.patch' 2>/dev/null | LC_ALL=C sort)
export CARGO_TARGET_DIR="$ROOT/target"
for patch in "${patches[@]}"; do
	echo "--- $(basename "$patch")"
	GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 \
		GIT_COMMITTER_NAME="ldk-fork series" GIT_COMMITTER_EMAIL="series@ldk-fork.invalid" \
		git --git-dir="$WS/.git-series" --work-tree="$WS" am --quiet "$ROOT/$patch"
	(
		cd "$WS"
		cargo check --quiet -p lightning -p lightning-background-processor --all-targets
		cargo check --quiet -p lightning -p lightning-background-processor --no-default-features
	) || {
		echo "each-commit: $(basename "$patch") does not compile on its own" >&2
		exit 1
	}
done
echo "each-commit: all ${#patches[@]} patches compile on their own (std and no_std)"
