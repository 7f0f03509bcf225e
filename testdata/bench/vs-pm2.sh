#!/usr/bin/env bash
# vs-pm2.sh times bgrun and PM2 side by side on the same work, in alternating runs,
# and prints the median of each with the ratio PM2/bgrun.
#
#   bash testdata/bench/vs-pm2.sh [RUNS]
#
# PM2 is installed from npm into a temporary folder (with its own PM2_HOME), never
# globally; without npm the script says so and exits 0. bgrun is built from this
# checkout and runs with a temporary HOME. Everything started is stopped, and both
# temporary folders are removed, on exit. Linux only (it reads /proc). Needs python3
# for the peak-memory column (getrusage of the child).
#
# What it measures, RUNS times each (default 15), medians in milliseconds:
#   start       start `sleep 1000` under a name (bgrun: its 500 ms startup window;
#               "start, no window": BGR_STARTUP_HEALTH_GRACE_MS=0)
#   start http  start `python3 -m http.server PORT` and return
#   stop        stop a process that ends at once on SIGTERM
#   restart     restart it
#   list json   list 100 running processes as JSON (bgrun --json, pm2 jlist)
#   list table  the same as a table (bgrun, pm2 ls)
#   logs 50     the last 50 lines of a 100 MB log (bgrun NAME --logs --lines 50,
#               pm2 logs NAME --lines 50 --nostream)
# and, once: peak resident memory of a list of 100 (MB), and the manager's resident
# memory with 100 guarded processes (PM2's daemon; bgrun's supervisor).
set -euo pipefail
runs=${1:-15}
if ! command -v npm >/dev/null 2>&1; then
	echo "vs-pm2.sh: npm is not installed; install nodejs and npm to compare with PM2" >&2
	exit 0
fi
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
real_home=$HOME # go keeps its module cache there
export HOME="$tmp/home" PM2_HOME="$tmp/pm2home"
mkdir -p "$HOME" "$PM2_HOME"
b="$tmp/bgrun"
pm2="$tmp/pm2/node_modules/.bin/pm2"
cleanup() {
	"$b" --nuke >/dev/null 2>&1 || true
	[ -x "$pm2" ] && { "$pm2" kill >/dev/null 2>&1 || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT
echo "building bgrun, installing PM2 from npm into $tmp/pm2 ..." >&2
(cd "$top" && HOME="$real_home" CGO_ENABLED=0 go build -ldflags='-s -w' -o "$b" .)
npm install --silent --no-audit --no-fund --prefix "$tmp/pm2" pm2 >/dev/null 2>&1
"$pm2" ping >/dev/null # a warm daemon, as PM2 users have

# ms CMD... prints the wall time of CMD in milliseconds (output discarded).
ms() {
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null 2>&1 || true
	e=$(date +%s%N)
	echo $(((e - s) / 1000)) | awk '{printf "%.1f\n", $1 / 1000}'
}
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
freeport() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

declare -A B P
add() { B[$1]+="$2 "; P[$1]+="$3 "; }

for i in $(seq "$runs"); do
	# start, stop, restart of a plain sleep; bgrun and PM2 alternate which goes first.
	bs=$(ms "$b" --name s --command "sleep 1000")
	ps_=$(ms "$pm2" start sleep --name s -- 1000)
	add start "$bs" "$ps_"
	br=$(ms "$b" --restart s)
	pr=$(ms "$pm2" restart s)
	add restart "$br" "$pr"
	pst=$(ms "$pm2" stop s)
	bst=$(ms "$b" --stop s)
	add stop "$bst" "$pst"
	"$b" --delete s >/dev/null 2>&1
	"$pm2" delete s >/dev/null 2>&1
	bn=$(BGR_STARTUP_HEALTH_GRACE_MS=0 ms "$b" --name n --command "sleep 1000")
	pn=$(ms "$pm2" start sleep --name n -- 1000)
	add "start, no window" "$bn" "$pn"
	"$b" --delete n >/dev/null 2>&1
	"$pm2" delete n >/dev/null 2>&1
	port=$(freeport)
	bh=$(ms "$b" --name h --command "python3 -m http.server $port --bind 127.0.0.1")
	"$b" --delete h >/dev/null 2>&1
	ph=$(ms "$pm2" start python3 --name h -- -m http.server "$port" --bind 127.0.0.1)
	"$pm2" delete h >/dev/null 2>&1
	add "start http" "$bh" "$ph"
done

echo "starting 100 processes under each ..." >&2
for i in $(seq 100); do
	"$b" --name "p$i" --command "sleep 100000" --guard >/dev/null 2>&1 &
	"$pm2" start sleep --name "p$i" -- 100000 >/dev/null 2>&1
	wait
done
for i in $(seq "$runs"); do
	add "list json" "$(ms "$b" --json)" "$(ms "$pm2" jlist)"
	add "list table" "$(COLUMNS=200 ms "$b")" "$(ms "$pm2" ls)"
done

# The manager's memory with 100 guarded processes, and a list's peak memory.
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }
pm2d=$(cat "$PM2_HOME/pm2.pid")
sup=$("$b" p1 --json | sed -n 's/.*"supervisor_pid": \([0-9]*\).*/\1/p')
peak() { python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("%.1f" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024))' "$@"; }
bpeak=$(peak "$b" --json)
ppeak=$(peak "$pm2" jlist)
bsup=$( [ -n "$sup" ] && rss "$sup" || echo "?")
pdae=$(rss "$pm2d")
"$b" --nuke >/dev/null 2>&1
"$pm2" delete all >/dev/null 2>&1

# The last 50 lines of a 100 MB log.
"$b" --name big --command "sleep 100000" >/dev/null
"$pm2" start sleep --name big -- 100000 >/dev/null 2>&1
blog=$("$b" big --json | sed -n 's/.*"stdout_path": "\([^"]*\)".*/\1/p')
plog="$PM2_HOME/logs/big-out.log"
python3 -c 'import sys
line = b"2026-11-29T12:00:00Z GET /api/items?page=3 200 1834 bytes in 12.5 ms\n"
with open(sys.argv[1], "ab") as f:
    f.write(line * (100 * 1024 * 1024 // len(line)))' "$blog"
cp "$blog" "$plog"
for i in $(seq "$runs"); do
	add "logs 50" "$(ms "$b" big --logs --log-stdout --lines 50)" "$(ms "$pm2" logs big --lines 50 --nostream --out)"
done

printf '\n%-18s %10s %10s %8s\n' "work (median ms)" bgrun PM2 "PM2/bgrun"
for k in "start" "start, no window" "start http" "stop" "restart" "list json" "list table" "logs 50"; do
	bm=$(echo "${B[$k]}" | tr ' ' '\n' | grep . | median)
	pm=$(echo "${P[$k]}" | tr ' ' '\n' | grep . | median)
	awk -v k="$k" -v b="$bm" -v p="$pm" 'BEGIN {printf "%-18s %10.1f %10.1f %7.1fx\n", k, b, p, p / b}'
done
printf '%-18s %10s %10s\n' "peak RSS of a list" "$bpeak MB" "$ppeak MB"
printf '%-18s %10s %10s   (bgrun: its supervisor; PM2: its daemon)\n' "manager, 100 procs" "$bsup MB" "$pdae MB"
echo "($runs alternating runs each; load average $(cut -d' ' -f1-3 /proc/loadavg))"
