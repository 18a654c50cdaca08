"""Neutral inputs and outputs of the write-once audit store (no cloud SDK imported here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pulumi

from components.common import Placement
from components.object_store.args import ModelStore
from components.problems import ARGS_CODES, ArgsValueError, Problem

MODULE: Final = "audit"
RETENTION_DAYS_RANGE: Final = (1, 36500)
"""S3 Object Lock allows up to 100 years; GCS retention up to 3,155,760,000 s (100 years)."""


class AuditStore(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    """Bucket name (azure: the blob container name)."""
    descriptor: pulumi.Output[dict[str, Any]]
    """Exported as `auditStore`: cloud, region, bucket, uri, account, retentionDays, lock."""


@dataclass(frozen=True)
class AuditStoreArgs:
    placement: Placement
    """Cloud, region and explicit provider of the stack; every child uses that provider."""
    model_store: ModelStore
    """The stack's model store: its customer-managed key (aws: KMS key, gcp: Cloud KMS key and its
    location) encrypts the audit records too, so they are under the stack's key."""
    retention_days: int = 365
    """Each record stays write-once this long (compliance lock: nobody, root included, can delete
    or shorten it). Raising it later is possible; lowering it is refused by every cloud."""
    deletion_protection: bool = True
    """On: the bucket is `protect`ed in Pulumi state. A bucket holding locked records cannot be
    deleted before they expire anyway; this makes `pulumi destroy` say so up front."""

    def __post_init__(self) -> None:
        low, high = RETENTION_DAYS_RANGE
        if not low <= self.retention_days <= high:
            problem = Problem(
                "auditRetentionDays",
                self.retention_days,
                f"between {low} and {high}",
                f"set it in Pulumi.{self.placement.stack}.yaml",
                code=ARGS_CODES["AuditStoreArgs"],
            )
            raise ArgsValueError("AuditStoreArgs", [problem], header="")


def descriptor(
    *, cloud: str, region: str, bucket: Any, uri: Any, account: Any, args: AuditStoreArgs, lock: str
) -> pulumi.Output[dict[str, Any]]:
    """The `auditStore` output: where the CLI writes records and what protects them."""
    return pulumi.Output.from_input(
        {
            "cloud": cloud,
            "region": region,
            "bucket": bucket,
            "uri": uri,
            "account": account,
            "retentionDays": args.retention_days,
            "lock": lock,
        }
    ).apply(dict)
