#!/usr/bin/env bash
# Smoke run of the examples (ctest): the server on unix and tcp, the client over each.
set -euo pipefail
server_bin=$1 client_bin=$2
dir=$(mktemp -d)
"$server_bin" "unix://$dir/ex.sock" tcp://127.0.0.1:0 >"$dir/out" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 200); do
  [[ $(grep -c '^bound ' "$dir/out" || true) -ge 2 ]] && break
  sleep 0.05
done
for url in $(sed -n 's/^bound //p' "$dir/out"); do
  got=$("$client_bin" "$url" one two three | tr '\n' ' ')
  [[ "$got" == "three two one " ]] || { echo "FAIL $url: $got"; exit 1; }
  echo "ok: $url"
done
echo "1 passed, 0 failed: examples"
