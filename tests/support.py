"""Shared test helpers: cloud profiles and cached mocked runs of the real stack files.

A profile is what a user changes in Pulumi.<stack>.yaml to move a stack to another cloud
(cloud, region, a GPU that cloud sells). Everything else comes from the shipped stack files.
"""

from __future__ import annotations

import itertools
from functools import cache
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
PAIRS = [(p, s) for p, s in itertools.permutations(CLOUDS, 2)]
PAIR_IDS = [f"{p}-to-{s}" for p, s in PAIRS]
TEST_SECRETS = {"apiKey": "test-api-key-value", "dockerHubAccessToken": "test-docker-hub-token"}


def primary_overrides(primary: str) -> dict[str, Any]:
    return dict(PROFILES[primary])


def standby_overrides(primary: str, standby: str) -> dict[str, Any]:
    return {**PROFILES[standby], "primaryCloud": primary}


@cache
def pair(primary: str, standby: str) -> tuple[ProgramRun, ProgramRun]:
    """Mocked runs of both shipped stacks moved to (primary, standby); cached per session."""
    return run_pair(primary_overrides(primary), standby_overrides(primary, standby), TEST_SECRETS)


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


@cache
def combination(primary: str, standby: str, authority: str) -> tuple[ProgramRun, ProgramRun]:
    """Mocked runs of both shipped stacks on (primary, standby) with `authority` as DNS authority."""
    extra = AUTHORITY_OVERRIDES[authority]
    return run_pair(
        {**primary_overrides(primary), **extra},
        {**standby_overrides(primary, standby), **extra},
        {**TEST_SECRETS, **authority_secrets(authority)},
    )
