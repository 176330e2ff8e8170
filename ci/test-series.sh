#!/usr/bin/env bash
# Tests the patch tooling (ci/series.sh) on scratch copies of this repository: commits in the
# trees round-trip through export and a fresh materialization byte for byte, and unexported
# work is refused, never destroyed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

PASSED=0
FAILED=0
ok() {
	echo "ok: $*"
	PASSED=$((PASSED + 1))
}
fail() {
	echo "FAIL: $*"
	FAILED=$((FAILED + 1))
}
# expect_fail DESCRIPTION COMMAND...: the command must exit non-zero.
expect_fail() {
	local what=$1
	shift
	if "$@" >"$TMP/out" 2>&1; then fail "$what (it succeeded)"; else ok "$what"; fi
}
expect_ok() {
	local what=$1
	shift
	if "$@" >"$TMP/out" 2>&1; then ok "$what"; else
		fail "$what"
		sed 's/^/    /' "$TMP/out"
	fi
}
hash_dir() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum); }

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Series Test" GIT_AUTHOR_EMAIL="test@ldk-fork.invalid"
export GIT_COMMITTER_NAME="Series Test" GIT_COMMITTER_EMAIL="test@ldk-fork.invalid"
# Share the registry download cache, not the build.
export CARGO_TARGET_DIR="$TMP/cargo-target"

# The upstream snapshot sits beside the project, as ../shared/ does beside a clone.
ln -s "$(realpath -m "$ROOT/$(sed -n 's/^snapshot = "\(.*\)\/upstream\/.*"$/\1/p' "$ROOT/Cargo.toml")")" "$TMP/shared"

