"""Boundary tests of the DNS component's own checks (components/dns/args.py), without a program run.

Every limit at its value and one past it, every cross-field rule, every message and warning
asserted exactly, and its absence where none is due. The program-level behaviour (resources,
outputs, both stacks together) is in tests/components/test_dns.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast
from unittest import mock

import pulumi
import pytest

from components.common import Placement
from components.dns.args import (
    DnsError,
    DnsProblem,
    FailoverRecordArgs,
    base_descriptor,
    check_against_primary,
    check_args,
    endpoint_kind,
    endpoint_problem,
    health_check_descriptor,
    warnings_for,
)

FIX = "set it in Pulumi.{stack}.yaml"


def placement(cloud: str = "aws", stack: str = "primary", gcp_project: str | None = None) -> Placement:
    return Placement(cast(Any, cloud), "us-east-1", cast(Any, None), stack, gcp_project)


def make(role: str = "primary", cloud: str = "aws", **fields: Any) -> FailoverRecordArgs:
    base: dict[str, Any] = {
        "placement": placement(
            cloud, role if role == "standby" else "primary", "acme-dns" if cloud == "gcp" else None
        ),
        "role": role,
        "stack_cloud": "gcp",
        "zone": "example.com",
        "record": "api",
        "endpoint_host": "198.51.100.10",
        "azure_resource_group": "dns-rg" if cloud == "azure" else None,
        "primary_dns": None if role == "primary" else {"provider": cloud},
    }
    if cloud == "gcp":
        base["health_check_interval_seconds"] = 30
    return FailoverRecordArgs(**{**base, **fields})


def problems(args: FailoverRecordArgs) -> list[str]:
    try:
        check_args(args)
    except DnsError as exc:
        assert exc.stack == args.placement.stack
        return [str(p) for p in exc.problems]
    return []


# field, value at the limit (accepted), value one past it, the problem that value gives
LIMITS: list[tuple[str, Any, Any, str]] = [
    (
        "ttl_seconds",
        1,
        0,
        "stack config 'dnsTtlSeconds' must be between 1 and 60 (got 0): "
        "a longer TTL keeps resolvers on a dead endpoint after failover; lower it",
    ),
    (
        "ttl_seconds",
        60,
        61,
        "stack config 'dnsTtlSeconds' must be between 1 and 60 (got 61): "
        "a longer TTL keeps resolvers on a dead endpoint after failover; lower it",
    ),
    (
        "weight",
        0,
        -1,
        "stack config 'trafficWeight' must be between 0 and 100 (a percentage share) (got -1): " + FIX,
    ),
    (
        "weight",
        100,
        101,
        "stack config 'trafficWeight' must be between 0 and 100 (a percentage share) (got 101): " + FIX,
    ),
    (
        "health_check_port",
        1,
        0,
        "stack config 'healthCheckPort' must be a TCP port between 1 and 65535 (got 0): " + FIX,
    ),
    (
        "health_check_port",
        65535,
        65536,
        "stack config 'healthCheckPort' must be a TCP port between 1 and 65535 (got 65536): " + FIX,
    ),
    (
        "health_check_failure_threshold",
        1,
        0,
        "stack config 'healthCheckFailureThreshold' must be between 1 and 9 (got 0): " + FIX,
    ),
    (
        "health_check_failure_threshold",
        9,
        10,
        "stack config 'healthCheckFailureThreshold' must be between 1 and 9 (got 10): " + FIX,
    ),
    (
        "health_check_interval_seconds",
        10,
        9,
        "stack config 'healthCheckIntervalSeconds' must be 10 or 30 (what Route 53 and Traffic Manager "
        "support) (got 9): " + FIX,
    ),
    (
        "health_check_interval_seconds",
        30,
        31,
        "stack config 'healthCheckIntervalSeconds' must be 10 or 30 (what Route 53 and Traffic Manager "
        "support) (got 31): " + FIX,
    ),
    (
        "health_check_interval_seconds",
        30,
        20,
        "stack config 'healthCheckIntervalSeconds' must be 10 or 30 (what Route 53 and Traffic Manager "
        "support) (got 20): " + FIX,
    ),
    (
        "health_check_path",
        "/",
        "health",
        "stack config 'healthCheckPath' must be an absolute HTTP path such as /health (got 'health'): " + FIX,
    ),
    (
        "role",
        "primary",
        "backup",
        "stack config 'role' must be one of primary, standby (got 'backup'): " + FIX,
    ),
    (
        "routing",
        "weighted",
        "latency",
        "stack config 'dnsRouting' must be one of failover, weighted (got 'latency'): " + FIX,
    ),
]


@pytest.mark.parametrize(
    ("field", "ok", "bad", "problem"), LIMITS, ids=[f"{f}={bad}" for f, _, bad, _ in LIMITS]
)
def test_each_limit_accepts_its_value_and_rejects_one_past_it(
    field: str, ok: Any, bad: Any, problem: str
) -> None:
    assert problems(make(**{field: ok})) == []
    assert problems(make(**{field: bad})) == [problem.format(stack="primary")]


def test_defaults_are_the_documented_ones() -> None:
    args = FailoverRecordArgs(
        placement=placement(),
        role="primary",
        stack_cloud="aws",
        zone="example.com",
        record="api",
        endpoint_host="198.51.100.10",
    )

    assert (args.ttl_seconds, args.routing, args.weight) == (30, "failover", None)
    assert (args.health_check_path, args.health_check_port) == ("/health", 443)
    assert (args.health_check_interval_seconds, args.health_check_failure_threshold) == (10, 3)
    assert (args.azure_resource_group, args.gcp_managed_zone, args.primary_dns) == (None, None, None)
    assert args.deletion_protection is True
    assert args.gcp_health_check_regions == ("us-central1", "us-east4", "europe-west1")
    assert problems(args) == []


def test_cloud_dns_needs_thirty_second_probes() -> None:
    assert problems(make(cloud="gcp", health_check_interval_seconds=30)) == []
    assert problems(make(cloud="gcp", health_check_interval_seconds=10)) == [
        "stack config 'healthCheckIntervalSeconds' must be 30 when dnsProvider is gcp (got 10): Cloud DNS "
        "probes external endpoints with a health check from three source regions, and GCP only allows "
        "those every 30 s or slower; set healthCheckIntervalSeconds: 30 in both stack files (or use "
        "dnsProvider aws/azure for 10 s probes)"
    ]
    assert problems(make(cloud="aws", health_check_interval_seconds=10)) == []


def test_azure_dns_needs_the_zone_resource_group_and_other_authorities_do_not() -> None:
    assert problems(make(cloud="azure", azure_resource_group="dns-rg")) == []
    assert problems(make(cloud="aws", azure_resource_group=None)) == []
    assert problems(make(cloud="gcp", azure_resource_group=None)) == []
    expected = (
        "stack config 'dnsResourceGroup' must be the resource group of the Azure DNS zone when "
        "dnsProvider is azure (got nothing): set it in Pulumi.primary.yaml"
    )
    assert problems(make(cloud="azure", azure_resource_group=None)) == [expected]
    assert problems(make(cloud="azure", azure_resource_group="")) == [expected.replace("nothing", "''")]


def test_cloud_dns_needs_a_project_and_other_authorities_do_not() -> None:
    assert problems(make(cloud="gcp", placement=placement("gcp", "primary", None))) == [
        "stack config 'gcpProject' must be set when dnsProvider is gcp (got nothing): "
        "set the project of the Cloud DNS zone in Pulumi.primary.yaml"
    ]
    assert problems(make(cloud="aws", placement=placement("aws", "primary", None))) == []


def test_the_standby_needs_the_primary_dns_output_and_the_primary_must_not_have_one() -> None:
    assert problems(make(role="standby", primary_dns=None)) == [
        "stack config 'primaryStack' must be set on a standby (its DNS side joins the primary's) "
        "(got nothing): set it in Pulumi.standby.yaml"
    ]
    assert problems(make(role="primary", primary_dns={"provider": "aws"})) == [
        "stack config 'primaryStack' must be unset on a primary stack (got '<a stack reference>'): "
        "set it in Pulumi.primary.yaml"
    ]
    assert problems(make(role="standby")) == []


def test_every_problem_is_reported_at_once_in_one_error() -> None:
    args = make(ttl_seconds=0, weight=101, health_check_path="x", health_check_port=0)

    with pytest.raises(DnsError) as caught:
        check_args(args)

    assert [p.key for p in caught.value.problems] == [
        "dnsTtlSeconds",
        "trafficWeight",
        "healthCheckPath",
        "healthCheckPort",
    ]
    assert str(caught.value).startswith(
        "4 DNS problems in stack 'primary':\n  - stack config 'dnsTtlSeconds'"
    )
    single = DnsError("standby", [DnsProblem("dnsZone", "x", "a zone", "fix it")])
    assert (
        str(single)
        == "1 DNS problem in stack 'standby':\n  - stack config 'dnsZone' must be a zone (got 'x'): fix it "
        "[IF-ARG-004]"
    )


# --- effective values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "routing", "weight", "effective"),
    [
        ("primary", "failover", None, 100),
        ("primary", "failover", 30, 100),
        ("standby", "failover", 30, 0),
        ("standby", "failover", None, 0),
        ("primary", "weighted", None, 100),
        ("standby", "weighted", None, 0),
        ("primary", "weighted", 0, 0),
        ("standby", "weighted", 40, 40),
    ],
)
def test_effective_weight_is_by_role_in_failover_and_configured_in_weighted(
    role: str, routing: str, weight: int | None, effective: int
) -> None:
    assert make(role=role, routing=routing, weight=weight).effective_weight == effective


def test_derived_names_and_probe_settings() -> None:
    args = make()
    assert args.fqdn == "api.example.com"
    assert args.managed_zone == "example-com"
    assert make(gcp_managed_zone="prod-zone").managed_zone == "prod-zone"
    # The edge answers TLS only (no plain-HTTP listener): every probe is HTTPS, whatever the port.
    assert (make(health_check_port=443).probe_protocol, make(health_check_port=80).probe_protocol) == (
        "HTTPS",
        "HTTPS",
    )
    assert make(health_check_port=8443).probe_protocol == "HTTPS"
    assert make(health_check_interval_seconds=10).probe_timeout_seconds == 5
    assert make(health_check_interval_seconds=30).probe_timeout_seconds == 10


def test_descriptor_holds_what_both_stacks_compare() -> None:
    args = make(
        role="standby",
        routing="weighted",
        weight=25,
        ttl_seconds=45,
        health_check_path="/v1/models",
        health_check_port=443,
        health_check_interval_seconds=30,
        health_check_failure_threshold=2,
    )

    assert health_check_descriptor(args) == {
        "protocol": "HTTPS",
        "port": 443,
        "path": "/v1/models",
        "intervalSeconds": 30,
        "failureThreshold": 2,
    }
    descriptor = base_descriptor(args)
    assert isinstance(descriptor.pop("endpointAddresses"), pulumi.Output)  # resolved by the program
    assert descriptor == {
        "provider": "aws",
        "fqdn": "api.example.com",
        "zone": "example.com",
        "role": "standby",
        "stack": "standby",
        "stackCloud": "gcp",
        "routing": "weighted",
        "weight": 25,
        "ttlSeconds": 45,
        "endpoint": "198.51.100.10",
        "healthCheck": health_check_descriptor(args),
    }


# --- warnings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "routing", "weight", "warned"),
    [
        ("primary", "failover", 40, True),
        ("primary", "failover", 0, True),
        ("standby", "failover", 1, True),
        ("primary", "failover", 100, False),
        ("standby", "failover", 0, False),
        ("primary", "failover", None, False),
        ("standby", "weighted", 40, False),
        ("primary", "weighted", 0, False),
    ],
)
def test_a_weight_that_failover_routing_ignores_is_warned_about_and_nothing_else(
    role: str, routing: str, weight: int | None, warned: bool
) -> None:
    expected = [
        f"trafficWeight={weight} is ignored with dnsRouting=failover: the primary answers while healthy "
        "and the standby only when it is not; set dnsRouting: weighted in both stacks to split traffic"
    ]
    assert warnings_for(make(role=role, routing=routing, weight=weight)) == (expected if warned else [])


# --- the standby's checks against the primary ------------------------------------------------


def primary_descriptor(**changes: Any) -> dict[str, Any]:
    descriptor = base_descriptor(make())
    for dotted, value in changes.items():
        target = descriptor
        *parents, last = dotted.split("__")
        for part in parents:
            target = target[part]
        target[last] = value
    return descriptor


def against(args: FailoverRecordArgs, primary: object) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the standby's check against `primary`."""
    warned: list[str] = []
    with mock.patch("components.dns.args.pulumi.log.warn", side_effect=warned.append):
        try:
            assert check_against_primary(args, primary) is primary
        except DnsError as exc:
            assert exc.stack == args.placement.stack
            return [str(p) for p in exc.problems], warned
    return [], warned


