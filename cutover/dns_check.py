"""What the service name resolves to, and which side each answer points at.

Weighted routing answers one side per query, so the name is queried several times (`samples`)
and every answer is attributed to a side: a side matches when its endpoint host (the
`endpointHost` output, or the host of `endpointUrl`) appears in the answer's CNAME chain or
among its addresses, or resolves to one of those addresses (Route 53 alias records answer the
load balancer's addresses directly). Query the authority itself with `--dns-server` to see a
change as soon as it is published rather than after resolver caches expire.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.resolver

from cutover.errors import UsageError
from cutover.plan import Side

DEFAULT_SAMPLES = 5
DEFAULT_TIMEOUT_SECONDS = 2.0


def parse_server(text: str) -> tuple[str, int]:
    """`HOST`, `HOST:PORT` or `[IPv6]:PORT` -> (address, port)."""
    fix = (
        "pass --dns-server as an IP address with an optional port, e.g. 127.0.0.1:5353; to ask the "
        "zone's authority directly use its address: dig +short $(dig +short NS <zone> | head -1)"
    )
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:], text, fix)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(port_text, text, fix)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"--dns-server must be an IP address (got '{text}')", fix) from None
    return host, port


def _port(text: str, given: str, fix: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"--dns-server port must be 1-65535 (got '{given}')", fix)
    return int(text)


def make_resolver(
    server: str | None, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> dns.resolver.Resolver:
    if server is None:
        resolver = dns.resolver.Resolver()
    else:
        host, port = parse_server(server)
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host]
        resolver.port = port
    resolver.lifetime = timeout_seconds
    resolver.timeout = timeout_seconds
    resolver.cache = None
    return resolver


def _norm(name: str) -> str:
    return name.lower().rstrip(".")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Sample:
    addresses: tuple[str, ...]
    cnames: tuple[str, ...]
    side: Side | None
    """The side this answer points at; None when it matches neither."""

    def to_dict(self) -> dict[str, Any]:
        return {"addresses": list(self.addresses), "cnames": list(self.cnames), "side": self.side}


@dataclass(frozen=True)
class DnsObservation:
    fqdn: str
    server: str
    samples: tuple[Sample, ...] = ()
    error: str | None = None
    hosts: Mapping[Side, str] = field(default_factory=dict)
    """side -> endpoint host the answers were matched against."""

    @property
    def sides_seen(self) -> frozenset[Side]:
        return frozenset(s.side for s in self.samples if s.side is not None)

    @property
    def unknown(self) -> tuple[str, ...]:
        """Answers that point at neither side."""
        seen: list[str] = []
        for s in self.samples:
            if s.side is None:
                for value in (*s.cnames[:1], *s.addresses):
                    if value not in seen:
                        seen.append(value)
        return tuple(seen)

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a for s in self.samples for a in s.addresses))

    def describe(self) -> str:
        if self.error:
            return self.error
        parts = []
        for side in ("primary", "standby"):
            count = sum(1 for s in self.samples if s.side == side)
            if count:
                parts.append(f"{side} {count}/{len(self.samples)}")
        if self.unknown:
            parts.append(f"unknown {', '.join(self.unknown)}")
        return f"{', '.join(self.addresses) or 'no address'} ({'; '.join(parts) or 'no answer'})"

    def check(self, allowed: frozenset[Side], only: Side | None = None) -> str | None:
        """None when every answer points at an allowed side (and all at `only`, if given); else why not."""
        if self.error:
            return f"{self.fqdn}: {self.error}"
        if not self.samples or not self.addresses:
            return f"{self.fqdn} resolved to no address"
        if self.unknown:
            return f"{self.fqdn} answers {', '.join(self.unknown)}, which is neither side's endpoint"
        wrong = sorted(self.sides_seen - allowed)
        if wrong:
            expected = ", ".join(sorted(allowed))
            return (
                f"{self.fqdn} still answers {', '.join(wrong)} ({self.describe()}); expected only {expected}"
            )
        if only is not None and self.sides_seen != {only}:
            return f"{self.fqdn} answers {self.describe()}; expected only {only}"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fqdn": self.fqdn,
            "server": self.server,
            "error": self.error,
            "addresses": list(self.addresses),
            "sides_seen": sorted(self.sides_seen),
            "unknown": list(self.unknown),
            "samples": [s.to_dict() for s in self.samples],
            "hosts": dict(self.hosts),
        }


def _resolve_once(resolver: dns.resolver.Resolver, fqdn: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    answer = resolver.resolve(fqdn, "A", raise_on_no_answer=False)
    addresses = tuple(sorted(r.address for r in answer)) if answer.rrset is not None else ()
    cnames: list[str] = []
    for rrset in answer.chaining_result.cnames:
        cnames.extend(_norm(r.target.to_text()) for r in rrset)
    return addresses, tuple(cnames)


def observe(
    fqdn: str,
    hosts: Mapping[Side, str | None],
    server: str | None = None,
    samples: int = DEFAULT_SAMPLES,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    *,
    addresses: Mapping[Side, Sequence[str]] | None = None,
) -> DnsObservation:
    """Query `fqdn` `samples` times and attribute every answer to a side by its endpoint host.

    `addresses`: every address each side answers on (its `endpointAddresses` output). A PowerDNS
    LUA record answers one healthy address of a side per query, which need not be the first.
    """
    resolver = make_resolver(server, timeout_seconds)
    label = server or "system resolver"
    known = {side: _norm(host) for side, host in hosts.items() if host}
    listed = {side: frozenset(a.strip() for a in values) for side, values in (addresses or {}).items()}
    host_addresses: dict[str, frozenset[str]] = {}

    def addresses_of(host: str) -> frozenset[str]:
        if host not in host_addresses:
            found: set[str] = set()
            if _is_ip(host):
                found.add(host)
            else:
                for candidate in (resolver, make_resolver(None, timeout_seconds)):
                    try:
                        found.update(_resolve_once(candidate, host)[0])
                    except (dns.exception.DNSException, OSError):
                        continue
                    if found:
                        break
            host_addresses[host] = frozenset(found)
        return host_addresses[host]

    taken: list[Sample] = []
    for _ in range(max(1, samples)):
        try:
            answered, cnames = _resolve_once(resolver, fqdn)
        except dns.resolver.NXDOMAIN:
            return DnsObservation(
                fqdn, label, tuple(taken), f"{fqdn} does not exist (NXDOMAIN) at {label}", known
            )
        except dns.exception.DNSException as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return DnsObservation(
                fqdn, label, tuple(taken), f"querying {fqdn} at {label} failed: {text}", known
            )
        taken.append(Sample(answered, cnames, _attribute(answered, cnames, known, addresses_of, listed)))
    return DnsObservation(fqdn, label, tuple(taken), None, known)


def _attribute(
    addresses: Sequence[str],
    cnames: Sequence[str],
    known: Mapping[Side, str],
    addresses_of: Any,
    listed: Mapping[Side, frozenset[str]] | None = None,
) -> Side | None:
    if not addresses:
        return None
    for side, host in known.items():
        if host in cnames or host in addresses:
            return side
    for side, values in (listed or {}).items():
        if set(addresses) & values:
            return side
    for side, host in known.items():
        if set(addresses) & addresses_of(host):
            return side
    return None