# Clone A: the project's files as they are in the working tree, committed in a scratch repo
A="$TMP/a"
mkdir -p "$A"
# (but the fuzz corpora, 18 MB the tooling does not read).
(cd "$ROOT" && git ls-files -z -co --exclude-standard ':!fuzz-corpus' | xargs -0 cp --parents -t "$A")
# The tooling is tested on a series of its own, independent of the fork's patches.
rm -f "$A"/patches/*.patch
git -C "$A" init --quiet -b main
git -C "$A" add -A
git -C "$A" commit --quiet -m "scratch copy"
S="$A/ci/series.sh"

cd "$A"
expect_ok "apply materializes a fresh clone" "$S" apply
missing=""
for tree in $("$S" trees); do
	[ "$tree" = pending_changelog ] || [ -f "$tree/Cargo.toml" ] || missing+=" $tree"
done
[ -z "$missing" ] && ok "every crate of upstream's workspace is materialized" ||
	fail "every crate of upstream's workspace is materialized (missing:$missing)"
grep -q '^path = "../lightning-types"$' lightning/Cargo.toml &&
	ok "published manifests depend on the workspace's crates by path" ||
	fail "published manifests depend on the workspace's crates by path"
expect_ok "check passes on the pristine series" "$S" check
mtime_before=$(stat -c %Y lightning/src/lib.rs)
expect_ok "apply again (idempotent)" "$S" apply
[ "$(stat -c %Y lightning/src/lib.rs)" = "$mtime_before" ] &&
	ok "idempotent apply touches no file" || fail "idempotent apply touches no file"

# What builds leave in the trees (fuzz/ has its own target directory and lock file) is no edit.
mkdir -p fuzz/target/debug && touch fuzz/target/debug/x fuzz/Cargo.lock lightning/net_graph-1.bin
expect_ok "apply ignores build outputs in the trees" "$S" apply
expect_ok "check ignores build outputs in the trees" "$S" check
rm -rf fuzz/target fuzz/Cargo.lock lightning/net_graph-1.bin

# Trees made on another base (here: before possiblyrandom was materialized) move to the current
# one, committed in the scratch repository so that its series.sh can be varied.
sed -i 's/^CRATES=(lightning lightning-types lightning-invoice lightning-macros possiblyrandom$/CRATES=(lightning lightning-types lightning-invoice lightning-macros/' "$S"
grep -q '^CRATES=(lightning lightning-types lightning-invoice lightning-macros$' "$S" ||
	fail "the crate list to vary"
rm -rf possiblyrandom
expect_ok "apply moves the trees to a smaller base" "$S" apply
[ ! -e possiblyrandom ] && ok "the dropped crate is gone" || fail "the dropped crate is gone"
git -C "$A" checkout --quiet -- ci/series.sh
expect_ok "apply moves the trees to the current base" "$S" apply
[ -f possiblyrandom/src/lib.rs ] && ok "the added crate is materialized" ||
	fail "the added crate is materialized"
expect_ok "check passes on the current base" "$S" check

# The unpublished parts: a snapshot that is not the recorded one is refused; a checkout the user
# names is taken instead, and recorded as the base's source.
cp ci/upstream-snapshot.sha256 "$TMP/snapshot.sha256"
sed -i 's/^./0/' ci/upstream-snapshot.sha256
rm -rf target/upstream-pristine
expect_fail "apply refuses a snapshot that does not match its sha256" "$S" apply
grep -q "does not match the sha256" "$TMP/out" && ok "apply says the snapshot does not match" ||
	fail "apply says the snapshot does not match"
cp "$TMP/snapshot.sha256" ci/upstream-snapshot.sha256
CHECKOUT="$TMP/checkout"
mkdir -p "$CHECKOUT"
tar -xzf "$TMP/shared/upstream/$(sed 's/.* //' ci/upstream-snapshot.sha256)" -C "$CHECKOUT" --strip-components=1
echo "// from the checkout" >>"$CHECKOUT/fuzz/src/lib.rs"
mkdir -p "$CHECKOUT/fuzz/target/debug" && touch "$CHECKOUT/fuzz/target/debug/built"
expect_ok "apply takes the unpublished parts from LDK_UPSTREAM_SOURCE" \
	env LDK_UPSTREAM_SOURCE="$CHECKOUT" "$S" apply
grep -q "from the checkout" fuzz/src/lib.rs && "$S" git log -1 --format=%B upstream | grep -q "$CHECKOUT" &&
	ok "the checkout's parts are the base, which names it" ||
	fail "the checkout's parts are the base, which names it"
! "$S" git ls-files --error-unmatch fuzz/target/debug/built >/dev/null 2>&1 &&
	ok "the checkout's build outputs stay out of the base" ||
	fail "the checkout's build outputs stay out of the base"
expect_ok "apply goes back to the snapshot" "$S" apply
! grep -q "from the checkout" fuzz/src/lib.rs && ok "the snapshot's parts are back" ||
	fail "the snapshot's parts are back"

# Unexported edits: a changed file and a brand-new file are both refused, and both survive.
echo "// an edit of the tooling test" >>lightning/src/lib.rs
mkdir -p lightning/src/ln && echo "// a new file" >lightning/src/ln/tooling_test_new.rs
edited=$(sha256sum lightning/src/lib.rs)
expect_fail "apply refuses uncommitted edits" "$S" apply
grep -q "uncommitted edits" "$TMP/out" && ok "apply says why" || fail "apply says why"
[ "$(sha256sum lightning/src/lib.rs)" = "$edited" ] && [ -f lightning/src/ln/tooling_test_new.rs ] &&
	ok "the refused edits survive" || fail "the refused edits survive"
expect_fail "check fails on uncommitted edits" "$S" check
expect_fail "export refuses uncommitted edits" "$S" export
git -C "$A" status --porcelain | grep -q . && fail "main repo sees the trees" ||
	ok "the main repository ignores the trees"

# A new file alone (the trap of the ignored trees) is also refused.
"$S" git checkout --quiet -- lightning/src/lib.rs
expect_fail "apply refuses a new untracked file alone" "$S" apply
[ -f lightning/src/ln/tooling_test_new.rs ] && ok "the new file survives" || fail "the new file survives"
echo "// an edit of the tooling test" >>lightning/src/lib.rs

# Committed but not exported.
"$S" commit --quiet -m "Add a tooling test edit" -m "Body of the tooling test patch."
expect_fail "apply refuses unexported commits" "$S" apply
grep -q "not exported" "$TMP/out" && ok "apply says the commits are not exported" ||
	fail "apply says the commits are not exported"
[ -f lightning/src/ln/tooling_test_new.rs ] && ok "the commit survives" || fail "the commit survives"
expect_fail "check fails on unexported commits" "$S" check

expect_ok "export writes the patch" "$S" export
n=$(find patches -name '*.patch' | wc -l)
[ "$n" = 1 ] && ok "one patch exported" || fail "one patch exported (got $n)"
grep -q '^diff --git a/lightning/src/lib.rs b/lightning/src/lib.rs' patches/0001-*.patch &&
	ok "patch paths are rust-lightning repository paths" || fail "patch paths are repository paths"
first=$(hash_dir patches)
expect_ok "export again" "$S" export
[ "$(hash_dir patches)" = "$first" ] && ok "re-export is byte-identical" || fail "re-export is byte-identical"
expect_ok "check passes once exported" "$S" check
expect_ok "apply is a no-op once exported" "$S" apply
git -C "$A" add -A patches && git -C "$A" commit --quiet -m "patches: tooling test"

# Clone B, from scratch: same trees, same series commits, same export.
B="$TMP/b"
git clone --quiet "$A" "$B"
cd "$B"
expect_ok "apply in a fresh clone" ci/series.sh apply
diff -r -q "$A/lightning" "$B/lightning" >/dev/null &&
	diff -r -q "$A/lightning-background-processor" "$B/lightning-background-processor" >/dev/null &&
	ok "fresh clone materializes identical trees" || fail "fresh clone materializes identical trees"
[ "$(ci/series.sh git rev-parse HEAD)" = "$(cd "$A" && "$S" git rev-parse HEAD)" ] &&
	ok "fresh clone has the same series commits" || fail "fresh clone has the same series commits"
expect_ok "export in the fresh clone" ci/series.sh export
[ "$(hash_dir patches)" = "$first" ] && ok "fresh clone exports byte-identical patches" ||
	fail "fresh clone exports byte-identical patches"

# The series applies with plain `git am` to a checkout of upstream at repository paths.
U="$TMP/upstream"
mkdir -p "$U"
cp -a "$ROOT/target/upstream-pristine/"*/lightning "$U/" 2>/dev/null ||
	cp -a "$A/target/upstream-pristine/"*/lightning "$U/"
