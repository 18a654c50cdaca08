"""DNS failover component: the real program on the real stack files, with dnsProvider moved
to each DNS authority (including one that is neither stack's cloud).

Expected endpoints are taken from each run's own `endpointHost` output, never hard-coded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from pulumi.runtime.settings import SETTINGS

from infra import outputs
from infra.config import PROJECT
from offline.harness import ProgramError, ProgramRun, Registered, load_stack_config, run_stack
from tests.support import TEST_SECRETS, primary_overrides, standby_overrides

# Probe settings that differ from the schema defaults, so a test cannot pass on defaults alone.
# (The path and port are fixed: the edge answers /health unauthenticated on 443 only.)
HEALTH_PATH = "/health"
PROBE: dict[str, Any] = {
    "healthCheckIntervalSeconds": 30,
    "healthCheckFailureThreshold": 2,
    "dnsTtlSeconds": 45,
}
# What each DNS authority needs besides dnsProvider; identical in both stacks.
AUTHORITY: dict[str, dict[str, Any]] = {
    "aws": {"dnsProvider": "aws"},
    "azure": {"dnsProvider": "azure", "dnsResourceGroup": "dns-rg"},
    # One gcpProject key serves a GCP stack and the Cloud DNS zone: use the GCP profile's.
    "gcp": {"dnsProvider": "gcp", "gcpProject": "acme-inference-standby"},
}
PROVIDER_TYPE = {
    "aws": "pulumi:providers:aws",
    "gcp": "pulumi:providers:gcp",
    "azure": "pulumi:providers:azure-native",
}
COMPONENT = {
    "aws": "inference-failover:dns:AwsFailoverRecord",
    "gcp": "inference-failover:dns:GcpFailoverRecord",
    "azure": "inference-failover:dns:AzureFailoverRecord",
}


@dataclass(frozen=True)
class Scenario:
    authority: str
    primary: str
    standby: str
    primary_extra: tuple[tuple[str, Any], ...] = ()
    standby_extra: tuple[tuple[str, Any], ...] = ()

    def overrides(self, role: str) -> dict[str, Any]:
        base = (
            primary_overrides(self.primary)
            if role == "primary"
            else standby_overrides(self.primary, self.standby)
        )
        extra = self.primary_extra if role == "primary" else self.standby_extra
        return {**base, **PROBE, **AUTHORITY[self.authority], **dict(extra)}


def scenario(authority: str, primary: str, standby: str, **both: Any) -> Scenario:
    items = tuple(sorted(both.items()))
    return Scenario(authority, primary, standby, items, items)


def primary_run(s: Scenario) -> ProgramRun:
    return _primary(s.authority, s.primary, s.primary_extra)


@cache
def _primary(authority: str, cloud: str, extra: tuple[tuple[str, Any], ...]) -> ProgramRun:
    # Keyed by the primary's own config, so scenarios differing only in the standby share it.
    return run_stack("primary", Scenario(authority, cloud, cloud, extra).overrides("primary"), TEST_SECRETS)


@cache
def standby_run(s: Scenario) -> ProgramRun:
    overrides = s.overrides("standby")
    ref = load_stack_config("standby", overrides=overrides)[0][f"{PROJECT}:primaryStack"]
    return run_stack("standby", overrides, TEST_SECRETS, stack_outputs={ref: primary_run(s).outputs})


def program_error(run: Any) -> str:
    """The error text of a run that must fail."""
    with pytest.raises(ProgramError) as caught:
        run()
    # A run that fails after registering resources leaves its failed output tasks in Pulumi's
    # global settings, where the next run in this process would await them; drop them.
    SETTINGS.outputs.clear()
    return str(caught.value)


def dns_resources(run: ProgramRun) -> list[Registered]:
    (component,) = [r for r in run.resources if r.type.startswith("inference-failover:dns:")]
    return [r for r in run.resources if r.parent == component.urn]


def endpoint(run: ProgramRun) -> str:
    host = run.outputs[outputs.ENDPOINT_HOST]
    assert host, "the workload exported no endpoint"
    return str(host)


# One pair per authority; Traffic Manager's (aws -> gcp) is neither stack's cloud. Route 53's
# pair answers an AWS load balancer host name (primary) and a GCP IP (standby) under one name.
# The Route 53 primary sets trafficWeight, which failover routing must ignore.
ROUTE53 = Scenario("aws", "aws", "gcp", (("trafficWeight", 40),))
ROUTE53_WEIGHTED = scenario("aws", "aws", "gcp", dnsRouting="weighted")
TRAFFIC_MANAGER = scenario("azure", "aws", "gcp")
TRAFFIC_MANAGER_WEIGHTED = scenario("azure", "aws", "gcp", dnsRouting="weighted")
CLOUD_DNS = scenario("gcp", "azure", "gcp")
CLOUD_DNS_WEIGHTED = scenario("gcp", "azure", "gcp", dnsRouting="weighted")
WEIGHTS = {"primary": 70, "standby": 30}


def weighted(s: Scenario) -> Scenario:
    return Scenario(
        s.authority,
        s.primary,
        s.standby,
        (*s.primary_extra, ("trafficWeight", WEIGHTS["primary"])),
        (*s.standby_extra, ("trafficWeight", WEIGHTS["standby"])),
    )


@pytest.mark.parametrize("s", [ROUTE53, TRAFFIC_MANAGER, CLOUD_DNS], ids=["aws", "azure", "gcp"])
def test_dns_resources_live_on_the_dns_authority_under_the_component(s: Scenario) -> None:
    for run in (primary_run(s), standby_run(s)):
        (component,) = [r for r in run.resources if r.type.startswith("inference-failover:dns:")]
        assert component.type == COMPONENT[s.authority]
        children = dns_resources(run)
        # Provider reference: urn:pulumi:<stack>::<project>::<type chain>::<name>::<id>.
        providers = {(r.provider.split("::")[2].split("$")[-1], r.provider.split("::")[3]) for r in children}
        own = "own" if s.authority == run.config.cloud else "peer"
        assert providers <= {(PROVIDER_TYPE[s.authority], f"{s.authority}-{own}")}, providers
        assert all(r.name.startswith(f"{run.config.role}-") for r in children)


# --- Route 53 -----------------------------------------------------------------------------------

RECORD = "aws:route53/record:Record"
POOL = "api-pool.example.com"  # <dnsRecord>-pool.<dnsZone>
# A pair whose standby is the AWS load balancer (its Elastic IPs) and whose primary is a GCP IP.
ROUTE53_LB_STANDBY = Scenario("aws", "gcp", "aws")
ROUTING_POLICY_KEYS = (
    "weightedRoutingPolicies",
    "failoverRoutingPolicies",
    "latencyRoutingPolicies",
    "geolocationRoutingPolicies",
    "geoproximityRoutingPolicy",
    "cidrRoutingPolicy",
    "multivalueAnswerRoutingPolicy",
)


@dataclass(frozen=True)
class Route53Side:
    check: Registered
    """The probe of the stack's first address."""
    pool: Registered
    service: Registered
    record_check: Registered
    """The check the records carry: `check`, or the CALCULATED one over every address's probe."""
    checks: list[Registered]
    """Every health check of the stack, in creation order."""


