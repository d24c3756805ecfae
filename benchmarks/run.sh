#!/usr/bin/env bash
# The benchmark, from a fresh clone: its own venv (benchmarks/.venv), vaultpapers installed from
# this checkout, obsidiantools for the reference point, then every size.
#   bash benchmarks/run.sh                      # 1k, 10k and 50k notes
#   bash benchmarks/run.sh --sizes 1000 10000   # any option of benchmarks/run.py
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
venv=benchmarks/.venv
mkdir -p benchmarks/out
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
# Reinstalled every time, so the numbers are always of this checkout; the log only on failure.
if ! "$venv/bin/python" -m pip install -e . -r benchmarks/requirements.txt \
        >benchmarks/out/pip.log 2>&1; then
    cat benchmarks/out/pip.log >&2
    exit 1
fi
# Timed as a user's install runs: from compiled bytecode (pip compiles it when installing; an
# editable install compiles on first import, unless PYTHONDONTWRITEBYTECODE says not to).
unset PYTHONDONTWRITEBYTECODE
"$venv/bin/python" -m compileall -q src >/dev/null
exec "$venv/bin/python" benchmarks/run.py "$@"