git -C "$U" init --quiet && git -C "$U" add -A && git -C "$U" commit --quiet -m upstream
git -C "$U" am --quiet "$B"/patches/*.patch >"$TMP/out" 2>&1 && ok "git am applies the series upstream" || {
	fail "git am applies the series upstream"
	sed 's/^/    /' "$TMP/out"
}

# A second patch made in A, pulled by B: B's trees are behind, export there refuses to clobber
# patches/, and apply brings the trees forward.
cd "$A"
echo "// a second edit" >>lightning-background-processor/src/lib.rs
# A file outside the crates, as upstream's pending_changelog/ entries are.
mkdir -p pending_changelog && echo "# API Updates" >pending_changelog/tooling-test.txt
expect_fail "apply refuses a new pending_changelog entry" "$S" apply
"$S" commit --quiet -m "Add a second tooling test edit"
"$S" export >/dev/null 2>&1
git add -A patches && git commit --quiet -m "patches: second"
cd "$B"
git pull --quiet --ff-only
expect_fail "export refuses to overwrite newer patches/" ci/series.sh export
expect_fail "check fails while the trees are behind" ci/series.sh check
expect_ok "apply brings the trees forward" ci/series.sh apply
grep -q "a second edit" lightning-background-processor/src/lib.rs &&
	ok "the pulled patch is in the tree" || fail "the pulled patch is in the tree"
[ -f pending_changelog/tooling-test.txt ] && ok "the pulled changelog entry is materialized" ||
	fail "the pulled changelog entry is materialized"
expect_ok "check passes after apply" ci/series.sh check

# Amending patch 1 with the documented flow; patch 2 still applies after it.
GIT_SEQUENCE_EDITOR="sed -i '1s/^pick/edit/'" ci/series.sh git rebase --quiet -i upstream >/dev/null 2>&1
echo "// amended" >>lightning/src/lib.rs
ci/series.sh commit --quiet --amend --no-edit
ci/series.sh git rebase --continue >"$TMP/rebase.log" 2>&1 || { cat "$TMP/rebase.log"; exit 1; }
expect_ok "export after amending patch 1" ci/series.sh export
grep -q "amended" patches/0001-*.patch && ! grep -q "amended" patches/0002-*.patch &&
	ok "the amendment is in patch 1 only" || fail "the amendment is in patch 1 only"
expect_ok "check passes after amending" ci/series.sh check

# A patch that does not apply: check fails and apply refuses, leaving the trees alone.
git add -A patches && git commit --quiet -m "patches: amended"
sed -i 's/^+\/\/ amended$/+\/\/ amended differently/; s/^ \(.*\)$/ \1 corrupted/' patches/0001-*.patch
tree_hash=$(hash_dir lightning)
expect_fail "check fails when a patch does not apply" ci/series.sh check
expect_fail "apply refuses a patch that does not apply" ci/series.sh apply
[ "$(hash_dir lightning)" = "$tree_hash" ] && ok "the trees are untouched by the failed apply" ||
	fail "the trees are untouched by the failed apply"

echo
echo "series tooling: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
