"""dnsProvider powerdns under mocks: config keys, every cloud pair planning with it, ownership,
the LUA record's sets and options, and the API key kept out of every resource's state."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from components.dns.powerdns import check_options, lua_code, weighted_sets
from infra import outputs
from infra.config import ConfigError, parse_config
from infra.config_powerdns import api_url_problem
from offline.harness import ProgramRun, run_stack
from tests.support import (
    AUTHORITY_OVERRIDES,
    ONPREM_COMBINATIONS,
    POWERDNS_COMBINATION_IDS,
    POWERDNS_COMBINATIONS,
    TEST_SECRETS,
    authority_secrets,
    combination,
    primary_overrides,
)

RRSET = "pulumi-python:dynamic/powerdns:RRset"
PROVIDER = "pulumi:providers:pulumi-python"
KEY = "test-powerdns-api-key"


def _addresses(run: ProgramRun) -> list[str]:
    return list(run.outputs[outputs.ENDPOINT_ADDRESSES])


@pytest.mark.parametrize(
    ("primary", "standby", "authority"), POWERDNS_COMBINATIONS, ids=POWERDNS_COMBINATION_IDS
)
def test_every_cloud_pair_plans_with_the_powerdns_authority(
    primary: str, standby: str, authority: str
) -> None:
    first, second = combination(primary, standby, authority)
    # The primary creates nothing at PowerDNS and exports its addresses and weight.
    assert not first.of_type(RRSET) and not first.of_type(PROVIDER)
    mine = first.outputs[outputs.DNS]
    assert (mine["provider"], mine["serviceRecordOwner"], mine["weight"]) == ("powerdns", "standby", 100)
    assert mine["endpointAddresses"] == _addresses(first)
    # The standby owns the one LUA record set: the primary's addresses first, then its own.
    record = second.one(RRSET)
    assert (record.inputs["type"], record.inputs["name"], record.inputs["zone"]) == (
        "LUA",
        "api.example.com",
        "example.com",
    )
    assert record.protect
    (record_text,) = record.inputs["records"]
    content = lua_code(record_text)
    primary_set = "{" + ", ".join(f"'{a}'" for a in _addresses(first)) + "}"
    standby_set = "{" + ", ".join(f"'{a}'" for a in _addresses(second)) + "}"
    assert record_text.startswith('A "ifurlup(')
    url = "'https://api.example.com/health'"
    assert content.startswith(f"ifurlup({url}, {{{primary_set}, {standby_set}}}, {{")
    assert all(ipaddress.IPv4Address(a).is_global for a in _addresses(first) + _addresses(second))
    descriptor = second.outputs[outputs.DNS]
    assert descriptor["lua"]["record"] == record_text
    assert descriptor["powerdns"] == {
        "apiUrl": "https://pdns.example.com:8081/api/v1",
        "serverId": "localhost",
    }


def test_the_api_key_is_only_a_secret_input_of_the_records_provider() -> None:
    _, standby = combination("aws", "gcp", "powerdns")
    (provider,) = standby.of_type(PROVIDER)
    assert provider.secret_inputs == {"inference-failover:powerdnsApiKey"}
    record = standby.one(RRSET)
    assert record.provider.startswith(provider.urn)
    for resource in standby.resources:
        if resource is provider:
            continue
        assert KEY not in str(resource.inputs), resource.urn
        assert KEY not in str(resource.outputs), resource.urn
    assert KEY not in str(standby.outputs)


def test_the_record_options_are_the_same_in_every_mode_and_weight() -> None:
    """PowerDNS keys each health check by (address, URL, options): a table that changed with the
    weights would restart every check from 'unchecked = down' at each step of a shift."""
    _, standby = combination("aws", "gcp", "powerdns")
    (content,) = standby.one(RRSET).inputs["records"]
    options = lua_code(content).rsplit("}, {", 1)[1]
    assert options.startswith("selector='random', backupSelector='random', timeout='5'")
    assert "stringmatch='\\034status\\034:\\034ok\\034'" in options  # "status":"ok" in Lua escapes
    assert "interval='10', minimumFailures='3'" in options
    overrides = {**primary_overrides("aws"), **AUTHORITY_OVERRIDES["powerdns"]}
    weighted = run_stack(
        "primary",
        {**overrides, "dnsRouting": "weighted", "trafficWeight": 40, "healthCheckFailureThreshold": 3},
        {**TEST_SECRETS, **authority_secrets("powerdns")},
    )
    assert weighted.outputs[outputs.DNS]["routing"] == "weighted"


@pytest.mark.parametrize(
    ("primary", "pw", "standby", "sw", "expected"),
    [
        # One address each: the entries carry the weights.
        (["p"], 90, ["s"], 10, [["p"] * 9 + ["s"]]),
        # Three addresses against one: each side's share is still its weight (3 x 3 : 1).
        (["p1", "p2", "p3"], 90, ["s"], 10, [["p1"] * 3 + ["p2"] * 3 + ["p3"] * 3 + ["s"]]),
        (["p"], 50, ["s"], 50, [["p", "s"]]),
        # A side at 0 is the fallback set, answered only when the other is down.
        (["p"], 100, ["s"], 0, [["p"], ["s"]]),
        (["p"], 0, ["s"], 100, [["s"], ["p"]]),
    ],
)
def test_weighted_sets_give_each_side_its_weight(
    primary: list[str], pw: int, standby: list[str], sw: int, expected: list[list[str]]
) -> None:
    assert weighted_sets(primary, pw, standby, sw) == expected


def test_weighted_sets_stay_short_for_odd_weights() -> None:
    (entries,) = weighted_sets(["p1", "p2", "p3"], 33, ["s"], 67)
    share = sum(1 for e in entries if e.startswith("p")) / len(entries)
    assert len(entries) <= 400 and abs(share - 0.33) < 0.01


def test_check_options_carry_interval_threshold_and_timeout() -> None:
    from tests.components.test_powerdns_failover import standby_args

    class Fake:
        api_url, api_key = "http://127.0.0.1:1/api/v1", "k"

    args = standby_args(Fake(), "example.com", 443)  # type: ignore[arg-type]
    assert check_options(args)["minimumFailures"] == "1"
    assert check_options(args)["interval"] == "1"


# --- config -----------------------------------------------------------------------------------


def _raw(**overrides: Any) -> dict[str, str]:
    from offline.harness import load_stack_config

    config, _ = load_stack_config("primary", overrides=overrides)
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("inference-failover:")}


BASE = {
    "dnsProvider": "powerdns",
    "tlsCertificate": "provided",
    "powerdnsApiUrl": "https://pdns.example.com:8081",
}


def _parse(secrets: dict[str, str] | None = None, **overrides: Any) -> Any:
    from infra.config import OFFLINE_SECRET_PLACEHOLDER

    given = {
        "apiKey": "k",
        "dockerHubAccessToken": "t",
        "powerdnsApiKey": "pk",
        "tlsCertificateChain": OFFLINE_SECRET_PLACEHOLDER,
        "tlsPrivateKey": OFFLINE_SECRET_PLACEHOLDER,
        **(secrets or {}),
    }
    given = {k: v for k, v in given.items() if v is not None}
    raw = {**_raw(**{**BASE, **overrides}), **given}
    return parse_config(raw, "primary", frozenset(given))


def _problems(secrets: dict[str, str] | None = None, **overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _parse(secrets, **overrides)
    return [str(p) for p in caught.value.problems]


def test_powerdns_config_defaults_and_normalises_the_api_url() -> None:
    cfg = _parse()
    assert cfg.dns.provider == "powerdns"
    assert cfg.dns.powerdns is not None
    assert (cfg.dns.powerdns.api_url, cfg.dns.powerdns.server_id) == (
        "https://pdns.example.com:8081/api/v1",
        "localhost",
    )
    assert cfg.clouds_used == ("aws",)  # no cloud provider for a self-hosted authority
    cfg = _parse(powerdnsApiUrl="https://pdns.example.com/api/v1/", powerdnsServerId="ns1.internal")
    assert cfg.dns.powerdns.api_url == "https://pdns.example.com/api/v1"
    assert cfg.dns.powerdns.server_id == "ns1.internal"


def test_powerdns_without_url_and_key_names_both() -> None:
    found = _problems({"powerdnsApiKey": None}, powerdnsApiUrl=None)  # type: ignore[dict-item]
    assert any(p.startswith("stack config 'powerdnsApiUrl' must be set") for p in found)
    assert any(
        p.startswith("stack config 'powerdnsApiKey' must be set as a secret")
        and "--secret powerdnsApiKey" in p
        for p in found
    )


def test_a_plain_text_api_key_is_refused() -> None:
    raw = {**_raw(**BASE), "powerdnsApiKey": "plain", "apiKey": "k", "dockerHubAccessToken": "t"}
    raw |= {"tlsCertificateChain": "x", "tlsPrivateKey": "y"}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "primary", frozenset({"apiKey", "dockerHubAccessToken"}))
    assert "stack config 'powerdnsApiKey' must be a secret, not plain text (got '<plain text>')" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("pdns.example.com:8081", "an https:// URL of the PowerDNS webserver"),
        ("ftp://pdns.example.com", "an https:// URL of the PowerDNS webserver"),
        ("http://pdns.example.com:8081", "plain http:// is accepted only for a loopback address"),
        ("http://10.0.0.5:8081", "plain http:// is accepted only for a loopback address"),
        ("https://admin:pw@pdns.example.com", "without a user name or password"),
        ("https://pdns.example.com/api/v1?x=1", "without a query or fragment"),
        ("https://pdns.example.com/admin", "without a path"),
        ("https://pdns.example.com:99999", "it does not parse"),
        ("https://pdns_bad.example.com", "host is a DNS name or an IP address"),
    ],
)
def test_bad_api_urls_are_refused_with_the_reason(url: str, why: str) -> None:
    assert why in (api_url_problem(url) or "")
    assert any(
        p.startswith("stack config 'powerdnsApiUrl' must be") and why in p
        for p in _problems(powerdnsApiUrl=url)
    )


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8081", "http://localhost:8081/api/v1", "http://[::1]:8081"]
)
def test_plain_http_is_accepted_on_loopback_only(url: str) -> None:
    assert api_url_problem(url) is None


def test_a_bad_server_id_and_acme_are_refused() -> None:
    found = _problems(powerdnsServerId="no/slash", tlsCertificate="acme")
    assert any(p.startswith("stack config 'powerdnsServerId' must be a PowerDNS server id") for p in found)
    assert any(
        p.startswith("stack config 'tlsCertificate' must be internal-ca or provided") and "DNS-01" in p
        for p in found
    )


def test_powerdns_keys_without_the_powerdns_authority_are_refused() -> None:
    found = _problems(dnsProvider="aws", tlsCertificate="acme", powerdnsServerId="localhost")
    assert "unset unless dnsProvider is powerdns" in " ".join(found)
    assert any(
        "'powerdnsApiKey' must be unset unless dnsProvider is powerdns (got '<secret>')" in p for p in found
    )
    assert any("'powerdnsApiUrl' must be unset" in p for p in found)


def test_both_stacks_must_agree_on_the_powerdns_api() -> None:
    from components.dns.args import _agreement
    from tests.components.test_powerdns_failover import standby_args

    class Fake:
        api_url, api_key = "http://127.0.0.1:1/api/v1", "k"

    agreed = _agreement(standby_args(Fake(), "example.com", 443))  # type: ignore[arg-type]
    assert agreed["powerdns.apiUrl"] == ("powerdnsApiUrl", "http://127.0.0.1:1/api/v1")
    assert agreed["powerdns.serverId"] == ("powerdnsServerId", "localhost")


# --- the cutover against the real program ----------------------------------------------------


def _record_shares(content: str) -> dict[str, float]:
    """Share of set 1's entries per address, and the fallback set, from a rendered LUA record."""
    body = lua_code(content).split("{{", 1)[1].split("}}", 1)[0]
    first = [a.strip(" '") for a in body.split("}, {")[0].split(",")]
    return {address: first.count(address) / len(first) for address in dict.fromkeys(first)}


