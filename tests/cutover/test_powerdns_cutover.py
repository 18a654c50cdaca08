"""`failover` with the PowerDNS authority, end to end: the real CLI, real HTTPS sides, and a real
PowerDNS whose record each `up` of the standby rewrites exactly as the program does (the LUA
record rendered by components/dns/powerdns.py, written by its API provider), from the applied
config of both stacks: the standby's own weight and the primary's last applied weight.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pulumi.dynamic
import pytest

from components.common import Placement
from components.dns.args import FailoverRecordArgs, PowerDnsApi
from components.dns.powerdns import record_content
from components.dns.powerdns_api import API_KEY_CONFIG, PowerDnsRRsetProvider
from cutover.errors import ExitCode
from tests.cutover.cutover_support import ModelServer, Sides, SimulatedStacks, answers, run, shipped_config
from tests.dns_server import PowerDns, missing_reason
from tests.edge_support import make_pki
from tests.powerdns_support import free_port_on

_hosts = iter(range(20, 60))
FAST = ("--yes", "--soak-seconds", "0", "--skip-store-parity", "--canary-requests", "2")


@pytest.fixture(scope="module")
def fast_pdns() -> Iterator[PowerDns]:
    reason = missing_reason()
    if reason is not None:
        if os.environ.get("CI") or os.environ.get("REQUIRE_DNS_SERVER"):
            pytest.fail(reason)
        pytest.skip(reason)
    with PowerDns({"lua-health-checks-interval": "1"}) as server:
        yield server


def _served_weight(applied: dict[str, str], role: str) -> int:
    if applied.get("dnsRouting", "failover") != "weighted":
        return 100 if role == "primary" else 0
    return int(applied.get("trafficWeight", "100" if role == "primary" else "0"))


def powerdns_authority(pdns: PowerDns, zone: str, port: int) -> Any:
    """What `pulumi up` of each stack does at PowerDNS: the standby (re)writes the one record."""
    provider = PowerDnsRRsetProvider()
    config = pulumi.dynamic.Config({API_KEY_CONFIG: pdns.api_key}, "inference-failover")
    provider.configure(pulumi.dynamic.ConfigureRequest(config))
    state: dict[str, Any] = {}

    def apply(stacks: SimulatedStacks, stack: str) -> None:
        if stack != "standby":
            return  # the primary only exports its descriptor (its weight)
        applied = stacks.applied["standby"]
        args = FailoverRecordArgs(
            placement=Placement(cloud="gcp", region="us-central1", provider=cast(Any, None), stack="standby"),
            role="standby",
            stack_cloud="gcp",
            zone=zone,
            record="api",
            endpoint_host=stacks.servers["standby"].host,
            ttl_seconds=1,
            routing=cast(Any, applied.get("dnsRouting", "failover")),
            weight=int(applied["trafficWeight"]) if "trafficWeight" in applied else None,
            health_check_port=port,
            health_check_interval_seconds=10,
            health_check_failure_threshold=1,
            powerdns=PowerDnsApi(pdns.api_url, pdns.api_key),
        )
        content = record_content(
            args,
            [stacks.servers["primary"].host],
            _served_weight(stacks.applied["primary"], "primary"),
            [stacks.servers["standby"].host],
            args.effective_weight,
        )
        props = {
            "api_url": pdns.api_url,
            "server_id": "localhost",
            "zone": zone,
            "name": f"api.{zone}",
            "type": "LUA",
            "ttl": 1,
            "records": [content],
            "check_interval_seconds": 1,
        }
        if "id" not in state:
            state["id"] = provider.create(props).id
        else:
            provider.update(state["id"], state["props"], props)
        state["props"] = props

    return apply


@pytest.fixture
def pdns_sides(fast_pdns: PowerDns, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sides]:
    zone = fast_pdns.new_zone("failover")
    fqdn = f"api.{zone}"
    directory = tmp_path_factory.mktemp("pdns-edge")
    pki = make_pki(directory, fqdn)
    (directory / "tls.crt").write_bytes(pki.cert_pem)
    (directory / "tls.key").write_bytes(pki.key_pem)
    tls = (directory / "tls.crt", directory / "tls.key")
    hosts = [f"127.0.1.{next(_hosts)}", f"127.0.1.{next(_hosts)}"]
    port = free_port_on(*hosts)
    primary = ModelServer(hosts[0], tls=tls, port=port)
    standby = ModelServer(hosts[1], tls=tls, port=port)
    config = {stack: {**shipped_config(stack), "dnsProvider": "powerdns"} for stack in ("primary", "standby")}
    stacks = SimulatedStacks(
        fast_pdns,
        fqdn,
        {"primary": primary, "standby": standby},
        config=config,
        authority=powerdns_authority(fast_pdns, zone, port),
    )
    try:
        deadline = time.monotonic() + 10
        while answers_of(fast_pdns, fqdn) != {primary.host}:  # the first probes have run
            assert time.monotonic() < deadline, "the record never answered the primary"
            time.sleep(0.05)
        yield Sides(fast_pdns, primary, standby, stacks, pki.ca_file)
    finally:
        primary.stop()
        standby.stop()


def answers_of(pdns: PowerDns, fqdn: str, samples: int = 8) -> set[str]:
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = pdns.dns_port
    found: set[str] = set()
    for _ in range(samples):
        with contextlib.suppress(dns.exception.DNSException):
            found.update(r.address for r in resolver.resolve(fqdn, "A"))
    return found


def test_a_staged_cutover_and_failback_through_the_powerdns_record(pdns_sides: Sides, tmp_path: Path) -> None:
    sides = pdns_sides
    journal = tmp_path / "journal.json"
    assert run(sides, journal, "execute", "--to", "standby", *FAST, "--steps", "25,50,100") == ExitCode.OK
    assert answers(sides) == {sides.standby.host}
    ups = [call[1] for call in sides.stacks.calls if call[0] == "up"]
    # scale-up standby; then routing, 25, 50, 100 each apply the primary and then the standby,
    # which writes the record with both new weights; demote the primary.
    assert ups == ["standby", *(["primary", "standby"] * 4), "primary"]

    assert run(sides, tmp_path / "back.json", "failback", *FAST, "--steps", "50,100") == ExitCode.OK
    assert answers(sides) == {sides.primary.host}


def test_status_follows_an_automatic_failover_of_the_powerdns_record(
    pdns_sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sides = pdns_sides
    sides.primary.healthy = False  # /health answers 503: PowerDNS takes it out of the answer
    deadline = time.monotonic() + 5
    while answers(sides) != {sides.standby.host}:
        assert time.monotonic() < deadline, "PowerDNS never answered the standby"
        time.sleep(0.05)
    code = run(sides, tmp_path / "j.json", "--json", "status", "--skip-store-parity")
    out = capsys.readouterr().out
    report = json.loads(out)
    assert report["dns"]["sides_seen"] == ["standby"], report["dns"]
    assert code == ExitCode.UNHEALTHY  # the primary is down and no run of ours explains it


def test_a_drill_through_the_powerdns_record_reports_both_rtos(
    pdns_sides: Sides, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sides = pdns_sides
    drill = ("drill", *FAST, "--hold-seconds", "0.5", "--steps", "50,100")
    code = run(sides, tmp_path / "d.json", "--json", *drill)
    assert code == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "completed"
    assert set(report["timings"]["rto_seconds"]) == {"cutover", "failback"}
    assert answers(sides) == {sides.primary.host}
