#!/bin/sh
# Stop downtime probers on the host and remove their directories.
#
#   prober_stop.sh --figures DIR WAIT_S   the swap's own prober: print DIR/downtime.json ("{}"
#                                         when it wrote none)
#   prober_stop.sh --under RUNS WAIT_S    every RUNS/*/prober a dead run left behind: print
#                                         "stopped the prober of run <id>" per directory
#
# A prober ends by itself when DIR/stop appears, writing its figures; one still running after
# WAIT_S gets TERM (it writes its figures then too). Only a process whose command line names
# downtime_prober is signalled: a pid from a file may since belong to someone else.
set -u

usage() { echo "usage: prober_stop.sh --figures DIR WAIT_S | --under RUNS WAIT_S" >&2; exit 2; }

is_prober() { [ -n "$1" ] && grep -qs downtime_prober "/proc/$1/cmdline"; }

wait_gone() {  # pid tenths
  n=$2
  while [ "$n" -gt 0 ] && is_prober "$1"; do sleep 0.1; n=$((n - 1)); done
}

stop_one() {  # dir wait_s
  touch "$1/stop"
  pid=$(cat "$1/pid" 2>/dev/null || true)
  wait_gone "$pid" $(($2 * 10))
  if is_prober "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 100
  fi
}

[ $# -eq 3 ] || usage
case $1 in
  --figures)
    dir=$2
    if [ -d "$dir" ]; then
      stop_one "$dir" "$3"
      cat "$dir/downtime.json" 2>/dev/null || echo '{}'
      rm -rf "$dir"
    else
      echo '{}'
    fi
    ;;
  --under)
    for dir in "$2"/*/prober; do
      [ -d "$dir" ] || continue
      stop_one "$dir" "$3"
      rm -rf "$dir"
      echo "stopped the prober of run $(basename "$(dirname "$dir")")"
    done
    ;;
  *) usage ;;
esac
