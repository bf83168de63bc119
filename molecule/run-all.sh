#!/usr/bin/env bash
# Run every molecule scenario (molecule/<role>/) one after the other, then print one line per
# scenario: PASS/FAIL and seconds. Exits non-zero when any scenario fails.
#   molecule/run-all.sh                      every scenario
#   molecule/run-all.sh cutover_swap ...     only these
# Needs the repo's .venv (make setup) or MOLECULE_VENV=/path/to/venv, a running Docker engine
# and the base image cutover-lab/base:bookworm. Logs: artifacts/molecule/<scenario>.log.
set -uo pipefail
repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
venv=${MOLECULE_VENV:-$repo/.venv}
export PATH="$venv/bin:$PATH"
cd "$repo"
if ! docker image inspect cutover-lab/base:bookworm >/dev/null 2>&1; then
  echo "molecule: the base image cutover-lab/base:bookworm is missing (run make setup)" >&2
  exit 2
fi
if [[ $# -gt 0 ]]; then
  scenarios=("$@")
else
  mapfile -t scenarios < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -n1 basename | sort)
fi
logs=$repo/artifacts/molecule
mkdir -p "$logs"
summary=()
failed=0
total_start=$SECONDS
for s in "${scenarios[@]}"; do
  start=$SECONDS
  echo "==> molecule test -s $s (log: artifacts/molecule/$s.log)"
  if molecule test -s "$s" >"$logs/$s.log" 2>&1; then
    result=PASS
  else
    result=FAIL
    failed=$((failed + 1))
    tail -n 40 "$logs/$s.log" | sed 's/\x1b\[[0-9;]*m//g'
  fi
  line=$(printf '%-22s %s %4ds' "$s" "$result" $((SECONDS - start)))
  echo "$line"
  summary+=("$line")
done
echo
echo "==> molecule summary (${#scenarios[@]} scenarios, $((SECONDS - total_start)) s)"
printf '%s\n' "${summary[@]}"
if [[ $failed -gt 0 ]]; then
  echo "==> molecule: $failed scenario(s) failed"
  exit 1
fi
echo "==> molecule: all passed"
