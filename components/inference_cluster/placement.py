"""GPU-aware placement: the zones a GPU pool may use, from what the cloud says it offers.

A region sells a GPU shape in some of its zones only, and EKS refuses some zones for the control
plane. Each cloud is asked at plan time (EKS: EC2 instance-type offerings by zone ID; GKE: the
machine types of each zone; AKS: the Compute resource SKUs of the location), and the pool is
placed in up to `MAX_ZONES` of the zones that offer it. An explicit `gpuZones` is checked against
the same answer. A region that offers the shape nowhere fails the preview with a message naming
the key, the value and the fix, before any resource exists.

Errors are `PlacementError` (a `pulumi.RunError`): Pulumi prints the message without a traceback.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi

from components.inference_cluster.args import InferenceClusterArgs

MAX_ZONES: Final = 3
"""Zones a GPU pool spreads over: one zone out of GPU capacity leaves two to scale into."""

EKS_UNSUPPORTED_ZONE_IDS: Final = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})
"""Zone IDs where EKS refuses cluster subnets (UnsupportedAvailabilityZoneException).
Source: Amazon EKS User Guide, "View Amazon EKS networking requirements for VPC and subnets",
subnet requirements (https://docs.aws.amazon.com/eks/latest/userguide/network-reqs.html
#network-requirements-subnets) and AWS re:Post "eks-cluster-creation-errors"; checked 2026-12-02.
Zone IDs, not names: names map to different physical zones in every account."""

EKS_MIN_CLUSTER_ZONES: Final = 2
"""EKS needs cluster subnets in at least two Availability Zones (same source as above)."""

ARM_ENDPOINT: Final = "https://management.azure.com"
COMPUTE_SKUS_API_VERSION: Final = "2021-07-01"


class PlacementError(pulumi.RunError):
    """The region cannot host the GPU pool as configured (printed without a traceback)."""


def _problem(key: str, got: object, expected: str, fix: str) -> str:
    return f"stack config '{key}' must be {expected} (got {got!r}): {fix}"


def choose_zones(
    *,
    offered: Sequence[str],
    override: Sequence[str],
    region: str,
    what: str,
    source: str,
    refused: frozenset[str] = frozenset(),
) -> list[str]:
    """Zones for the GPU pool: `override` if every entry is offered, else up to MAX_ZONES offered.

    `what` names the shape ("g6.2xlarge (l4)"), `source` the cloud's answer it came from.
    Zones in `refused` (EKS control-plane refusals) never count as offered.
    """
    usable = sorted(set(offered) - refused)
    if not usable:
        raise PlacementError(
            _problem(
                "region",
                region,
                f"a region where {what} is offered",
                f"{source} lists it in no usable zone of {region}"
                + (
                    f" (refused for the cluster: {', '.join(sorted(refused & set(offered)))})"
                    if refused & set(offered)
                    else ""
                )
                + "; pick another region, or another gpuType / gpuInstanceType, in the stack file",
            )
        )
    if override:
        wrong = [zone for zone in override if zone not in usable]
        if wrong:
            why = " (EKS refuses it for cluster subnets)" if set(wrong) & refused else ""
            raise PlacementError(
                _problem(
                    "gpuZones",
                    list(override),
                    f"zones of {region} where {what} is offered: {', '.join(usable)}",
                    f"remove {', '.join(wrong)}{why}, or unset gpuZones to choose automatically",
                )
            )
        return list(dict.fromkeys(override))
    return usable[:MAX_ZONES]


def shape_label(args: InferenceClusterArgs) -> str:
    return f"{args.gpu_machine_type} ({args.gpu_type})"


# --- AWS ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EksZonePlan:
    gpu_zone_ids: tuple[str, ...]
    """Zone IDs the GPU node group uses: where EC2 offers the instance type and EKS accepts."""
    subnet_zone_ids: tuple[str, ...]
    """Zone ID of each of the `subnet_count` subnet pairs: the GPU zones first, then other zones
    EKS accepts, all distinct where the region has enough (the control plane and a load
    balancer take one subnet per zone); at least the two zones EKS requires."""


def plan_eks_zones(
    *,
    gpu_offered: Sequence[str],
    region_zone_ids: Sequence[str],
    override: Sequence[str],
    region: str,
    what: str,
    subnet_count: int,
) -> EksZonePlan:
    gpu = choose_zones(
        offered=gpu_offered,
        override=override,
        region=region,
        what=what,
        source="EC2 DescribeInstanceTypeOfferings (location type availability-zone-id)",
        refused=EKS_UNSUPPORTED_ZONE_IDS,
    )
    others = [z for z in sorted(region_zone_ids) if z not in gpu and z not in EKS_UNSUPPORTED_ZONE_IDS]
    cluster = list(gpu) + others[: max(0, subnet_count - len(gpu))]
    if len(cluster) < EKS_MIN_CLUSTER_ZONES:
        raise PlacementError(
            _problem(
                "region",
                region,
                f"a region with at least {EKS_MIN_CLUSTER_ZONES} zones EKS accepts",
                f"EC2 lists {', '.join(sorted(region_zone_ids)) or 'none'}; pick another region",
            )
        )
    return EksZonePlan(tuple(gpu), tuple(cluster[i % len(cluster)] for i in range(subnet_count)))


def eks_zone_plan(
    args: InferenceClusterArgs, subnet_count: int, opts: pulumi.InvokeOutputOptions
) -> pulumi.Output[EksZonePlan]:
    """Ask EC2 where the GPU instance type is offered (by zone ID) and which zones are available."""
    import pulumi_aws as aws

    offerings = aws.ec2.get_instance_type_offerings_output(
        filters=[
            aws.ec2.GetInstanceTypeOfferingsFilterArgs(name="instance-type", values=[args.gpu_machine_type])
        ],
        location_type="availability-zone-id",
        opts=opts,
    )
    # No state filter: a zone that is "impaired" during an incident must not move the subnets
    # (and so the cluster) on the `pulumi up` of a cut-over.
    zones = aws.get_availability_zones_output(
        filters=[aws.GetAvailabilityZonesFilterArgs(name="zone-type", values=["availability-zone"])],
        opts=opts,
    )
    region = args.placement.region
    return pulumi.Output.all(offerings.locations, zones.zone_ids).apply(
        lambda a: plan_eks_zones(
            gpu_offered=a[0],
            region_zone_ids=a[1],
            override=args.gpu_zones,
            region=region,
            what=shape_label(args),
            subnet_count=subnet_count,
        )
    )


def gpu_subnets(subnets: Sequence[Any], plan: pulumi.Output[EksZonePlan]) -> pulumi.Output[list[str]]:
    """Ids of the subnets (one per `plan.subnet_zone_ids` entry) that lie in a GPU zone."""
    return pulumi.Output.all(plan, *[s.id for s in subnets]).apply(
        lambda a: [
            subnet_id
            for subnet_id, zone in zip(a[1:], a[0].subnet_zone_ids, strict=True)
            if zone in a[0].gpu_zone_ids
        ]
    )


# --- GCP ----------------------------------------------------------------------------------------


def gke_gpu_zones(args: InferenceClusterArgs, opts: pulumi.InvokeOutputOptions) -> pulumi.Output[list[str]]:
    """Zones of the region whose machine types include the GPU machine type with its accelerator.

    Accelerator-optimised types (g2, a2, a3) exist only in zones with their GPU and report it as
    a bundled accelerator. N1 types report none (the GPU is attached), so for them the zones must
    also list the accelerator type (acceleratorTypes.aggregatedList, which pulumi-gcp has no
    invoke for).
    """
    import pulumi_gcp as gcp

    project = args.placement.gcp_project or ""
    region = args.placement.region
    machine = args.gpu_machine_type
    # No status filter: a zone that is DOWN during an incident must not change node_locations
    # on the `pulumi up` of a cut-over.
    zones = gcp.compute.get_zones_output(project=project, region=region, opts=opts)

    def zone_answer(zone: str) -> pulumi.Output[tuple[str, bool, bool]]:
        types = gcp.compute.get_machine_types_output(
            project=project, zone=zone, filter=f'name = "{machine}"', opts=opts
        ).machine_types

        def pick(found: Sequence[Any]) -> tuple[str, bool, bool]:
            return zone, _offers(found, machine, args.gpu_accelerator), _bundles(found, machine)

        return types.apply(pick)

    def per_zone(names: list[str]) -> pulumi.Output[list[tuple[str, bool, bool]]]:
        return pulumi.Output.all(*[zone_answer(zone) for zone in sorted(names)]).apply(list)

    def place(answers: list[tuple[str, bool, bool]]) -> list[str]:
        offered = [zone for zone, ok, _ in answers if ok]
        if offered and not any(bundled for _, ok, bundled in answers if ok) and args.gpu_accelerator:
            with_gpu = set(_lookup_accelerator_zones(project, args.gpu_accelerator))
            offered = [zone for zone in offered if zone in with_gpu]
        return choose_zones(
            offered=offered,
            override=args.gpu_zones,
            region=region,
            what=f"{shape_label(args)} with {args.gpu_accelerator}",
            source="Compute Engine machineTypes.list and acceleratorTypes per zone",
        )

    answers: pulumi.Output[list[tuple[str, bool, bool]]] = zones.names.apply(per_zone)
    return answers.apply(place)


def _bundles(types: Sequence[Any], machine: str) -> bool:
    return any(entry.name == machine and entry.accelerators for entry in types)


def _offers(types: Sequence[Any], machine: str, accelerator: str | None) -> bool:
    for entry in types:
        if entry.name != machine:
            continue
        bundled = {a.guest_accelerator_type for a in entry.accelerators or []}
        return not bundled or accelerator in bundled
    return False


def gke_initial_nodes_per_zone(start_total: int, zone_count: int, max_total: int) -> int:
    """`initial_node_count` is per zone of `node_locations`: enough for `start_total` nodes, at
    least one, never more than the ceiling allows across the zones."""
    return max(1, min(-(-start_total // zone_count), max_total // zone_count))


def gke_node_locations(zones: Sequence[str], max_total: int) -> list[str]:
    """At most `max_total` zones, so one initial node per zone never exceeds the ceiling (a warm
    pool, ceiling 1, starts with exactly one node)."""
    return list(zones[: max(1, min(len(zones), max_total))])


GCE_ENDPOINT: Final = "https://compute.googleapis.com"
CLOUD_PLATFORM_SCOPE: Final = "https://www.googleapis.com/auth/cloud-platform"

AcceleratorSource = Callable[[str, str], list[str]]
"""(project, accelerator type) -> zones that offer it."""


def _gce_token() -> str:
    import google.auth
    import google.auth.transport.requests

    raw = os.environ.get("GOOGLE_CREDENTIALS")  # the gcp provider's own credentials setting
    if raw:
        from google.oauth2 import service_account

        credentials: Any = service_account.Credentials.from_service_account_info(
            json.loads(raw), scopes=[CLOUD_PLATFORM_SCOPE]
        )
    else:
        credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    credentials.refresh(google.auth.transport.requests.Request())
    return str(credentials.token)


def gce_accelerator_zones(
    project: str, accelerator: str, *, endpoint: str = GCE_ENDPOINT, token: str | None = None
) -> list[str]:
    """Zones listing `accelerator` in acceleratorTypes.aggregatedList (all pages)."""
    bearer = token or _gce_token()
    base = f"{endpoint}/compute/v1/projects/{project}/aggregated/acceleratorTypes"
    query = {"filter": f'name = "{accelerator}"', "returnPartialSuccess": "true"}
    zones: set[str] = set()
    while True:
        request = urllib.request.Request(
            f"{base}?{urllib.parse.urlencode(query)}", headers={"Authorization": f"Bearer {bearer}"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            page = json.load(response)
        for scope, entry in (page.get("items") or {}).items():
            if any(t.get("name") == accelerator for t in entry.get("acceleratorTypes") or []):
                zones.add(scope.removeprefix("zones/"))
        if not page.get("nextPageToken"):
            return sorted(zones)
        query["pageToken"] = page["nextPageToken"]


def _lookup_accelerator_zones(project: str, accelerator: str) -> list[str]:
    try:
        return _hooks.accelerator_source(project, accelerator)
    except Exception as exc:
        raise PlacementError(
            f"could not list where {accelerator} is offered in project {project} ({exc}): sign in "
            "with `gcloud auth application-default login` (or set GOOGLE_CREDENTIALS) and retry"
        ) from exc


# --- Azure --------------------------------------------------------------------------------------

SkuSource = Callable[[str, str], list[dict[str, Any]]]
"""(subscription id, location) -> the `value` records of Microsoft.Compute/skus for it."""


def azure_offered_zones(records: Sequence[dict[str, Any]], vm_size: str, location: str) -> list[str] | None:
    """Zones of `location` where `vm_size` is offered to this subscription (what `az vm list-skus
    --zone` shows): the SKU's zones minus subscription restrictions on the location or zones.
    None: not offered at all; []: offered in a location without availability zones."""
    for sku in records:
        if sku.get("resourceType") != "virtualMachines" or sku.get("name", "").lower() != vm_size.lower():
            continue
        zones: set[str] = set()
        here = [
            i for i in sku.get("locationInfo") or [] if str(i.get("location", "")).lower() == location.lower()
        ]
        if not here:
            return None
        for info in here:
            zones |= set(info.get("zones") or [])
        for restriction in sku.get("restrictions") or []:
            restricted = restriction.get("restrictionInfo") or {}
            in_location = location.lower() in [str(x).lower() for x in restricted.get("locations") or []]
            if restriction.get("type") == "Location" and in_location:
                return None
            if restriction.get("type") == "Zone" and in_location:
                zones -= set(restricted.get("zones") or [])
                if not zones:
                    return None
        return sorted(zones)
    return None


def _arm_token() -> str:
    from azure.identity import ClientSecretCredential, DefaultAzureCredential

    env = os.environ
    if env.get("ARM_CLIENT_ID") and env.get("ARM_CLIENT_SECRET") and env.get("ARM_TENANT_ID"):
        # The azure-native provider's own service-principal settings.
        credential: Any = ClientSecretCredential(
            env["ARM_TENANT_ID"], env["ARM_CLIENT_ID"], env["ARM_CLIENT_SECRET"]
        )
    else:
        credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    return str(credential.get_token(f"{ARM_ENDPOINT}/.default").token)


def arm_compute_skus(
    subscription: str, location: str, *, endpoint: str = ARM_ENDPOINT, token: str | None = None
) -> list[dict[str, Any]]:
    """GET Microsoft.Compute/skus for one location (all pages), as `az vm list-skus` does.

    azure-native has no invoke for this API (checked in pulumi-azure-native 3.29), so the
    program calls ARM itself with the deployer's credentials.
    """
    query = urllib.parse.urlencode(
        {"api-version": COMPUTE_SKUS_API_VERSION, "$filter": f"location eq '{location}'"}
    )
    url: str | None = f"{endpoint}/subscriptions/{subscription}/providers/Microsoft.Compute/skus?{query}"
    bearer = token or _arm_token()
    records: list[dict[str, Any]] = []
    while url:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {bearer}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            page = json.load(response)
        records += page.get("value") or []
        url = page.get("nextLink")
    return records


@dataclass
class _Hooks:
    sku_source: SkuSource = arm_compute_skus
    accelerator_source: AcceleratorSource = gce_accelerator_zones


_hooks = _Hooks()


def use_sku_source(source: SkuSource) -> SkuSource:
    """Replace where Compute SKUs come from (the mocks answer from recorded tables); returns the old."""
    previous, _hooks.sku_source = _hooks.sku_source, source
    return previous


def use_accelerator_source(source: AcceleratorSource) -> AcceleratorSource:
    """Replace where GCE accelerator zones come from (the mocks answer from tables); returns the old."""
    previous, _hooks.accelerator_source = _hooks.accelerator_source, source
    return previous


def aks_gpu_zones(args: InferenceClusterArgs, subscription: pulumi.Output[str]) -> pulumi.Output[list[str]]:
    region = args.placement.region

    def lookup(sub: str) -> list[str]:
        try:
            records = _hooks.sku_source(sub, region)
        except Exception as exc:
            raise PlacementError(
                f"could not list the Compute SKUs of {region} for subscription {sub} ({exc}): "
                "sign in with `az login` (or set ARM_CLIENT_ID/ARM_CLIENT_SECRET/ARM_TENANT_ID) and retry"
            ) from exc
        offered = azure_offered_zones(records, args.gpu_machine_type, region)
        if offered == []:  # a location without availability zones: the pool is regional
            if args.gpu_zones:
                raise PlacementError(
                    _problem(
                        "gpuZones",
                        list(args.gpu_zones),
                        f"unset in {region}, which offers {shape_label(args)} without availability zones",
                        "remove gpuZones from the stack file",
                    )
                )
            return []
        return choose_zones(
            offered=offered or [],
            override=args.gpu_zones,
            region=region,
            what=shape_label(args),
            source="Microsoft.Compute/skus for this subscription",
        )

    return subscription.apply(lookup)
