#!/usr/bin/env bash
# handoff.sh measures what handing a start to the store's supervisor costs:
# the start of `sleep 1000` with the startup window off
# (BGR_STARTUP_HEALTH_GRACE_MS=0), timed as a whole process, by this
# checkout's bgrun (which asks its running supervisor over its socket) and by
# the bgrun of another revision, by default 7954bee, the last one whose CLI
# spawned a plain start itself. Runs alternate; it prints the medians in
# milliseconds and their difference.
#
#   bash testdata/bench/handoff.sh [RUNS] [REVISION]
#
# Each bgrun has a temporary HOME, with one process kept running so that its
# supervisor runs throughout, as on a machine in use. Everything is stopped
# and removed on exit. Needs git (a worktree of REVISION is built).
set -euo pipefail
runs=${1:-31}
rev=${2:-7954bee}
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
real_home=$HOME
cleanup() {
	for b in new old; do
		[ -x "$tmp/$b" ] && HOME="$tmp/$b-home" "$tmp/$b" --nuke >/dev/null 2>&1 || true
	done
	(cd "$top" && git worktree remove --force "$tmp/src" >/dev/null 2>&1) || true
	rm -rf "$tmp"
}
trap cleanup EXIT
echo "building this checkout and $rev ..." >&2
(cd "$top" && HOME="$real_home" CGO_ENABLED=0 go build -ldflags='-s -w' -o "$tmp/new" .)
(cd "$top" && git worktree add --detach "$tmp/src" "$rev" >/dev/null 2>&1)
(cd "$tmp/src" && HOME="$real_home" CGO_ENABLED=0 go build -ldflags='-s -w' -o "$tmp/old" .)
export BGR_STARTUP_HEALTH_GRACE_MS=0
for b in new old; do
	mkdir -p "$tmp/$b-home"
	HOME="$tmp/$b-home" "$tmp/$b" --name keep --command 'sleep 1000' >/dev/null
done
sleep 1
ms() { # ms BIN N: the wall time of one start, in milliseconds
	local s e
	s=$(date +%s%N)
	HOME="$tmp/$1-home" "$tmp/$1" --name "s$2" --command 'sleep 1000' >/dev/null
	e=$(date +%s%N)
	awk -v d=$((e - s)) 'BEGIN {printf "%.2f\n", d / 1e6}'
}
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
: >"$tmp/new.ms"
: >"$tmp/old.ms"
for i in $(seq 1 "$runs"); do
	ms new "$i" >>"$tmp/new.ms"
	ms old "$i" >>"$tmp/old.ms"
done
n=$(median <"$tmp/new.ms")
o=$(median <"$tmp/old.ms")
printf 'start, window off, median of %d: handed to the supervisor %s ms, spawned by the CLI (%s) %s ms, difference %s ms\n' \
	"$runs" "$n" "$rev" "$o" "$(awk -v a="$n" -v b="$o" 'BEGIN {printf "%.2f", a - b}')"
