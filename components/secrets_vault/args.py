"""Neutral inputs and outputs of the secrets vault, identical for every cloud.

One vault per stack, in the stack's own cloud and region: the standby provisions the same secret
names from its own config and never reads the primary's vault, so a primary outage cannot take
the standby's secrets with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi

from components.common import Placement, WorkloadIdentity
from components.data_plane_access import DataPlaneAccess
from components.problems import ArgProblem, ArgsValueError, Problem
from components.vault_login import VaultLogin

MODULE: Final = "secrets_vault"

# Valid as an AWS secret-name segment, a GCP secret id segment and an Azure Key Vault secret name;
# the same rule infra/config.py applies to `secretNames`.
SECRET_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")
KEY_ROTATION_DAYS_RANGE: Final = (90, 2560)
"""AWS KMS accepts 90-2560 days; GCP accepts anything above one day, so AWS sets the bounds."""
RECOVERY_WINDOW_DAYS_RANGE: Final = (7, 30)
"""AWS Secrets Manager and KMS accept 7-30 days; Azure soft delete 7-90; GCP any duration."""


@dataclass(frozen=True)
class SecretsVaultArgs:
    """What to store, where, and who may read it."""

    placement: Placement
    """Cloud, region and explicit provider of the vault; every child resource uses that provider."""
    secrets: Mapping[str, pulumi.Output[str]]
    """Config key (e.g. `apiKey`) -> secret value from `pulumi config set --secret`. Each becomes
    one secret of the same name with one version holding the value; the value stays a Pulumi
    secret on the wire, in state and in outputs. At least one is required."""
    reader: WorkloadIdentity
    """The inference workload's identity. It alone is granted read access, to exactly these
    secrets (no wildcards), plus decrypt on the vault key only via the secrets service."""
    key_rotation_period_days: int = 90
    """Customer-managed key rotation is on with this period (AWS KMS rotation_period_in_days, GCP
    Cloud KMS rotation_period). Azure Key Vault encrypts secrets with its own HSM-backed keys,
    rotated by the service, so the value is unused there. Must be 90-2560."""
    recovery_window_days: int = 30
    """Deleted secrets and keys stay recoverable this long: AWS secret recovery window and KMS
    deletion window, GCP secret-version destroy TTL and key-version destroy schedule, Azure
    soft-delete retention (with purge protection, which Azure makes irreversible). Must be 7-30;
    there is deliberately no force-delete."""
    deletion_protection: bool = True
    """On: the key, the vault and every secret are `protect`ed in Pulumi state and GCP secrets and
    crypto keys carry their own deletion guard, so `pulumi destroy` or a rename fails instead of
    deleting them. Set False only for throw-away stacks (drills); recovery windows still apply."""

    network_access: DataPlaneAccess = field(default_factory=DataPlaneAccess)
    """azure: the Key Vault firewall denies every public address except these CIDRs and subnets
    (the AKS node subnet, deployerCidrs). Unused on aws and gcp (IAM-only data planes)."""
    # OpenBao / HashiCorp Vault (issue 12): components/secrets_vault/openbao.py.
    openbao: OpenBaoArgs | None = None
    """onprem: the existing OpenBao / Vault the secrets go to (required there); unused on the clouds."""

    def __post_init__(self) -> None:
        problems = validate(self) + self.network_access.problems()
        if problems:
            header = f"invalid SecretsVaultArgs for stack '{self.placement.stack}':"
            raise ArgsValueError("SecretsVaultArgs", problems, header=header)


def validate(args: SecretsVaultArgs) -> list[Problem | str]:
    """Every problem with `args`, each saying what was given, what is expected and how to fix it."""
    problems: list[Problem | str] = []
    stack = args.placement.stack
    if not args.secrets:
        problems.append(
            "secrets is empty: the vault needs at least one secret for the workload (got none); "
            f"list them in `secretNames` in Pulumi.{stack}.yaml (default ['apiKey']) and set each with "
            f"`pulumi config set --secret <name> <value> -s {stack}`"
        )
    folded: dict[str, str] = {}
    for name in args.secrets:
        if not SECRET_NAME.match(name):
            problems.append(
                f"secret name {name!r} is not valid on every cloud: expected a letter then up to 62 "
                f"letters or digits; rename it in `secretNames` in Pulumi.{stack}.yaml"
            )
        other = folded.setdefault(name.lower(), name)
        if other != name:
            problems.append(
                f"secret names {other!r} and {name!r} differ only in case, but Azure Key Vault secret "
                f"names are case-insensitive; rename one in `secretNames` in Pulumi.{stack}.yaml"
            )
    if args.reader.cloud != args.placement.cloud:
        problems.append(
            f"reader identity is on {args.reader.cloud} but the vault is on {args.placement.cloud}: "
            "pass the workload identity of the cluster in the same stack and cloud"
        )
    low, high = KEY_ROTATION_DAYS_RANGE
    if not low <= args.key_rotation_period_days <= high:
        problems.append(
            ArgProblem(
                "key_rotation_period_days",
                args.key_rotation_period_days,
                f"between {low} and {high}",
                "AWS KMS rejects anything else",
            )
        )
    low, high = RECOVERY_WINDOW_DAYS_RANGE
    if not low <= args.recovery_window_days <= high:
        problems.append(
            ArgProblem(
                "recovery_window_days",
                args.recovery_window_days,
                f"between {low} and {high}",
                "AWS allows no longer window, and a shorter one (or 0, force delete) is not offered",
            )
        )
    problems += _openbao_problems(args)
    if args.placement.cloud == "gcp" and not args.placement.gcp_project:
        problems.append(
            ArgProblem(
                "placement.gcp_project",
                args.placement.gcp_project,
                "required on gcp",
                f"set `gcpProject` in Pulumi.{stack}.yaml",
                verb="is",
                shown=repr(args.placement.gcp_project),
            )
        )
    if args.placement.cloud == "azure" and args.placement.azure_resource_group is None:
        problems.append(
            ArgProblem(
                "placement.azure_resource_group",
                None,
                "required on azure",
                "build the placement with infra.providers.Providers.placement('azure')",
                verb="is",
                shown="None",
            )
        )
    return problems


VAULT_TOKEN_TTL_RANGE: Final = (60, 3600)
_VAULT_PATH: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9_-]*)*$")


@dataclass(frozen=True)
class OpenBaoArgs:
    """An existing OpenBao (or HashiCorp Vault) server, reached with the deployer's VAULT_TOKEN."""

    address: str
    """https://host[:port] of the API (`vaultAddress`). The component's own vault provider uses
    it; the token is read by that provider from VAULT_TOKEN at run time and never stored."""
    kv_mount: str = "inference-failover"
    """KV v2 mount created by the stack (`vaultKvMount`); the secrets go under `<stack>/`."""
    kubernetes_auth_path: str = "kubernetes"
    """Existing Kubernetes auth method (`vaultKubernetesAuthPath`, enabled and configured once
    per cluster by its operator); the stack adds one role to it and checks it exists at plan time."""
    ca_certificate: str | None = None
    """PEM of the CA of the vault's TLS certificate, trusted by the pods; None: system trust store."""
    unread: tuple[str, ...] = ("apiKey", "apiKeyNext")
    """Secrets stored for the stack but not readable by the workload's role (the edge gets the
    API keys' digests from a Kubernetes Secret, so no pod needs the keys themselves)."""
    extra_reads: tuple[tuple[str, str, str], ...] = ()
    """(name, KV path in `kv_mount`, field) of secrets the workload also reads from outside the
    stack's folder, e.g. ("s3AccessKeyId", <s3ReadCredentialsPath>, "access_key_id") for the
    site's store: added to `secret_refs` (as `...#<field>`) and to the read policy."""
    token_ttl_seconds: int = 300
    """Lifetime of the workload's vault token (also its maximum: it is not renewable). The init
    container reads the secrets within seconds; must be 60-3600."""


