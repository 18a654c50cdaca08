"""PowerDNS (self-hosted): one health-checked LUA record set, owned by the standby stack.

Design (settled here, see also components/dns/__init__.py):

- **Ownership mirrors Cloud DNS.** A PowerDNS record set (name, type) is replaced whole by every
  API write, and the health-checked answer needs both stacks' addresses in one LUA expression, so
  one stack owns it: **the standby**, which already reads the primary's `dns` descriptor through
  its StackReference and must stay appliable while the primary is down. The primary creates
  nothing at PowerDNS; it exports its addresses and weight. The service name resolves once the
  standby is applied (deploy order is primary, then standby). A cutover applies the primary
  before the standby in every step (cutover/plan.py, `serviceRecordOwner`), so each step's
  weights reach the record exactly, in one write.
- **The record** is `LUA A "ifurlup('https://<fqdn>[:port]<path>', {{set 1}, {set 2}}, {options})"`
  (https://doc.powerdns.com/authoritative/lua-records/functions.html#ifurlup). PowerDNS probes the
  URL on every listed address (the service name as Host and TLS server name, the address from
  the list), answers from the first set that has an address up, picks one of that set's up
  addresses with `selector`, and when every address is down answers one of all of them
  (`backupSelector`; like Route 53 answering every record when all are unhealthy).
  - failover: set 1 = the primary's addresses, set 2 = the standby's.
  - weighted: set 1 = the addresses of both sides whose weight is above 0, each repeated so that
    a side's share of set 1 is its weight (`selector='random'` picks uniformly among the entries
    that are up, so a side that fails drops out and the other takes everything); set 2 = the
    addresses of a side at weight 0, answered only when set 1 is entirely down.
  - The options table is the same in both modes and at every weight: PowerDNS keys each check by
    (address, URL, options), so a shift or a mode switch keeps the health state it has and never
    answers from a fresh, "not yet checked = down" state.
- **Options**: `timeout` (the probe timeout), `stringmatch` (the edge's `"status":"ok"` body, so a
  stray 200 from something else does not count), `useragent` (so the edge's logs show the
  checker), `interval` and `minimumFailures` (healthCheckIntervalSeconds and
  healthCheckFailureThreshold: honoured by PowerDNS 5.0 and later; older servers probe every
  `lua-health-checks-interval` and fail on the first miss, and the provider refuses a server whose
  interval is slower than the configured one, so the RTO budget still holds).
- **Not available in PowerDNS**: certificate verification of the probe (ifurlup never verifies;
  `stringmatch` is the check on the content), and probes from several locations (the server
  probes from itself, so put it where clients are; `allowedClientCidrs` must admit its address).
- TTL from config (at most 60 s). The record set is protected like the other authorities'
  records (`deletion_protection`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pulumi

from components.common import type_token
from components.dns.args import (
    DnsError,
    DnsProblem,
    FailoverRecord,
    FailoverRecordArgs,
    base_descriptor,
    check_against_primary,
    endpoint_addresses,
    endpoint_problem,
    primary_addresses,
)

RECORD_TYPE: Final = "LUA"
ANSWER_TYPE: Final = "A"
CHECK_USER_AGENT: Final = "inference-failover-powerdns-health-check"
HEALTHY_BODY: Final = '"status":"ok"'
"""What the edge's /health answers when the stack can serve (components/inference_cluster)."""
MAX_SET_ENTRIES: Final = 400
"""Weighted entries are reduced by their common divisor; this bounds the record's length."""


def _lua_string(text: str) -> str:
    """A Lua single-quoted string whose characters survive the record's own double quotes."""
    out = []
    for char in text:
        if char.isalnum() or char in "-_.:/ @%+=,[]{}()<>!?#~*^&|;":
            out.append(char)
        else:
            out.append(f"\\{ord(char):03d}")  # Lua decimal escape, e.g. \034 for "
    return "'" + "".join(out) + "'"


def probe_url(fqdn: str, port: int, path: str) -> str:
    return f"https://{fqdn}{'' if port == 443 else f':{port}'}{path}"


