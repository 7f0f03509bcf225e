#!/bin/sh
# bulk.sh times the bulk actions over COUNT records (default 50) of a plain
# `sleep`, against the floors that issue 16 sets: `--restart-all` against one
# startup window plus a second, `--stop-all` against one stop. It also times
# 30 guarded starts run at once (each handed to the store's one supervisor).
#
#   sh testdata/bench/bulk.sh [COUNT]
#
# The startup window is the default 500 ms. Linux only; it cleans up after
# itself.
set -eu
n=${1:-50}
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
b="$tmp/bgrun"
(cd "$top" && CGO_ENABLED=0 go build -o "$b" .)
export HOME="$tmp/home"
mkdir -p "$HOME"
trap '"$b" --nuke >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
ms() { date +%s%N | cut -c1-13; }
for i in $(seq "$n"); do "$b" --name "p$i" --command "sleep 100000" >/dev/null & done
wait
t=$(ms); "$b" --stop p1 >/dev/null; one=$(($(ms) - t))
"$b" --restart p1 >/dev/null
t=$(ms); "$b" --restart-all >/dev/null; ra=$(($(ms) - t))
t=$(ms); "$b" --stop-all >/dev/null; sa=$(($(ms) - t))
"$b" --nuke >/dev/null
t=$(ms)
for i in $(seq 30); do "$b" --name "g$i" --command "sleep 100000" --guard >/dev/null & done
wait
g=$(($(ms) - t))
running=$("$b" --json | grep -c '"status": "running"' || true)
printf '%-34s %8s   %s\n' "work" "ms" "floor"
printf '%-34s %8d   %s\n' "--restart-all of $n" "$ra" "one window + 1 s = 1500 ms"
printf '%-34s %8d   %s\n' "--stop-all of $n" "$sa" "one stop = $one ms"
printf '%-34s %8d   %s\n' "30 guarded starts at once" "$g" "one window = 500 ms ($running of 30 running)"
echo "(load average $(cut -d' ' -f1-3 /proc/loadavg))"
