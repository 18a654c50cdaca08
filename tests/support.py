"""Shared test helpers: cloud profiles and cached mocked runs of the real stack files.

A profile is what a user changes in Pulumi.<stack>.yaml to move a stack to another cloud
(cloud, region, a GPU that cloud sells). Everything else comes from the shipped stack files.
"""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path
from typing import Any

from infra.harness import ProgramRun, run_pair, run_stack

CLOUDS = ("aws", "gcp", "azure")
PROFILES: dict[str, dict[str, Any]] = {
    "aws": {"cloud": "aws", "region": "us-east-1", "gpuType": "l4", "dockerHubUsername": "acme-ci"},
    "gcp": {
        "cloud": "gcp",
        "region": "us-central1",
        "gpuType": "l4",
        "gcpProject": "acme-inference-standby",
        "gcpBillingAccount": "012345-6789AB-CDEF01",
    },
    "azure": {"cloud": "azure", "region": "eastus", "gpuType": "a100-80gb"},
}
# On-prem target (issue 12): a site's existing cluster. What a user changes besides cloud: the
# cluster access, the GPU nodes, the exposure and the site registry; the cloud-only keys of the
# shipped stack files (API allowlist, Docker Hub account, managed alerting) are removed.
ONPREM_KUBECONFIG = str(Path(__file__).resolve().parent / "data" / "onprem-kubeconfig.yaml")
SITE_REGISTRY = "registry.site.internal:5000"
SITE_IMAGE = (
    f"{SITE_REGISTRY}/vllm/vllm-openai:v0.11.0"
    "@sha256:014a95f21c9edf6abe0aea6b07353f96baa4ec291c427bb1176dc7c93a85845c"
)
SITES = {"primary": ("fra-dc1", "203.0.113.10"), "standby": ("ams-dc2", "203.0.113.20")}
PROFILES["onprem"] = {
    "cloud": "onprem",
    "kubeconfigPath": ONPREM_KUBECONFIG,
    "gpuNodeSelector": ["nvidia.com/gpu.present=true"],
    "gpuTaint": "nvidia.com/gpu=present:NoSchedule",
    "gpuType": "l40s",
    "exposure": "loadBalancerAddress",
    "imageRegistry": SITE_REGISTRY,
    "servingImage": SITE_IMAGE,
    "tlsCertificate": "provided",
    "kubernetesApiAllowedCidrs": None,
    "dockerHubUsername": None,
    "alertNotify": None,
    "budgetMonthlyUsd": None,
    "gcpBillingAccount": None,
}
PAIRS = [(p, s) for p, s in itertools.permutations(CLOUDS, 2)]
PAIR_IDS = [f"{p}-to-{s}" for p, s in PAIRS]
TEST_SECRETS = {"apiKey": "test-api-key-value", "dockerHubAccessToken": "test-docker-hub-token"}


TARGETS = (*CLOUDS, "onprem")
ONPREM_PAIRS = [(p, s) for p, s in itertools.product(TARGETS, repeat=2) if "onprem" in (p, s)]
"""Every pair with an on-prem side, two sites included; PAIRS keeps the six cloud pairs."""
ONPREM_PAIR_IDS = [f"{p}-to-{s}" for p, s in ONPREM_PAIRS]


def _site(role: str) -> dict[str, Any]:
    name, address = SITES[role]
    site = {"region": name, "kubeContext": name, "exposureAddress": address}
    if role == "standby":
        site["serviceAccountIssuer"] = f"https://k8s.{name}.example.com"
    return site


def _tls_provided(primary: str, standby: str) -> dict[str, Any]:
    # acme is refused on onprem; both stacks of a pair read the same secrets, so both serve a
    # provided certificate.
    return {"tlsCertificate": "provided"} if "onprem" in (primary, standby) else {}


def primary_overrides(primary: str, standby: str | None = None) -> dict[str, Any]:
    site = _site("primary") if primary == "onprem" else {}
    return {**PROFILES[primary], **site, **_tls_provided(primary, standby or primary)}


def standby_overrides(primary: str, standby: str) -> dict[str, Any]:
    site = _site("standby") if standby == "onprem" else {}
    return {**PROFILES[standby], **site, **_tls_provided(primary, standby), "primaryCloud": primary}


@cache
def pair_secrets(primary: str, standby: str) -> dict[str, str]:
    """TEST_SECRETS, plus a certificate for api.example.com when a side is on-prem."""
    if "onprem" not in (primary, standby):
        return TEST_SECRETS
    from tests.edge_support import make_certificate

    chain, key = make_certificate(["api.example.com"], days=365)
    return {**TEST_SECRETS, "tlsCertificateChain": chain.decode(), "tlsPrivateKey": key.decode()}


@cache
def pair(primary: str, standby: str) -> tuple[ProgramRun, ProgramRun]:
    """Mocked runs of both shipped stacks moved to (primary, standby); cached per session."""
    return run_pair(
        primary_overrides(primary, standby),
        standby_overrides(primary, standby),
        pair_secrets(primary, standby),
    )


@cache
def shipped(stack: str) -> ProgramRun:
    """A mocked run of a shipped stack file exactly as it is (standby reads the shipped primary)."""
    if stack == "standby":
        return run_pair(secrets=TEST_SECRETS)[1]
    return run_stack(stack, secrets=TEST_SECRETS)


# The DNS authority moved independently of both clouds: what each needs besides dnsProvider,
# identical in both stacks (Cloud DNS probes external endpoints every 30 s at most).
AUTHORITIES = ("aws", "gcp", "azure")
AUTHORITY_OVERRIDES: dict[str, dict[str, Any]] = {
    "aws": {"dnsProvider": "aws"},
    "gcp": {"dnsProvider": "gcp", "gcpProject": "acme-inference-standby", "healthCheckIntervalSeconds": 30},
    "azure": {"dnsProvider": "azure", "dnsResourceGroup": "dns-rg"},
}
COMBINATIONS = [(p, s, a) for p, s in PAIRS for a in AUTHORITIES]
COMBINATION_IDS = [f"{p}-to-{s}-dns-{a}" for p, s, a in COMBINATIONS]
ONPREM_COMBINATIONS = [(p, s, a) for p, s in ONPREM_PAIRS for a in AUTHORITIES]
ONPREM_COMBINATION_IDS = [f"{p}-to-{s}-dns-{a}" for p, s, a in ONPREM_COMBINATIONS]


@cache
def combination(primary: str, standby: str, authority: str) -> tuple[ProgramRun, ProgramRun]:
    """Mocked runs of both shipped stacks on (primary, standby) with `authority` as DNS authority."""
    extra = AUTHORITY_OVERRIDES[authority]
    return run_pair(
        {**primary_overrides(primary, standby), **extra},
        {**standby_overrides(primary, standby), **extra},
        pair_secrets(primary, standby),
    )
