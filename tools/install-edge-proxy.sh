#!/usr/bin/env bash
# Installs the edge proxy the tests run for real: NGINX 1.x with the njs module (the key check),
# from Debian. Same software and major version as the pod's image (components/inference_cluster/
# edge_proxy.py EDGE_PROXY_IMAGE, nginx-unprivileged 1.x, which ships njs). Idempotent. The tests
# start their own nginx on 127.0.0.1 with the rendered config; the Debian service is never started.
set -euo pipefail

PACKAGES=(nginx-light libnginx-mod-http-js)
MODULE=/usr/lib/nginx/modules/ngx_http_js_module.so

if command -v nginx >/dev/null 2>&1 && [ -f "$MODULE" ]; then
    echo "install-edge-proxy: nginx and njs are already installed"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
ADDED_POLICY=
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    ADDED_POLICY=1
fi
cleanup() { if [ -n "$ADDED_POLICY" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"
if ! command -v nginx >/dev/null 2>&1 || [ ! -f "$MODULE" ]; then
    echo "install-edge-proxy: installed ${PACKAGES[*]} but nginx or $MODULE is missing" >&2
    exit 1
fi
echo "install-edge-proxy: installed $(nginx -v 2>&1)"
