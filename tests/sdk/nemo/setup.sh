#!/usr/bin/env bash
# Installs the official NeMo Platform SDK (PyPI nemo-platform, pinned in requirements.txt here)
# for tests/sdk/test_nemo_sdk.py into .sdk-cache/nemo-venv at the repository root. The SDK needs
# Python 3.12 or 3.13; the project may run on another version, so it gets a venv of its own.
#
# Python: $NEMO_SDK_PYTHON if set, else the first of python3.12, python3.13 on PATH, then
# $PYENV_ROOT (default ~/.pyenv) and /root/.pyenv versions 3.12.* and 3.13.*, that really runs
# as 3.12 or 3.13 (a pyenv shim for a version that is not active does not).
#
# Only the SDK's client dependencies are installed (`pip install --no-deps -r requirements.txt`):
# the package's own dependency list pulls the whole platform server (see requirements.txt).
# Idempotent: a venv that already holds exactly these pins is left alone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
venv="$repo/.sdk-cache/nemo-venv"
requirements="$here/requirements.txt"
stamp="$venv/.jobmock-requirements.txt"

is_312_or_313() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] in ((3, 12), (3, 13)) else 1)' \
        >/dev/null 2>&1
}

find_python() {
    local candidate
    if [[ -n "${NEMO_SDK_PYTHON:-}" ]]; then
        if is_312_or_313 "$NEMO_SDK_PYTHON"; then
            echo "$NEMO_SDK_PYTHON"
            return 0
        fi
        echo "setup.sh: NEMO_SDK_PYTHON=$NEMO_SDK_PYTHON is not a working Python 3.12 or 3.13" >&2
        return 1
    fi
    for candidate in python3.12 python3.13; do
        if command -v "$candidate" >/dev/null && is_312_or_313 "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    shopt -s nullglob
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[23].*/bin/python \
                     /root/.pyenv/versions/3.1[23].*/bin/python; do
        if is_312_or_313 "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    echo "setup.sh: no Python 3.12 or 3.13 found (nemo-platform 0.6.0 needs one): looked for" \
         "python3.12/python3.13 on PATH and under ${PYENV_ROOT:-$HOME/.pyenv}/versions and" \
         "/root/.pyenv/versions; install one (e.g. pyenv install 3.12) or set NEMO_SDK_PYTHON" >&2
    return 1
}

sdk_ready() {
    [[ -x "$venv/bin/python" ]] && is_312_or_313 "$venv/bin/python" \
        && [[ -f "$stamp" ]] && cmp -s "$stamp" "$requirements" \
        && "$venv/bin/python" -c 'import nemo_platform, nemo_platform_ext.client.factory' \
            >/dev/null 2>&1
}

if sdk_ready; then
    echo "nemo-platform SDK up to date in ${venv#"$repo"/}"
else
    if [[ ! -x "$venv/bin/python" ]] || ! is_312_or_313 "$venv/bin/python"; then
        python="$(find_python)"
        echo "creating ${venv#"$repo"/} with $python ($("$python" -V 2>&1))"
        rm -rf "$venv"
        mkdir -p "$(dirname "$venv")"
        "$python" -m venv "$venv"
    fi
    rm -f "$stamp"
    started=$SECONDS
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        -r "$requirements"
    cp "$requirements" "$stamp"
    echo "installed $(grep -c '==' "$requirements") pinned packages in $((SECONDS - started)) s"
fi
"$venv/bin/python" - <<'EOF'
import sys
from importlib.metadata import version
print(f"nemo-platform {version('nemo-platform')} on Python {sys.version.split()[0]}")
EOF
