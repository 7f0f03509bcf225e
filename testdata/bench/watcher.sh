#!/bin/sh
# watcher.sh measures the file watcher over a tree of 10,000 files (200 folders of 50,
# all last modified a day ago but one): the time from a change to the watcher's
# callback for an edit of a recently edited file, an edit of files untouched for a day,
# a create, a delete, a rename and an atomic save (12 of each, mean and worst), the CPU
# it takes while idle (process CPU time over wall time, from /proc/self/stat) and how
# long one full sweep of the tree takes. It runs BenchmarkWatch10k in watch/ and prints
# the load average before and after, since a loaded machine slows every lstat.
#
#   sh testdata/bench/watcher.sh [IDLE_SECONDS]
#
# Targets (issue 16): an edit of a recently edited file noticed within 300 ms; any change
# anywhere within 1.5 s; idle cost at most 2% of one core. Linux only (it reads /proc).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
echo "load average before: $(cat /proc/loadavg)"
cd "$top"
BGRUN_BENCH_IDLE=${1:-20} go test -run '^$' -bench '^BenchmarkWatch10k$' -benchtime 1x -v ./watch/ |
	grep -v '^goos\|^goarch\|^pkg\|^cpu:\|^PASS\|^ok'
echo "load average after: $(cat /proc/loadavg)"
