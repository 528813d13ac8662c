#!/usr/bin/env bash
# Compiles README.md's quick start (its first C++ block) against the built library and runs
# it: the README's example must build and print what it says it prints.
set -euo pipefail
readme=$1 include=$2 library=$3 cxx=$4 out=$5
mkdir -p "$out"
awk '/^```cpp$/ { inside = 1; next } /^```$/ { if (inside) exit } inside' "$readme" \
  >"$out/quick_start.cpp"
grep -q "int main" "$out/quick_start.cpp"
"$cxx" -std=c++20 -O1 -I"$include" "$out/quick_start.cpp" "$library" -lsodium -lpthread \
  -o "$out/quick_start"
got=$("$out/quick_start")
if [[ "$got" != "hello world" ]]; then
  echo "the quick start printed '$got', not 'hello world'" >&2
  exit 1
fi
echo "README quick start: built and printed 'hello world'"
