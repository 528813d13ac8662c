#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs consumers against it:
# C++ with find_package(ipcx CONFIG) and with pkg-config, and C with pkg-config --static.
set -euo pipefail
build=$1 consumer=$2 cmake=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cmake" --install "$build" --prefix "$work/prefix" >/dev/null
"$cmake" -S "$consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
"$cmake" --build "$work/build" >/dev/null
"$work/build/consumer"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib64/pkgconfig:$(ls -d "$work"/prefix/lib/*/pkgconfig 2>/dev/null | tr '\n' ':')"
# shellcheck disable=SC2046
g++ -std=c++20 -o "$work/pc-consumer" "$consumer/main.cpp" $(pkg-config --cflags --libs ipcx)
"$work/pc-consumer"
# C, as a C user links the static library: the flags hold nothing C++-only and name the C++
# runtime. Warnings are errors: the header must be clean C11.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$work/c-consumer" "$consumer/main.c" \
  $(pkg-config --cflags --libs --static ipcx)
"$work/c-consumer"
# The Python package, where the build made one: importable from the prefix alone.
package=$(ls -d "$work"/prefix/lib*/python3*/dist-packages 2>/dev/null | head -n 1 || true)
if [[ -n "$package" ]]; then
  (cd "$work" && PYTHONPATH=$package PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -c \
    'import ipcx, sys; assert sys.argv[1] in ipcx.__file__; print("Python package ok", ipcx.__version__)' \
    "$package")
fi
echo "1 passed, 0 failed: install consumer (cmake, pkg-config, C with pkg-config --static, Python)"
