"""Azure: a Traffic Manager profile with one external endpoint per stack, behind Azure DNS.

Design (settled here, see also components/dns/__init__.py):

- **The primary owns the profile and the service record.** It creates the Traffic Manager
  profile (in `azure_resource_group`, the resource group of the existing Azure DNS zone) with the
  monitor settings from config (protocol by port, port, path, 10/30 s interval, timeout,
  tolerated failures = failure threshold - 1, since Traffic Manager marks an endpoint degraded on
  the failure *after* the tolerated ones) and the DNS TTL from config, its own external endpoint
  (priority 1), and the record for the service name in the Azure DNS zone: a CNAME record set
  that is an **alias** of the profile (`target_resource`), so it resolves to the profile's
  `<name>.trafficmanager.net` FQDN and is emptied, not left dangling, if the profile is ever
  deleted (a dangling CNAME to trafficmanager.net can be claimed by anyone).
- **The standby adds its own external endpoint (priority 2) to the primary's profile**, using the
  profile name and resource group from the primary's `dns` descriptor (StackReference). The
  dependency is on the primary *stack's outputs* and on Azure (the DNS authority), not on the
  primary's cloud: if the primary runs on AWS or GCP and that cloud is down, the standby can
  still be applied. The primary must be applied first.
- **Ownership: no stack's apply can remove the other's endpoint.** ARM's profile PUT replaces
  the profile's whole endpoint list with the one in the request body, which is how one stack's
  update used to be able to delete the other's endpoint. So:
  - each stack owns exactly one standalone `trafficmanager.Endpoint` (its own PUT/DELETE on its
    own URL; named `<stack>-<cloud>`, and the standby refuses a name equal to the primary's);
  - the profile never declares inline `endpoints` and ignores changes to them
    (`ignore_changes=["endpoints"]`), so no program change can ever send a list. azure-native
    treats `endpoints` as a sub-resource property it maintains when unset: on an update it reads
    the live endpoints and sends them back unchanged (the provider's MaintainSubResourceIfUnset;
    the SDK documents "Do not mix inline and standalone resource");
  - the profile and both endpoints are `protect`ed (`deletion_protection`): deleting or
    *replacing* the profile (a changed name or resource group) would delete every endpoint in
    it, so Pulumi refuses that until protection is lifted on purpose; after such a replacement,
    run `pulumi up` on the standby to put its endpoint back.
  tests/components/test_traffic_manager_ownership.py applies both stacks in both orders against a model of
  ARM's PUT semantics and checks both endpoints survive.
- Every endpoint carries both a priority (1 primary, 2 standby) and a weight, and only the
  profile's routing method (owned by the primary) picks which is used: `Priority` for
  `routing='failover'`, `Weighted` for `routing='weighted'`. Changing mode is one update of the
  primary's profile; the standby only has to agree (it checks the primary's descriptor).
- Traffic Manager weights are 1-1000 and cannot be 0, so weight w (0-100) maps to max(1, 10*w):
  a standby at 0 keeps answering when the primary is unhealthy, but also gets about 1 in 1000
  answers while it is healthy (weighted mode only; failover mode sends it nothing). Both stacks
  at 0 is rejected.
- Endpoints may be IPv4 addresses or host names (Traffic Manager probes and answers either).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from components.common import TYPE_PREFIX, physical_name, type_token
from components.dns.args import (
    DnsError,
    DnsProblem,
    FailoverRecord,
    FailoverRecordArgs,
    base_descriptor,
    check_against_primary,
    endpoint_kind,
    endpoint_problem,
)

tm = azure_native.trafficmanager

PRIORITY = {"primary": 1, "standby": 2}


def traffic_manager_weight(weight: int) -> int:
    """Traffic Manager's 1-1000 weight for a 0-100 share (0 becomes the smallest weight, 1)."""
    return max(1, 10 * weight)


def profile_name(args: FailoverRecordArgs) -> str:
    """Also the relative DNS name under trafficmanager.net, which is global across Azure."""
    return physical_name(TYPE_PREFIX, args.fqdn)


