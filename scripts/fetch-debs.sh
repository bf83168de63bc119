#!/usr/bin/env bash
# Download Debian bookworm packages (.deb files, no dependencies) into a directory, from the
# same mirror scripts/build-base-image.sh debootstraps from, with a private apt state (the
# controller's own apt configuration and lists are not used or changed). A package whose
# .deb is already in the directory is not fetched again.
#
#   scripts/fetch-debs.sh <dest-dir> <package>...
#
# The lab's docker-host image installs these with dpkg (sudo for the `deploy` user) on top of
# the base image; the base image itself is left as it is (its hash covers its package list).
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: $0 <dest-dir> <package>..." >&2; exit 2; }
dest="$1"; shift
SUITE="bookworm"

# Same choice of mirror as scripts/build-base-image.sh (kept in step by hand: that script's
# hash covers its own text, so it is not sourced from here).
mirror() {
  local uri=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
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

mkdir -p "$dest"
missing=()
for p in "$@"; do
  compgen -G "$dest/${p}_*.deb" >/dev/null || missing+=("$p")
done
((${#missing[@]})) || { echo "debs present: $*"; exit 0; }

command -v apt-get >/dev/null || { echo "apt-get is needed to fetch ${missing[*]}" >&2; exit 1; }
work="$(mktemp -d /var/tmp/cutover-debs.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/etc/preferences.d" "$work/etc/sources.list.d"
printf 'deb %s %s main\n' "$(mirror)" "$SUITE" >"$work/etc/sources.list"
opts=(
  -o "Dir::Etc::SourceList=$work/etc/sources.list"
  -o "Dir::Etc::SourceParts=$work/etc/sources.list.d"
  -o "Dir::Etc::Preferences=$work/etc/preferences"
  -o "Dir::Etc::PreferencesParts=$work/etc/preferences.d"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::State::Status=/dev/null"
  -o "Dir::Cache=$work/cache"
  -o "APT::Architecture=$(dpkg --print-architecture)"
  -o "APT::Sandbox::User=root"
  -o "Debug::NoLocking=1"
)
echo "fetching ${missing[*]} ($SUITE, $(mirror))"
apt-get "${opts[@]}" -qq update
(cd "$dest" && apt-get "${opts[@]}" -qq download "${missing[@]}")
ls "$dest"
