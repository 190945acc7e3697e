#!/usr/bin/env bash
# Rebuilds walk.wasm from walk.c (clang-14 with the wasm32 target: see scripts/setup-engines.mjs).
set -euo pipefail
cd "$(dirname "$0")"
clang-14 --target=wasm32 -O3 -mbulk-memory -nostdlib -Wl,--no-entry -Wl,--export-dynamic \
  -Wl,--initial-memory=67108864 -o walk.wasm walk.c
