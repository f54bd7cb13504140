#!/bin/sh
# mk/check-layers.sh [ROOT] — checks that #include "..." lines follow the
# module layering of DESIGN.md, and prints every one that does not as
# FILE:LINE: message. Exit status 0 when all do, 1 otherwise.
#
#   util <- entropy <- keygen <- hsm <- store <- api
#
# - A module (one of the folders above) includes its own headers and the
#   public header <folder>/<folder>.h of modules below it, nothing else.
# - selftest/ may include the public header of every module.
# - cli/ may include its own headers and every module's public header.
# - tests/, bench/ and fuzz/ may include anything.
# - Nobody outside a module includes its private headers (anything other
#   than <folder>/<folder>.h), and no module includes cli/, tests/, bench/
#   or fuzz/ headers.
# <...> includes (system and library headers) are not checked.
set -eu

root=${1:-.}
cd "$root"

layers="util entropy keygen hsm store api"

# rank FOLDER prints the folder's place in $layers (0 = util), or nothing.
rank() {
	i=0
	for l in $layers; do
		[ "$l" = "$1" ] && { echo $i; return; }
		i=$((i + 1))
	done
}

bad=0

files=$(find $layers selftest cli -name '*.[ch]' 2>/dev/null | LC_ALL=C sort)
for f in $files; do
	from=${f%%/*}
	from_rank=$(rank "$from")
	# every quoted include with its line number: "LINE PATH"
	incs=$(awk '/^[ \t]*#[ \t]*include[ \t]*"/ {
			s = $0; sub(/^[^"]*"/, "", s); sub(/".*$/, "", s); print FNR " " s }' "$f")
	[ -n "$incs" ] || continue
	echo "$incs" | {
		status=0
		while read -r line inc; do
			to=${inc%%/*}
			if [ "$to" = "$inc" ]; then
				echo "$f:$line: includes \"$inc\": name headers by their folder (\"$from/$inc\")"
				status=1
				continue
			fi
			[ "$to" = "$from" ] && continue
			to_rank=$(rank "$to")
			if [ -z "$to_rank" ] && [ "$to" != selftest ]; then
				echo "$f:$line: includes \"$inc\": $from/ may include module headers only, not $to/"
				status=1
				continue
			fi
			if [ "$inc" != "$to/$to.h" ]; then
				echo "$f:$line: includes \"$inc\": a private header of $to/; use $to/$to.h"
				status=1
				continue
			fi
			# public headers: cli/ and selftest/ may use them all
			[ "$from" = cli ] || [ "$from" = selftest ] && continue
			if [ "$to" = selftest ]; then
				echo "$f:$line: includes \"$inc\": $from/ is below selftest/, which sees the modules, not the other way round"
				status=1
				continue
			fi
			if [ "$to_rank" -gt "$from_rank" ]; then
				echo "$f:$line: includes \"$inc\": $to/ is above $from/ (util <- entropy <- keygen <- hsm <- store <- api); register through $from/'s table instead"
				status=1
			fi
		done
		exit $status
	} || bad=1
done

if [ "$bad" -ne 0 ]; then
	echo "check-layers: the includes above break the module layering (see mk/check-layers.sh)" >&2
	exit 1
fi
exit 0
