#!/usr/bin/env bash
# Trains one config with seeds 1..N and scores the models as one ensemble:
#   scripts/train_ensemble.sh [FOCUS_BINARY] CONFIG OUT N [JOBS] [--set key=value ...] [-- EVAL_FLAGS]
# Member S is `focus train --config CONFIG --seed S --threads 1 --out OUT/seedS`, its output in
# OUT/seedS.log; JOBS members train at once (default: the number of cores). A member whose log
# already ends in a test accuracy is not trained again, so an interrupted run picks up where it
# stopped. The last step is the ensemble's report, with any flags given after `--` (test-time
# views: `-- --mirror` for images, `-- --shifts=-50,0,50` for speech):
#   focus eval OUT/seed1 ... OUT/seedN --report --out OUT/ensemble [EVAL_FLAGS]
# Each member's training is deterministic by its seed, so the ensemble is too.
set -euo pipefail
focus=build/release/focus
if [ $# -ge 1 ] && [ -x "$1" ] && [ ! -d "$1" ]; then focus=$1; shift; fi
usage="usage: $0 [FOCUS_BINARY] CONFIG OUT N [JOBS] [--set key=value ...] [-- EVAL_FLAGS]"
[ $# -ge 3 ] || { echo "$usage" >&2; exit 1; }
config=$1 out=$2 n=$3
shift 3
jobs=$(nproc)
if [ $# -ge 1 ] && [[ $1 != -* ]]; then jobs=$1; shift; fi
train_args=() eval_args=()
while [ $# -ge 1 ] && [ "$1" != -- ]; do train_args+=("$1"); shift; done
if [ $# -ge 1 ]; then shift; eval_args=("$@"); fi
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "train_ensemble: N must be a positive count, got '$n'" >&2; exit 1; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "train_ensemble: JOBS must be a positive count, got '$jobs'" >&2; exit 1; }
[ -f "$config" ] || { echo "train_ensemble: no config at $config" >&2; exit 2; }
mkdir -p "$out"

train_one() {  # seed; the rest of the arguments are train's
  local s=$1 log="$out/seed$1.log"
  shift
  if [ -f "$log" ] && grep -q '^test accuracy' "$log"; then
    echo "seed $s: trained already ($(grep '^test accuracy' "$log"))"
    return 0
  fi
  if ! "$focus" train --config "$config" --out "$out/seed$s" --seed "$s" --threads 1 --quiet \
      "$@" >"$log" 2>&1; then
    echo "seed $s: training failed, see $log:" >&2
    # focus's one-line error (stderr is unbuffered, so it need not be the log's last line).
    grep -m 3 '^focus ' "$log" >&2 || tail -n 3 "$log" >&2
    return 1
  fi
  echo "seed $s: $(grep '^test accuracy' "$log")"
}
export -f train_one
export focus config out
seq 1 "$n" | xargs -P "$jobs" -I{} bash -c 'train_one "$@"' _ {} ${train_args[@]+"${train_args[@]}"}

members=()
for s in $(seq 1 "$n"); do members+=("$out/seed$s"); done
if [ "$n" -eq 1 ]; then
  "$focus" eval "${members[@]}" --threads "$jobs" ${eval_args[@]+"${eval_args[@]}"}
else
  "$focus" eval "${members[@]}" --report --out "$out/ensemble" --threads "$jobs" \
    ${eval_args[@]+"${eval_args[@]}"}
fi
