#!/bin/sh
# supervisor-rss.sh prints the memory of the store's one supervisor with 1,
# 10 and 100 guarded `sleep`s (or the counts given), to show it is flat in
# the number of records.
#
#   sh testdata/bench/supervisor-rss.sh [COUNT...]
#
# For each count it builds nothing new (one build first), starts COUNT
# guarded sleeps in a fresh temporary HOME, waits until every record is
# supervised, lets the supervisor settle, and reads its VmRSS and PSS from
# /proc. Linux only. It cleans up after itself.
set -eu
[ $# -gt 0 ] || set -- 1 10 100
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
cleanup() { [ -d "$tmp/home" ] && HOME=$tmp/home "$tmp/bgrun" --nuke >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
(cd "$top" && CGO_ENABLED=0 go build -o "$tmp/bgrun" .)
b="$tmp/bgrun"
printf '%-10s %-12s %-12s %s\n' records "RSS (MB)" "PSS (MB)" threads
for n in "$@"; do
	rm -rf "$tmp/home"
	mkdir -p "$tmp/home"
	export HOME="$tmp/home"
	i=1
	while [ "$i" -le "$n" ]; do
		"$b" --name "s$i" --command "sleep 100000" --guard >/dev/null &
		# Ten at a time, so the machine is not flooded.
		[ $((i % 10)) -eq 0 ] && wait
		i=$((i + 1))
	done
	wait
	until [ "$("$b" --json | grep -c '"supervised": true')" -eq "$n" ]; do sleep 0.2; done
	sup=$("$b" s1 --json | sed -n 's/.*"supervisor_pid": \([0-9]*\).*/\1/p')
	sleep 3 # let the supervisor settle
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$sup/status")
	pss=$(awk '/^Pss:/ {print $2}' "/proc/$sup/smaps_rollup" 2>/dev/null || echo 0)
	thr=$(awk '/^Threads/ {print $2}' "/proc/$sup/status")
	printf '%-10s %-12s %-12s %s\n' "$n" "$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')" \
		"$(awk -v k="$pss" 'BEGIN {printf "%.1f", k / 1024}')" "$thr"
	"$b" --nuke >/dev/null
done
