# Shared by the CI scripts, which source it from the repository root: timed steps.

STEP_TIMES=()

# Runs "$@" as the step named $1, announcing it and recording how long it took. Names of at most
# 46 characters keep the summary to one terminal line a step.
step() {
	local name=$1
	shift
	echo
	echo "==> $name"
	local start=$SECONDS
	"$@"
	local took=$((SECONDS - start))
	STEP_TIMES+=("$(printf '%-46s %4dm%02ds' "$name" $((took / 60)) $((took % 60)))")
	echo "<== $name: ${took}s"
}

# Prints each step's time, in order.
print_step_times() {
	printf '    %s\n' "${STEP_TIMES[@]}"
}

# Prints the time since $1 (a $SECONDS value) as the total and, given a budget of $2 minutes,
# a warning when the run went over it.
print_total_time() {
	local took=$((SECONDS - $1)) budget=${2:-}
	printf '    %-46s %4dm%02ds\n' "total" $((took / 60)) $((took % 60))
	if [ -n "$budget" ] && [ "$took" -gt $((budget * 60)) ]; then
		echo "warning: this run took over its budget of ${budget} minutes"
	fi
}

# Upstream tests that cannot pass on the machines this project runs on, with or without the fork,
# as `cargo test -- ARGS` that skip them: lightning-dns-resolver's `resolution_test` resolves a
# name through 8.8.8.8, and there is no network; lightning-persister's
# `test_readonly_dir_perm_failure` expects a read-only directory to refuse a write, which it
# does not for root, whom CI runs as.
ENVIRONMENT_SKIPS=(--skip test::resolution_test --skip fs_store::v1::tests::test_readonly_dir_perm_failure)