def test_every_step_of_a_staged_cutover_and_failback_reaches_the_record_exactly() -> None:
    """The standby writes both weights; the plan applies the primary first in every step, so each
    step's record carries exactly that step's weights (not the primary's previous ones)."""
    from cutover.plan import SIDES, Side, StackState, plan_cutover, record_owner
    from offline.harness import load_stack_config
    from tests.support import standby_overrides

    secrets = {**TEST_SECRETS, **authority_secrets("powerdns")}
    extra = AUTHORITY_OVERRIDES["powerdns"]
    base: dict[Side, dict[str, Any]] = {
        "primary": {**primary_overrides("aws"), **extra},
        "standby": {**standby_overrides("aws", "gcp"), **extra},
    }
    config: dict[Side, dict[str, Any]] = {}
    for side in SIDES:
        loaded, _ = load_stack_config(side, overrides=base[side])
        config[side] = {
            k.split(":", 1)[1]: v for k, v in loaded.items() if k.startswith("inference-failover:")
        }

    def state(side: Side) -> StackState:
        c = config[side]
        return StackState(side, side, side, c.get("capacity"), c.get("dnsRouting"), c.get("trafficWeight"))

    owner = record_owner(config["standby"]["dnsProvider"])
    assert owner == "standby"
    out, after = plan_cutover({s: state(s) for s in SIDES}, "standby", (25, 50, 100), record_owner=owner)
    back, _ = plan_cutover(after, "primary", (50, 100), record_owner=owner)
    primary_out: dict[str, Any] = {}
    checked = []
    for step in [*out, *back]:
        for action in step.actions():
            if action.kind == "set":
                assert action.change is not None
                config[action.side][action.change.key] = action.change.after
                continue
            if step.kind in ("scale-up", "demote"):
                continue
            overrides = {**base[action.side]}
            for key in ("capacity", "dnsRouting", "trafficWeight"):
                overrides[key] = config[action.side].get(key)
            if action.side == "primary":
                primary_out = run_stack("primary", overrides, secrets).outputs
                continue
            ref = config["standby"]["primaryStack"]
            run = run_stack("standby", overrides, secrets, stack_outputs={ref: primary_out})
            shares = _record_shares(run.one(RRSET).inputs["records"][0])
            primary_ip = primary_out[outputs.ENDPOINT_ADDRESSES][0]
            standby_ip = run.outputs[outputs.ENDPOINT_ADDRESSES][0]
            primary_share = sum(v for a, v in shares.items() if a in primary_out[outputs.ENDPOINT_ADDRESSES])
            expected = step.weights
            if expected["primary"] and expected["standby"]:
                assert abs(primary_share - expected["primary"] / 100) < 0.01, (step.id, shares)
            else:
                serving = primary_ip if expected["primary"] else standby_ip
                assert serving in shares, (step.id, shares)  # set 1 is the serving side alone
                assert primary_share in (0.0, 1.0), (step.id, shares)
            checked.append(step.id)
    assert checked == [
        "routing",
        "shift-25",
        "shift-50",
        "shift-100",
        "shift-50",
        "shift-100",
        "restore-routing",
    ]


