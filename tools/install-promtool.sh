#!/usr/bin/env bash
# Installs promtool, the Prometheus rule engine tests/components/test_alert_rules.py evaluates the alert
# rules with (`promtool test rules`). Debian's `prometheus` package ships it (bookworm: 2.42.0).
# Idempotent; the packaged Prometheus service is never started by this script or the tests.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
    echo "install-promtool: $(promtool --version 2>&1 | head -n1)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# Keep the packaged service from starting during install (only our own guard is removed).
ADDED_POLICY=
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    ADDED_POLICY=1
fi
cleanup() {
    if [ -n "$ADDED_POLICY" ]; then
        $SUDO rm -f /usr/sbin/policy-rc.d
    fi
}
trap cleanup EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends prometheus
command -v promtool >/dev/null 2>&1 || { echo "install-promtool: prometheus installed but no promtool" >&2; exit 1; }
echo "install-promtool: installed $(promtool --version 2>&1 | head -n1)"
