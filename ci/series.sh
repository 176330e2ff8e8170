#!/usr/bin/env bash
# The fork as a patch series against upstream rust-lightning.
#
# The upstream trees are materialized, never committed: every crate upstream publishes, from
# the registry at the pinned release (checksums verified against `ci/upstream.lock`), and the
# workspace's unpublished parts (`fuzz/`, `lightning-tests/`, ...) from a snapshot of the
# release's branch (its sha256 verified against `ci/upstream-snapshot.sha256`; set
# LDK_UPSTREAM_SOURCE to a rust-lightning checkout or `git archive` tarball to take them from
# there instead). Together they are upstream's workspace layout. `patches/` applies on top,
# each patch a commit in a second git repository kept in `.git/series` whose work tree is the
# project root and which tracks only those trees.
#
# Usage: ci/series.sh COMMAND
#   apply            materialize the trees (idempotent; refuses to touch unexported work)
#   export [--force] regenerate patches/ from the trees' commits
#   check            patches/ applies to pristine, export is a fixed point, nothing unexported
#   status           what differs between the trees and patches/
#   commit ARGS...   stage every change in the trees and `git commit ARGS...` in the series repo
#   git ARGS...      run git on the series repository (rebase -i, log, show, ...)
#   lock             regenerate ci/upstream.lock for the release named in Cargo.toml
#   rebase-upstream  move the series onto the release named in Cargo.toml
#   trees            print the materialized trees' paths, one a line
# The README's "The patch workflow" section walks through amending, adding, reordering patches
# and moving to a new upstream release.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
MAIN_GIT_DIR=$(git rev-parse --absolute-git-dir)
SERIES_GIT_DIR="$MAIN_GIT_DIR/series"
# Where `export` last left the trees and patches/ identical: "<HEAD> <patches fingerprint>".
SYNC_FILE="$SERIES_GIT_DIR/ldk-series-synced"
# Every crate of upstream's workspace that is published, taken from the registry at the version
# the release locks (lightning-types, lightning-invoice, lightning-macros, possiblyrandom and
# lightning-dns-resolver have numberings of their own).
CRATES=(lightning lightning-types lightning-invoice lightning-macros possiblyrandom
	lightning-background-processor lightning-liquidity lightning-persister lightning-net-tokio
	lightning-rapid-gossip-sync lightning-block-sync lightning-transaction-sync
	lightning-custom-message lightning-dns-resolver)
# The parts of upstream's workspace that are not published, from the snapshot. Each is a
# workspace of its own upstream, and here too.
UNPUBLISHED=(fuzz lightning-tests no-std-check msrv-no-dev-deps-check ext-functional-test-demo
	bench)
# Every path the series may touch: upstream's pending_changelog/ is in neither (the snapshot's
# entries are older than the release), so patches create it.
TREES=("${CRATES[@]}" "${UNPUBLISHED[@]}" pending_changelog)
BASE_TAG=upstream
BRANCH=series
# Files that `patch` and merge tools leave behind; `commit` stages with `-f`, so they would
# otherwise end up in a patch.
LEFTOVER_PATTERN='\.(orig|rej)$|~$'
# What builds, tests and fuzzers leave inside the trees, as upstream's .gitignore names it: the
# target directories and lock files of the unpublished parts (each a workspace of its own),
# fuzzers' workspaces, the network graphs some tests write. Never part of the series.
BUILD_OUTPUTS=(target hfuzz_workspace artifacts Cargo.lock 'net_graph-*.bin' full_graph.lngossip)
# The same as git pathspecs that exclude them (as files or directories), for `git add`.
BUILD_OUTPUT_PATHSPECS=()
for output in "${BUILD_OUTPUTS[@]}"; do
	BUILD_OUTPUT_PATHSPECS+=(":(exclude,glob)**/$output" ":(exclude,glob)**/$output/**")
done
# The same as `git ls-files -x` patterns.
BUILD_OUTPUT_EXCLUDES=()
for output in "${BUILD_OUTPUTS[@]}"; do BUILD_OUTPUT_EXCLUDES+=(-x "$output"); done

