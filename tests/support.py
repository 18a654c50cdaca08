"""Shared test helpers: cloud profiles and cached mocked runs of the real stack files.

A profile is what a user changes in Pulumi.<stack>.yaml to move a stack to another cloud
(cloud, region, a GPU that cloud sells). Everything else comes from the shipped stack files.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from offline.harness import ProgramRun, run_pair, run_stack

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
"""Site name (region and kubeContext) and the static address of each role's site."""
PROFILES["onprem"] = {
    "cloud": "onprem",
    "kubeconfigPath": ONPREM_KUBECONFIG,
    "gpuNodeSelector": ["nvidia.com/gpu.present=true"],
    "gpuTaint": "nvidia.com/gpu=present:NoSchedule",
    "gpuType": "l40s",
    "exposure": "loadBalancerAddress",
    "imageRegistry": SITE_REGISTRY,
    "servingImage": SITE_IMAGE,
    # No ACME on a site: the site's OpenBao PKI signs the edge certificate (bao, issue 12 item 5).
    "tlsCertificate": "internal-ca",
    "internalCa": "openbao",
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
    """What differs between the two sites: name, context, address, and the site's store and vault."""
    name, address = SITES[role]
    site = {
        "region": name,
        "kubeContext": name,
        "exposureAddress": address,
        "s3Endpoint": f"https://s3.{name}.internal:8333",
        "s3CredentialsPath": f"s3/{name}/deployer",
        "s3ReadCredentialsPath": f"s3/{name}/reader",
        "vaultAddress": f"https://openbao.{name}.internal:8200",
    }
    if role == "standby":
        site["serviceAccountIssuer"] = f"https://k8s.{name}.example.com"
    return site


def primary_overrides(primary: str, standby: str | None = None) -> dict[str, Any]:
    return {**PROFILES[primary], **(_site("primary") if primary == "onprem" else {})}


def standby_overrides(primary: str, standby: str) -> dict[str, Any]:
    return {**PROFILES[standby], **(_site("standby") if standby == "onprem" else {}), "primaryCloud": primary}


def pair_secrets(primary: str, standby: str) -> dict[str, str]:
    """The secrets both stacks of a pair read (a site's come from its vault: nothing more)."""
    return TEST_SECRETS


PRIMARY_VAULT_TOKEN = str(Path(__file__).resolve().parent / "data" / "primary-vault-token")
"""A standby site of a primary site talks to two vaults: the primary's token is read from this
file (PRIMARY_VAULT_TOKEN_FILE, infra/s3store.py)."""


@contextmanager
def _site_pair_env(primary: str, standby: str) -> Iterator[None]:
    if primary != "onprem" or standby != "onprem":
        yield
        return
    before = os.environ.get("PRIMARY_VAULT_TOKEN_FILE")
    os.environ["PRIMARY_VAULT_TOKEN_FILE"] = PRIMARY_VAULT_TOKEN
    try:
        yield
    finally:
        if before is None:
            del os.environ["PRIMARY_VAULT_TOKEN_FILE"]
        else:
            os.environ["PRIMARY_VAULT_TOKEN_FILE"] = before


@cache
def pair(primary: str, standby: str) -> tuple[ProgramRun, ProgramRun]:
    """Mocked runs of both shipped stacks moved to (primary, standby); cached per session."""
    with _site_pair_env(primary, standby):
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
    # Self-hosted PowerDNS (issue 12): DNS-01 needs a cloud authority, so the edge gets a provided
    # certificate (AUTHORITY_SECRETS) instead of ACME.
    "powerdns": {
        "dnsProvider": "powerdns",
        "powerdnsApiUrl": "https://pdns.example.com:8081",
        "tlsCertificate": "provided",
    },
}
COMBINATIONS = [(p, s, a) for p, s in PAIRS for a in AUTHORITIES]
POWERDNS_COMBINATIONS = [(p, s, "powerdns") for p, s in PAIRS]
POWERDNS_COMBINATION_IDS = [f"{p}-to-{s}-dns-powerdns" for p, s in PAIRS]


@cache
def _service_certificate() -> tuple[str, str]:
    from tests.edge_support import SERVICE_NAME, make_certificate

    cert, key = make_certificate([SERVICE_NAME], days=365)
    return cert.decode(), key.decode()


def authority_secrets(authority: str) -> dict[str, str]:
    """Secrets an authority needs besides TEST_SECRETS (PowerDNS: its API key and the edge's PEMs)."""
    if authority != "powerdns":
        return {}
    chain, key = _service_certificate()
    return {"powerdnsApiKey": "test-powerdns-api-key", "tlsCertificateChain": chain, "tlsPrivateKey": key}


COMBINATION_IDS = [f"{p}-to-{s}-dns-{a}" for p, s, a in COMBINATIONS]
ONPREM_COMBINATIONS = [(p, s, a) for p, s in ONPREM_PAIRS for a in (*AUTHORITIES, "powerdns")]
"""Every pair with a site, in both roles, with every cloud authority and the self-hosted one."""
ONPREM_COMBINATION_IDS = [f"{p}-to-{s}-dns-{a}" for p, s, a in ONPREM_COMBINATIONS]


@cache
def combination(
    primary: str, standby: str, authority: str, standby_extra: tuple[tuple[str, Any], ...] = ()
) -> tuple[ProgramRun, ProgramRun]:
    """Mocked runs of both shipped stacks on (primary, standby) with `authority` as DNS authority
    (and `standby_extra` key/value pairs on top of the standby's overrides)."""
    extra = AUTHORITY_OVERRIDES[authority]
    with _site_pair_env(primary, standby):
        return run_pair(
            _with_authority(primary_overrides(primary, standby), extra),
            {**_with_authority(standby_overrides(primary, standby), extra), **dict(standby_extra)},
            {**TEST_SECRETS, **authority_secrets(authority)},
        )


def _with_authority(overrides: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` on top; a site whose certificate the authority replaces drops its internal CA."""
    merged = {**overrides, **extra}
    if merged.get("cloud") == "onprem" and merged.get("tlsCertificate") != "internal-ca":
        merged["internalCa"] = None
    return merged