def test_the_rto_budget_names_the_powerdns_term_and_the_inventory_the_authority() -> None:
    from cutover.inventory import AUTHORITY
    from infra.targets import budgets

    _, standby = combination("aws", "gcp", "powerdns")
    found = budgets(standby.config)
    assert found.detection_seconds == 10 * 3 + 30
    assert found.detection_formula == "PowerDNS ifurlup: 10 s interval x 3 failures + 30 s TTL = 60 s"
    assert "PowerDNS" in AUTHORITY["powerdns"]


@pytest.mark.parametrize(
    ("features", "ok"),
    [("lua lua-records PKCS#11 curl scrypt", True), ("lua PKCS#11 curl", False), ("lua lua-records", False)],
)
def test_the_install_script_requires_lua_records_and_curl(tmp_path: Any, features: str, ok: bool) -> None:
    """tools/install-dns-server.sh checks the server's own feature list (the ifurlup checks need
    both), so a build without them fails the install instead of every LUA answer."""
    import os
    import subprocess
    from pathlib import Path

    schema = Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql")
    if not schema.exists():
        pytest.skip("the SQLite backend is not installed here")
    fake = tmp_path / "pdns_server"
    fake.write_text(f"#!/bin/sh\necho 'PowerDNS Authoritative Server 9.9'\necho 'Features: {features} '\n")
    fake.chmod(0o755)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        ["bash", str(root / "tools/install-dns-server.sh")],
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode == 0) is ok, done.stdout + done.stderr
    if not ok:
        assert "lacks the lua-records or curl feature" in done.stderr


