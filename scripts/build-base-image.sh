#!/usr/bin/env bash
# Build the lab's base image from Debian packages: debootstrap --variant=minbase bookworm,
# strip caches/docs, `docker import` it as cutover-lab/base:<hash12> and tag it
# cutover-lab/base:bookworm. The hash covers the package list and this script: when an image
# with that tag exists already it is reused.
set -euo pipefail

REPO="cutover-lab/base"
SUITE="bookworm"
# Every Debian package the lab images and the workload need (no pip/apt inside Dockerfiles).
PACKAGES=(
  ca-certificates
  curl
  haproxy
  iproute2
  openssh-server
  postgresql-15
  postgresql-client-15
  procps
  python3
  python3-boto3
  python3-psycopg2
  python3-requests
  tini
)

say() { printf '==> %s\n' "$*"; }

mirror() {
  local uri=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    # First "URIs:" of a stanza whose Suites mention bookworm (not -security).
    uri=$(awk '
      /^[[:space:]]*$/ { if (u != "" && s ~ /(^| )bookworm( |$)/) { print u; exit } u=""; s=""; next }
      /^URIs:/ { u=$2 }
      /^Suites:/ { $1=""; s=$0" " }
      END { if (u != "" && s ~ /(^| )bookworm( |$)/) print u }
    ' /etc/apt/sources.list.d/*.sources | head -n1)
  fi
  if [[ -z "$uri" && -f /etc/apt/sources.list ]]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list | head -n1)
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

script_path="$(readlink -f "${BASH_SOURCE[0]}")"
hash=$( { printf '%s\n' "$SUITE" "${PACKAGES[@]}"; cat "$script_path"; } | sha256sum | cut -c1-12)
tag="$REPO:$hash"

if docker image inspect "$tag" >/dev/null 2>&1; then
  say "base image $tag exists (inputs unchanged): reusing it"
  docker tag "$tag" "$REPO:$SUITE"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "debootstrap is not installed (run scripts/setup.sh)" >&2; exit 1; }

MIRROR="$(mirror)"
work="$(mktemp -d /var/tmp/cutover-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/root"

say "debootstrap --variant=minbase $SUITE from $MIRROR with ${#PACKAGES[@]} packages (about 1-2 minutes)"
include=$(IFS=,; echo "${PACKAGES[*]}")
start=$SECONDS
if ! debootstrap --variant=minbase --include="$include" "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
  tail -n 30 "$work/debootstrap.log" >&2
  [[ -f "$root/debootstrap/debootstrap.log" ]] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
  echo "debootstrap failed" >&2
  exit 1
fi
say "debootstrap done in $((SECONDS - start)) s"

say "stripping apt caches, docs, man pages, locales"
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log \
  "$root"/var/cache/debconf/*-old "$root"/debootstrap
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
# The Debian postinst made a default cluster and host keys; lab images make their own.
rm -rf "$root"/etc/postgresql/15/main "$root"/var/lib/postgresql/15
rm -f "$root"/etc/ssh/ssh_host_*
printf 'nameserver 127.0.0.1\n' >"$root/etc/resolv.conf"

say "importing into docker as $tag"
tar -C "$root" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$tag" >/dev/null
docker tag "$tag" "$REPO:$SUITE"
say "base image ready: $tag (also $REPO:$SUITE)"
