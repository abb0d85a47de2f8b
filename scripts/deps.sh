#!/usr/bin/env bash
# Installs what Focus needs from Debian's packages. Idempotent: does nothing when all are present.
set -euo pipefail
pkgs=(
  cmake ninja-build g++ make pkg-config
  libopenblas-dev libopenblas0-openmp   # GEMM; the OpenMP build shares Focus's thread pool
  nlohmann-json3-dev libcli11-dev
  zlib1g-dev libpng-dev libjpeg-dev     # gzip'd IDX files, PNG/JPEG images
  dataset-fashion-mnist                 # the image-recognition data (issue 5)
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy python3-torch   # reference for fixtures and the benchmark peer
  clang-format
  libsentencepiece-dev                  # text (issue 6): tokeniser (npm, already on the machines, fetches the corpus)
  libsndfile1-dev libfftw3-dev          # speech: sound files, log-mel spectrograms (issue 7)
  espeak-ng libespeak-ng-dev flite flite1-dev  # speech: the synthetic spoken-command data (issue 7)
  festival festvox-kdlpc16k             # speech: a second training engine (festival's kd voice)
  festvox-italp16k festvox-itapc16k festvox-ca-ona-hts festvox-czech-dita festvox-czech-machac
  festvox-suopuhe-lj festvox-suopuhe-mv # speech: festival voices of other languages, words respelt
  python3-pil                           # image fixtures (scripts/gen_image_fixtures.py)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
