#!/bin/sh
# Host key made once per container (kept across restarts), authorized key from the lab.
set -eu
if [ ! -s /etc/ssh/ssh_host_ed25519_key ]; then
  ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
fi
if [ -z "${LAB_AUTHORIZED_KEY:-}" ]; then
  echo "LAB_AUTHORIZED_KEY is not set" >&2
  exit 1
fi
umask 077
mkdir -p /root/.ssh
printf '%s\n' "$LAB_AUTHORIZED_KEY" > /root/.ssh/authorized_keys
exec /usr/sbin/sshd -D -e
