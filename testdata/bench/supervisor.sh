#!/bin/sh
# supervisor.sh measures what an idle `--watch` supervisor costs over a tree of
# 10,000 files (200 folders of 50), and how soon it notices a change.
#
#   sh testdata/bench/supervisor.sh [FILES_PER_DIR] [DIRS] [SECONDS]
#
# It builds bgrun, starts `sleep` under --watch in a temporary HOME, samples the
# supervisor's CPU time (utime+stime from /proc/PID/stat) and resident memory
# over SECONDS of idling, then touches a file ten times and reports the time
# from each touch to the supervisor ending the old child (the change noticed),
# and to the new child being up (after its startup window).
# Linux only (it reads /proc). It cleans up after itself.
set -eu
per=${1:-50} dirs=${2:-200} secs=${3:-10}
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'HOME=$tmp/home "$tmp/bgrun" --nuke >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
(cd "$top" && CGO_ENABLED=0 go build -o "$tmp/bgrun" .)
mkdir -p "$tmp/home" "$tmp/tree"
i=0
while [ "$i" -lt "$dirs" ]; do
	mkdir "$tmp/tree/d$i"
	j=0
	while [ "$j" -lt "$per" ]; do : >"$tmp/tree/d$i/f$j"; j=$((j + 1)); done
	i=$((i + 1))
done
export HOME="$tmp/home"
b="$tmp/bgrun"
"$b" --name idle --directory "$tmp/tree" --command "sleep 100000" --watch >/dev/null
json() { "$b" idle --json | sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p"; }
sup=$(json supervisor_pid)
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$sup/stat"; }
sleep 3 # let the first scans settle
c0=$(cpu)
t0=$(date +%s%N)
sleep "$secs"
c1=$(cpu)
t1=$(date +%s%N)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$sup/status")
awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v rss="$rss" -v n=$((per * dirs)) 'BEGIN {
	printf "idle supervisor over %d files: %.2f%% of one core, %.1f MB resident\n", n, (c1 - c0) / hz / ((t1 - t0) / 1e9) * 100, rss / 1024 }'
total=0 worst=0 up=0
k=1
while [ "$k" -le 10 ]; do
	before=$(json restarts)
	child=$(json pid)
	s=$(date +%s%N)
	echo "$k" >"$tmp/tree/d$((k * 7 % dirs))/f0"
	while [ -d "/proc/$child" ] && ! grep -q '^State:.*Z' "/proc/$child/status" 2>/dev/null; do :; done
	ms=$((($(date +%s%N) - s) / 1000000))
	while [ "$(json restarts)" = "$before" ]; do sleep 0.01; done
	up=$((up + ($(date +%s%N) - s) / 1000000))
	total=$((total + ms))
	[ "$ms" -gt "$worst" ] && worst=$ms
	k=$((k + 1))
done
echo "change noticed (old child ended): mean $((total / 10)) ms, worst $worst ms (10 changes)"
echo "change to new child up (incl. the 500 ms startup window): mean $((up / 10)) ms"
