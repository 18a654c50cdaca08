"""AWS: Secrets Manager secrets encrypted with a customer-managed, auto-rotating KMS key.

The key keeps AWS's default key policy (the account may delegate use through IAM), so the only
principal able to decrypt through Secrets Manager is the one an IAM policy names: the inference
workload's role, via the inline policy below.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.common import TYPE_PREFIX, type_token
from components.naming import with_suffix
from components.secrets_vault.args import (
    MODULE,
    SecretsVault,
    SecretsVaultArgs,
    collect_refs,
    sorted_names,
)

SECRET_NAME_MAX = 512


def secret_name(stack: str, secret: str, suffix: pulumi.Input[str] | None = None) -> pulumi.Output[str]:
    """`inference-failover/<stack>/<secret>-<suffix>`: one namespace per stack, so stacks never
    collide; the stack instance's suffix, because a deleted secret keeps its name reserved for
    its recovery window and a re-created stack must not ask for it (components/naming.py)."""
    return with_suffix(f"{TYPE_PREFIX}/{stack}/{secret}", suffix, max_length=SECRET_NAME_MAX)


class AwsSecretsVault(SecretsVault):
    """Secrets Manager secrets under a customer-managed KMS key, readable by the workload's role only."""

    key: aws.kms.Key
    """The customer-managed, auto-rotating key every secret is encrypted with (also `vault_id`)."""
    secrets: dict[str, aws.secretsmanager.Secret]
    """Secret config name -> its Secrets Manager secret."""
    versions: dict[str, aws.secretsmanager.SecretVersion]
    """Secret config name -> the version holding the value from the stack config."""
    read_policy: aws.iam.RolePolicy
    """Inline policy on the workload's role: read exactly these secrets, decrypt only through them."""

    def __init__(self, name: str, args: SecretsVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "AwsSecretsVault"), name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.placement.provider)
        guarded = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(protect=args.deletion_protection)
        )
        self.key = self._key(name, args, child, guarded)
        self.secrets, self.versions = self._secrets(name, args, child, guarded)
        self.read_policy = self._read_access(name, args, child)

        self.secret_refs = collect_refs({s: r.arn for s, r in self.secrets.items()})
        self.vault_id = self.key.arn
        self.key_id = self.key.arn
        self.register_outputs(
            {"secret_refs": self.secret_refs, "vault_id": self.vault_id, "key_id": self.key_id}
        )

    def _key(
        self,
        name: str,
        args: SecretsVaultArgs,
        child: pulumi.ResourceOptions,
        guarded: pulumi.ResourceOptions,
    ) -> aws.kms.Key:
        placement = args.placement
        key = aws.kms.Key(
            f"{name}-secrets-key",
            aws.kms.KeyArgs(
                description=f"Encrypts the {TYPE_PREFIX} secrets of stack {placement.stack}",
                key_usage="ENCRYPT_DECRYPT",
                customer_master_key_spec="SYMMETRIC_DEFAULT",
                enable_key_rotation=True,
                rotation_period_in_days=args.key_rotation_period_days,
                deletion_window_in_days=args.recovery_window_days,
                multi_region=False,
                tags=dict(placement.tags),
            ),
            opts=guarded,
        )
        aws.kms.Alias(
            f"{name}-secrets-key-alias",
            aws.kms.AliasArgs(
                name=f"alias/{TYPE_PREFIX}/{placement.stack}/secrets",
                target_key_id=key.key_id,
            ),
            opts=child,
        )
        return key

    def _secrets(
        self,
        name: str,
        args: SecretsVaultArgs,
        child: pulumi.ResourceOptions,
        guarded: pulumi.ResourceOptions,
    ) -> tuple[dict[str, aws.secretsmanager.Secret], dict[str, aws.secretsmanager.SecretVersion]]:
        placement = args.placement
        secrets: dict[str, aws.secretsmanager.Secret] = {}
        versions: dict[str, aws.secretsmanager.SecretVersion] = {}
        for secret in sorted_names(args):
            resource = aws.secretsmanager.Secret(
                f"{name}-{secret}",
                aws.secretsmanager.SecretArgs(
                    name=secret_name(placement.stack, secret, placement.name_suffix),
                    description=f"{secret} of the {TYPE_PREFIX} stack {placement.stack}",
                    kms_key_id=self.key.arn,
                    recovery_window_in_days=args.recovery_window_days,
                    tags=dict(placement.tags),
                ),
                opts=guarded,
            )
            secrets[secret] = resource
            versions[secret] = aws.secretsmanager.SecretVersion(
                f"{name}-{secret}-version",
                aws.secretsmanager.SecretVersionArgs(
                    secret_id=resource.arn,
                    secret_string=pulumi.Output.secret(args.secrets[secret]),
                ),
                opts=child,
            )
        return secrets, versions

    def _read_access(
        self, name: str, args: SecretsVaultArgs, child: pulumi.ResourceOptions
    ) -> aws.iam.RolePolicy:
        placement = args.placement
        # One statement per secret with a single action and resource: exact grants that read well
        # in the console, and the shape the typed PolicyStatementArgs serialises reliably (its
        # str-or-list fields reject lists in the Python SDK).
        arns = [self.secrets[s].arn for s in sorted_names(args)]
        statements = [
            aws.iam.PolicyStatementArgs(
                sid=f"Read{secret[0].upper()}{secret[1:]}",
                effect=aws.iam.PolicyStatementEffect.ALLOW,
                action="secretsmanager:GetSecretValue",
                resource=self.secrets[secret].arn,
            )
            for secret in sorted_names(args)
        ]
        statements.append(
            aws.iam.PolicyStatementArgs(
                sid="DecryptThroughSecretsManagerOnly",
                effect=aws.iam.PolicyStatementEffect.ALLOW,
                action="kms:Decrypt",
                resource=self.key.arn,
                condition={
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{placement.region}.amazonaws.com",
                        "kms:EncryptionContext:SecretARN": arns,
                    }
                },
            )
        )
        return aws.iam.RolePolicy(
            f"{name}-secrets-read",
            aws.iam.RolePolicyArgs(
                role=args.reader.name,
                name=f"{TYPE_PREFIX}-{placement.stack}-secrets-read",
                policy=aws.iam.PolicyDocumentArgs(
                    version=aws.iam.PolicyDocumentVersion.POLICY_DOCUMENT_VERSION_2012_10_17,
                    statement=statements,
                ),
            ),
            opts=child,
        )
