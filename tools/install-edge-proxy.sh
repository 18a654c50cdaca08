#!/usr/bin/env bash
# Installs the edge proxy the tests run for real: NGINX 1.x with the njs module (the key check),
# from Debian. Same software and major version as the pod's image (components/inference_cluster/
# edge_proxy.py EDGE_PROXY_IMAGE, nginx-unprivileged 1.x, which ships njs). Idempotent. The tests
# start their own nginx on 127.0.0.1 with the rendered config; the Debian service is never started.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(nginx-light libnginx-mod-http-js)
MODULE=/usr/lib/nginx/modules/ngx_http_js_module.so

if command -v nginx >/dev/null 2>&1 && [ -f "$MODULE" ]; then
    log "nginx and njs are already installed"
    exit 0
fi
apt_install "${PACKAGES[@]}"
command -v nginx >/dev/null 2>&1 && [ -f "$MODULE" ] \
    || fail "installed ${PACKAGES[*]} but nginx or $MODULE is missing"
log "installed $(nginx -v 2>&1)"
