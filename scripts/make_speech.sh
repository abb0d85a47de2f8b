#!/usr/bin/env bash
# Synthesises (and caches) the spoken-command corpus a config names, without training a model:
#   scripts/make_speech.sh [FOCUS_BINARY] CONFIG [--set data.cache=DIR ...]
# The corpus is made by the commands task when `focus train` loads its data; this starts such a
# run for a single step in a throw-away directory. Later runs with the same data options read the
# cache (.cache/speech/<key>/corpus.bin, or $FOCUS_CACHE/speech) instead of synthesising again.
set -euo pipefail
focus=build/release/focus
if [ $# -ge 1 ] && [ -x "$1" ] && [ ! -d "$1" ]; then focus=$1; shift; fi
[ $# -ge 1 ] || { echo "usage: $0 [FOCUS_BINARY] CONFIG [--set key=value ...]" >&2; exit 1; }
config=$1; shift
out=$(mktemp -d "${TMPDIR:-/tmp}/focus-make-speech.XXXXXX")
trap 'rm -rf "$out"' EXIT
if ! "$focus" train --config "$config" --out "$out" --max-steps 1 --quiet --threads 2 "$@" \
    >"$out/log" 2>&1; then
  cat "$out/log" >&2
  exit 1
fi
grep -E '^(speech|model):' "$out/log" || true
