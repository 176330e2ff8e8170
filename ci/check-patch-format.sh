#!/usr/bin/env bash
# Checks that the series adds no code rustfmt would change. Upstream's own sources are not all
# clean under today's rustfmt, so for each Rust file the series touches, what rustfmt would
# change in the patched file must already be what it would change in the pristine file; a file
# the series adds must be clean.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
sgit() { GIT_CONFIG_GLOBAL=/dev/null git --git-dir="$(git rev-parse --absolute-git-dir)/series" "$@"; }

mapfile -t files < <(sgit diff --name-only --diff-filter=AM upstream HEAD -- '*.rs')
python3 - "$ROOT/rustfmt.toml" "${files[@]}" <<'PY'
import collections, difflib, subprocess, sys

config, files = sys.argv[1], sys.argv[2:]

def show(rev, path):
	r = subprocess.run(["git", "--git-dir=.git/series", "show", f"{rev}:{path}"],
		capture_output=True, text=True, env={"GIT_CONFIG_GLOBAL": "/dev/null", "PATH": "/usr/bin:/bin:/usr/local/bin"})
	return r.stdout if r.returncode == 0 else None

def unformatted(source):
	# stdin input: rustfmt formats this file only, not the modules it declares.
	r = subprocess.run(["rustfmt", "--edition", "2021", "--config-path", config, "--emit", "stdout"],
		input=source, capture_output=True, text=True)
	if r.returncode != 0:
		return None
	changes = collections.Counter()
	for line in difflib.unified_diff(source.splitlines(), r.stdout.splitlines(), lineterm="", n=0):
		if line[:1] in "+-" and not line.startswith(("+++", "---")):
			changes[line] += 1
	return changes

failed = 0
for path in files:
	patched = show("HEAD", path)
	pristine = show("upstream", path)
	after = unformatted(patched)
	if after is None:
		print(f"format: rustfmt cannot parse {path}")
		failed += 1
		continue
	before = unformatted(pristine) if pristine is not None else collections.Counter()
	added = after - (before or collections.Counter())
	if added:
		failed += 1
		print(f"format: the series leaves {path} unformatted; rustfmt would change:")
		for line in list(added.elements())[:20]:
			print("    " + line)
print(f"format: {len(files) - failed} of {len(files)} files the series touches are formatted")
sys.exit(1 if failed else 0)
PY