def test_a_matching_primary_passes_without_warnings() -> None:
    assert against(make(role="standby"), primary_descriptor()) == ([], [])
    # Numbers come back from a StackReference as floats.
    assert against(make(role="standby"), primary_descriptor(ttlSeconds=30.0)) == ([], [])


@pytest.mark.parametrize(
    ("primary", "got"),
    [(None, "nothing"), ([], "'list'"), ({"role": "primary"}, "'dict'"), ({"provider": ""}, "'dict'")],
    ids=["no-output", "not-a-dict", "no-provider", "empty-provider"],
)
def test_a_primary_without_a_dns_output_says_to_deploy_it_first(primary: object, got: str) -> None:
    assert against(make(role="standby"), primary) == (
        [
            f"stack config 'primaryStack' must be a primary stack that exports a 'dns' output (got {got}): "
            "deploy the primary stack first (`pulumi up -s <primary>`), then the standby"
        ],
        [],
    )


def test_a_primary_stack_whose_role_is_standby_is_rejected() -> None:
    found, _ = against(make(role="standby"), primary_descriptor(role="standby", stack="dr"))

    assert found == [
        "stack config 'primaryStack' must be the primary stack (got 'a standby stack (dr)'): "
        "point primaryStack in Pulumi.standby.yaml at the stack whose role is primary"
    ]