def _openbao_problems(args: SecretsVaultArgs) -> list[Problem | str]:
    bao = args.openbao
    stack = args.placement.stack
    if args.placement.cloud != "onprem":
        return (
            []
            if bao is None
            else [
                f"openbao is set but the vault is on {args.placement.cloud}: leave it None (the clouds use "
                "their own vault)"
            ]
        )
    if bao is None:
        return [
            "openbao is required on onprem (got None): set `vaultAddress` in "
            f"Pulumi.{stack}.yaml (the stack's OpenBao / Vault)"
        ]
    problems: list[Problem | str] = []
    if not bao.address.startswith("https://") or "/" in bao.address.removeprefix("https://"):
        problems.append(
            ArgProblem("openbao.address", bao.address, "https://<host>[:<port>]", "set `vaultAddress`")
        )
    for field_name in ("kv_mount", "kubernetes_auth_path"):
        value = getattr(bao, field_name)
        if not _VAULT_PATH.match(value):
            problems.append(
                ArgProblem(
                    f"openbao.{field_name}",
                    value,
                    "a vault path of letters, digits, - and _ segments joined by /",
                )
            )
    for secret, path, field_name in bao.extra_reads:
        if secret in args.secrets or not SECRET_NAME.match(secret):
            problems.append(
                f"openbao.extra_reads name {secret!r} must be a letter then letters or digits and not "
                "one of the stack's own secrets"
            )
        if not _VAULT_PATH.match(path) or not _VAULT_PATH.match(field_name) or "/" in field_name:
            problems.append(
                f"openbao.extra_reads entry ({secret!r}, {path!r}, {field_name!r}) must name a KV path "
                "and a field of letters, digits, - and _"
            )
    low, high = VAULT_TOKEN_TTL_RANGE
    if not low <= bao.token_ttl_seconds <= high:
        problems.append(
            ArgProblem(
                "openbao.token_ttl_seconds",
                bao.token_ttl_seconds,
                f"between {low} and {high}",
                "the workload's token only has to outlive its init container",
            )
        )
    return problems