def _route53(run: ProgramRun) -> Route53Side:
    by_name = {r.inputs["name"]: r for r in run.of_type(RECORD)}
    assert len(by_name) == 2, sorted(by_name)
    service = by_name[run.outputs[outputs.SERVICE_FQDN]]

    # <role>-health, <role>-health-1, ..., <role>-health-any: the order the descriptor lists them.
    def order(check: Registered) -> int:
        last = check.name.rsplit("-", 1)[1]
        if last.isdigit():
            return int(last)
        return 99 if last == "any" else 0

    checks = sorted(run.of_type("aws:route53/healthCheck:HealthCheck"), key=order)
    (first,) = [c for c in checks if c.name == f"{run.config.role}-health"]
    (record_check,) = [c for c in checks if c.outputs["id"] == by_name[POOL].inputs["healthCheckId"]]
    return Route53Side(first, by_name[POOL], service, record_check, checks)


def routing_policy(record: Registered) -> str:
    (policy,) = [key for key in ROUTING_POLICY_KEYS if record.inputs.get(key)] or ["simple"]
    return policy


def test_route53_health_checks_probe_each_endpoint_with_configured_settings() -> None:
    primary, standby = primary_run(ROUTE53), standby_run(ROUTE53)
    for run in (primary, standby):
        check = _route53(run).check
        # TLS with SNI for the service name, on 443, the only port the edge listens on.
        assert check.inputs["type"] == "HTTPS"
        assert check.inputs["enableSni"] is True
        assert check.inputs["resourcePath"] == HEALTH_PATH
        assert check.inputs["port"] == 443
        assert check.inputs["requestInterval"] == PROBE["healthCheckIntervalSeconds"]
        assert check.inputs["failureThreshold"] == PROBE["healthCheckFailureThreshold"]
        # Both by static address (AWS: its first Elastic IP), sending the service name as Host.
        check = _route53(run).check
        assert check.inputs["ipAddress"] == endpoint(run)
        assert check.inputs["fqdn"] == "api.example.com"


