#!/usr/bin/env bash
# Fails when a recorded workflow history under workflows/testdata was
# modified, deleted or renamed after the baseline, in a commit or in the
# work tree. Running entity workflows replay across upgrades, so each
# history is a promise to runs already out there: files are only added.
#
#   scripts/check-testdata.sh
#
# The baseline is the commit whose histories are all allowed (the main of
# the day the rule came in). Without the history to check against (a
# shallow clone, a baseline not fetched, no git) it says so and passes.
set -euo pipefail
baseline=ffc2ac4
dir=workflows/testdata

cd "$(dirname "$0")/.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "check-testdata: skipped, not a git repository"
	exit 0
fi
if [ "$(git rev-parse --is-shallow-repository)" = true ]; then
	echo "check-testdata: skipped, the repository is a shallow clone (git fetch --unshallow to check)"
	exit 0
fi
if ! git cat-file -e "$baseline^{commit}" 2>/dev/null; then
	echo "check-testdata: skipped, the baseline commit $baseline is not in this repository"
	exit 0
fi

changed=$( {
	git log --format= --diff-filter=DMR --name-only "$baseline..HEAD" -- "$dir"
	git diff --name-only --diff-filter=DMR HEAD -- "$dir"
} | sort -u | sed '/^$/d')
if [ -n "$changed" ]; then
	echo "check-testdata: recorded histories are only ever added; these were modified, deleted or renamed after $baseline:" >&2
	echo "$changed" | sed 's/^/  /' >&2
	echo "Restore them and record a new history next to them instead." >&2
	exit 1
fi
