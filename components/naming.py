"""Names that outlive a destroy: which kinds a cloud keeps reserved, and the suffix that avoids them.

Some resources are not gone when `pulumi destroy` deletes them: the cloud keeps them soft-deleted
(recoverable) and refuses a new one with the same name until the retention ends. A stack that is
destroyed and re-created with the same config would then fail on its first `pulumi up`. Each such
name carries the stack's random suffix (`Placement.name_suffix`, one `random.RandomId` per stack
instance in infra/providers.py): stable for the stack's life, so updates never rename anything,
and new after a destroy, so a re-created stack never asks for a reserved name.

Kinds whose names the provider already generates (Pulumi auto-naming appends random characters,
kept in state) need nothing more; the table says so and tests/infra/test_pulumi_hygiene.py checks both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi


@dataclass(frozen=True)
class SoftDeleted:
    name_inputs: tuple[str, ...]
    """Input properties that together form the reserved name (empty: auto-named by Pulumi)."""
    reserved_for: str
    source: str


SOFT_DELETED: Final[dict[str, SoftDeleted]] = {
    "aws:secretsmanager/secret:Secret": SoftDeleted(
        ("name",),
        "the recovery window, 7-30 days",
        "AWS Secrets Manager DeleteSecret: RecoveryWindowInDays; a new secret with the name fails "
        "while it is scheduled for deletion (checked 2026-12)",
    ),
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": SoftDeleted(
        ("workloadIdentityPoolId",),
        "30 days (soft-deleted, undeletable; the ID cannot be reused)",
        "Google Cloud IAM: manage workload identity pools and providers, delete a pool (checked 2026-12)",
    ),
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": SoftDeleted(
        ("workloadIdentityPoolId", "workloadIdentityPoolProviderId"),
        "30 days (soft-deleted with its pool or alone)",
        "Google Cloud IAM: manage workload identity pools and providers, delete a provider (checked 2026-12)",
    ),
    "azure-native:keyvault:Vault": SoftDeleted(
        ("vaultName",),
        "the soft-delete retention, 7-90 days; purge protection forbids purging it earlier",
        "Azure Key Vault soft-delete overview; vault names are global (checked 2026-12)",
    ),
    "azure-native:operationalinsights:Workspace": SoftDeleted(
        ("workspaceName",),
        "14 days (soft-deleted; a workspace of the same name in the resource group recovers it)",
        "Azure Monitor: delete and recover a Log Analytics workspace (checked 2026-12)",
    ),
    "gcp:kms/keyRing:KeyRing": SoftDeleted(
        (),
        "forever (key rings cannot be deleted; destroy only forgets them)",
        "Cloud KMS: resource lifecycle, key rings and keys cannot be deleted (checked 2026-12)",
    ),
}
"""Soft-deleted kinds this project creates. Not listed because their names are free again at once:
GCP Secret Manager secrets, service accounts and Cloud KMS crypto keys (inside a fresh ring),
Azure storage accounts and user-assigned identities, AWS KMS aliases, IAM roles and OIDC
providers. S3 and GCS bucket names are free again after a delete (S3: after up to hours of
propagation), and buckets are `protect`ed, so a destroy never deletes one unasked."""


def with_suffix(base: str, suffix: pulumi.Input[str] | None, *, max_length: int) -> pulumi.Output[str]:
    """`<base>-<suffix>` within `max_length` (the base is shortened, never the suffix).

    Without a suffix (a component used outside this stack program) the base alone: then
    re-creating within the retention collides, as the kind's docstring says.
    """
    if suffix is None:
        return pulumi.Output.from_input(base[:max_length].rstrip("-"))
    return pulumi.Output.from_input(suffix).apply(lambda value: suffixed(base, value, max_length))


def suffixed(base: str, suffix: str, max_length: int) -> str:
    room = max_length - len(suffix) - 1
    if room < 1:
        raise ValueError(f"name suffix {suffix!r} leaves no room for {base!r} in {max_length} characters")
    return f"{base[:room].rstrip('-')}-{suffix}"
