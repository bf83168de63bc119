#!/bin/sh
# Host key made once per container (kept across restarts), sshd on the host's own address
# (LAB_SSH_LISTEN), the lab's key authorized for deploy (sudo) and root.
set -eu
if [ ! -s /etc/ssh/ssh_host_ed25519_key ]; then
  ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
fi
if [ -z "${LAB_AUTHORIZED_KEY:-}" ] || [ -z "${LAB_SSH_LISTEN:-}" ]; then
  echo "LAB_AUTHORIZED_KEY and LAB_SSH_LISTEN must be set" >&2
  exit 1
fi
umask 077
printf '%s\n' "$LAB_AUTHORIZED_KEY" > /root/.ssh/authorized_keys
printf '%s\n' "$LAB_AUTHORIZED_KEY" > /home/deploy/.ssh/authorized_keys
chown deploy:deploy /home/deploy/.ssh/authorized_keys
exec /usr/sbin/sshd -D -e -o "ListenAddress=${LAB_SSH_LISTEN}"
