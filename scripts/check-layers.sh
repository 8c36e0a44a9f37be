#!/usr/bin/env bash
# Fails when a package imports one on a higher floor: the code goes one way,
# from the commands down to the vocabulary every layer shares. Test files
# are not held to it (a test may drive a lower package through a higher one).
#
#   scripts/check-layers.sh
#
# A package may import packages on lower floors, and packages of its own
# top-level folder (receivers/dedup from receivers, say).
set -euo pipefail
cd "$(dirname "$0")/.."

floors='
7 cmd e2e examples
6 internal
5 receivers
4 config workflows
3 activities
2 providers
1 event signature telemetry
'
module=$(go list -m)

floor_of() { # top-level folder -> floor, or nothing
	awk -v d="$1" '{ for (i = 2; i <= NF; i++) if ($i == d) print $1 }' <<<"$floors"
}

bad=0
while read -r pkg imports; do
	top=${pkg%%/*}
	from=$(floor_of "$top")
	if [ -z "$from" ]; then
		echo "check-layers: $pkg: top-level folder $top is on no floor (add it to scripts/check-layers.sh)"
		bad=1
		continue
	fi
	for imp in $imports; do
		case $imp in "$module"/*) ;; *) continue ;; esac
		imp=${imp#"$module"/}
		itop=${imp%%/*}
		[ "$itop" = "$top" ] && continue
		to=$(floor_of "$itop")
		if [ -z "$to" ] || [ "$to" -ge "$from" ]; then
			echo "check-layers: $pkg (floor $from) imports $imp (floor ${to:-none}): an import may only run down"
			bad=1
		fi
	done
done < <(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./... | sed "s#^$module/##")
exit $bad
