#!/usr/bin/env bash
# Installs promtool, the Prometheus rule engine tests/components/test_alert_rules.py evaluates the alert
# rules with (`promtool test rules`). Debian's `prometheus` package ships it (bookworm: 2.42.0).
# Idempotent; the packaged Prometheus service is never started by this script or the tests.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if command -v promtool >/dev/null 2>&1; then
    log "$(promtool --version 2>&1 | head -n1)"
    exit 0
fi
apt_install prometheus
command -v promtool >/dev/null 2>&1 || fail "prometheus installed but no promtool"
log "installed $(promtool --version 2>&1 | head -n1)"