# Fixed identities and dates, and no user or system git configuration, so materializing the
# same series anywhere gives the same commits and exporting it gives the same bytes.
export GIT_CONFIG_NOSYSTEM=1
export GIT_COMMITTER_NAME="ldk-fork series" GIT_COMMITTER_EMAIL="series@ldk-fork.invalid"
BASE_DATE="1970-01-01T00:00:00Z"

die() {
	echo "series: error: $*" >&2
	exit 1
}
say() { echo "series: $*" >&2; }

# git on a series repository: `sgit GIT_DIR WORK_TREE ARGS...`, isolated from user config.
sgit_at() {
	local git_dir=$1 work_tree=$2
	shift 2
	GIT_CONFIG_GLOBAL=/dev/null git --git-dir="$git_dir" --work-tree="$work_tree" \
		-c core.autocrlf=false -c core.abbrev=12 -c init.defaultBranch="$BRANCH" "$@"
}
sgit() { sgit_at "$SERIES_GIT_DIR" "$ROOT" "$@"; }

# The value of key $1 in Cargo.toml's [workspace.metadata.upstream].
upstream_metadata() {
	sed -n '/^\[workspace\.metadata\.upstream\]/,/^\[/ s/^'"$1"' *= *"\([^"]*\)".*/\1/p' \
		"$ROOT/Cargo.toml"
}

RELEASE=$(upstream_metadata release)
[ -n "$RELEASE" ] || die "no [workspace.metadata.upstream] release in Cargo.toml"
# lightning-dns-resolver is numbered apart and no other crate of the release depends on it.
DNS_RESOLVER_VERSION=$(upstream_metadata dns-resolver)
[ -n "$DNS_RESOLVER_VERSION" ] || die "no [workspace.metadata.upstream] dns-resolver in Cargo.toml"
# Where the unpublished parts come from: the snapshot beside the project (CI has it too), or
# LDK_UPSTREAM_SOURCE.
SNAPSHOT_ARCHIVE=$(upstream_metadata snapshot)
[ -n "$SNAPSHOT_ARCHIVE" ] || die "no [workspace.metadata.upstream] snapshot in Cargo.toml"
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
FETCH_DIR="$ROOT/target/upstream-fetch"
PRISTINE_DIR="$ROOT/target/upstream-pristine/$RELEASE"

fetch_manifest() {
	local crate deps=""
	for crate in "${CRATES[@]}"; do
		case $crate in
		# Numbered apart, and locked at the versions `lightning` depends on.
		lightning-types | lightning-invoice | lightning-macros | possiblyrandom) ;;
		lightning-dns-resolver) deps+="$crate = \"=$DNS_RESOLVER_VERSION\""$'\n' ;;
		*) deps+="$crate = \"=$RELEASE\""$'\n' ;;
		esac
	done
	mkdir -p "$FETCH_DIR/src"
	: >"$FETCH_DIR/src/lib.rs"
	cat >"$FETCH_DIR/Cargo.toml" <<-EOF
		# Generated by ci/series.sh: fetches the pinned upstream release from the registry.
		[package]
		name = "ldk-fork-upstream-fetch"
		version = "0.0.0"
		edition = "2021"
		publish = false

		[workspace]

		[dependencies]
		$deps
	EOF
}