def test_route53_pool_holds_one_health_checked_record_per_stack_under_the_pool_name() -> None:
    for run in (primary_run(ROUTE53), standby_run(ROUTE53)):
        side = _route53(run)
        dns = run.outputs[outputs.DNS]
        assert dns["poolFqdn"] == side.pool.inputs["name"] == POOL
        assert side.pool.inputs["type"] == "A"
        assert side.pool.inputs["setIdentifier"] == run.stack
        assert side.pool.inputs["zoneId"] == dns["zoneId"]
        assert side.pool.inputs["healthCheckId"] == side.record_check.outputs["id"]
        assert side.pool.protect


def test_route53_primary_service_record_is_failover_primary_aliasing_the_pool() -> None:
    primary = primary_run(ROUTE53)
    side = _route53(primary)
    zone_id = primary.outputs[outputs.DNS]["zoneId"]
    record = side.service.inputs
    assert record["name"] == "api.example.com"
    assert record["type"] == "A"
    assert record["setIdentifier"] == primary.stack
    assert record["failoverRoutingPolicies"] == [{"type": "PRIMARY"}]
    assert record["aliases"] == [{"name": POOL, "zoneId": zone_id, "evaluateTargetHealth": True}]
    assert record["zoneId"] == zone_id
    # Health comes from the pool members' checks; an alias takes no TTL or values.
    assert not {"healthCheckId", "ttl", "records", "weightedRoutingPolicies"} & record.keys()
    assert side.pool.urn in side.service.dependencies  # the alias target exists first
    assert side.service.protect


def test_route53_standby_service_record_is_failover_secondary_to_its_own_ip() -> None:
    standby = standby_run(ROUTE53)
    side = _route53(standby)
    record = side.service.inputs
    assert record["name"] == "api.example.com"
    assert record["type"] == "A"
    assert record["setIdentifier"] == standby.stack
    assert record["failoverRoutingPolicies"] == [{"type": "SECONDARY"}]
    assert record["records"] == [endpoint(standby)]
    assert record["ttl"] == PROBE["dnsTtlSeconds"] <= 60
    assert record["healthCheckId"] == side.record_check.outputs["id"]
    assert "aliases" not in record


def test_route53_answers_every_elastic_ip_of_the_aws_load_balancer() -> None:
    """The NLB's static addresses (one Elastic IP per AZ) are A records, like the other stack's IP."""
    primary = primary_run(ROUTE53)
    addresses = primary.outputs[outputs.ENDPOINT_ADDRESSES]
    assert len(addresses) == 3 and addresses[0] == endpoint(primary)
    pool = _route53(primary).pool.inputs
    assert (pool["type"], pool["records"], pool["ttl"]) == ("A", addresses, PROBE["dnsTtlSeconds"])
    assert "aliases" not in pool


