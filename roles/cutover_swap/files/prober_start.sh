#!/bin/sh
# Start the swap's downtime prober on the host and return once it measures.
#
#   prober_start.sh DIR WAIT_S PYTHON [PROBER ARGS...] < downtime_prober.py
#
# Writes the prober's source (stdin) to DIR/downtime_prober.py (DIR made 0700) and starts it in
# its own session, detached: it outlives this call, its stderr goes to DIR/stderr. Prints its
# pid once it has written DIR/pid (after its first round of requests). Exit 1 naming why when
# it ends first (the last lines of its stderr) or has not measured within WAIT_S (it is then
# stopped: nothing is left running). prober_stop.sh stops it; the path of its file in its
# command line is how prober_stop.sh knows it.
set -u

[ $# -ge 3 ] || { echo "usage: prober_start.sh DIR WAIT_S PYTHON [ARGS...] < downtime_prober.py" >&2; exit 2; }
dir=$1 wait_s=$2 python=$3
shift 3
umask 077
mkdir -p "$dir" && cat > "$dir/downtime_prober.py" || exit 1
rm -f "$dir/pid"

setsid "$python" "$dir/downtime_prober.py" "$@" < /dev/null > /dev/null 2> "$dir/stderr" &
pid=$!

running() {  # a child that ended stays a zombie until reaped: not running
  [ -r "/proc/$pid/stat" ] && ! grep -qs '^[0-9]* ([^)]*) Z' "/proc/$pid/stat"
}

tenths=$((wait_s * 10))
while [ ! -s "$dir/pid" ]; do
  if ! running; then
    echo "the prober ended before it measured: $(tail -n 3 "$dir/stderr" | tr '\n' ' ')" >&2
    exit 1
  fi
  if [ "$tenths" -le 0 ]; then
    kill -TERM "$pid" 2>/dev/null
    echo "the prober did not measure within ${wait_s}s: $(tail -n 3 "$dir/stderr" | tr '\n' ' ')" >&2
    exit 1
  fi
  sleep 0.1
  tenths=$((tenths - 1))
done
echo "$pid"
