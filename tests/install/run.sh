#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs a consumer against it
# twice: with find_package(ipcx CONFIG) and with pkg-config.
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
g++ -o "$work/pc-consumer" "$consumer/main.cpp" $(pkg-config --cflags --libs ipcx)
"$work/pc-consumer"
echo "1 passed, 0 failed: install consumer (cmake and pkg-config)"