def test_route53_standby_on_aws_answers_secondary_with_its_elastic_ips() -> None:
    primary, standby = primary_run(ROUTE53_LB_STANDBY), standby_run(ROUTE53_LB_STANDBY)
    side = _route53(standby)
    record = side.service.inputs
    assert record["failoverRoutingPolicies"] == [{"type": "SECONDARY"}]
    assert (record["type"], record["records"]) == ("A", standby.outputs[outputs.ENDPOINT_ADDRESSES])
    assert record["ttl"] == PROBE["dnsTtlSeconds"]
    assert record["healthCheckId"] == side.record_check.outputs["id"]
    assert "aliases" not in record
    # The primary's IP is answered in the pool by address with the configured TTL.
    pool = _route53(primary).pool.inputs
    assert (pool["records"], pool["ttl"]) == ([endpoint(primary)], PROBE["dnsTtlSeconds"])
    assert _route53(primary).service.inputs["aliases"][0]["name"] == POOL


def test_route53_still_aliases_an_aws_load_balancer_host_name() -> None:
    """For users who pass a load balancer host name to the component directly."""
    from components.dns.aws import endpoint_answer, route53_target

    target = route53_target("a1b2-0123456789abcdef.elb.us-east-1.amazonaws.com")
    assert target is not None and (target.load_balancer, target.region) == ("network", "us-east-1")
    answer = endpoint_answer(target, "Z26RNL4JYFTOTI", 45)
    assert (answer.records, answer.ttl) == (None, None)
    (alias,) = answer.aliases or []
    assert alias.name == target.host


def test_route53_failover_pool_prefers_primary_and_keeps_standby_at_weight_zero() -> None:
    """A weight-0 pool member answers only when every member with weight above 0 is unhealthy."""
    weights = {}
    for run in (primary_run(ROUTE53), standby_run(ROUTE53)):
        pool = _route53(run).pool
        weights[run.config.role] = pool.inputs["weightedRoutingPolicies"][0]["weight"]
        assert routing_policy(pool) == "weightedRoutingPolicies"
    assert weights == {"primary": 100, "standby": 0}


def test_trafficweight_is_ignored_with_failover_routing_and_says_so() -> None:
    run = primary_run(ROUTE53)
    assert run.config.dns.weight == 40
    assert run.outputs[outputs.DNS]["weight"] == 100
    assert any("trafficWeight=40 is ignored with dnsRouting=failover" in w for w in run.warnings)


def test_route53_weighted_routing_carries_configured_weights_in_the_pool() -> None:
    s = weighted(ROUTE53_WEIGHTED)
    weights = {}
    for run in (primary_run(s), standby_run(s)):
        weights[run.config.role] = _route53(run).pool.inputs["weightedRoutingPolicies"][0]["weight"]
        assert run.outputs[outputs.DNS]["routing"] == "weighted"
        assert run.outputs[outputs.DNS]["weight"] == WEIGHTS[run.config.role]
    assert weights == WEIGHTS


def test_route53_routing_mode_switch_only_changes_pool_weights() -> None:
    """Failover <-> weighted never changes a record's routing policy, so no record is replaced."""
    s = weighted(ROUTE53_WEIGHTED)
    for failover_run, weighted_run in (
        (primary_run(ROUTE53), primary_run(s)),
        (standby_run(ROUTE53), standby_run(s)),
    ):
        before, after = _route53(failover_run), _route53(weighted_run)
        assert before.service.inputs == after.service.inputs
        assert before.check.inputs == after.check.inputs
        policy = "weightedRoutingPolicies"
        assert {k: v for k, v in before.pool.inputs.items() if k != policy} == {
            k: v for k, v in after.pool.inputs.items() if k != policy
        }
        assert before.pool.inputs[policy] != after.pool.inputs[policy]