class AzureFailoverRecord(FailoverRecord):
    """Primary: profile + endpoint + alias record; standby: its endpoint in the primary's profile."""

    profile: tm.Profile | None
    """Primary: the Traffic Manager profile (routing method, probe settings); standby: None."""
    endpoint: tm.Endpoint
    """This stack's external endpoint in the (primary's) profile."""
    record_set: azure_native.dns.RecordSet | None
    """Primary: the alias CNAME of the service name to the profile; standby: None."""

    def __init__(
        self, name: str, args: FailoverRecordArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token("dns", "AzureFailoverRecord"), name, None, opts)
        protected = pulumi.ResourceOptions(
            parent=self, provider=args.placement.provider, protect=args.deletion_protection
        )
        endpoint = pulumi.Output.from_input(args.endpoint_host).apply(lambda h: _checked_endpoint(args, h))
        self.profile = None
        if args.role == "primary":
            traffic_manager, profile = self._profile(name, args, endpoint, protected)
        else:
            traffic_manager, profile = _joined_profile(args)
        traffic_manager |= self._endpoints(name, args, endpoint, profile, protected)
        self.record_set = self._records(name, args, protected)

        self.descriptor = pulumi.Output.from_input(
            {
                **base_descriptor(args),
                "endpoint": endpoint,
                "endpointKind": endpoint.apply(lambda h: endpoint_kind(h) or "unknown"),
                "serviceRecordOwner": "primary",
                "recordSetIds": [self.record_set.id] if self.record_set is not None else [],
                "healthCheckIds": [],
                "trafficManager": traffic_manager,
            }
        )
        self.register_outputs({"descriptor": self.descriptor})

    def _profile(
        self,
        name: str,
        args: FailoverRecordArgs,
        endpoint: pulumi.Output[str],
        protected: pulumi.ResourceOptions,
    ) -> tuple[dict[str, Any], _ProfileRef]:
        """The primary's profile: routing method and probe settings; returns its descriptor part."""
        resource_group = args.azure_resource_group or ""
        method = (
            tm.TrafficRoutingMethod.PRIORITY
            if args.routing == "failover"
            else tm.TrafficRoutingMethod.WEIGHTED
        )
        self.profile = tm.Profile(
            f"{name}-profile",
            tm.ProfileArgs(
                resource_group_name=resource_group,
                # Named from the checked endpoint, so nothing is created when the check fails.
                profile_name=endpoint.apply(lambda _: profile_name(args)),
                location="global",
                profile_status=tm.ProfileStatus.ENABLED,
                traffic_routing_method=method,
                dns_config=tm.DnsConfigArgs(relative_name=profile_name(args), ttl=args.ttl_seconds),
                monitor_config=tm.MonitorConfigArgs(
                    protocol=tm.MonitorProtocol(args.probe_protocol),
                    port=args.health_check_port,
                    path=args.health_check_path,
                    interval_in_seconds=args.health_check_interval_seconds,
                    timeout_in_seconds=args.probe_timeout_seconds,
                    tolerated_number_of_failures=args.health_check_failure_threshold - 1,
                ),
                traffic_view_enrollment_status=tm.TrafficViewEnrollmentStatus.DISABLED,
                tags=dict(args.placement.tags),
            ),
            # Never endpoints of its own (see the module docstring): a PUT that carries an
            # endpoint list replaces every endpoint, the standby's included.
            opts=pulumi.ResourceOptions.merge(
                protected, pulumi.ResourceOptions(ignore_changes=["endpoints"])
            ),
        )
        traffic_manager = {
            "profileName": self.profile.name,
            "resourceGroup": resource_group,
            "fqdn": self.profile.dns_config.apply(lambda c: c.fqdn if c else None),
            "profileId": self.profile.id,
            "routingMethod": method.value,
        }
        # From the profile's output, so the endpoint waits for the profile to exist.
        return traffic_manager, _ProfileRef(
            name=self.profile.name.apply(lambda n: n or profile_name(args)), resource_group=resource_group
        )

    def _endpoints(
        self,
        name: str,
        args: FailoverRecordArgs,
        endpoint: pulumi.Output[str],
        profile: _ProfileRef,
        protected: pulumi.ResourceOptions,
    ) -> dict[str, Any]:
        """This stack's endpoint in the profile; returns its descriptor part."""
        self.endpoint = tm.Endpoint(
            f"{name}-endpoint",
            tm.EndpointInitArgs(
                resource_group_name=profile.resource_group,
                profile_name=profile.name,
                endpoint_name=endpoint_name(args),
                endpoint_type="ExternalEndpoints",
                target=endpoint,
                endpoint_status=tm.EndpointStatus.ENABLED,
                always_serve=tm.AlwaysServe.DISABLED,
                priority=PRIORITY[args.role],
                weight=traffic_manager_weight(args.effective_weight),
            ),
            opts=protected,
        )
        return {
            "endpointName": self.endpoint.name,
            "endpointId": self.endpoint.id,
            "priority": PRIORITY[args.role],
            "endpointWeight": traffic_manager_weight(args.effective_weight),
        }

    def _records(
        self, name: str, args: FailoverRecordArgs, protected: pulumi.ResourceOptions
    ) -> azure_native.dns.RecordSet | None:
        """Primary: the service name as an alias CNAME to the profile, in the existing zone."""
        if self.profile is None:
            return None
        return azure_native.dns.RecordSet(
            f"{name}-record",
            azure_native.dns.RecordSetArgs(
                resource_group_name=args.azure_resource_group or "",
                zone_name=args.zone,
                relative_record_set_name=args.record,
                record_type="CNAME",
                ttl=args.ttl_seconds,
                target_resource=azure_native.dns.SubResourceArgs(id=self.profile.id),
                metadata=dict(args.placement.tags),
            ),
            opts=protected,
        )


