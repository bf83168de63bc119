#!/usr/bin/env bash
# One-step, idempotent setup: Debian packages, a running Docker engine, the repo's .venv with
# the pinned toolchain, and the lab's base image. No prompts; safe to run again.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
REPO_ROOT="$PWD"
VENV="$REPO_ROOT/.venv"
PY="${CUTOVER_PYTHON:-python3}"
DOCKERD_LOG="/var/log/cutover-dockerd.log"
# iproute2 (ip netns, veth) and util-linux (nsenter, findmnt): the lab's hosts (scripts/lab-host.sh).
APT_PACKAGES=(docker.io debootstrap git make openssh-client postgresql-client rsync ca-certificates curl iproute2 util-linux)

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || die "run as root or install sudo"
  SUDO="sudo"
fi

# 1. Debian packages -------------------------------------------------------------------------
say "checking Debian packages: ${APT_PACKAGES[*]}"
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if [[ "$p" == docker.io ]] && command -v docker >/dev/null && command -v dockerd >/dev/null; then
    continue  # an engine from another source is fine
  fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing missing packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "all packages present"
fi

# 2. Docker engine ---------------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
  say "docker engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null)): leaving it as it is"
else
  dockerd_bin="$(command -v dockerd || true)"
  [[ -n "$dockerd_bin" ]] || die "no docker engine answers and dockerd is not installed"
  # The machine's own engine (its pid file); the lab hosts' engines are dockerd processes too.
  if [[ -s /var/run/docker.pid ]] && $SUDO kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    say "dockerd is running but not answering yet: waiting for it"
  else
    say "no docker engine answers: starting $dockerd_bin in the background (log: $DOCKERD_LOG)"
    # In a session of its own: it outlives the shell (and process group) that started it.
    $SUDO setsid sh -c "nohup '$dockerd_bin' >>'$DOCKERD_LOG' 2>&1 </dev/null &"
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { tail -n 20 "$DOCKERD_LOG" >&2 || true; die "docker engine did not answer within 60 s"; }
  say "docker engine answers ($(docker version --format '{{.Server.Version}}'))"
fi

# 3. Python virtualenv -----------------------------------------------------------------------
req_hash=$(cat requirements.txt requirements.lock 2>/dev/null | sha256sum | cut -c1-16)
stamp="$VENV/.requirements-$req_hash"
if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating $VENV with $("$PY" --version 2>&1)"
  "$PY" -m venv "$VENV"
fi
if [[ -f "$stamp" ]]; then
  say ".venv is current with requirements.txt (stamp $req_hash)"
else
  say "installing the pinned toolchain into .venv (pip install -r requirements.txt; a few minutes the first time)"
  constraint=()
  [[ -f requirements.lock ]] && constraint=(-c requirements.lock)
  # (pip's "Location ... is ignored" warnings about this machine's extra index are noise)
  "$VENV/bin/python" -m pip install -q -r requirements.txt "${constraint[@]}" \
    2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
  rm -f "$VENV"/.requirements-*
  touch "$stamp"
  say "toolchain installed: $("$VENV/bin/ansible" --version | head -n1)"
fi
if [[ -f python_wrapper/pyproject.toml ]]; then
  wrapper_hash=$(sha256sum python_wrapper/pyproject.toml | cut -c1-16)
  if [[ -f "$VENV/.wrapper-$wrapper_hash" ]]; then
    say "python_wrapper is installed (editable)"
  else
    say "installing python_wrapper (pip install -e python_wrapper)"
    "$VENV/bin/python" -m pip install -q --no-deps -e python_wrapper
    rm -f "$VENV"/.wrapper-*
    touch "$VENV/.wrapper-$wrapper_hash"
  fi
fi

# 4. Base image ------------------------------------------------------------------------------
say "base image"
scripts/build-base-image.sh

say "setup complete"
