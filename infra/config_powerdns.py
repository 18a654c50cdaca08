"""PowerDNS authority config (issue 12): `dnsProvider: powerdns` and the keys of its HTTP API.

Read by `infra.config.parse_config` with its problem collector, so these keys report their
problems together with every other key's, in the same style.

- `powerdnsApiUrl`: the PowerDNS webserver the API answers on, e.g. https://pdns.example.internal:8081
  (`/api/v1` is appended; a URL that already ends with it is taken as it is). HTTPS, because the
  API key travels in every request's `X-API-Key` header; plain http:// is accepted only for a
  loopback host (an SSH tunnel or a server on the deploying machine), where nothing crosses a
  network. No user name or password in the URL (it is stored in the stack's state in clear).
- `powerdnsApiKey`: secret. Read by the record's Pulumi provider from its (secret) provider inputs;
  never a resource input or output, so it never appears in the state in plain text.
- `powerdnsServerId`: the API's server id, `localhost` on every stock PowerDNS.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from infra import settings

if TYPE_CHECKING:
    from infra.config import _Reader

POWERDNS: Final = "powerdns"
"""The dnsProvider value of a self-hosted PowerDNS authority (the other values are clouds)."""
API_URL: Final = "powerdnsApiUrl"
API_KEY: Final = "powerdnsApiKey"
SERVER_ID: Final = "powerdnsServerId"
KEYS: Final = settings.area_keys("powerdns")
"""The powerdns settings (infra/settings.py)."""
DEFAULT_SERVER_ID: Final = "localhost"
API_PATH: Final = "/api/v1"

_SERVER_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_LABEL: Final = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST: Final = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


@dataclass(frozen=True)
class PowerDnsSettings:
    api_url: str
    """Base of the API, ending in /api/v1, without a trailing slash."""
    server_id: str


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_url_problem(url: str) -> str | None:  # noqa: PLR0911 - one return per rule, in order
    """Why `url` cannot be the PowerDNS API URL, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"a URL such as https://pdns.example.internal:8081 (it does not parse: {exc})"
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        return "an https:// URL of the PowerDNS webserver, such as https://pdns.example.internal:8081"
    if parts.username is not None or parts.password is not None:
        return "a URL without a user name or password (the API key is the secret powerdnsApiKey)"
    if parts.query or parts.fragment:
        return "a URL without a query or fragment"
    is_ip = True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        is_ip = False
    if not is_ip and not _HOST.match(host):
        return "a URL whose host is a DNS name or an IP address"
    if parts.scheme == "http" and not _is_loopback(host):
        return (
            "an https:// URL (the API key travels in every request's X-API-Key header; plain http:// "
            "is accepted only for a loopback address such as an SSH tunnel on 127.0.0.1)"
        )
    if port == 0:
        return "a URL with a port between 1 and 65535"
    path = parts.path.rstrip("/")
    if path not in ("", API_PATH):
        return f"the webserver's base URL, without a path (or ending in {API_PATH})"
    return None


def api_base(url: str) -> str:
    """`url` normalised to the API base: scheme://host[:port]/api/v1."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{API_PATH}"


def read_powerdns(
    r: _Reader,
    raw: Mapping[str, str],
    secret_keys: frozenset[str],
    dns_provider: str | None,
    warnings: list[str] | None = None,
) -> PowerDnsSettings | None:
    """The PowerDNS API settings when dnsProvider is powerdns (problems recorded on `r`), else None.

    `warnings` gets what is valid but needs the operator's attention (said once per plan)."""
    stack = r.stack
    if dns_provider != POWERDNS:
        for key in sorted(KEYS & set(raw)):
            r.problem(
                key,
                "<secret>" if key in secret_keys else raw[key],
                "unset unless dnsProvider is powerdns",
                f"remove it with `pulumi config rm {key} -s {stack}`, or set dnsProvider: powerdns",
            )
        return None
    url = r.text(API_URL, example="https://pdns.example.internal:8081")
    if url is not None and (why := api_url_problem(url)) is not None:
        r.problem(API_URL, url, why)
        url = None
    key = (raw.get(API_KEY) or "").strip()
    if not key:
        r.problem(
            API_KEY,
            None,
            "set as a secret when dnsProvider is powerdns (the key of the PowerDNS HTTP API)",
            f"run `pulumi config set --secret {API_KEY} <api-key> -s {stack}`",
        )
    elif API_KEY not in secret_keys:
        r.problem(
            API_KEY,
            "<plain text>",
            "a secret, not plain text",
            f"run `pulumi config set --secret {API_KEY} <api-key> -s {stack}` and remove the plain value",
        )
    server_id = r.text(SERVER_ID, required=False) or DEFAULT_SERVER_ID
    if not _SERVER_ID.match(server_id):
        r.problem(SERVER_ID, server_id, "a PowerDNS server id such as localhost (letters, digits, . _ -)")
    tls = (raw.get("tlsCertificate") or "acme").strip()
    if tls == "acme":
        r.problem(
            "tlsCertificate",
            tls,
            "internal-ca or provided when dnsProvider is powerdns",
            "cert-manager's DNS-01 solvers here write the challenge at Route 53, Cloud DNS or Azure DNS "
            "only; set tlsCertificate: internal-ca (the site's CA signs it), or provided with "
            "tlsCertificateChain and tlsPrivateKey as secrets, or use a cloud DNS authority",
        )
    if (raw.get("allowedClientCidrs") or "").strip() not in ("", "[]") and warnings is not None:
        warnings.append(
            "allowedClientCidrs restricts the load balancer, and the PowerDNS server probes /health from "
            "its own address, which the stack cannot look up: add the server's egress address (a /32) "
            f"to allowedClientCidrs in Pulumi.{stack}.yaml, or the record takes this stack out of DNS"
        )
    if url is None or not _SERVER_ID.match(server_id):
        return None
    return PowerDnsSettings(api_url=api_base(url), server_id=server_id)
