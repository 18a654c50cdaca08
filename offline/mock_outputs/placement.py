"""What the clouds answer about zones and GPU offerings, per region, for GPU-aware placement.

The tables are recorded answers, not live queries (this machine has no cloud access). Refresh
them with the command named in each table's source. They cover the shipped regions and a few
others, including regions where the shipped GPU is not sold, so a stack moved there fails the
way it would on the real cloud.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.inference_cluster import placement, readiness
from offline.mocks import answers_call, outputs_for, provider_region

Args = pulumi.runtime.MockResourceArgs
Call = pulumi.runtime.MockCallArgs

# --- AWS ----------------------------------------------------------------------------------------

# Zone IDs of each region as `aws ec2 describe-availability-zones --filters
# Name=zone-type,Values=availability-zone` shows them for an account created before the older
# zones were closed to new accounts (so use1-az3, usw1-az2 and cac1-az3, which EKS refuses,
# appear). Source: AWS docs "Regions and Zones" and the EKS network requirements page; recorded
# 2026-12-02.
AWS_ZONE_IDS: dict[str, tuple[str, ...]] = {
    "us-east-1": ("use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6"),
    "us-east-2": ("use2-az1", "use2-az2", "use2-az3"),
    "us-west-1": ("usw1-az1", "usw1-az2", "usw1-az3"),
    "us-west-2": ("usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4"),
    "ca-central-1": ("cac1-az1", "cac1-az2", "cac1-az3", "cac1-az4"),
    "eu-west-1": ("euw1-az1", "euw1-az2", "euw1-az3"),
}

# Instance family -> region -> zone IDs offering it, as `aws ec2 describe-instance-type-offerings
# --location-type availability-zone-id --filters Name=instance-type,Values=<type> --region <r>`
# lists them (every size of a family is offered in the same zones here). Nitro families are
# never in use1-az3. us-west-1 sells no L4/A10G/L40S/A100/H100. Recorded 2026-12-02 from the
# EC2 "instance types by Region" documentation; sizes within a family can differ in reality.
AWS_OFFERINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "g4dn": {
        "us-east-1": ("use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6"),
        "us-east-2": ("use2-az1", "use2-az2", "use2-az3"),
        "us-west-1": ("usw1-az1", "usw1-az3"),
        "us-west-2": ("usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4"),
        "ca-central-1": ("cac1-az1", "cac1-az2", "cac1-az4"),
        "eu-west-1": ("euw1-az1", "euw1-az2", "euw1-az3"),
    },
    "g5": {
        "us-east-1": ("use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6"),
        "us-east-2": ("use2-az1", "use2-az2", "use2-az3"),
        "us-west-2": ("usw2-az1", "usw2-az2", "usw2-az3"),
        "ca-central-1": ("cac1-az1", "cac1-az4"),
        "eu-west-1": ("euw1-az1", "euw1-az2", "euw1-az3"),
    },
    "g6": {
        "us-east-1": ("use1-az1", "use1-az2", "use1-az4", "use1-az6"),
        "us-east-2": ("use2-az1", "use2-az2", "use2-az3"),
        "us-west-2": ("usw2-az1", "usw2-az2", "usw2-az3"),
        "ca-central-1": ("cac1-az1", "cac1-az2"),
        "eu-west-1": ("euw1-az1", "euw1-az2"),
    },
    "g6e": {
        "us-east-1": ("use1-az1", "use1-az2", "use1-az4"),
        "us-east-2": ("use2-az1", "use2-az2"),
        "us-west-2": ("usw2-az1", "usw2-az2", "usw2-az4"),
    },
    "p4d": {"us-east-1": ("use1-az2", "use1-az4", "use1-az6"), "us-west-2": ("usw2-az2", "usw2-az4")},
    "p4de": {"us-east-1": ("use1-az4", "use1-az6")},
    "p5": {"us-east-1": ("use1-az4", "use1-az6"), "us-east-2": ("use2-az3",), "us-west-2": ("usw2-az4",)},
}

# Zones the mock account sees as impaired (an AZ incident): DescribeAvailabilityZones then
# reports state "impaired", and a `state=available` filter drops them. Empty unless a test sets it.
AWS_IMPAIRED: set[str] = set()


def _region_of(call: Call, default: str) -> str:
    explicit = call.args.get("region")
    if explicit:
        return str(explicit)
    return provider_region(call.provider, default)


def aws_zone_names(region: str) -> dict[str, str]:
    """Zone ID -> zone name in this mock account: shifted by one letter, as real accounts'
    names are shuffled (us-east-1a is not use1-az1)."""
    ids = AWS_ZONE_IDS.get(region, ())
    return {zone_id: f"{region}{'abcdef'[(i + 1) % len(ids)]}" for i, zone_id in enumerate(ids)}


@answers_call("aws:index/getAvailabilityZones:getAvailabilityZones")
def _aws_zones(call: Call) -> dict[str, Any]:
    region = _region_of(call, "us-east-1")
    excluded = set(call.args.get("excludeZoneIds") or [])
    if call.args.get("state") == "available":
        excluded |= AWS_IMPAIRED
    names = aws_zone_names(region)
    ids = [z for z in AWS_ZONE_IDS.get(region, ()) if z not in excluded]
    return {"names": [names[z] for z in ids], "zoneIds": ids, "id": region, "groupNames": [region] * len(ids)}


@outputs_for("aws:ec2/subnet:Subnet")
def _subnet(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    """EC2 reports both the zone name and the zone ID of a subnet, whichever one it was given."""
    region = provider_region(args.provider, "us-east-1")
    names = aws_zone_names(region)
    zone_id = args.inputs.get("availabilityZoneId")
    if zone_id:
        return {"availabilityZone": names.get(zone_id, f"{region}?")}
    ids = {name: zone for zone, name in names.items()}
    return {"availabilityZoneId": ids.get(str(args.inputs.get("availabilityZone")), "")}


@answers_call("aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings")
def _aws_offerings(call: Call) -> dict[str, Any]:
    region = _region_of(call, "us-east-1")
    if call.args.get("locationType") != "availability-zone-id":
        raise ValueError("placement asks by zone ID; zone names differ per account")
    wanted: list[str] = []
    for f in call.args.get("filters") or []:
        if f.get("name") == "instance-type":
            wanted += list(f.get("values") or [])
    rows = [
        (instance_type, zone)
        for instance_type in wanted
        for zone in AWS_OFFERINGS.get(instance_type.split(".")[0], {}).get(region, ())
    ]
    return {
        "id": region,
        "instanceTypes": [t for t, _ in rows],
        "locations": [z for _, z in rows],
        "locationTypes": ["availability-zone-id"] * len(rows),
    }


# --- GCP ----------------------------------------------------------------------------------------

# Zones (status UP) per region, as `gcloud compute zones list --filter=region:<r>`.
GCP_ZONES: dict[str, tuple[str, ...]] = {
    "us-central1": ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"),
    "us-east4": ("us-east4-a", "us-east4-b", "us-east4-c"),
    "europe-west4": ("europe-west4-a", "europe-west4-b", "europe-west4-c"),
    "northamerica-northeast1": (
        "northamerica-northeast1-a",
        "northamerica-northeast1-b",
        "northamerica-northeast1-c",
    ),
}

# Machine series -> (bundled accelerator, zones offering it), as `gcloud compute machine-types
# list --filter="name=<type>"` and the "GPU regions and zones" page list them
# (https://cloud.google.com/compute/docs/gpus/gpu-regions-zones); recorded 2026-12-02. N1 carries
# no bundled GPU (T4s are attached), so its machine types exist in every zone.
GCP_SERIES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "g2": (
        "nvidia-l4",
        (
            *("us-central1-a", "us-central1-b", "us-central1-c", "us-east4-a", "us-east4-c"),
            *("europe-west4-a", "europe-west4-b", "europe-west4-c"),
        ),
    ),
    "a2-highgpu": ("nvidia-tesla-a100", ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f")),
    "a2-ultragpu": ("nvidia-a100-80gb", ("us-central1-a", "us-central1-c", "us-east4-c", "europe-west4-a")),
    "a3-highgpu": ("nvidia-h100-80gb", ("us-central1-a", "us-central1-b", "us-central1-c", "us-east4-a")),
    "n1": (None, tuple(z for zones in GCP_ZONES.values() for z in zones)),
}


# Accelerator type -> zones listing it, as `gcloud compute accelerator-types list
# --filter="name=<type>"` shows them (the GPU regions and zones page above); recorded 2026-12-02.
# Only consulted for N1 shapes, whose machine types do not carry the GPU.
GCP_ACCELERATOR_ZONES: dict[str, tuple[str, ...]] = {
    "nvidia-tesla-t4": (
        *("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"),
        *("us-east4-a", "us-east4-b", "us-east4-c", "europe-west4-b", "europe-west4-c"),
        *("northamerica-northeast1-a", "northamerica-northeast1-c"),
    ),
    **{accelerator: zones for accelerator, zones in GCP_SERIES.values() if accelerator},
}
ACCELERATOR_LOOKUPS: list[tuple[str, str]] = []
"""(project, accelerator) of every acceleratorTypes lookup the program made (for tests)."""


def recorded_accelerator_zones(project: str, accelerator: str) -> list[str]:
    ACCELERATOR_LOOKUPS.append((project, accelerator))
    return sorted(GCP_ACCELERATOR_ZONES.get(accelerator, ()))


placement.use_accelerator_source(recorded_accelerator_zones)

# Zones reported DOWN (a zone incident); a `status=UP` filter drops them. Empty unless a test sets it.
GCP_DOWN: set[str] = set()


def _series(machine: str) -> str:
    family = machine.split("-", maxsplit=1)[0]
    return family if family in ("g2", "n1") else "-".join(machine.split("-")[:2])


@answers_call("gcp:compute/getZones:getZones")
def _gcp_zones(call: Call) -> dict[str, Any]:
    region = _region_of(call, "us-central1")
    project = call.args.get("project", "mock-project")
    up_only = call.args.get("status") == "UP"
    names = [z for z in GCP_ZONES.get(region, ()) if not (up_only and z in GCP_DOWN)]
    return {"id": f"projects/{project}/regions/{region}", "names": names, "project": project}


@answers_call("gcp:compute/getMachineTypes:getMachineTypes")
def _gcp_machine_types(call: Call) -> dict[str, Any]:
    zone = str(call.args.get("zone"))
    project = call.args.get("project", "mock-project")
    machine = str(call.args.get("filter", "")).split('"')[1]
    accelerator, zones = GCP_SERIES.get(_series(machine), (None, ()))
    types = []
    if zone in zones:
        gpus = int(machine.rsplit("-", 1)[1].rstrip("g")) if accelerator and machine.endswith("g") else 1
        types.append(
            {
                "name": machine,
                "accelerators": [{"guestAcceleratorType": accelerator, "guestAcceleratorCount": gpus}]
                if accelerator
                else [],
                "architecture": "X86_64",
                "bundledLocalSsds": [],
                "deprecateds": [],
                "description": machine,
                "guestCpus": 8,
                "isSharedCpus": False,
                "maximumPersistentDisks": 128,
                "maximumPersistentDisksSizeGb": 263168,
                "memoryMb": 32768,
                "selfLink": f"https://www.googleapis.com/compute/v1/projects/{project}/zones/{zone}/machineTypes/{machine}",
            }
        )
    return {"id": f"projects/{project}/zones/{zone}", "machineTypes": types, "zone": zone, "project": project}


# --- Azure --------------------------------------------------------------------------------------

# VM size -> location -> logical zones offered to the mock subscription, as `az vm list-skus
# --location <l> --size <size> --zone` shows them (locations without zones map to ()). brazilsouth
# sells none of the catalogue's A100/H100 sizes; eastus2 restricts one A100 zone for this
# subscription (NotAvailableForSubscription). Recorded 2026-12-02 from the Azure "products
# available by region" page and the NC-series docs.
AZURE_SKU_ZONES: dict[str, dict[str, tuple[str, ...]]] = {
    "Standard_NC4as_T4_v3": {"eastus": ("1", "2", "3"), "westus": (), "brazilsouth": ("1", "2", "3")},
    "Standard_NC64as_T4_v3": {"eastus": ("1", "2", "3"), "westus": ()},
    "Standard_NC24ads_A100_v4": {
        "eastus": ("2", "3"),
        "eastus2": ("1", "2", "3"),
        "westeurope": ("1", "2", "3"),
    },
    "Standard_NC48ads_A100_v4": {"eastus": ("2", "3"), "eastus2": ("1", "2", "3")},
    "Standard_NC96ads_A100_v4": {"eastus": ("2", "3"), "eastus2": ("1", "2", "3")},
    "Standard_NC40ads_H100_v5": {"eastus": ("1", "2", "3"), "eastus2": ("1", "2", "3")},
    "Standard_NC80adis_H100_v5": {"eastus": ("1", "2", "3"), "eastus2": ("1", "2", "3")},
}
AZURE_RESTRICTED_ZONES: dict[tuple[str, str], tuple[str, ...]] = {
    ("Standard_NC24ads_A100_v4", "eastus2"): ("1",),
}


def recorded_compute_skus(subscription: str, location: str) -> list[dict[str, Any]]:
    """Microsoft.Compute/skus records for `location`, shaped like the ARM API's `value`."""
    records = []
    for size, locations in AZURE_SKU_ZONES.items():
        if location not in locations:
            continue
        restricted = AZURE_RESTRICTED_ZONES.get((size, location), ())
        records.append(
            {
                "resourceType": "virtualMachines",
                "name": size,
                "tier": "Standard",
                "locations": [location],
                "locationInfo": [
                    {"location": location, "zones": list(locations[location]), "zoneDetails": []}
                ],
                "restrictions": [
                    {
                        "type": "Zone",
                        "values": [location],
                        "restrictionInfo": {"locations": [location], "zones": list(restricted)},
                        "reasonCode": "NotAvailableForSubscription",
                    }
                ]
                if restricted
                else [],
            }
        )
    return records


placement.use_sku_source(recorded_compute_skus)


# --- Kubernetes API access (AKS role propagation) -------------------------------------------------

REFUSED_CALLS_BEFORE_PROPAGATION = 2
"""A new AKS role assignment answers 403 for minutes; the mock API server refuses this many calls
per cluster before it lets the deployer in (the sleeps between them are skipped)."""
API_CALLS: dict[str, list[int]] = {}
"""Cluster server -> HTTP statuses the mock API server answered, in order (for tests)."""


def _mock_api_server(kubeconfig: str) -> readiness.Answer:
    import yaml

    server = yaml.safe_load(kubeconfig)["clusters"][0]["cluster"]["server"]
    answered = API_CALLS.setdefault(server, [])
    status = 403 if len(answered) < REFUSED_CALLS_BEFORE_PROPAGATION else 200
    answered.append(status)
    return readiness.Answer(
        status, "Forbidden: role assignment not yet propagated" if status == 403 else "ok"
    )


readiness.use_probe(_mock_api_server, sleep=lambda seconds: None)