def check_options(args: FailoverRecordArgs) -> dict[str, str]:
    """The ifurlup options; identical in every mode and at every weight (see the docstring)."""
    return {
        "selector": "random",
        "backupSelector": "random",
        "timeout": str(args.probe_timeout_seconds),
        "stringmatch": HEALTHY_BODY,
        "useragent": CHECK_USER_AGENT,
        "interval": str(args.health_check_interval_seconds),
        "minimumFailures": str(args.health_check_failure_threshold),
    }


def weighted_sets(
    primary: Sequence[str], primary_weight: int, standby: Sequence[str], standby_weight: int
) -> list[list[str]]:
    """Address sets for weighted routing: sides above 0 share set 1 by weight; a side at 0 is set 2."""
    sides = [(list(primary), primary_weight), (list(standby), standby_weight)]
    live = [(addresses, weight) for addresses, weight in sides if weight > 0 and addresses]
    idle = [addresses for addresses, weight in sides if weight <= 0 and addresses]
    if not live:  # both at 0 is refused by the standby's check; answer both evenly regardless
        return [[a for addresses, _ in sides for a in addresses]]
    if len(live) == 1:
        first = live[0][0]
    else:
        (a_addr, a_w), (b_addr, b_w) = live
        # Entries per address: side share = weight, whatever the number of addresses per side.
        a_each, b_each = a_w * len(b_addr), b_w * len(a_addr)
        divisor = math.gcd(a_each, b_each)
        a_each, b_each = a_each // divisor, b_each // divisor
        total = a_each * len(a_addr) + b_each * len(b_addr)
        if total > MAX_SET_ENTRIES:  # close to the weights (about a point), not exact, for odd ones
            scale = MAX_SET_ENTRIES / total
            a_each, b_each = max(1, round(a_each * scale)), max(1, round(b_each * scale))
            while a_each * len(a_addr) + b_each * len(b_addr) > MAX_SET_ENTRIES:
                if a_each >= b_each:
                    a_each -= 1
                else:
                    b_each -= 1
        first = [a for a in a_addr for _ in range(a_each)] + [b for b in b_addr for _ in range(b_each)]
    return [first, *idle]


def address_sets(
    routing: str, primary: Sequence[str], primary_weight: int, standby: Sequence[str], standby_weight: int
) -> list[list[str]]:
    if routing == "failover":
        return [list(primary), list(standby)]
    return weighted_sets(primary, primary_weight, standby, standby_weight)


SEGMENT_BYTES: Final = 255
"""Longest character-string in a record: PowerDNS joins a LUA record's quoted strings, and an
AXFR to a secondary carries the code as such strings, split at 255 bytes wherever that falls
unless the record is already split (https://doc.powerdns.com/authoritative/lua-records/)."""


def segments(code: str, limit: int = SEGMENT_BYTES) -> list[str]:
    """`code` in pieces of at most `limit` bytes, each ending after a comma where possible and
    never inside a `\\ddd` escape, so a secondary receives exactly these pieces."""
    pieces: list[str] = []
    rest = code
    while len(rest) > limit:
        cut = rest.rfind(", ", 0, limit - 1)
        cut = cut + 2 if cut > 0 else limit
        while "\\" in rest[max(0, cut - 3) : cut]:  # do not split an escape
            cut -= 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return [*pieces, rest]


def lua_code(content: str) -> str:
    """The Lua code of a record rendered by `render_lua` (its quoted pieces joined)."""
    return "".join(re.findall(r'"([^"]*)"', content))


def render_lua(url: str, sets: Sequence[Sequence[str]], options: Mapping[str, str]) -> str:
    """The LUA record's content: `A "ifurlup(...)"`, as quoted pieces of at most 255 bytes."""
    lua_sets = "{" + ", ".join("{" + ", ".join(_lua_string(a) for a in s) + "}" for s in sets) + "}"
    lua_options = "{" + ", ".join(f"{k}={_lua_string(v)}" for k, v in options.items()) + "}"
    code = f"ifurlup({_lua_string(url)}, {lua_sets}, {lua_options})"
    return f"{ANSWER_TYPE} " + " ".join(f'"{piece}"' for piece in segments(code))


def record_content(
    args: FailoverRecordArgs,
    primary: Sequence[str],
    primary_weight: int,
    standby: Sequence[str],
    standby_weight: int,
) -> str:
    url = probe_url(args.fqdn, args.health_check_port, args.health_check_path)
    sets = address_sets(args.routing, primary, primary_weight, standby, standby_weight)
    return render_lua(url, sets, check_options(args))