def test_a_restricted_load_balancer_warns_to_admit_the_powerdns_server() -> None:
    cfg = _parse(allowedClientCidrs='["198.51.100.0/24"]')
    (warning,) = [w for w in cfg.warnings if "PowerDNS server probes" in w]
    assert "allowedClientCidrs" in warning and "/32" in warning
    assert not [w for w in _parse().warnings if "PowerDNS server probes" in w]


def test_a_restricted_load_balancer_with_powerdns_admits_exactly_the_given_ranges() -> None:
    overrides = {**primary_overrides("gcp"), **AUTHORITY_OVERRIDES["powerdns"]}
    run = run_stack(
        "primary",
        {**overrides, "allowedClientCidrs": ["198.51.100.0/24", "203.0.113.53/32"]},
        {**TEST_SECRETS, **authority_secrets("powerdns")},
    )
    (service,) = run.of_type("kubernetes:core/v1:Service")
    assert service.inputs["spec"]["loadBalancerSourceRanges"] == ["198.51.100.0/24", "203.0.113.53/32"]


def test_the_check_pass_wants_one_powerdns_api_in_both_stack_files() -> None:
    from infra.check import _agreed

    agreed = _agreed(_parse(powerdnsServerId="ns1"))
    assert agreed["dnsProvider"] == "powerdns"
    assert agreed["powerdnsApiUrl"] == "https://pdns.example.com:8081/api/v1"
    assert agreed["powerdnsServerId"] == "ns1"
    none: dict[str, Any] = dict.fromkeys(("powerdnsApiKey", "tlsCertificateChain", "tlsPrivateKey"))
    aws = _parse(none, dnsProvider="aws", tlsCertificate="acme", powerdnsApiUrl=None)
    assert "powerdnsApiUrl" not in _agreed(aws)


