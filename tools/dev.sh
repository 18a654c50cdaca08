#!/usr/bin/env bash
# One entry point for people and CI:
#   tools/dev.sh plan    set up the venv, then render the offline plan of both stacks
#   tools/dev.sh test    set up everything the tests need (venv, emulators, DNS server), run the suite
#   tools/dev.sh lint    the stack files' validation pass (python -m infra.check), ruff, mypy
#   tools/dev.sh mutation [args]  set up the venv, then tools/mutation.sh [args] (slow: not in `test`)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
PY="$VENV/bin/python"

setup_python() {
  if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV"
  fi
  # Skip the (slow) resolver run when the project's dependencies have not changed.
  local stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    "$PY" -m pip install --quiet --upgrade pip
    "$PY" -m pip install --quiet -e '.[dev]'
    touch "$stamp"
  fi
}

setup_test_servers() {
  bash tools/install-emulators.sh
  bash tools/install-dns-server.sh
  bash tools/install-checkov.sh
  bash tools/install-edge-proxy.sh
  bash tools/install-promtool.sh
}

case "${1:-}" in
  plan)
    setup_python
    "$PY" -m infra.check
    "$PY" -m infra.plan primary
    "$PY" -m infra.plan standby
    ;;
  test)
    setup_python
    setup_test_servers
    shift
    # One worker per core (PYTEST_WORKERS=0 runs in this process); a file's tests stay together.
    "$PY" -m pytest -n "${PYTEST_WORKERS:-auto}" --dist loadfile "$@"
    ;;
  lint)
    setup_python
    "$PY" -m infra.check
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    "$VENV/bin/mypy"
    ;;
  mutation)
    setup_python
    shift
    bash tools/mutation.sh "$@"
    ;;
  *)
    echo "usage: tools/dev.sh plan|test|lint|mutation" >&2
    exit 2
    ;;
esac
