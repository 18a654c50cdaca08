"""DNS answers read from a real PowerDNS and attributed to the sides' endpoints."""

from __future__ import annotations

import pytest

from cutover.dns_check import observe, parse_server
from cutover.errors import UsageError
from tests.dns_server import PowerDns
from tests.dns_server import powerdns as powerdns  # noqa: PLC0414 (pytest fixture)

PRIMARY_IP = "192.0.2.10"
STANDBY_IP = "198.51.100.20"


def test_weighted_answers_are_attributed_to_both_sides(powerdns: PowerDns) -> None:
    fqdn = f"api.{powerdns.new_zone()}"
    powerdns.set_weighted(fqdn, {PRIMARY_IP: 50, STANDBY_IP: 50})

    seen = observe(fqdn, {"primary": PRIMARY_IP, "standby": STANDBY_IP}, powerdns.address, samples=40)

    assert seen.error is None
    assert seen.sides_seen == {"primary", "standby"}
    assert set(seen.addresses) == {PRIMARY_IP, STANDBY_IP}
    assert seen.check(frozenset({"primary", "standby"})) is None
    assert "expected only standby" in (seen.check(frozenset({"primary", "standby"}), only="standby") or "")


def test_an_answer_still_pointing_at_the_old_side_fails_the_check(powerdns: PowerDns) -> None:
    fqdn = f"api.{powerdns.new_zone()}"
    powerdns.set_weighted(fqdn, {PRIMARY_IP: 100, STANDBY_IP: 0})

    seen = observe(fqdn, {"primary": PRIMARY_IP, "standby": STANDBY_IP}, powerdns.address, samples=3)

    assert seen.sides_seen == {"primary"}
    problem = seen.check(frozenset({"standby"}), only="standby")
    assert problem is not None and f"still answers primary ({PRIMARY_IP}" in problem


def test_cname_chain_to_a_load_balancer_name_is_attributed_by_host_name(powerdns: PowerDns) -> None:
    zone = powerdns.new_zone()
    fqdn, lb = f"api.{zone}", f"lb-primary.{zone}"
    powerdns.set_records(lb, "A", [PRIMARY_IP])
    powerdns.set_records(fqdn, "CNAME", [f"{lb}."])

    seen = observe(fqdn, {"primary": lb, "standby": STANDBY_IP}, powerdns.address, samples=2)

    assert seen.samples[0].cnames == (lb,)
    assert seen.sides_seen == {"primary"}


def test_alias_style_answer_is_attributed_by_resolving_the_endpoint_host(powerdns: PowerDns) -> None:
    # Route 53 alias records answer the load balancer's addresses directly, without a CNAME.
    zone = powerdns.new_zone()
    fqdn, lb = f"api.{zone}", f"standby-lb.{zone}"
    powerdns.set_records(lb, "A", [STANDBY_IP])
    powerdns.set_records(fqdn, "A", [STANDBY_IP])

    seen = observe(fqdn, {"primary": PRIMARY_IP, "standby": lb}, powerdns.address, samples=2)

    assert seen.sides_seen == {"standby"}
    assert seen.samples[0].cnames == ()


def test_an_answer_of_a_sides_other_address_is_attributed_to_it(powerdns: PowerDns) -> None:
    # A PowerDNS LUA record answers one up address of a side per query, not always its first.
    fqdn = f"api.{powerdns.new_zone()}"
    powerdns.set_records(fqdn, "A", ["192.0.2.11"])
    hosts = {"primary": PRIMARY_IP, "standby": STANDBY_IP}

    seen = observe(
        fqdn, hosts, powerdns.address, samples=2, addresses={"primary": [PRIMARY_IP, "192.0.2.11"]}
    )
    assert seen.sides_seen == {"primary"}
    assert seen.check(frozenset({"primary"}), only="primary") is None
    assert observe(fqdn, hosts, powerdns.address, samples=1).unknown == ("192.0.2.11",)


def test_an_address_of_neither_side_is_reported_as_unknown(powerdns: PowerDns) -> None:
    fqdn = f"api.{powerdns.new_zone()}"
    powerdns.set_records(fqdn, "A", ["203.0.113.99"])

    seen = observe(fqdn, {"primary": PRIMARY_IP, "standby": STANDBY_IP}, powerdns.address, samples=2)

    assert seen.unknown == ("203.0.113.99",)
    assert "203.0.113.99, which is neither side's endpoint" in (seen.check(frozenset({"primary"})) or "")


def test_a_name_that_does_not_exist_is_reported_with_the_server_asked(powerdns: PowerDns) -> None:
    fqdn = f"nothing.{powerdns.new_zone()}"

    seen = observe(fqdn, {"primary": PRIMARY_IP}, powerdns.address, samples=2)

    assert seen.error == f"{fqdn} does not exist (NXDOMAIN) at {powerdns.address}"
    assert seen.check(frozenset({"primary"})) == f"{fqdn}: {seen.error}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1", ("127.0.0.1", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)), ("[::1]:53", ("::1", 53))],
)
def test_dns_server_option_takes_an_address_and_optional_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_server(text) == expected


@pytest.mark.parametrize("text", ["ns1.example.com", "127.0.0.1:99999", "127.0.0.1:dns"])
def test_dns_server_option_rejects_names_and_bad_ports(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_server(text)
    assert text in caught.value.message
    assert "--dns-server" in caught.value.fix
