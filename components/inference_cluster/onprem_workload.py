"""What the inference workload does differently on a site's own cluster (cloud: onprem).

- Model: `s3://bucket/prefix/` in the site's S3-compatible store (`model_endpoint`), streamed by
  vLLM's Run:ai Model Streamer with path-style addressing and the store's access key, read from
  the vault at pod start (never a static key in the cluster).
- Secrets: read from the site's OpenBao/Vault by an init container of their own
  (vault_secrets.py, Kubernetes auth with a projected token); nothing here.
- Images: every image the pod runs comes from `imageRegistry` at its upstream path and digest
  (`relocate`), so the nodes never reach a public registry.
- Egress: the site's store and vault have private addresses, so the pods may reach the given
  TCP ports on any address but link-local and loopback (no instance metadata on a site either).
"""

from __future__ import annotations

import shlex
from typing import Final

import pulumi_kubernetes as k8s

from components.k8s_egress import dns_egress

S3_KEY_SECRETS: Final = ("s3AccessKeyId", "s3SecretAccessKey")
"""Names (keys of secret_refs) of the store's access key pair; the server exports them."""
NO_EGRESS: Final = ("169.254.0.0/16", "127.0.0.0/8")


def relocate(image: str, registry: str) -> str:
    """`image` at the same path and digest on `registry` (what `crane copy` produces)."""
    first, slash, rest = image.partition("/")
    path = rest if slash and ("." in first or ":" in first or first == "localhost") else image
    return f"{registry}/{path}"


def s3_exports(secrets_dir: str) -> list[str]:
    """Shell lines giving the streamer the store's key pair (from the files the vault filled)."""
    access, secret = (shlex.quote(f"{secrets_dir}/{name}") for name in S3_KEY_SECRETS)
    return [
        f'AWS_ACCESS_KEY_ID="$(cat {access})"; export AWS_ACCESS_KEY_ID',
        f'AWS_SECRET_ACCESS_KEY="$(cat {secret})"; export AWS_SECRET_ACCESS_KEY',
    ]


def streamer_env(endpoint: str) -> dict[str, str]:
    """Run:ai streamer / boto settings for an S3-compatible store (path-style, no IMDS)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "RUNAI_STREAMER_S3_USE_VIRTUAL_ADDRESSING": "0",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": "us-east-1",
    }


def site_egress(ports: tuple[int, ...]) -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgs]:
    """DNS, and the site's store and vault ports on any address but link-local and loopback."""
    netpol = k8s.networking.v1
    return [
        dns_egress(),
        netpol.NetworkPolicyEgressRuleArgs(
            to=[
                netpol.NetworkPolicyPeerArgs(
                    ip_block=netpol.IPBlockArgs(cidr="0.0.0.0/0", except_=list(NO_EGRESS))
                )
            ],
            ports=[netpol.NetworkPolicyPortArgs(port=port, protocol="TCP") for port in sorted(set(ports))],
        ),
    ]