@dataclass(frozen=True)
class _ProfileRef:
    """Which profile this stack's endpoint joins."""

    name: pulumi.Input[str]
    resource_group: pulumi.Input[str]


def endpoint_name(args: FailoverRecordArgs) -> str:
    """`<stack>-<cloud>`: one name per stack in the shared profile."""
    return physical_name(args.placement.stack, args.stack_cloud)


def _checked_endpoint(args: FailoverRecordArgs, host: str) -> str:
    host = host.strip().rstrip(".").lower()
    stack = args.placement.stack
    problem = endpoint_problem(host, ipv4_only=False, whose=f"stack '{stack}'")
    if problem is not None:
        raise DnsError(stack, [problem])
    return host


def _joined_profile(args: FailoverRecordArgs) -> tuple[dict[str, Any], _ProfileRef]:
    """The standby joins the primary's profile, read from the primary's descriptor."""
    joined = pulumi.Output.from_input(args.primary_dns).apply(lambda primary: _check_joined(args, primary))
    traffic_manager = {
        "profileName": joined.apply(lambda t: t.get("profileName")),
        "resourceGroup": joined.apply(lambda t: t.get("resourceGroup")),
        "fqdn": joined.apply(lambda t: t.get("fqdn")),
        "routingMethod": joined.apply(lambda t: t.get("routingMethod")),
    }
    return traffic_manager, _ProfileRef(
        name=joined.apply(lambda t: str(t["profileName"])),
        resource_group=joined.apply(lambda t: str(t["resourceGroup"])),
    )


def _check_joined(args: FailoverRecordArgs, primary: object) -> Mapping[str, Any]:
    checked = check_against_primary(args, primary)
    joined = dict(checked.get("trafficManager") or {})
    own = endpoint_name(args)
    if joined.get("endpointName") == own:
        # One name in one profile is one endpoint: this stack's PUT would overwrite the primary's.
        raise DnsError(
            args.placement.stack,
            [
                DnsProblem(
                    "primaryStack",
                    f"a primary whose Traffic Manager endpoint is also named {own!r}",
                    "a primary stack with a different stack name or cloud",
                    "give the two stacks different stack names: the endpoint name is <stack>-<cloud>",
                )
            ],
        )
    return joined