@pytest.mark.parametrize(
    "s", [ROUTE53, weighted(ROUTE53_WEIGHTED), ROUTE53_LB_STANDBY], ids=["failover", "weighted", "lb-standby"]
)
def test_route53_no_name_ever_holds_two_routing_policies(s: Scenario) -> None:
    by_name: dict[str, list[Registered]] = {}
    for run in (primary_run(s), standby_run(s)):
        for record in run.of_type(RECORD):
            by_name.setdefault(record.inputs["name"], []).append(record)
    assert sorted(by_name) == sorted(["api.example.com", POOL])
    for name, records in by_name.items():
        assert len({routing_policy(r) for r in records}) == 1, name
        assert len({r.inputs["type"] for r in records}) == 1, name
        assert sorted(r.inputs["setIdentifier"] for r in records) == ["primary", "standby"], name
    assert {routing_policy(r) for r in by_name[POOL]} == {"weightedRoutingPolicies"}
    service = by_name["api.example.com"]
    assert sorted(r.inputs["failoverRoutingPolicies"][0]["type"] for r in service) == ["PRIMARY", "SECONDARY"]


def test_route53_output_names_both_layers_records() -> None:
    for run in (primary_run(ROUTE53), standby_run(ROUTE53)):
        dns, side = run.outputs[outputs.DNS], _route53(run)
        assert dns["poolRecordId"] == side.pool.outputs["id"]
        assert dns["serviceRecordId"] == side.service.outputs["id"]
        assert dns["recordSetIds"] == [side.pool.outputs["id"], side.service.outputs["id"]]
        assert dns["healthCheckIds"] == [c.outputs["id"] for c in side.checks]
        assert dns["failoverType"] == {"primary": "PRIMARY", "standby": "SECONDARY"}[run.config.role]
        assert dns["setIdentifier"] == run.stack
        assert dns["recordType"] == "A"


# --- Azure Traffic Manager + Azure DNS ------------------------------------------------------------


def test_traffic_manager_profile_monitors_with_configured_settings() -> None:
    profile = primary_run(TRAFFIC_MANAGER).one("azure-native:trafficmanager:Profile")
    monitor = profile.inputs["monitorConfig"]
    assert monitor["protocol"] == "HTTPS"
    assert monitor["path"] == HEALTH_PATH
    assert monitor["port"] == 443
    assert monitor["intervalInSeconds"] == PROBE["healthCheckIntervalSeconds"]
    # Traffic Manager degrades an endpoint on the failure after the tolerated ones.
    assert monitor["toleratedNumberOfFailures"] == PROBE["healthCheckFailureThreshold"] - 1
    assert monitor["timeoutInSeconds"] < monitor["intervalInSeconds"]
    assert profile.inputs["dnsConfig"]["ttl"] == PROBE["dnsTtlSeconds"] <= 60
    assert profile.inputs["trafficRoutingMethod"] == "Priority"
    assert profile.inputs["resourceGroupName"] == "dns-rg"
    assert standby_run(TRAFFIC_MANAGER).of_type("azure-native:trafficmanager:Profile") == []


def test_traffic_manager_primary_is_priority_one_and_standby_joins_its_profile_as_two() -> None:
    primary, standby = primary_run(TRAFFIC_MANAGER), standby_run(TRAFFIC_MANAGER)
    profile = primary.one("azure-native:trafficmanager:Profile")
    ends = {run.config.role: run.one("azure-native:trafficmanager:Endpoint") for run in (primary, standby)}
    assert ends["primary"].inputs["priority"] == 1
    assert ends["standby"].inputs["priority"] == 2
    for run in (primary, standby):
        end = ends[run.config.role]
        assert end.inputs["target"] == endpoint(run)
        assert end.inputs["endpointType"] == "ExternalEndpoints"
        assert end.inputs["endpointStatus"] == "Enabled"
        assert end.inputs["profileName"] == profile.outputs["name"]
        assert end.inputs["resourceGroupName"] == "dns-rg"