AGREEMENT: list[tuple[str, str, dict[str, Any], dict[str, Any], object, object]] = [
    # name, config key, standby fields, primary descriptor changes, ours, theirs
    ("provider", "dnsProvider", {}, {"provider": "azure"}, "aws", "azure"),
    ("fqdn", "dnsZone/dnsRecord", {}, {"fqdn": "www.example.com"}, "api.example.com", "www.example.com"),
    ("ttl", "dnsTtlSeconds", {"ttl_seconds": 20}, {}, 20, 30),
    ("path", "healthCheckPath", {}, {"healthCheck__path": "/v1/models"}, "/health", "/v1/models"),
    ("port", "healthCheckPort", {}, {"healthCheck__port": 8443}, 443, 8443),
    ("interval", "healthCheckIntervalSeconds", {}, {"healthCheck__intervalSeconds": 30}, 10, 30),
    ("threshold", "healthCheckFailureThreshold", {}, {"healthCheck__failureThreshold": 5}, 3, 5),
]


@pytest.mark.parametrize(
    ("key", "fields", "changes", "ours", "theirs"),
    [row[1:] for row in AGREEMENT],
    ids=[row[0] for row in AGREEMENT],
)
def test_each_setting_both_stacks_share_must_match(
    key: str, fields: dict[str, Any], changes: dict[str, Any], ours: object, theirs: object
) -> None:
    found, _ = against(make(role="standby", **fields), primary_descriptor(**changes))

    assert found == [
        f"stack config '{key}' must be the same as in the primary stack 'primary' ({theirs!r}) "
        f"(got {ours!r}): set {key} to one value in Pulumi.primary.yaml and Pulumi.standby.yaml, "
        "apply the primary first, then the standby"
    ]


