"""What the inference workload does differently on a site's own cluster (cloud: onprem).

- Model: `s3://bucket/prefix/` in the site's S3-compatible store (`model_endpoint`), streamed by
  vLLM's Run:ai Model Streamer with path-style addressing and the store's access key, read from
  the vault at pod start (never a static key in the cluster).
- Secrets: each ref is the KV v2 read URL of the site's OpenBao/Vault,
  `https://<vault>/v1/<mount>/data/<path>` (field `value`). The init container logs in with the
  pod's projected service-account token (audience `vault`, ten minutes) through the Kubernetes
  auth method, so no vault token is stored anywhere.
- Images: the init container runs the serving image itself (python3 is in it), so the site
  mirrors nothing beyond the serving image and the edge proxy; both come from `imageRegistry` by
  the same digest (`relocate`).
- Egress: the site's store and vault have private addresses, so the pods may reach the given
  TCP ports on any address but link-local and loopback (no instance metadata on a site either).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Final

import pulumi_kubernetes as k8s

from components.k8s_egress import dns_egress

VAULT_TOKEN_DIR: Final = "/var/run/secrets/vault"
VAULT_AUDIENCE: Final = "vault"
VAULT_TOKEN_SECONDS: Final = 600
S3_KEY_SECRETS: Final = ("s3AccessKeyId", "s3SecretAccessKey")
"""Names (keys of secret_refs) of the store's access key pair; the server exports them."""
_VAULT_REF = re.compile(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?/v1/[A-Za-z0-9_.-]+/data/[A-Za-z0-9_./-]+$")
NO_EGRESS: Final = ("169.254.0.0/16", "127.0.0.0/8")


def relocate(image: str, registry: str) -> str:
    """`image` at the same path and digest on `registry` (what `crane copy` produces)."""
    first, slash, rest = image.partition("/")
    path = rest if slash and ("." in first or ":" in first or first == "localhost") else image
    return f"{registry}/{path}"


def is_vault_ref(ref: str) -> bool:
    return bool(_VAULT_REF.match(ref))


def vault_fetch_command(refs: Mapping[str, str], files: Mapping[str, str], auth_path: str, role: str) -> str:
    """A python3 snippet (run by /bin/sh) that logs in once and writes each secret to its file."""
    plan = {name: (ref, files[name]) for name, ref in sorted(refs.items())}
    address = next(iter(plan.values()))[0].split("/v1/", 1)[0] if plan else ""
    program = f"""import json, urllib.request
token = open({VAULT_TOKEN_DIR + "/token"!r}).read()
def call(url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers or {{}})
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.load(response)
login = call({address + "/v1/auth/" + auth_path + "/login"!r}, {{"role": {role!r}, "jwt": token}})
headers = {{"X-Vault-Token": login["auth"]["client_token"]}}
for ref, target in {list(plan.values())!r}:
    value = call(ref, headers=headers)["data"]["data"]["value"]
    with open(target, "w") as out:
        out.write(value)
"""
    return f"python3 -c {shlex.quote(program)}"


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


def token_volume() -> k8s.core.v1.VolumeArgs:
    return k8s.core.v1.VolumeArgs(
        name="vault-token",
        projected=k8s.core.v1.ProjectedVolumeSourceArgs(
            sources=[
                k8s.core.v1.VolumeProjectionArgs(
                    service_account_token=k8s.core.v1.ServiceAccountTokenProjectionArgs(
                        audience=VAULT_AUDIENCE, expiration_seconds=VAULT_TOKEN_SECONDS, path="token"
                    )
                )
            ]
        ),
    )


def token_mount() -> k8s.core.v1.VolumeMountArgs:
    return k8s.core.v1.VolumeMountArgs(name="vault-token", mount_path=VAULT_TOKEN_DIR, read_only=True)


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
