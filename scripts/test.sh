#!/usr/bin/env bash
# Sets up everything the tests need on a fresh Debian machine, then runs them all.
# Usage: bash scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser journey drives Debian's chromium (never `playwright install`).
if [ ! -x /usr/bin/chromium ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest -p no:cacheprovider "$@"

# The frame tests once more with the C parser turned off: its pyarrow fallback must give the
# same frames (the C-only tests skip, saying why).
LSQ_ANALYSIS_PARSER=pyarrow .venv/bin/python -m pytest -p no:cacheprovider -q \
    tests/test_frames.py tests/test_frames_chunks.py tests/test_frames_c_parser.py \
    tests/test_frames_properties.py tests/test_vocabulary.py
