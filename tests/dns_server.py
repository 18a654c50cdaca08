"""A real authoritative DNS server for the tests: PowerDNS on 127.0.0.1 with a throwaway config.

`tools/install-dns-server.sh` installs it (Debian `pdns-server` + `pdns-backend-sqlite3`). The
server runs unprivileged on a free port, in the foreground of a child process, with its SQLite
database, control socket and config in a temporary directory; nothing of the system service is
used. Records are changed through PowerDNS's own HTTP API, the way an operator's tooling would,
so what the tests read back with dnspython is what a real authority answers.

Weighted answers use PowerDNS LUA records (`pickwrandom`): each query picks one address by
weight, like Route 53 weighted records or Traffic Manager weighted routing.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

SCHEMA = Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql")
INSTALL_HINT = "run `bash tools/install-dns-server.sh` (installs Debian pdns-server and pdns-backend-sqlite3)"
_zone_numbers = itertools.count(1)


def pdns_binary() -> str | None:
    return shutil.which("pdns_server") or (
        "/usr/sbin/pdns_server" if Path("/usr/sbin/pdns_server").exists() else None
    )


def missing_reason() -> str | None:
    """Why the server cannot start here, or None when it can."""
    if pdns_binary() is None:
        return f"PowerDNS (pdns_server) is not installed: {INSTALL_HINT}"
    if not SCHEMA.exists():
        return f"the PowerDNS SQLite backend schema {SCHEMA} is missing: {INSTALL_HINT}"
    return None


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (DNS listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port for both TCP and UDP on 127.0.0.1 after 50 tries")


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: the server goes away even when the test process is killed outright.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class PowerDns:
    """One pdns_server process; use `start()`/`stop()` or as a context manager."""

    def __init__(self, settings: Mapping[str, str] | None = None) -> None:
        self.extra_settings = dict(settings or {})
        """pdns.conf settings on top of the defaults below (e.g. lua-health-checks-interval)."""
        self.dns_port = free_port()
        self.api_port = free_port()
        self.api_key = secrets.token_hex(16)
        self._dir = Path(tempfile.mkdtemp(prefix="pdns-test-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._api: httpx.Client | None = None

    @property
    def api_url(self) -> str:
        """The API base URL, as powerdnsApiUrl normalises it."""
        return f"http://127.0.0.1:{self.api_port}/api/v1"

    @property
    def address(self) -> str:
        """HOST:PORT, the form `failover --dns-server` takes."""
        return f"127.0.0.1:{self.dns_port}"

    def start(self, timeout_seconds: float = 15.0) -> PowerDns:
        reason = missing_reason()
        if reason is not None:
            raise RuntimeError(reason)
        database = self._dir / "pdns.sqlite3"
        with sqlite3.connect(database) as db:
            db.executescript(SCHEMA.read_text())
        settings = {
            "launch": "gsqlite3",
            "gsqlite3-database": str(database),
            "local-address": "127.0.0.1",
            "local-port": str(self.dns_port),
            "socket-dir": str(self._dir),
            "daemon": "no",
            "guardian": "no",
            "disable-syslog": "yes",
            "loglevel": "3",
            "api": "yes",
            "api-key": self.api_key,
            "webserver": "yes",
            "webserver-address": "127.0.0.1",
            "webserver-port": str(self.api_port),
            "webserver-allow-from": "127.0.0.1",
            "enable-lua-records": "yes",
            # No caches: every query must see the records as they are now.
            "cache-ttl": "0",
            "negquery-cache-ttl": "0",
            "query-cache-ttl": "0",
            "zone-cache-refresh-interval": "0",
            "consistent-backends": "yes",
            "distributor-threads": "1",
            "receiver-threads": "1",
            **self.extra_settings,
        }
        (self._dir / "pdns.conf").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        with (self._dir / "pdns.log").open("wb") as log_file:
            self._process = subprocess.Popen(
                [str(pdns_binary()), f"--config-dir={self._dir}"],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only sets the parent-death signal
            )
        self._api = httpx.Client(
            base_url=f"http://127.0.0.1:{self.api_port}/api/v1",
            headers={"X-API-Key": self.api_key},
            timeout=5.0,
        )
        deadline = time.monotonic() + timeout_seconds
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"pdns_server exited with {self._process.returncode}:\n{self.log()}")
            try:
                if self._api.get("/servers/localhost").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise RuntimeError(f"pdns_server did not answer on its API within {timeout_seconds}s:\n{log}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> PowerDns:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        path = self._dir / "pdns.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # --- records ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, json: object) -> None:
        assert self._api is not None, "PowerDns.start() first"
        response = self._api.request(method, f"/servers/localhost{path}", json=json)
        if response.status_code >= 300:
            raise RuntimeError(f"PowerDNS API {method} {path} -> {response.status_code}: {response.text}")

    def new_zone(self, prefix: str = "cutover") -> str:
        """Create a fresh zone (so tests never see each other's records) and return its name."""
        zone = f"{prefix}{next(_zone_numbers)}.test"
        self._call(
            "POST",
            "/zones",
            {"name": f"{zone}.", "kind": "Native", "nameservers": [f"ns1.{zone}."]},
        )
        return zone

    def ensure_zone(self, zone: str) -> str:
        """Create `zone` (e.g. the shipped example.com) unless this server already has it."""
        assert self._api is not None, "PowerDns.start() first"
        if self._api.get(f"/servers/localhost/zones/{zone}.").status_code != 200:
            self._call(
                "POST", "/zones", {"name": f"{zone}.", "kind": "Native", "nameservers": [f"ns1.{zone}."]}
            )
        return zone

    def set_zone_metadata(self, zone: str, kind: str, values: Sequence[str]) -> None:
        """Set zone metadata the API cannot write (e.g. ENABLE-LUA-RECORDS), as `pdnsutil set-meta`
        does: in the backend's domainmetadata table."""
        with sqlite3.connect(self._dir / "pdns.sqlite3") as db:
            (domain_id,) = db.execute("SELECT id FROM domains WHERE name = ?", (zone.rstrip("."),)).fetchone()
            db.execute("DELETE FROM domainmetadata WHERE domain_id = ? AND kind = ?", (domain_id, kind))
            db.executemany(
                "INSERT INTO domainmetadata (domain_id, kind, content) VALUES (?, ?, ?)",
                [(domain_id, kind, value) for value in values],
            )

    def _rrset(self, fqdn: str, rtype: str, contents: Sequence[str], ttl_seconds: int) -> dict[str, object]:
        rrset: dict[str, object] = {"name": fqdn.rstrip(".") + ".", "type": rtype, "ttl": ttl_seconds}
        if contents:
            rrset["changetype"] = "REPLACE"
            rrset["records"] = [{"content": c, "disabled": False} for c in contents]
        else:
            rrset["changetype"] = "DELETE"
        return rrset

    def _patch(self, fqdn: str, rrsets: list[dict[str, object]]) -> None:
        zone = fqdn.rstrip(".").split(".", 1)[1]
        self._call("PATCH", f"/zones/{zone}.", {"rrsets": rrsets})

    def set_records(self, fqdn: str, rtype: str, contents: Sequence[str], ttl_seconds: int = 1) -> None:
        """Replace the `rtype` records of `fqdn` (no trailing dot needed); empty `contents` deletes."""
        self._patch(fqdn, [self._rrset(fqdn, rtype, contents, ttl_seconds)])

    def set_weighted(self, fqdn: str, weights: Mapping[str, int], ttl_seconds: int = 1) -> None:
        """Point `fqdn` at addresses by weight, as a weighted routing policy does, in one change.

        Entries with weight 0 are left out unless every weight is 0 (then all are equal), which
        is what Route 53 does. One address left is published as a plain A record.
        """
        live = {address: w for address, w in weights.items() if w > 0} or dict.fromkeys(weights, 1)
        a_records: list[str] = []
        lua_records: list[str] = []
        if len(live) == 1:
            a_records = list(live)
        elif live:
            entries = ", ".join(f"{{{w}, '{address}'}}" for address, w in sorted(live.items()))
            lua_records = [f'A "pickwrandom({{{entries}}})"']
        self._patch(
            fqdn,
            [
                self._rrset(fqdn, "CNAME", [], ttl_seconds),
                self._rrset(fqdn, "A", a_records, ttl_seconds),
                self._rrset(fqdn, "LUA", lua_records, ttl_seconds),
            ],
        )
