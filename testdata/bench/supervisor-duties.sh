#!/bin/sh
# supervisor-duties.sh prints what the store's supervisor costs while it
# only rotates logs: COUNT plain (unguarded) `sleep`s, for 1, 10 and 100
# (or the counts given). Every running record keeps the supervisor, which
# checks each record's logs every 5 s and the processes once a second.
#
#   sh testdata/bench/supervisor-duties.sh [COUNT...]
#
# For each count it starts COUNT plain sleeps in a fresh temporary HOME,
# finds the supervisor (its lock file holds its pid), lets it settle, and
# reads its VmRSS and the CPU time it used over 30 s from /proc. It also
# times the first plain start of a store (which starts the supervisor) and
# a later one. Linux only. It cleans up after itself.
set -eu
[ $# -gt 0 ] || set -- 1 10 100
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
cleanup() { [ -d "$tmp/home" ] && HOME=$tmp/home "$tmp/bgrun" --nuke >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
(cd "$top" && CGO_ENABLED=0 go build -o "$tmp/bgrun" .)
b="$tmp/bgrun"
ms() { date +%s%N | cut -c1-13; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
printf '%-8s %-10s %-16s %-14s %s\n' records "RSS (MB)" "CPU (% of core)" "first start" "later start"
for n in "$@"; do
	rm -rf "$tmp/home"
	mkdir -p "$tmp/home"
	export HOME="$tmp/home"
	t0=$(ms)
	"$b" --name s1 --command "sleep 100000" >/dev/null
	t1=$(ms)
	i=2
	while [ "$i" -le "$n" ]; do
		"$b" --name "s$i" --command "sleep 100000" >/dev/null &
		[ $((i % 10)) -eq 0 ] && wait
		i=$((i + 1))
	done
	wait
	t2=$(ms)
	"$b" --name last --command "sleep 100000" >/dev/null
	t3=$(ms)
	sup=$(cut -d' ' -f1 "$HOME/.bgr/bgr.sqlite.supervisor.lock")
	sleep 5 # let the supervisor settle
	c0=$(cpu "$sup")
	sleep 30
	c1=$(cpu "$sup")
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$sup/status")
	printf '%-8s %-10s %-16s %-14s %s\n' "$n" "$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')" \
		"$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz / 30 * 100}')" \
		"$((t1 - t0)) ms" "$((t3 - t2)) ms"
	"$b" --nuke >/dev/null
done
