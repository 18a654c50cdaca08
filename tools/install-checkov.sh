#!/usr/bin/env bash
# Installs checkov, the independent scanner tests/policy/test_checkov.py runs over every rendered
# Kubernetes manifest, into its own virtualenv (.tools/checkov). It lives apart from .venv on
# purpose: checkov pins boto3, protobuf and pulumi versions that would downgrade the project's.
# The pin is the `scan` extra in pyproject.toml (one place); this script reads it from there.
# Idempotent: does nothing when the pinned version is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.tools/checkov
PIN=$(python3 - <<'PY'
import tomllib
extra = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["scan"]
print(next(r for r in extra if r.startswith("checkov==")))
PY
)
if [ -x "$VENV/bin/checkov" ] && [ "$("$VENV/bin/checkov" --version 2>/dev/null)" = "${PIN#checkov==}" ]; then
    echo "install-checkov: $PIN already installed in $VENV"
    exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "$PIN"
echo "install-checkov: installed $PIN in $VENV"