def test_azure_dns_service_record_is_an_alias_cname_to_the_profile() -> None:
    primary = primary_run(TRAFFIC_MANAGER)
    profile = primary.one("azure-native:trafficmanager:Profile")
    record = primary.one("azure-native:dns:RecordSet")
    assert record.inputs["recordType"] == "CNAME"
    assert record.inputs["zoneName"] == "example.com"
    assert record.inputs["relativeRecordSetName"] == "api"
    assert record.inputs["ttl"] == PROBE["dnsTtlSeconds"]
    assert record.inputs["targetResource"]["id"] == profile.outputs["id"]
    tm = primary.outputs[outputs.DNS]["trafficManager"]
    assert tm["fqdn"] == profile.outputs["dnsConfig"]["fqdn"]
    assert tm["fqdn"].endswith(".trafficmanager.net")
    assert standby_run(TRAFFIC_MANAGER).of_type("azure-native:dns:RecordSet") == []


def test_traffic_manager_weighted_routing_carries_configured_weights() -> None:
    s = weighted(TRAFFIC_MANAGER_WEIGHTED)
    primary, standby = primary_run(s), standby_run(s)
    assert primary.one("azure-native:trafficmanager:Profile").inputs["trafficRoutingMethod"] == "Weighted"
    for run in (primary, standby):
        end = run.one("azure-native:trafficmanager:Endpoint")
        assert end.inputs["weight"] == 10 * WEIGHTS[run.config.role]  # 1-1000 scale


# --- Cloud DNS ----------------------------------------------------------------------------------


def test_cloud_dns_health_check_probes_with_configured_settings() -> None:
    check = standby_run(CLOUD_DNS).one("gcp:compute/healthCheck:HealthCheck")
    assert "httpHealthCheck" not in check.inputs
    assert check.inputs["httpsHealthCheck"]["requestPath"] == HEALTH_PATH
    assert check.inputs["httpsHealthCheck"]["port"] == 443
    assert check.inputs["httpsHealthCheck"]["host"] == "api.example.com"
    assert check.inputs["checkIntervalSec"] == PROBE["healthCheckIntervalSeconds"]
    assert check.inputs["unhealthyThreshold"] == PROBE["healthCheckFailureThreshold"]
    assert len(check.inputs["sourceRegions"]) == 3  # required for external endpoints
    assert check.inputs["project"] == "acme-inference-standby"


def test_cloud_dns_standby_owns_one_record_set_with_primary_target_first() -> None:
    primary, standby = primary_run(CLOUD_DNS), standby_run(CLOUD_DNS)
    assert dns_resources(primary) == []
    assert primary.outputs[outputs.DNS]["serviceRecordOwner"] == "standby"
    record = standby.one("gcp:dns/recordSet:RecordSet")
    check = standby.one("gcp:compute/healthCheck:HealthCheck")
    assert record.inputs["name"] == "api.example.com."
    assert record.inputs["type"] == "A"
    assert record.inputs["ttl"] == PROBE["dnsTtlSeconds"] <= 60
    assert record.inputs["managedZone"] == "example-com"
    policy = record.inputs["routingPolicy"]
    assert policy["healthCheck"] == check.outputs["id"]
    backup = policy["primaryBackup"]
    assert backup["primary"]["externalEndpoints"] == [endpoint(primary)]
    assert [g["healthCheckedTargets"]["externalEndpoints"] for g in backup["backupGeos"]] == [
        [endpoint(standby)]
    ]
    assert backup["trickleRatio"] == 0


def test_cloud_dns_weighted_routing_trickles_the_standby_share() -> None:
    s = weighted(CLOUD_DNS_WEIGHTED)
    record = standby_run(s).one("gcp:dns/recordSet:RecordSet")
    share = WEIGHTS["standby"] / (WEIGHTS["primary"] + WEIGHTS["standby"])
    assert record.inputs["routingPolicy"]["primaryBackup"]["trickleRatio"] == pytest.approx(share)
    assert primary_run(s).outputs[outputs.DNS]["weight"] == WEIGHTS["primary"]


# --- What the stacks export ---------------------------------------------------------------------