def test_azure_resource_group_must_match_the_primary_profile() -> None:
    args = make(role="standby", cloud="azure", azure_resource_group="rg-b")
    primary = {**base_descriptor(make(cloud="azure")), "trafficManager": {"resourceGroup": "rg-a"}}

    found, _ = against(args, primary)

    assert [p.split(" (got")[0] for p in found] == [
        "stack config 'dnsResourceGroup' must be the same as in the primary stack 'primary' ('rg-a')"
    ]
    assert against(replace(args, azure_resource_group="rg-a"), primary) == ([], [])


def test_cloud_dns_zone_and_project_must_match_the_primary() -> None:
    args = make(role="standby", cloud="gcp", gcp_managed_zone="zone-b")
    primary = {**base_descriptor(make(cloud="gcp")), "managedZone": "zone-a", "project": "other-proj"}

    found, _ = against(args, primary)

    assert [p.split(" (got")[0] for p in found] == [
        "stack config 'dnsManagedZone' must be the same as in the primary stack 'primary' ('zone-a')",
        "stack config 'gcpProject' must be the same as in the primary stack 'primary' ('other-proj')",
    ]
    matching = {**primary, "managedZone": "zone-b", "project": "acme-dns"}
    assert against(args, matching) == ([], [])


def test_a_routing_switch_at_100_0_is_accepted_with_a_warning() -> None:
    found, warned = against(make(role="standby", routing="weighted"), primary_descriptor())

    assert found == []
    assert warned == [
        "dnsRouting is 'weighted' here and 'failover' on the primary stack 'primary': harmless while the "
        "weights are 100/0 (both modes route the same), but apply the other stack to finish the switch"
    ]