class PowerDnsFailoverRecord(FailoverRecord):
    """The standby's LUA record set (both stacks' addresses); nothing on the primary."""

    record_set: pulumi.Resource | None
    """Standby: the LUA record set of the service name, written through the PowerDNS API; primary: None."""

    def __init__(
        self, name: str, args: FailoverRecordArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token("dns", "PowerDnsFailoverRecord"), name, None, opts)
        assert args.powerdns is not None, "create_failover_record routes here only with args.powerdns"
        endpoint = pulumi.Output.from_input(args.endpoint_host).apply(lambda h: _checked(args, h))
        own_addresses = pulumi.Output.all(endpoint, endpoint_addresses(args)).apply(
            lambda values: [_checked(args, a) for a in values[1]]
        )
        descriptor: dict[str, Any] = {
            **base_descriptor(args),
            "endpoint": endpoint,
            "endpointAddresses": own_addresses,
            "endpointKind": "ipv4",
            "serviceRecordOwner": "standby",
            "healthCheckIds": [],
            "powerdns": {"apiUrl": args.powerdns.api_url, "serverId": args.powerdns.server_id},
        }
        self.record_set = None
        if args.role == "standby":
            descriptor |= self._records(name, args, own_addresses)
        else:
            descriptor |= {"recordSetIds": []}

        self.descriptor = pulumi.Output.from_input(descriptor)
        self.register_outputs({"descriptor": self.descriptor})

    def _records(
        self, name: str, args: FailoverRecordArgs, own_addresses: pulumi.Output[list[str]]
    ) -> dict[str, Any]:
        """The LUA record set of both stacks' addresses; returns what the standby's descriptor adds."""
        from components.dns.powerdns_api import PowerDnsRRset, api_provider

        api = args.powerdns
        assert api is not None
        primary = pulumi.Output.from_input(args.primary_dns).apply(lambda found: _primary_side(args, found))
        content = pulumi.Output.all(primary, own_addresses).apply(
            lambda values: record_content(args, values[0][0], values[0][1], values[1], args.effective_weight)
        )
        provider = api_provider(f"{name}-powerdns", api.api_key, pulumi.ResourceOptions(parent=self))
        self.record_set = PowerDnsRRset(
            f"{name}-record",
            api_url=api.api_url,
            server_id=api.server_id,
            zone=args.zone,
            record_name=args.fqdn,
            record_type=RECORD_TYPE,
            ttl=args.ttl_seconds,
            records=content.apply(lambda c: [c]),
            check_interval_seconds=args.health_check_interval_seconds,
            owner=f"inference-failover stack {args.placement.stack}",
            opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=args.deletion_protection),
        )
        return {
            "recordSetIds": [self.record_set.id],
            "lua": {
                "primary": primary.apply(lambda p: p[0]),
                "standby": own_addresses,
                "record": content,
            },
        }


def _checked(args: FailoverRecordArgs, host: str) -> str:
    host = host.strip()
    stack = args.placement.stack
    problem = endpoint_problem(host, ipv4_only=True, whose=f"stack '{stack}'")
    if problem is not None:
        raise DnsError(stack, [_powerdns_problem(problem)])
    return host


def _primary_side(args: FailoverRecordArgs, primary: object) -> tuple[list[str], int]:
    """The primary's addresses and weight from its descriptor, once the two stacks agree."""
    found = check_against_primary(args, primary)
    whose = f"the primary stack '{found.get('stack')}'"
    hosts = primary_addresses(found)
    problems = [
        _powerdns_problem(p)
        for host in hosts
        if (p := endpoint_problem(host, ipv4_only=True, whose=whose)) is not None
    ]
    if problems:
        raise DnsError(args.placement.stack, problems)
    return hosts, int(found.get("weight", 100))


def _powerdns_problem(problem: DnsProblem) -> DnsProblem:
    """endpoint_problem speaks of Cloud DNS for host names; the reason is the same here."""
    if problem.key != "dnsProvider":
        return problem
    return DnsProblem(
        "dnsProvider",
        "powerdns",
        problem.expected,
        "the PowerDNS LUA record probes and answers IPv4 addresses only; give the inference service "
        "a static IPv4 address (every cloud profile here does), or set dnsProvider to aws or azure",
    )
