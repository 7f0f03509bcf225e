#!/usr/bin/env bash
# floors.sh times bgrun's common operations as whole processes beside their
# floors, in alternating runs, and prints medians and ratios:
#
#   bash testdata/bench/floors.sh [RUNS]
#
#   list     `bgrun --json` with 100 running records   vs one `ss -tlnpH`
#   logs     `bgrun NAME --logs --log-stdout --lines 50` of a 200 MB log
#                                                      vs `tail -n 50` of it
#   stop     `bgrun --stop NAME` of a process that exits at once on SIGTERM
#                                                      vs `kill` and wait for its exit
#   listen   `bgrun --name web --command "python3 -m http.server PORT"`
#                                                      vs the same server's first
#                                                        accepted connection
#
# bgrun is built from this checkout; everything runs in a temporary HOME and is
# removed on exit. Linux only. Needs python3 and ss.
set -euo pipefail
runs=${1:-21}
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
real_home=$HOME # go keeps its module cache there
export HOME="$tmp/home"
mkdir -p "$HOME"
b="$tmp/bgrun"
trap '"$b" --nuke >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
(cd "$top" && HOME="$real_home" CGO_ENABLED=0 go build -ldflags='-s -w' -o "$b" .)

ms() {
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null 2>&1 || true
	e=$(date +%s%N)
	awk -v d=$((e - s)) 'BEGIN {printf "%.2f\n", d / 1e6}'
}
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
row() { # name, bgrun times, floor times
	local bm fm
	bm=$(echo "$2" | tr ' ' '\n' | grep . | median)
	fm=$(echo "$3" | tr ' ' '\n' | grep . | median)
	awk -v n="$1" -v b="$bm" -v f="$fm" 'BEGIN {printf "%-8s %10.2f %10.2f %7.2fx\n", n, b, f, b / f}'
}
freeport() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# list: 100 running records.
for i in $(seq 100); do "$b" --name "p$i" --command "sleep 100000" >/dev/null & done
wait
B="" F=""
for i in $(seq "$runs"); do
	B+="$(ms "$b" --json) "
	F+="$(ms ss -tlnpH) "
done
printf '\n%-8s %10s %10s %8s\n' "work" "bgrun ms" "floor ms" "ratio"
row list "$B" "$F"
"$b" --nuke >/dev/null

# logs: the last 50 lines of a 200 MB log.
"$b" --name big --command "sleep 100000" >/dev/null
log="$HOME/.bgr/big-out.txt"
python3 -c 'import sys
line = b"2026-11-29T12:00:00Z GET /api/items?page=3 200 1834 bytes in 12.5 ms\n"
with open(sys.argv[1], "ab") as f:
    f.write(line * (200 * 1024 * 1024 // len(line)))' "$log"
B="" F=""
for i in $(seq "$runs"); do
	B+="$(ms "$b" big --logs --log-stdout --lines 50) "
	F+="$(ms tail -n 50 "$log") "
done
row logs "$B" "$F"
"$b" --nuke >/dev/null

# stop: the floor is the signal and the exit, seen by polling /proc every 1 ms.
killwait() { kill "$1"; while [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; do sleep 0.001; done; }
B="" F=""
for i in $(seq "$runs"); do
	"$b" --name s --command "sleep 100000" >/dev/null
	B+="$(ms "$b" --stop s) "
	sleep 100000 &
	F+="$(ms killwait $!) "
	wait 2>/dev/null || true
done
row stop "$B" "$F"
"$b" --nuke >/dev/null

# listen: a server start returns when it listens.
waitlisten() {
	python3 -m http.server "$1" --bind 127.0.0.1 >/dev/null 2>&1 &
	local pid=$!
	until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do sleep 0.002; done
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}
B="" F=""
for i in $(seq "$runs"); do
	port=$(freeport)
	B+="$(ms "$b" --name web --command "python3 -m http.server $port --bind 127.0.0.1") "
	"$b" --delete web >/dev/null
	port=$(freeport)
	F+="$(ms waitlisten "$port") "
done
row listen "$B" "$F"
echo "($runs alternating runs each; load average $(cut -d' ' -f1-3 /proc/loadavg))"