@pytest.mark.parametrize(
    ("standby", "primary_weight"),
    [({"routing": "weighted", "weight": 1}, 100), ({"routing": "failover"}, 99)],
    ids=["standby-above-0", "primary-below-100"],
)
def test_a_routing_mismatch_while_traffic_is_split_is_rejected(
    standby: dict[str, Any], primary_weight: int
) -> None:
    primary_routing = "failover" if standby["routing"] == "weighted" else "weighted"
    found, warned = against(
        make(role="standby", **standby), primary_descriptor(routing=primary_routing, weight=primary_weight)
    )

    ours = make(role="standby", **standby).effective_weight
    assert found == [
        f"stack config 'dnsRouting' must be the same as in the primary stack 'primary' ({primary_routing!r}) "
        f"while traffic is split (trafficWeight: primary {primary_weight}, standby {ours}) "
        f"(got {standby['routing']!r}): set dnsRouting to one value in Pulumi.primary.yaml and "
        "Pulumi.standby.yaml and apply both; switch routing only at weights primary 100 / standby 0, "
        "where both modes route the same"
    ]
    assert warned == []


def test_every_weight_at_zero_is_rejected_and_one_above_zero_is_enough() -> None:
    args = make(role="standby", routing="weighted", weight=0)

    found, _ = against(args, primary_descriptor(routing="weighted", weight=0))
    assert found == [
        "stack config 'trafficWeight' must be above 0 in at least one stack (the primary 'primary' has 0 "
        "too) (got 0): with every weight at 0 no stack is preferred and traffic splits evenly; give the "
        "stack that should serve a weight above 0"
    ]
    assert against(args, primary_descriptor(routing="weighted", weight=1)) == ([], [])
    assert against(replace(args, weight=1), primary_descriptor(routing="weighted", weight=0)) == ([], [])


