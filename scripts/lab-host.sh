#!/usr/bin/env bash
# One lab docker host as a separate machine: its own network namespace, its own Docker engine
# inside it and its own data root. The controller reaches it over a veth pair only.
#
#   scripts/lab-host.sh up     <i>   create what is missing (idempotent); prints "CHANGED: ..." per change;
#                                    a host whose engine died (data left, no dockerd) is cleared first
#   scripts/lab-host.sh down   <i>   stop the engine by its pid file, remove namespace, veth, data; leaves nothing
#   scripts/lab-host.sh status <i>   print the state; exit 0 only when everything is up
#   scripts/lab-host.sh env    <i>   print the host's names and addresses as shell assignments
#   scripts/lab-host.sh list         print the index of every lab host with anything left on this machine
#   scripts/lab-host.sh peer   <i> <j>...  a fleet: host i reaches hosts j over the controller
#                                    (a route per peer in i's namespace, forwarding only between
#                                    those veths on the controller; idempotent, "CHANGED: ..." per change)
#
# Host i (1..63) gets:
#   namespace   cutover-lab-h<i>                    (/run/netns/cutover-lab-h<i>)
#   veth        cutlab-h<i> (controller) <-> eth0 (namespace), 10.231.<i>.0/30:
#               controller 10.231.<i>.1, host 10.231.<i>.2 (no default route inside: the host
#               can talk to the controller and nothing else)
#   engine      dockerd started with nsenter --net (not `ip netns exec`: it remounts /sys and
#               dockerd then finds no devices cgroup), socket /run/cutover-lab-h<i>.sock,
#               pid file /run/cutover-lab/h<i>.pid, exec root /run/cutover-lab/h<i>,
#               data root /var/lib/cutover-lab/h<i>/docker (log: /var/lib/cutover-lab/h<i>/dockerd.log),
#               docker0 --bip 10.232.<i>.1/24, user networks from 10.233.<i>.0/24 in /27s,
#               cgroup parent /cutover-lab-h<i>
#   base image  cutover-lab/base:bookworm loaded from the controller's engine (docker save | load)
#               when the inner engine lacks that image id
# Everything is under names and private addresses of its own; nothing else on the machine is
# touched (the controller's engine and its containers are only read: `docker save`).
set -euo pipefail

BASE_IMAGE="${LAB_BASE_IMAGE:-cutover-lab/base:bookworm}"
WAIT_S="${LAB_HOST_WAIT_S:-60}"

die() { printf 'lab-host: %s\n' "$*" >&2; exit 1; }
changed() { printf 'CHANGED: %s\n' "$*"; }
say() { printf '%s\n' "$*"; }

