#!/usr/bin/env bash
# Installs what tests/dns_server.py needs: PowerDNS (authoritative) with the SQLite backend, built
# with LUA records and libcurl (the `ifurlup` health checks of dnsProvider powerdns need both;
# Debian's build has them: `pdns_server --version` lists "lua-records" and "curl" under Features).
# Idempotent: does nothing when both are already there. The tests start their own throwaway
# pdns_server on 127.0.0.1; the Debian service is never enabled or started by this script.
set -euo pipefail

PACKAGES=(pdns-server pdns-backend-sqlite3)
SCHEMA=/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql

pdns_binary() {
    command -v pdns_server 2>/dev/null || { [ -x /usr/sbin/pdns_server ] && echo /usr/sbin/pdns_server; }
}

# The features the LUA ifurlup record needs, from the server's own --version output.
has_lua_health_checks() {
    local features
    features="$("$(pdns_binary)" --version 2>&1 | grep -i 'Features:' || true)"
    case " $features " in *" lua-records "*) ;; *) return 1 ;; esac
    case " $features " in *" curl "*) ;; *) return 1 ;; esac
}

have_all() {
    [ -n "$(pdns_binary)" ] || return 1
    [ -f "$SCHEMA" ] || return 1
    return 0
}

if have_all; then
    if ! has_lua_health_checks; then
        echo "install-dns-server: $(pdns_binary) lacks the lua-records or curl feature (LUA ifurlup health checks); install Debian's pdns-server build" >&2
        exit 1
    fi
    echo "install-dns-server: PowerDNS (with LUA records and curl) and its SQLite backend are already installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

export DEBIAN_FRONTEND=noninteractive
# Keep the packaged service from starting on port 53 during install (containers usually have
# this already); only add the guard when none exists, and remove only the one we added.
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
$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"

if ! have_all; then
    echo "install-dns-server: installed ${PACKAGES[*]} but pdns_server or $SCHEMA is still missing" >&2
    exit 1
fi
if ! has_lua_health_checks; then
    echo "install-dns-server: the installed pdns_server lacks the lua-records or curl feature (LUA ifurlup health checks)" >&2
    exit 1
fi
echo "install-dns-server: installed ${PACKAGES[*]} ($("$(pdns_binary)" --version 2>&1 | head -n1 || true))"
