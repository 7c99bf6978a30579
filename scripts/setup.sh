#!/usr/bin/env bash
# Set up a virtual environment with everything gnn-sweeper needs (CPU torch first, so pip never
# fetches a multi-GB CUDA build), then install the project with its test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "torch==2.13.0"
"$VENV/bin/pip" install --quiet -e ".[dev,ogb]"
echo "ready: source $VENV/bin/activate"