# --- endpoints -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("198.51.100.10", "ipv4"),
        ("0.0.0.0", "ipv4"),
        ("2001:db8::1", None),
        ("a1b2-123.elb.us-east-1.amazonaws.com", "hostname"),
        ("lb.example.com", "hostname"),
        ("localhost", None),
        ("", None),
        ("http://lb.example.com", None),
        ("LB.example.com", None),
        ("lb.example.c0m", "hostname"),
        ("lb.example.1om", None),
        ("-lb.example.com", None),
        (("a" * 63) + ".example.com", "hostname"),
        (("a" * 64) + ".example.com", None),
    ],
)
def test_endpoint_kind(host: str, kind: str | None) -> None:
    assert endpoint_kind(host) == kind


def test_endpoint_problems_name_the_output_or_the_dns_provider() -> None:
    assert endpoint_problem("198.51.100.10", ipv4_only=True, whose="the standby") is None
    assert endpoint_problem("lb.example.com", ipv4_only=False, whose="the standby") is None
    bad = endpoint_problem("2001:db8::1", ipv4_only=False, whose="the standby")
    assert bad is not None and str(bad) == (
        "stack output 'endpointHost' must be an IPv4 address or DNS host name (the standby's load balancer) "
        "(got '2001:db8::1'): check the inference Service's load balancer status; IPv6-only endpoints are "
        "not supported"
    )
    named = endpoint_problem("lb.example.com", ipv4_only=True, whose="the primary")
    assert named is not None and (named.key, named.got, named.source) == ("dnsProvider", "gcp", "config")
    assert named.expected == "aws or azure while the primary answers on the host name 'lb.example.com'"
    assert named.fix == (
        "Cloud DNS routing policies health-check external endpoints only by IP address (no host names, no "
        "CNAME targets); set dnsProvider to aws or azure in both stack files, or give the inference service "
        "a static IPv4 address"
    )


def test_a_sparse_primary_descriptor_is_compared_key_by_key() -> None:
    primary = {k: v for k, v in primary_descriptor().items() if k not in ("stack", "healthCheck", "weight")}
    primary["routing"] = "weighted"

    found, _ = against(make(role="standby", routing="weighted", weight=0), primary)

    assert [p.split(" (got")[0] for p in found] == [
        "stack config 'healthCheckPath' must be the same as in the primary stack 'primary' (None)",
        "stack config 'healthCheckPort' must be the same as in the primary stack 'primary' (None)",
        "stack config 'healthCheckIntervalSeconds' must be the same as in the primary stack 'primary' (None)",
        "stack config 'healthCheckFailureThreshold' must be the same as in the primary stack "
        "'primary' (None)",
        "stack config 'trafficWeight' must be above 0 in at least one stack "
        "(the primary 'primary' has 0 too)",
    ]


def test_a_routing_mismatch_with_an_unknown_primary_weight_is_rejected() -> None:
    primary = {k: v for k, v in primary_descriptor().items() if k != "weight"}

    found, warned = against(make(role="standby", routing="weighted"), primary)

    assert len(found) == 1 and "(trafficWeight: primary None, standby 0)" in found[0]
    assert warned == []


def test_numbers_from_a_stack_reference_are_shown_as_integers() -> None:
    found, _ = against(make(role="standby"), primary_descriptor(ttlSeconds=45.0))
    assert found[0].startswith(
        "stack config 'dnsTtlSeconds' must be the same as in the primary stack 'primary' (45) "
    )


def test_equal_weights_in_both_weighted_stacks_are_fine() -> None:
    assert against(
        make(role="standby", routing="weighted", weight=50), primary_descriptor(routing="weighted", weight=50)
    ) == ([], [])


