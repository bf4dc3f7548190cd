#!/usr/bin/env bash
# Installs nimble-python 0.24.0 (the last release whose typed methods reach Nimble's /v1/jobs, the
# seed API) into its own venv, .sdk-cache/nimble-0.24.0/ at the repository root, for
# tests/sdk/test_nimble_sdk.py. It cannot share the project venv: 1.x (the current SDK, /v2/jobs,
# pinned in the dev extra) installs the same `nimble_python` package.
# Idempotent: the venv is created once; pip then only checks the pinned requirements.
# PYTHON picks the interpreter (default python3; the SDK needs Python >= 3.9).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
venv="$root/.sdk-cache/nimble-0.24.0"
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "setup.sh: $python is not on PATH" >&2; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$here/requirements-0.24.txt"
"$venv/bin/python" -c 'import sys, nimble_python
print(f"nimble-python {nimble_python.__version__} on Python {sys.version.split()[0]} in '"$venv"'")'
