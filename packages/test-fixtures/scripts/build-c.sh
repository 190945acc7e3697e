#!/usr/bin/env bash
# Regenerates wasm/*.wasm from c/*.c with clang's wasm32-wasi target and wasi-libc.
# The outputs are committed, so a normal build needs no C toolchain; run this only
# after changing a C source. Needs (Debian): clang lld wasi-libc libclang-rt-dev-wasm32.
set -euo pipefail
cd "$(dirname "$0")/.."
for source in c/*.c; do
  name=$(basename "$source" .c)
  clang --target=wasm32-wasi -O2 -nostartfiles -Wl,--no-entry -Wl,--strip-debug -o "wasm/$name.wasm" "$source"
  echo "wasm/$name.wasm: $(wc -c < "wasm/$name.wasm") bytes"
done