def test_a_routing_mismatch_names_the_primary_stack_by_its_name() -> None:
    found, _ = against(
        make(role="standby", routing="weighted", weight=10), primary_descriptor(stack="prod", weight=100)
    )
    assert "the same as in the primary stack 'prod' ('failover') while traffic is split" in found[0]
    assert "Pulumi.prod.yaml and Pulumi.standby.yaml" in found[0]
    nameless = {k: v for k, v in primary_descriptor().items() if k != "stack"}
    found, _ = against(make(role="standby", routing="weighted", weight=10), nameless)
    assert "the same as in the primary stack 'primary' ('failover')" in found[0]


def test_several_problems_are_listed_one_per_line() -> None:
    error = DnsError("s", [DnsProblem("a", 1, "x", "f"), DnsProblem("b", 2, "y", "g")])
    assert str(error) == (
        "2 DNS problems in stack 's':\n"
        "  - stack config 'a' must be x (got 1): f [IF-ARG-004]\n"
        "  - stack config 'b' must be y (got 2): g [IF-ARG-004]"
    )
    assert (error.code, error.stack, [p.code for p in error.problems]) == (
        "IF-ARG-004",
        "s",
        ["IF-ARG-004"] * 2,
    )
    assert not isinstance(error, ValueError)  # see DnsError: Pulumi would bury a ValueError's text


def test_a_problem_about_an_output_says_so_and_keeps_a_code_it_was_given() -> None:
    problem = DnsProblem("endpoint", "x", "an IPv4 address", "fix", source="output", code="IF-ARG-999")
    assert problem.line == "stack output 'endpoint' must be an IPv4 address (got 'x'): fix [IF-ARG-999]"
    assert (problem.value, problem.allowed) == ("x", "an IPv4 address")


@pytest.mark.parametrize(
    ("descriptor", "addresses"),
    [
        (
            {"endpointAddresses": ["198.51.100.1", "198.51.100.2"], "endpoint": "x"},
            ["198.51.100.1", "198.51.100.2"],
        ),
        ({"endpointAddresses": [], "endpoint": "198.51.100.9"}, ["198.51.100.9"]),
        ({"endpointAddresses": "198.51.100.1", "endpoint": "lb.example.com"}, ["lb.example.com"]),
        ({"endpoint": "198.51.100.9"}, ["198.51.100.9"]),
        ({}, [""]),
    ],
    ids=["listed", "empty-list", "not-a-list", "older-primary", "nothing"],
)
def test_the_primarys_addresses_from_its_descriptor(descriptor: dict[str, Any], addresses: list[str]) -> None:
    from components.dns.args import primary_addresses

    assert primary_addresses(descriptor) == addresses


# --- PowerDNS: both stacks must write through one API -------------------------------------------

PDNS_URL = "https://pdns.example.internal:8081/api/v1"


def powerdns_descriptor(api_url: str = PDNS_URL, server_id: str = "localhost") -> dict[str, Any]:
    """The primary's `dns` output with the PowerDNS authority (components/dns/powerdns.py adds the API)."""
    from components.dns.args import PowerDnsApi

    primary = make(powerdns=PowerDnsApi(PDNS_URL, "key"))
    return {**base_descriptor(primary), "powerdns": {"apiUrl": api_url, "serverId": server_id}}


def powerdns_standby(api_url: str = PDNS_URL, server_id: str = "localhost") -> FailoverRecordArgs:
    from components.dns.args import PowerDnsApi

    return make(role="standby", powerdns=PowerDnsApi(api_url, "key", server_id))


def test_a_powerdns_standby_writing_through_the_primarys_api_passes() -> None:
    assert powerdns_descriptor()["provider"] == "powerdns"
    assert against(powerdns_standby(), powerdns_descriptor()) == ([], [])


