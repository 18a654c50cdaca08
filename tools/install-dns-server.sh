#!/usr/bin/env bash
# Installs what tests/dns_server.py needs: PowerDNS (authoritative) with the SQLite backend, built
# with LUA records and libcurl (the `ifurlup` health checks of dnsProvider powerdns need both;
# Debian's build has them: `pdns_server --version` lists "lua-records" and "curl" under Features).
# Idempotent: does nothing when both are already there. The tests start their own throwaway
# pdns_server on 127.0.0.1; the Debian service is never enabled or started by this script.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
    has_lua_health_checks \
        || fail "$(pdns_binary) lacks the lua-records or curl feature (LUA ifurlup health checks); install Debian's pdns-server build"
    log "PowerDNS (with LUA records and curl) and its SQLite backend are already installed"
    exit 0
fi

# apt_install keeps the packaged service from starting on port 53 during the install.
apt_install "${PACKAGES[@]}"

have_all || fail "installed ${PACKAGES[*]} but pdns_server or $SCHEMA is still missing"
has_lua_health_checks \
    || fail "the installed pdns_server lacks the lua-records or curl feature (LUA ifurlup health checks)"
log "installed ${PACKAGES[*]} ($("$(pdns_binary)" --version 2>&1 | head -n1 || true))"