def test_the_powerdns_pair_passes_the_policy_pack() -> None:
    from policy.rules import violations
    from tests.policy.test_policy import planned

    found = [
        f"{run.stack}: {rule}: {resource.type} {resource.name}: {message}"
        for run in combination("aws", "gcp", "powerdns")
        for rule, resource, message in violations(planned(run))
    ]
    assert found == []


def test_dns_provider_names_the_self_hosted_choice_and_never_a_site() -> None:
    found = _problems(dnsProvider="bind")
    assert "stack config 'dnsProvider' must be one of aws, gcp, azure, powerdns (got 'bind')" in found[0]


ONPREM_POWERDNS = [(p, s) for p, s, a in ONPREM_COMBINATIONS if a == "powerdns"]
ONPREM_POWERDNS_IDS = [f"{p}-to-{s}" for p, s in ONPREM_POWERDNS]


@pytest.mark.parametrize(("primary", "standby"), ONPREM_POWERDNS, ids=ONPREM_POWERDNS_IDS)
def test_every_pair_with_a_site_answers_both_sides_from_the_powerdns_record(
    primary: str, standby: str
) -> None:
    """A site's address (MetalLB-style, often private) is probed and answered like a cloud's."""
    first, second = combination(primary, standby, "powerdns")
    (content,) = second.one(RRSET).inputs["records"]
    sets = lua_code(content).split("{{", 1)[1].split("}}, {", 1)[0]
    primary_set, standby_set = (part.strip("{} ") for part in sets.split("}, {"))
    assert primary_set == ", ".join(f"'{a}'" for a in _addresses(first))
    assert standby_set == ", ".join(f"'{a}'" for a in _addresses(second))
    assert not first.of_type(RRSET)


def test_the_record_travels_in_pieces_of_at_most_255_bytes_split_between_entries() -> None:
    """A secondary fed by AXFR gets the LUA code as 255-byte strings; split by us, between
    entries and never inside a \\ddd escape, they arrive whole (PowerDNS LUA records docs)."""
    import re

    from components.dns.powerdns import segments

    _, standby = combination("aws", "gcp", "powerdns")
    (content,) = standby.one(RRSET).inputs["records"]
    pieces = re.findall(r'"([^"]*)"', content)
    assert len(pieces) > 1 and all(len(p.encode()) <= 255 for p in pieces)
    assert content == "A " + " ".join(f'"{p}"' for p in pieces)
    code = "".join(pieces)
    assert code.startswith("ifurlup('https://api.example.com/health', {{") and code.endswith("})")
    assert all(not re.search(r"\\\d{0,2}$", p) for p in pieces)  # no escape cut in two
    escaped = "x" * 252 + "\\034ab"  # a cut at 255 bytes would fall inside the escape
    assert segments(escaped) == ["x" * 252, "\\034ab"]
