#!/usr/bin/env bash
# The whole test suite, from nothing: set up the environment, lint, check the import layers and
# the types, then run pytest.
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth): each test creates and drops its own database.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV="${VENV:-.venv}"
"$VENV/bin/ruff" check .
"$VENV/bin/lint-imports"
"$VENV/bin/mypy"
"$VENV/bin/python" -m pytest -q "$@"