# Every index with a namespace, veth, pid file, socket or data root on this machine.
cmd_list() {
  {
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/^cutover-lab-h\([0-9]\+\)$/\1/p'
    ip -o link show 2>/dev/null | sed -n 's/^[0-9]*: cutlab-h\([0-9]\+\)[@:].*/\1/p'
    for f in /run/netns/cutover-lab-h* /run/cutover-lab-h*.sock /run/cutover-lab/h* /var/lib/cutover-lab/h*; do
      [[ -e "$f" ]] && basename "$f" | sed -n 's/^\(cutover-lab-\)\?h\([0-9]\+\)\(\.sock\|\.pid\)\?$/\2/p' || true
    done
  } | sort -nu
}
[[ "${1:-}" == list && $# -eq 1 ]] && { cmd_list; exit 0; }

if [[ "${1:-}" == peer && $# -ge 3 ]]; then
  action=peer; i="$2"; shift 2; PEERS=("$@")
else
  [[ $# -eq 2 ]] || die "usage: $0 up|down|status|env <index 1..63> | peer <i> <j>... | list"
  action="$1"
  i="$2"
  PEERS=()
fi
[[ "$i" =~ ^[1-9][0-9]?$ ]] && ((i <= 63)) || die "index must be 1..63, got '$i'"

NS="cutover-lab-h$i"
VETH="cutlab-h$i"           # controller side (interface names are at most 15 characters)
VETH_PEER="cutlab-h$i-ns"   # namespace side before it is renamed to eth0
CTL_ADDR="10.231.$i.1"
HOST_ADDR="10.231.$i.2"
PREFIX=30
BIP="10.232.$i.1/24"
POOL="base=10.233.$i.0/24,size=27"
SOCK="/run/cutover-lab-h$i.sock"
RUN_DIR="/run/cutover-lab"
EXEC_ROOT="$RUN_DIR/h$i"
PIDFILE="$RUN_DIR/h$i.pid"
DATA="/var/lib/cutover-lab/h$i"
DATA_ROOT="$DATA/docker"
LOG="$DATA/dockerd.log"
CONFIG="$DATA/daemon.json"
CGROUP_PARENT="/cutover-lab-h$i"
DOCKER=(docker -H "unix://$SOCK")

[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, dockerd)"

ns_exists() { [[ -e "/run/netns/$NS" ]] && ip netns list | grep -qx "$NS\( (id: [0-9]*)\)\?"; }
link_exists() { ip link show "$VETH" >/dev/null 2>&1; }

# The dockerd of this host: the pid in the pid file, only if that process is a dockerd using our socket.
engine_pid() {
  local pid
  [[ -s "$PIDFILE" ]] || return 1
  pid="$(cat "$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "dockerd .*unix://$SOCK" || return 1
  printf '%s\n' "$pid"
}
engine_answers() { "${DOCKER[@]}" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

cmd_env() {
  cat <<EOF
LAB_HOST_NS=$NS
LAB_HOST_VETH=$VETH
LAB_HOST_ADDR=$HOST_ADDR
LAB_HOST_CONTROLLER_ADDR=$CTL_ADDR
LAB_HOST_SOCKET=$SOCK
LAB_HOST_PIDFILE=$PIDFILE
LAB_HOST_DATA=$DATA
LAB_HOST_EXEC_ROOT=$EXEC_ROOT
EOF
}

up_network() {
  if ! ns_exists; then
    ip netns add "$NS"
    changed "network namespace $NS"
  fi
  # A veth left behind by an earlier namespace (deleted by hand, or its engine gone) has no
  # peer in this one: replace it rather than fail on the missing eth0.
  if link_exists && ! ip -n "$NS" link show eth0 >/dev/null 2>&1; then
    ip link del "$VETH"
    changed "stale veth $VETH removed"
  fi
  if ! link_exists; then
    ip link add "$VETH" type veth peer name "$VETH_PEER" netns "$NS"
    ip -n "$NS" link set "$VETH_PEER" name eth0
    changed "veth $VETH <-> $NS:eth0"
  fi
  # Addresses and link state: converge quietly, report only what was missing.
  if ! ip -4 -o addr show dev "$VETH" | grep -q " $CTL_ADDR/$PREFIX "; then
    ip addr replace "$CTL_ADDR/$PREFIX" dev "$VETH"
    changed "address $CTL_ADDR/$PREFIX on $VETH"
  fi
  if ! ip -n "$NS" -4 -o addr show dev eth0 | grep -q " $HOST_ADDR/$PREFIX "; then
    ip -n "$NS" addr replace "$HOST_ADDR/$PREFIX" dev eth0
    changed "address $HOST_ADDR/$PREFIX on $NS:eth0"
  fi
  local dev
  for dev in lo eth0; do
    if ! ip -n "$NS" link show "$dev" | grep -q '[<,]UP[,>]'; then
      ip -n "$NS" link set "$dev" up
      changed "$NS:$dev up"
    fi
  done
  if ! ip link show "$VETH" | grep -q '[<,]UP[,>]'; then
    ip link set "$VETH" up
    changed "$VETH up"
  fi
}

up_engine() {
  if engine_pid >/dev/null && engine_answers; then
    return 0
  fi
  if ! engine_pid >/dev/null; then
    command -v dockerd >/dev/null || die "dockerd is not installed"
    mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
    chmod 0700 "$DATA" "$RUN_DIR"
    # Our own (empty) config file: never /etc/docker/daemon.json of the controller's engine.
    [[ -f "$CONFIG" ]] || printf '{}\n' >"$CONFIG"
    rm -f "$PIDFILE" "$SOCK"
    # setsid: the engine outlives this script and the ansible task that started it.
    setsid nsenter --net="/run/netns/$NS" \
      dockerd --config-file "$CONFIG" \
        --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" --pidfile "$PIDFILE" \
        -H "unix://$SOCK" --bip "$BIP" --default-address-pool "$POOL" \
        --storage-driver overlay2 --cgroup-parent "$CGROUP_PARENT" \
        </dev/null >>"$LOG" 2>&1 &
    changed "dockerd in $NS (socket $SOCK)"
  fi
  local t
  for ((t = 0; t < WAIT_S * 4; t++)); do
    engine_answers && return 0
    sleep 0.25
  done
  tail -n 20 "$LOG" >&2 || true
  die "the engine of $NS did not answer on $SOCK within ${WAIT_S} s (log: $LOG)"
}

up_base_image() {
  local want have
  want="$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null)" \
    || die "$BASE_IMAGE is not on the controller's engine: run make setup (scripts/build-base-image.sh)"
  have="$("${DOCKER[@]}" image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || true)"
  if [[ "$want" != "$have" ]]; then
    docker save "$BASE_IMAGE" | "${DOCKER[@]}" load -q >/dev/null
    changed "loaded $BASE_IMAGE (${want:7:12}) into $NS"
  fi
}

# What a dead engine of this host left: its pid file, exec root or a data root with content,
# while no dockerd of ours runs (the machine restarted, or the engine was killed).
dead_engine_leftovers() {
  engine_pid >/dev/null && return 1
  [[ -e "$PIDFILE" || -e "$EXEC_ROOT" || -n "$(ls -A "$DATA_ROOT" 2>/dev/null)" ]]
}

cmd_up() {
  # A dead engine's data would bring its containers back with their restart policies, holding
  # the ports and names of whatever ran before ("port is already allocated"). A lab host is
  # disposable: clear the leftovers and build it again from nothing.
  if dead_engine_leftovers; then
    say "$NS: its engine is gone but its data is not; clearing the leftovers first"
    cmd_down
  fi
  mkdir -p "$RUN_DIR" "$DATA"
  up_network
  up_engine
  up_base_image
  say "$NS up: ssh address $HOST_ADDR, engine $SOCK"
}

# Kill one process by pid (TERM, then KILL after a grace period); the pid must be alive.
stop_pid() {
  local pid="$1" grace="$2" t
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((t = 0; t < grace * 10; t++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for ((t = 0; t < 50; t++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
}

cmd_down() {
  local pid f
  if pid="$(engine_pid)"; then
    # The lab's data goes anyway: kill the containers instead of waiting for clean stops.
    if engine_answers; then
      mapfile -t ids < <("${DOCKER[@]}" ps -q)
      ((${#ids[@]} == 0)) || "${DOCKER[@]}" kill "${ids[@]}" >/dev/null 2>&1 || true
    fi
    stop_pid "$pid" 20
    changed "stopped dockerd $pid of $NS"
  fi
  # A dockerd that died leaves its containerd and shims: stop them by their own pid files.
  if [[ -d "$EXEC_ROOT" ]]; then
    while IFS= read -r -d '' f; do
      pid="$(cat "$f" 2>/dev/null || true)"
      # Only a live process of this engine (its command line names our exec root).
      if [[ "$pid" =~ ^[0-9]+$ ]] && { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF "$EXEC_ROOT/"; then
        stop_pid "$pid" 5
        changed "stopped $(basename "$(dirname "$f")") process $pid ($f)"
      fi
    done < <(find "$EXEC_ROOT" \( -name shim.pid -o -name containerd.pid \) -print0 2>/dev/null)
  fi
  # Mounts a dead engine left behind (overlays, shm, container namespaces), deepest first.
  local mounts
  mapfile -t mounts < <(findmnt -rn -o TARGET | grep -E "^($DATA|$EXEC_ROOT)(/|$)" | sort -r || true)
  for f in "${mounts[@]}"; do
    umount -l "$f" 2>/dev/null && changed "unmounted $f"
  done
  down_peer_rules
  if ns_exists || [[ -e "/run/netns/$NS" ]]; then
    ip netns del "$NS"
    changed "removed network namespace $NS"
  fi
  # Normally gone with the namespace (its peer lived there); the kernel may lag a moment.
  if link_exists && ip link del "$VETH" 2>/dev/null; then
    changed "removed veth $VETH"
  fi
  for f in "$DATA" "$EXEC_ROOT"; do
    if [[ -e "$f" ]]; then
      rm -rf --one-file-system "$f"
      changed "removed $f"
    fi
  done
  for f in "$SOCK" "$PIDFILE"; do
    if [[ -e "$f" ]]; then rm -f "$f"; changed "removed $f"; fi
  done
  rmdir "$RUN_DIR" /var/lib/cutover-lab 2>/dev/null || true
  # The engine's cgroup parent (cgroupfs makes one directory per controller).
  while IFS= read -r -d '' f; do
    rmdir "$f" 2>/dev/null && changed "removed cgroup $f"
  done < <(find /sys/fs/cgroup -maxdepth 2 -type d -name "${CGROUP_PARENT#/}" -print0 2>/dev/null)
  say "$NS down"
}

# Forwarding rules on the controller between two lab veths, tagged with this comment so that
# `down` finds and removes exactly the ones of its host.
FWD_TAG="cutover-lab-fleet"
fwd_rule() { printf '%s\n' -i "$1" -o "$2" -m comment --comment "$FWD_TAG" -j ACCEPT; }

# A fleet: host i reaches host j (j's 10.231.<j>.0/30) through the controller, which forwards
# only between the two hosts' veths. Nothing else gains a route: the controller still reaches
# each host over its veth only, and a host still has no default route.
cmd_peer() {
  ns_exists && link_exists || die "host $i is not up (scripts/lab-host.sh up $i first)"
  local j rule
  for j in "${PEERS[@]}"; do
    [[ "$j" =~ ^[1-9][0-9]?$ ]] && ((j <= 63)) && ((j != i)) || die "peer index must be 1..63 and not $i, got '$j'"
    if ! ip -n "$NS" -4 route show "10.231.$j.0/30" | grep -q .; then
      ip -n "$NS" route replace "10.231.$j.0/30" via "$CTL_ADDR" dev eth0
      changed "route 10.231.$j.0/30 via $CTL_ADDR in $NS"
    fi
    for rule in "cutlab-h$i cutlab-h$j" "cutlab-h$j cutlab-h$i"; do
      # shellcheck disable=SC2086
      mapfile -t args < <(fwd_rule $rule)
      if ! iptables -w -C FORWARD "${args[@]}" 2>/dev/null; then
        iptables -w -I FORWARD 1 "${args[@]}"
        changed "forward ${rule/ / -> } on the controller"
      fi
    done
  done
}

# Remove the controller's forwarding rules that name this host's veth (made by peer). A rule
# between two hosts names both veths: when the fleet goes down all at once, the peer's own
# down may remove it first, which is the outcome wanted, not an error.
down_peer_rules() {
  local line
  while IFS= read -r line; do
    # The rule's words have no spaces of their own (FWD_TAG has none): split them as they are.
    # shellcheck disable=SC2086
    if iptables -w ${line/-A FORWARD/-D FORWARD} 2>/dev/null; then
      changed "removed forward rule: $line"
    elif iptables -w ${line/-A FORWARD/-C FORWARD} 2>/dev/null; then
      die "could not remove the forward rule: $line"
    fi
  done < <(iptables -w -S FORWARD 2>/dev/null | grep -E -- "-[io] $VETH( |$)" | grep -F -- "$FWD_TAG" || true)
}

cmd_status() {
  local ok=0 pid
  if ns_exists; then say "namespace $NS: present"; else say "namespace $NS: absent"; ok=1; fi
  if link_exists; then
    say "veth $VETH: $(ip -4 -o addr show dev "$VETH" | awk '{print $4}') -> $HOST_ADDR"
  else
    say "veth $VETH: absent"; ok=1
  fi
  if pid="$(engine_pid)"; then
    if engine_answers; then say "engine: dockerd $pid answers on $SOCK"; else say "engine: dockerd $pid not answering"; ok=1; fi
  else
    say "engine: not running"; ok=1
  fi
  if [[ -d "$DATA" ]]; then say "data root: $DATA ($(du -sh "$DATA" 2>/dev/null | cut -f1))"; else say "data root: absent"; fi
  return "$ok"
}

case "$action" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  peer) cmd_peer ;;
  *) die "unknown action '$action' (up|down|status|env)" ;;
esac
