# Sourced by every tools/install-*.sh: strict mode, the repo root as working directory, log/fail
# prefixed with the script's name, and a Debian install that never starts a packaged service.
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPT="$(basename "${BASH_SOURCE[1]:-$0}" .sh)"
cd "$ROOT"

log() { echo "$SCRIPT: $*"; }
fail() { echo "$SCRIPT: $*" >&2; exit 1; }

# apt_install PACKAGE...: apt-get update + install, as root (sudo otherwise), non-interactive.
# A policy-rc.d guard keeps the packaged service (PowerDNS on port 53, nginx, Prometheus) from
# starting during the install; only a guard added here is removed, also when the install fails.
apt_install() {
    (
        local sudo=
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        export DEBIAN_FRONTEND=noninteractive
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
            $sudo chmod +x /usr/sbin/policy-rc.d
            trap "$sudo rm -f /usr/sbin/policy-rc.d" EXIT
        fi
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq --no-install-recommends "$@"
    )
}