@pytest.mark.parametrize(
    ("standby", "primary", "key", "theirs", "ours"),
    [
        (
            {"api_url": "https://pdns-b.example.internal:8081/api/v1"},
            {},
            "powerdnsApiUrl",
            PDNS_URL,
            "https://pdns-b.example.internal:8081/api/v1",
        ),
        ({"server_id": "pdns-b"}, {}, "powerdnsServerId", "localhost", "pdns-b"),
        ({}, {"server_id": "pdns-a"}, "powerdnsServerId", "pdns-a", "localhost"),
    ],
    ids=["api-url", "server-id", "primary-server-id"],
)
def test_a_powerdns_standby_on_another_api_or_server_is_refused_naming_the_key(
    standby: dict[str, str], primary: dict[str, str], key: str, theirs: str, ours: str
) -> None:
    found, _ = against(powerdns_standby(**standby), powerdns_descriptor(**primary))

    assert found == [
        f"stack config '{key}' must be the same as in the primary stack 'primary' ('{theirs}') "
        f"(got '{ours}'): set {key} to one value in Pulumi.primary.yaml and Pulumi.standby.yaml, "
        "apply the primary first, then the standby"
    ]


def test_only_a_powerdns_standby_compares_the_powerdns_api() -> None:
    # A cloud authority's standby ignores a PowerDNS block it has no setting for; the provider
    # mismatch is the one problem.
    found, _ = against(make(role="standby"), powerdns_descriptor(api_url="https://elsewhere/api/v1"))

    assert [p.split(" (got")[0] for p in found] == [
        "stack config 'dnsProvider' must be the same as in the primary stack 'primary' ('powerdns')"
    ]


def test_the_shared_settings_per_authority_are_exactly_these() -> None:
    from components.dns.args import _agreement

    common = {"provider", "fqdn", "ttlSeconds"} | {
        f"healthCheck.{key}" for key in ("path", "port", "intervalSeconds", "failureThreshold")
    }
    assert set(_agreement(make(role="standby"))) == common
    assert set(_agreement(make(role="standby", cloud="azure"))) == common | {"trafficManager.resourceGroup"}
    assert set(_agreement(make(role="standby", cloud="gcp"))) == common | {"managedZone", "project"}
    assert set(_agreement(powerdns_standby())) == common | {"powerdns.apiUrl", "powerdns.serverId"}
    gcp = _agreement(make(role="standby", cloud="gcp", gcp_managed_zone="zone-b"))
    assert (gcp["managedZone"], gcp["project"]) == (("dnsManagedZone", "zone-b"), ("gcpProject", "acme-dns"))
    assert _agreement(make(role="standby", cloud="azure"))["trafficManager.resourceGroup"] == (
        "dnsResourceGroup",
        "dns-rg",
    )


# --- the addresses a stack answers on ------------------------------------------------------------


def addresses_of(args: FailoverRecordArgs) -> list[str]:
    """`endpoint_addresses` resolved, as the program resolves it (the Output is built in the loop)."""
    import asyncio

    from components.dns.args import endpoint_addresses

    async def resolve() -> list[str]:
        return await endpoint_addresses(args).future()  # type: ignore[return-value]

    return asyncio.run(resolve())


@pytest.mark.parametrize(
    ("host", "extra", "expected"),
    [
        ("198.51.100.10", None, ["198.51.100.10"]),
        ("198.51.100.10", [], ["198.51.100.10"]),
        (
            " 198.51.100.10 ",
            ["198.51.100.11 ", "198.51.100.10", " 198.51.100.12"],
            ["198.51.100.10", "198.51.100.11", "198.51.100.12"],
        ),
        ("lb.example.com", ["198.51.100.11"], ["lb.example.com", "198.51.100.11"]),
    ],
    ids=["none", "empty", "host-first-trimmed-once", "name-and-address"],
)
def test_the_endpoint_host_comes_first_then_each_other_address_once(
    host: str, extra: list[str] | None, expected: list[str]
) -> None:
    assert addresses_of(make(endpoint_host=host, endpoint_addresses=extra)) == expected
