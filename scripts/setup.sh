#!/usr/bin/env bash
# Set up a virtual environment with everything gnn-sweeper needs (CPU torch first, so pip never
# fetches a multi-GB CUDA build), then install the project with its test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet "torch==2.13.0"
"$VENV/bin/pip" install --quiet -e ".[dev,ogb]"
# The browser tests drive Debian's headless Chromium (never a browser playwright downloads);
# the live-view tests drive a real terminal through tmux.
MISSING=""
[ -x /usr/bin/chromium ] || MISSING="chromium"
command -v tmux >/dev/null 2>&1 || MISSING="$MISSING tmux"
if [ -n "$MISSING" ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $MISSING >/dev/null
fi
echo "ready: source $VENV/bin/activate"