@pytest.mark.parametrize("s", [ROUTE53, TRAFFIC_MANAGER, CLOUD_DNS], ids=["aws", "azure", "gcp"])
def test_dns_output_describes_what_each_stack_created(s: Scenario) -> None:
    for run in (primary_run(s), standby_run(s)):
        dns = run.outputs[outputs.DNS]
        assert dns["provider"] == s.authority
        assert dns["fqdn"] == run.outputs[outputs.SERVICE_FQDN]
        assert dns["role"] == run.config.role
        assert dns["endpoint"] == endpoint(run)
        assert dns["routing"] == "failover"
        assert dns["healthCheck"]["path"] == HEALTH_PATH
        created_records = [
            r.outputs["id"]
            for r in dns_resources(run)
            if r.type
            in ("aws:route53/record:Record", "gcp:dns/recordSet:RecordSet", "azure-native:dns:RecordSet")
        ]
        assert dns["recordSetIds"] == created_records


# --- Bad inputs fail clearly --------------------------------------------------------------------


CLOUDS_FOR = {"aws": ("aws", "gcp"), "azure": ("aws", "gcp"), "gcp": ("azure", "gcp")}


@pytest.mark.parametrize("authority", ["aws", "azure", "gcp"])
def test_standby_fails_when_routing_differs_from_the_primary_while_traffic_is_split(authority: str) -> None:
    s = Scenario(authority, *CLOUDS_FOR[authority], (), (("dnsRouting", "weighted"), ("trafficWeight", 30)))
    message = program_error(lambda: standby_run(s))
    assert (
        "stack config 'dnsRouting' must be the same as in the primary stack 'primary' ('failover') while "
        "traffic is split (trafficWeight: primary 100, standby 30) (got 'weighted')" in message
    )
    assert "switch routing only at weights primary 100 / standby 0" in message


@pytest.mark.parametrize(
    ("primary_routing", "standby_routing"), [("failover", "weighted"), ("weighted", "failover")]
)
def test_routing_switch_at_weights_100_0_applies_in_either_order(
    primary_routing: str, standby_routing: str
) -> None:
    """Both modes route identically at 100/0, so the cutover may apply either stack first."""
    s = Scenario(
        "azure", "aws", "gcp", (("dnsRouting", primary_routing),), (("dnsRouting", standby_routing),)
    )
    standby = standby_run(s)
    end = standby.one("azure-native:trafficmanager:Endpoint")
    assert (end.inputs["priority"], end.inputs["weight"]) == (2, 1)
    assert any(
        f"dnsRouting is '{standby_routing}' here and '{primary_routing}' on the primary stack" in w
        for w in standby.warnings
    )


def test_standby_fails_when_every_weight_is_zero() -> None:
    s = scenario("aws", "aws", "gcp", dnsRouting="weighted", trafficWeight=0)
    message = program_error(lambda: standby_run(s))
    assert "stack config 'trafficWeight' must be above 0 in at least one stack" in message


def test_standby_fails_when_probe_settings_differ_from_the_primary() -> None:
    s = Scenario("azure", "aws", "gcp", (), (("healthCheckFailureThreshold", 4), ("dnsTtlSeconds", 60)))
    message = program_error(lambda: standby_run(s))
    assert "2 DNS problems in stack 'standby'" in message
    assert "'healthCheckFailureThreshold' must be the same as in the primary stack 'primary' (2)" in message
    assert "'dnsTtlSeconds' must be the same as in the primary stack 'primary' (45) (got 60)" in message


def test_cloud_dns_rejects_a_host_name_endpoint() -> None:
    """Stacks answer on static IPs now; a host name passed to the component directly still fails."""
    from components.dns.args import endpoint_problem

    problem = endpoint_problem("a1b2.elb.us-east-1.amazonaws.com", ipv4_only=True, whose="stack 'primary'")
    assert problem is not None
    message = str(problem)
    assert (
        "stack config 'dnsProvider' must be aws or azure while stack 'primary' answers on the host name"
        in message
    )
    assert "Cloud DNS routing policies health-check external endpoints only by IP address" in message


def test_cloud_dns_rejects_ten_second_probes() -> None:
    s = scenario("gcp", "gcp", "azure", healthCheckIntervalSeconds=10)
    message = program_error(lambda: primary_run(s))
    assert "stack config 'healthCheckIntervalSeconds' must be 30 when dnsProvider is gcp (got 10)" in message