# The version of registry crate $1 in ci/upstream.lock (the one the pinned release uses).
locked_version() {
	awk -v name="$1" '
		/^\[\[package\]\]/ { n = "" }
		/^name = / { n = $3; gsub(/"/, "", n) }
		/^version = / { v = $3; gsub(/"/, "", v); if (n == name) print v }
	' "$ROOT/ci/upstream.lock" | head -n 1
}

# The lockfile's sha256 for registry crate $1 at its locked version.
locked_checksum() {
	awk -v name="$1" -v ver="$(locked_version "$1")" '
		/^\[\[package\]\]/ { n = ""; v = "" }
		/^name = / { n = $3; gsub(/"/, "", n) }
		/^version = / { v = $3; gsub(/"/, "", v) }
		/^checksum = / { c = $3; gsub(/"/, "", c); if (n == name && v == ver) print c }
	' "$ROOT/ci/upstream.lock"
}

# Where the unpublished parts come from: LDK_UPSTREAM_SOURCE, else the snapshot.
snapshot_source() {
	if [ -n "${LDK_UPSTREAM_SOURCE:-}" ]; then
		realpath "$LDK_UPSTREAM_SOURCE"
	else
		realpath -m "$ROOT/$SNAPSHOT_ARCHIVE"
	fi
}

# How the source of the unpublished parts is identified: the snapshot by its sha256, which must be
# the one recorded in ci/upstream-snapshot.sha256; a source the user named, by its path.
snapshot_identity() {
	if [ -n "${LDK_UPSTREAM_SOURCE:-}" ]; then
		echo "unpublished-from:$(snapshot_source)"
	else
		echo "unpublished-sha256:$(cut -d' ' -f1 "$ROOT/ci/upstream-snapshot.sha256")"
	fi
}

# What the pristine base holds: the release and its crates, each at its version, and the source
# of the unpublished parts.
base_identity() {
	local crate
	printf '%s' "$RELEASE"
	for crate in "${CRATES[@]}"; do
		printf ' %s-%s' "$crate" "$(locked_version "$crate")"
	done
	printf ' %s' "$(snapshot_identity)"
}

# Copies the unpublished parts of upstream's workspace into $PRISTINE_DIR, from a rust-lightning
# checkout or from a `git archive` tarball of one (the snapshot's sha256 checked first).
fetch_unpublished() {
	local source dir top
	source=$(snapshot_source)
	mkdir -p "$PRISTINE_DIR/unpublished"
	if [ -d "$source" ]; then
		for dir in "${UNPUBLISHED[@]}"; do
			[ -d "$source/$dir" ] || die "$source has no $dir/: not a rust-lightning checkout"
			cp -a "$source/$dir" "$PRISTINE_DIR/unpublished/"
		done
	else
		[ -f "$source" ] || die "no upstream snapshot at $source: CI and developers keep it in
  ../shared/upstream/; set LDK_UPSTREAM_SOURCE to a rust-lightning checkout or archive instead"
		if [ -z "${LDK_UPSTREAM_SOURCE:-}" ]; then
			(cd "$(dirname "$source")" &&
				sed "s/ .*/  $(basename "$source")/" "$ROOT/ci/upstream-snapshot.sha256" |
				sha256sum --check --quiet --strict) ||
				die "$source does not match the sha256 of ci/upstream-snapshot.sha256"
		fi
		# Whatever the archive's prefix: the directory that holds lightning/.
		top=$(tar -tzf "$source" | sed -n 's|/lightning/Cargo.toml$||p' | head -n 1)
		mkdir -p "$PRISTINE_DIR/unpack"
		tar -xzf "$source" -C "$PRISTINE_DIR/unpack" \
			$(printf "${top:+$top/}%s " "${UNPUBLISHED[@]}")
		for dir in "${UNPUBLISHED[@]}"; do
			mv "$PRISTINE_DIR/unpack/${top:+$top/}$dir" "$PRISTINE_DIR/unpublished/"
		done
		rm -rf "$PRISTINE_DIR/unpack"
	fi
	say "took ${UNPUBLISHED[*]} from $source"
}

# Gives a published manifest back what publishing normalized away: `path` on its dependencies
# on the workspace's other crates (so that every crate of the workspace, and the unpublished
# ones, link the same copy of each), and `[lints] workspace = true`, pointing at the workspace's
# copy of upstream's lint table.
restore_workspace_manifest() {
	local manifest=$1
	awk -v crates=" ${CRATES[*]} " '
		{ print }
		match($0, /^\[(target\..*\.)?(dev-|build-)?dependencies\.[A-Za-z0-9_-]+\]$/) {
			name = $0; sub(/^.*dependencies\./, "", name); sub(/\]$/, "", name)
			if (index(crates, " " name " ")) print "path = \"../" name "\""
		}
	' "$manifest" >"$manifest.new"
	mv "$manifest.new" "$manifest"
	grep -q '^\[lints\]' "$manifest" || printf '\n[lints]\nworkspace = true\n' >>"$manifest"
}

cmd_lock() {
	fetch_manifest
	rm -f "$FETCH_DIR/Cargo.lock"
	cargo generate-lockfile --quiet --manifest-path "$FETCH_DIR/Cargo.toml"
	cp "$FETCH_DIR/Cargo.lock" "$ROOT/ci/upstream.lock"
	say "wrote ci/upstream.lock for upstream $RELEASE"
}

# Unpacks the pristine crates of the pinned release into $PRISTINE_DIR/<crate>, after checking
# each downloaded .crate against the checksum recorded in ci/upstream.lock.
fetch_pristine() {
	local crate sum file found version
	[ -f "$ROOT/ci/upstream.lock" ] || die "ci/upstream.lock is missing: run 'ci/series.sh lock'"
	for crate in "${CRATES[@]}"; do
		[ -n "$(locked_checksum "$crate")" ] ||
			die "ci/upstream.lock has no $crate for $RELEASE: run 'ci/series.sh lock' after changing the release"
	done
	if [ "$(cat "$PRISTINE_DIR/.verified" 2>/dev/null)" = "$(base_identity)" ]; then return; fi
	fetch_manifest
	cp "$ROOT/ci/upstream.lock" "$FETCH_DIR/Cargo.lock"
	cargo fetch --locked --quiet --manifest-path "$FETCH_DIR/Cargo.toml" ||
		die "cargo could not fetch upstream $RELEASE from the registry"
	rm -rf "$PRISTINE_DIR"
	mkdir -p "$PRISTINE_DIR"
	for crate in "${CRATES[@]}"; do
		sum=$(locked_checksum "$crate")
		version=$(locked_version "$crate")
		found=""
		for file in "$CARGO_HOME"/registry/cache/*/"$crate-$version.crate"; do
			[ -f "$file" ] || continue
			if [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$sum" ]; then
				found=$file
				break
			fi
		done
		[ -n "$found" ] || die "no downloaded $crate-$version.crate matches sha256 $sum of ci/upstream.lock"
		mkdir -p "$PRISTINE_DIR/unpack"
		tar -xzf "$found" -C "$PRISTINE_DIR/unpack"
		mv "$PRISTINE_DIR/unpack/$crate-$version" "$PRISTINE_DIR/$crate"
		# Publishing artefacts that are not part of the upstream repository's tree.
		rm -f "$PRISTINE_DIR/$crate/.cargo_vcs_info.json" "$PRISTINE_DIR/$crate/Cargo.toml.orig"
		restore_workspace_manifest "$PRISTINE_DIR/$crate/Cargo.toml"
		say "verified $crate $version (sha256 $sum)"
	done
	rmdir "$PRISTINE_DIR/unpack"
	fetch_unpublished
	base_identity >"$PRISTINE_DIR/.verified"
}

patch_files() {
	[ -d "$ROOT/patches" ] || return 0
	find "$ROOT/patches" -maxdepth 1 -name '*.patch' | LC_ALL=C sort
}

patches_fingerprint() {
	local f
	{
		for f in $(patch_files); do
			basename "$f"
			sha256sum <"$f"
		done
	} | sha256sum | cut -d' ' -f1
}

# Creates a series repository in GIT_DIR over WORK_TREE: the pristine base commit (tagged) and
# then, unless $3 is --base-only, every patch of patches/ as a commit. Fails if a patch does not
# apply.
materialize() {
	local git_dir=$1 work_tree=$2 mode=${3:-} crate
	local -a patches=()
	[ "$mode" = --base-only ] || mapfile -t patches < <(patch_files)
	mkdir -p "$work_tree"
	sgit_at "$git_dir" "$work_tree" init --quiet
	for crate in "${TREES[@]}"; do
		rm -rf "${work_tree:?}/$crate"
	done
	for crate in "${CRATES[@]}"; do
		cp -a "$PRISTINE_DIR/$crate" "$work_tree/$crate"
	done
	for crate in "${UNPUBLISHED[@]}"; do
		cp -a "$PRISTINE_DIR/unpublished/$crate" "$work_tree/$crate"
	done
	# `-f`: the project's .gitignore, which hides the trees from the main repository, is read by
	# this repository too. A checkout named by LDK_UPSTREAM_SOURCE may hold build outputs.
	sgit_at "$git_dir" "$work_tree" add -f -A -- "${CRATES[@]}" "${UNPUBLISHED[@]}" \
		"${BUILD_OUTPUT_PATHSPECS[@]}"
	GIT_AUTHOR_NAME="rust-lightning" GIT_AUTHOR_EMAIL="upstream@ldk-fork.invalid" \
		GIT_AUTHOR_DATE="$BASE_DATE" GIT_COMMITTER_DATE="$BASE_DATE" \
		sgit_at "$git_dir" "$work_tree" commit --quiet -m "Upstream $RELEASE as published on crates.io" \
		-m "$(printf '%s, ' "${CRATES[@]}" | sed 's/, $//') as the release locks them, unpacked from
the registry with their sha256 checked against ci/upstream.lock. The normalized manifests get
back what publishing strips: \`path\` on dependencies on each other and \`[lints] workspace = true\`." \
		-m "$(printf '%s/, ' "${UNPUBLISHED[@]}" | sed 's/, $//'), which are not published, from
$(snapshot_source)." -m "Upstream-Release: $RELEASE
Upstream-Base: $(base_identity)"
	sgit_at "$git_dir" "$work_tree" tag -f "$BASE_TAG" >/dev/null
	if [ ${#patches[@]} -gt 0 ]; then
		if ! sgit_at "$git_dir" "$work_tree" am --quiet --committer-date-is-author-date \
			"${patches[@]}" >&2; then
			sgit_at "$git_dir" "$work_tree" am --abort >/dev/null 2>&1 || true
			return 1
		fi
	fi
}

base_release() {
	sgit log -1 --format=%B "$BASE_TAG" 2>/dev/null | sed -n 's/^Upstream-Release: //p'
}

# Whether the trees' pristine base is the one this script materializes (the release, and the
# same crates at the same versions).
base_is_current() {
	[ "$(sgit log -1 --format=%B "$BASE_TAG" 2>/dev/null | sed -n 's/^Upstream-Base: //p')" = \
		"$(base_identity)" ]
}

# Writes the series (commits after the base tag) as format-patch files into directory $1.
format_series() {
	local git_dir=$1 work_tree=$2 out=$3
	sgit_at "$git_dir" "$work_tree" format-patch --quiet --zero-commit --no-signature --full-index \
		--no-renames --no-numbered --stat=80 --stat-graph-width=20 -o "$out" \
		"$BASE_TAG..HEAD" >/dev/null
}

dirs_identical() { diff -r -q "$1" "$2" >/dev/null 2>&1; }

# Prints what the trees hold that is not committed in the series repository.
uncommitted_changes() {
	sgit status --porcelain --untracked-files=no -- "${TREES[@]}"
	sgit ls-files --others "${BUILD_OUTPUT_EXCLUDES[@]}" -- "${TREES[@]}" | sed 's/^/?? /'
}

operation_in_progress() {
	[ -d "$SERIES_GIT_DIR/rebase-apply" ] || [ -d "$SERIES_GIT_DIR/rebase-merge" ] ||
		[ -f "$SERIES_GIT_DIR/CHERRY_PICK_HEAD" ] || [ -f "$SERIES_GIT_DIR/MERGE_HEAD" ]
}

record_sync() { echo "$(sgit rev-parse HEAD) $(patches_fingerprint)" >"$SYNC_FILE"; }
synced_head() { cut -d' ' -f1 "$SYNC_FILE" 2>/dev/null || true; }
synced_fingerprint() { cut -d' ' -f2 "$SYNC_FILE" 2>/dev/null || true; }

# A directory holding the trees' series as patch files: "$TMP/export".
export_trees_to_tmp() {
	rm -rf "$TMP/export"
	mkdir -p "$TMP/export"
	format_series "$SERIES_GIT_DIR" "$ROOT" "$TMP/export"
}

# patches/ as a directory of patch files only, for comparison: "$TMP/current".
current_patches_to_tmp() {
	rm -rf "$TMP/current"
	mkdir -p "$TMP/current"
	local f
	for f in $(patch_files); do cp "$f" "$TMP/current/"; done
}

trees_exist() {
	local crate
	for crate in "${TREES[@]}"; do [ -e "$ROOT/$crate" ] && return 0; done
	return 1
}

# Fails, touching nothing, when the trees hold work that is not in patches/.
# Returns 0 when the trees match patches/, 2 when they are merely behind it (safe to replace).
assess_trees() {
	local dirty
	operation_in_progress && die "a rebase, am or cherry-pick is in progress in the series repository:
  finish it ('ci/series.sh git rebase --continue' / 'git am --continue') or abort it first"
	dirty=$(uncommitted_changes)
	if [ -n "$dirty" ]; then
		die "the materialized trees hold uncommitted edits that are not in patches/:
$(echo "$dirty" | head -n 20)
  commit them ('ci/series.sh commit -m \"...\"' or '--amend'), then 'ci/series.sh export'"
	fi
	export_trees_to_tmp
	current_patches_to_tmp
	if dirs_identical "$TMP/export" "$TMP/current"; then return 0; fi
	if [ "$(sgit rev-parse HEAD)" = "$(synced_head)" ]; then return 2; fi
	die "the materialized trees hold commits that are not exported to patches/
  ($(sgit rev-list --count "$BASE_TAG..HEAD") commits on the series; see 'ci/series.sh status').
  Run 'ci/series.sh export' to write them to patches/ (then commit patches/)."
}

cmd_apply() {
	local state=0
	fetch_pristine
	if [ -d "$SERIES_GIT_DIR" ]; then
		assess_trees || state=$?
		if [ $state -eq 0 ] && base_is_current; then
			record_sync
			say "trees are up to date with patches/ ($(patch_files | wc -l) patches on upstream $RELEASE)"
			return
		fi
	elif trees_exist; then
		die "one of ${TREES[*]} exists but is not a materialized tree
  (no series repository in .git/series); move it away and run 'ci/series.sh apply' again"
	fi
	# Nothing unexported: build the series afresh aside, then move the trees to it. Files that
	# do not change keep their timestamps, so cargo rebuilds only what the new series touches.
	if ! materialize "$TMP/fresh/.git-series" "$TMP/fresh"; then
		die "patches/ does not apply to upstream $RELEASE (see git am's message above); the trees are untouched"
	fi
	[ -d "$SERIES_GIT_DIR" ] || sgit init --quiet
	sgit fetch --quiet --force --update-head-ok "$TMP/fresh/.git-series" \
		"refs/heads/$BRANCH:refs/heads/$BRANCH" "refs/tags/$BASE_TAG:refs/tags/$BASE_TAG"
	sgit symbolic-ref HEAD "refs/heads/$BRANCH"
	sgit reset --quiet --hard "refs/heads/$BRANCH"
	record_sync
	say "materialized upstream $RELEASE + $(patch_files | wc -l) patches"
}

cmd_export() {
	local force=${1:-}
	[ -d "$SERIES_GIT_DIR" ] || die "nothing materialized: run 'ci/series.sh apply'"
	operation_in_progress && die "finish or abort the rebase/am in the series repository first"
	local dirty
	dirty=$(uncommitted_changes)
	[ -z "$dirty" ] || die "uncommitted edits in the trees (commit them first with 'ci/series.sh commit'):
$(echo "$dirty" | head -n 20)"
	[ "$(base_release)" = "$RELEASE" ] ||
		die "the trees are based on upstream $(base_release), Cargo.toml names $RELEASE: see 'rebase-upstream'"
	if [ "$(patches_fingerprint)" != "$(synced_fingerprint)" ] && [ "$force" != "--force" ]; then
		export_trees_to_tmp
		current_patches_to_tmp
		if ! dirs_identical "$TMP/export" "$TMP/current"; then
			die "patches/ changed since the trees were last synced with it (a pull?), so exporting
  would overwrite it. Run 'ci/series.sh apply' if the trees hold nothing new, or
  'ci/series.sh export --force' to replace patches/ with the trees' series."
		fi
	fi
	export_trees_to_tmp
	current_patches_to_tmp
	if dirs_identical "$TMP/export" "$TMP/current"; then
		say "patches/ already matches the trees ($(patch_files | wc -l) patches)"
	else
		mkdir -p "$ROOT/patches"
		find "$ROOT/patches" -maxdepth 1 -name '*.patch' -delete
		cp "$TMP/export/"*.patch "$ROOT/patches/" 2>/dev/null || true
		say "exported $(patch_files | wc -l) patches to patches/ (commit them)"
	fi
	record_sync
}

cmd_check() {
	local failed=0 state=0
	fetch_pristine
	# 1. patches/ applies cleanly to pristine upstream, and 2. exporting it again is a fixed point.
	if ! materialize "$TMP/fresh/.git-series" "$TMP/fresh" >/dev/null; then
		say "FAIL: patches/ does not apply cleanly to pristine upstream $RELEASE"
		return 1
	fi
	mkdir -p "$TMP/fresh-export"
	format_series "$TMP/fresh/.git-series" "$TMP/fresh" "$TMP/fresh-export"
	current_patches_to_tmp
	if dirs_identical "$TMP/fresh-export" "$TMP/current"; then
		say "ok: $(patch_files | wc -l) patches apply to upstream $RELEASE and re-export byte-identical"
	else
		say "FAIL: exporting the applied series does not reproduce patches/ byte for byte:"
		diff -r "$TMP/current" "$TMP/fresh-export" | head -n 20 >&2 || true
		failed=1
	fi
	# 3. The series adds no leftovers of `patch` or merge tools.
	local leftovers
	leftovers=$(sgit_at "$TMP/fresh/.git-series" "$TMP/fresh" diff --name-only --diff-filter=A \
		"$BASE_TAG" HEAD | grep -E "$LEFTOVER_PATTERN" || true)
	if [ -n "$leftovers" ]; then
		say "FAIL: patches/ adds leftovers of patch or merge tools: $(echo $leftovers)"
		failed=1
	fi
	# 4. The materialized trees hold nothing unexported.
	if [ -d "$SERIES_GIT_DIR" ]; then
		(assess_trees) || state=$?
		case $state in
		0) say "ok: the materialized trees match patches/" ;;
		2)
			say "FAIL: the materialized trees are behind patches/: run 'ci/series.sh apply'"
			failed=1
			;;
		*) failed=1 ;;
		esac
	elif trees_exist; then
		say "FAIL: one of ${TREES[*]} exists without a series repository"
		failed=1
	else
		say "ok: nothing materialized"
	fi
	return $failed
}

cmd_status() {
	[ -d "$SERIES_GIT_DIR" ] || {
		say "nothing materialized"
		return
	}
	echo "upstream: $(base_release) (Cargo.toml names $RELEASE)"
	echo "series commits:"
	sgit log --reverse --format='  %h %s' "$BASE_TAG..HEAD"
	echo "uncommitted in the trees:"
	uncommitted_changes | sed 's/^/  /'
	export_trees_to_tmp
	current_patches_to_tmp
	if dirs_identical "$TMP/export" "$TMP/current"; then
		echo "patches/: matches the trees"
	else
		echo "patches/: differs from the trees' commits:"
		diff -r -q "$TMP/current" "$TMP/export" | sed 's/^/  /' || true
	fi
}

cmd_commit() {
	[ -d "$SERIES_GIT_DIR" ] || die "nothing materialized: run 'ci/series.sh apply'"
	local tree leftovers
	leftovers=$(sgit ls-files --others "${BUILD_OUTPUT_EXCLUDES[@]}" -- "${TREES[@]}" | grep -E "$LEFTOVER_PATTERN" || true)
	[ -z "$leftovers" ] || die "remove these leftovers from the trees first:
$leftovers"
	for tree in "${TREES[@]}"; do
		if [ -e "$ROOT/$tree" ] || sgit ls-files --error-unmatch -- "$tree" >/dev/null 2>&1; then
			sgit add -f -A -- "$tree" "${BUILD_OUTPUT_PATHSPECS[@]}"
		fi
	done
	# The user's own identity and editor, so no isolation from their configuration here.
	git --git-dir="$SERIES_GIT_DIR" --work-tree="$ROOT" commit "$@"
}

cmd_git() {
	[ -d "$SERIES_GIT_DIR" ] || die "nothing materialized: run 'ci/series.sh apply'"
	git --git-dir="$SERIES_GIT_DIR" --work-tree="$ROOT" "$@"
}

cmd_rebase_upstream() {
	[ -d "$SERIES_GIT_DIR" ] || die "nothing materialized: run 'ci/series.sh apply'"
	local old
	old=$(base_release)
	[ "$old" != "$RELEASE" ] || die "the trees are already on upstream $RELEASE; change
  [workspace.metadata.upstream] release in Cargo.toml and run 'ci/series.sh lock' first"
	local state=0
	assess_trees || state=$?
	[ $state -eq 0 ] || die "patches/ is newer than the trees: run 'ci/series.sh apply' on $old first"
	fetch_pristine
	# The new base, as a commit of its own, then the series replayed on top of it.
	local series_tip
	series_tip=$(sgit rev-parse HEAD)
	materialize "$TMP/new-base/.git-series" "$TMP/new-base" --base-only
	sgit fetch --quiet "$TMP/new-base/.git-series" "refs/tags/$BASE_TAG:refs/tags/$BASE_TAG-new"
	sgit tag -f "$BASE_TAG-old" "$BASE_TAG" >/dev/null
	sgit tag -f "$BASE_TAG" "$BASE_TAG-new" >/dev/null
	sgit tag -d "$BASE_TAG-new" >/dev/null
	say "rebasing $(sgit rev-list --count "$BASE_TAG-old..$series_tip") commits from $old onto $RELEASE"
	if sgit rebase --committer-date-is-author-date --onto "$BASE_TAG" "$BASE_TAG-old" "$BRANCH"; then
		say "done: check the build, then 'ci/series.sh export' and commit patches/ and Cargo.toml"
	else
		say "resolve the conflicts in the trees, then 'ci/series.sh commit --no-edit' is not needed:"
		say "  stage with 'ci/series.sh git add -f -A ${TREES[*]}',"
		say "  'ci/series.sh git rebase --continue', and finally 'ci/series.sh export'"
		exit 1
	fi
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

case "${1:-}" in
apply) cmd_apply ;;
export) cmd_export "${2:-}" ;;
check) cmd_check ;;
status) cmd_status ;;
commit)
	shift
	cmd_commit "$@"
	;;
git)
	shift
	cmd_git "$@"
	;;
lock) cmd_lock ;;
trees) printf '%s\n' "${TREES[@]}" ;;
rebase-upstream) cmd_rebase_upstream ;;
materialize-to)
	# For ci/check-each-commit.sh: a series repository in DIR/.git-series over DIR.
	[ -n "${2:-}" ] || die "usage: ci/series.sh materialize-to DIR [--base-only]"
	fetch_pristine
	materialize "$2/.git-series" "$2" "${3:-}"
	;;
*)
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
	exit 2
	;;
esac
