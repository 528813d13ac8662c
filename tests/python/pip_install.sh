#!/usr/bin/env bash
# The Python package as a user installs it from a checkout: pip with setuptools as the build
# backend, no network, in a venv that sees Debian's packages (Debian's Python is externally
# managed). The sources are copied first: pip builds in place.
set -euo pipefail
source=$1 python=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
cp -r "$source"/{CMakeLists.txt,cmake,include,src,python} "$work/src/"
rm -rf "$work/src/python/build" "$work/src/python"/*.egg-info
"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install --quiet --no-build-isolation --no-index "$work/src/python"
cd "$work"
"$work/venv/bin/python" - <<'PY'
import os
import ipcx
assert "/venv/" in ipcx.__file__, ipcx.__file__
with ipcx.Server() as server:
    url = server.bind(f"shm://ipcx-pip-{os.getpid()}")
    server.handler(lambda request: [b"installed", *request.frames])
    server.start()
    with ipcx.Client(url) as client:
        assert client.call(b"x", timeout=20) == [b"installed", b"x"]
print("1 passed, 0 failed: pip install ./python in a venv")
PY
