#!/usr/bin/env bash
# Loads an attention view (focus predict ... --attention VIEW.html) in headless Chromium, fails if
# the page logs anything to the console (script errors, failed loads), and takes a screenshot.
#
#   scripts/screenshot_attention.sh VIEW.html [OUT.png]     (default OUT: out/<name>.png)
#
# Installs Debian's chromium when it is missing (large, so it is not in scripts/deps.sh).
# Exit codes: 0 ok, 1 console messages or no screenshot, 2 usage or chromium unavailable.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 1 ] || { echo "usage: $0 VIEW.html [OUT.png]" >&2; exit 2; }
html="$(realpath "$1")"
[ -f "$html" ] || { echo "screenshot: no file '$1'" >&2; exit 2; }
png="${2:-$root/out/$(basename "${html%.*}").png}"
mkdir -p "$(dirname "$png")"
png="$(realpath -m "$png")"

browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "screenshot: installing Debian's chromium"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; then
    echo "screenshot: cannot install chromium (apt-get failed)" >&2
    exit 2
  fi
  browser="$(command -v chromium)"
fi

log="$(mktemp)"
profile="$(mktemp -d)"
trap 'rm -rf "$log" "$profile"' EXIT
rm -f "$png"
# --enable-logging=stderr writes every console message as "...:CONSOLE(line)] "text", source: ...".
timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
  --no-first-run --user-data-dir="$profile" --enable-logging=stderr --v=0 \
  --hide-scrollbars --window-size=1200,1400 --screenshot="$png" "file://$html" >"$log" 2>&1 || {
  echo "screenshot: chromium failed:" >&2
  tail -n 20 "$log" >&2
  exit 1
}
if grep -E ':CONSOLE\(|Uncaught|Failed to load resource' "$log" >/dev/null; then
  echo "screenshot: console messages while loading $html:" >&2
  grep -E ':CONSOLE\(|Uncaught|Failed to load resource' "$log" >&2
  exit 1
fi
[ -s "$png" ] || { echo "screenshot: chromium wrote no screenshot to $png" >&2; tail -n 20 "$log" >&2; exit 1; }
echo "screenshot: $html loaded without console messages; screenshot $png ($(stat -c %s "$png") bytes)"