class SecretsVault(pulumi.ComponentResource):
    """Outputs every cloud's vault exposes (the classes in aws.py, gcp.py and azure.py)."""

    secret_refs: pulumi.Output[dict[str, str]]
    """Secret config name -> what the workload reads it by: the Secrets Manager secret ARN,
    `projects/<project>/secrets/<secret-id>`, `https://<vault>.vault.azure.net/secrets/<name>`, or
    (onprem) `https://<openbao>/v1/<kv mount>/data/<stack>/<name>`."""
    vault_id: pulumi.Output[str]
    """aws: the KMS key ARN (Secrets Manager has no vault resource; the key is the boundary);
    gcp: the Cloud KMS key ring id; azure: the Key Vault resource id."""
    key_id: pulumi.Output[str] | None
    """Customer-managed key encrypting the secrets: KMS key ARN or Cloud KMS crypto key id. None
    on azure, where Key Vault encrypts secrets with its own service-managed HSM keys."""
    key_ready: Sequence[pulumi.Resource] = ()
    """What another secret encrypted with `key_id` must depend on: on gcp the Secret Manager service
    agent's grant on the key (Secret Manager checks it when the secret is created)."""
    workload_login: VaultLogin | None = None
    """onprem: how the workload's init container logs in to read `secret_refs`; None on the clouds
    (their pods use the cloud identity)."""


def sorted_names(args: SecretsVaultArgs) -> list[str]:
    """Secret names in a stable order, so resource names and policies never reorder between runs."""
    return sorted(args.secrets)


def collect_refs(refs: Mapping[str, pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
    """One output mapping each secret name to its reference, in `sorted_names` order."""
    return pulumi.Output.all(**refs).apply(lambda values: {str(k): str(v) for k, v in values.items()})
