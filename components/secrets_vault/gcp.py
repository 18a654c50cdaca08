"""GCP: Secret Manager secrets, replicated only in the stack's region, under a rotating CMEK key.

Secret Manager encrypts with the Cloud KMS key through its per-project service agent, which gets
encrypter/decrypter on that one key. The workload's service account gets secretAccessor on each
named secret (never on the project), so it can read exactly these secrets and nothing else.

Rotation reminders (Secret Manager `rotation` + Pub/Sub `topics`) are deliberately not set: the
values are owned by Pulumi config, so rotating means `pulumi config set --secret` and `pulumi up`
in both stacks, and a reminder needs a Pub/Sub topic with a subscriber that nothing here provides.
The key itself rotates on `key_rotation_period_days`.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.common import TYPE_PREFIX, physical_name, type_token
from components.gcp_apis import apis_of
from components.secrets_vault.args import (
    MODULE,
    SecretsVault,
    SecretsVaultArgs,
    collect_refs,
    sorted_names,
)

_DAY_SECONDS = 86_400
SECRET_MANAGER_API = "secretmanager.googleapis.com"
CLOUD_KMS_API = "cloudkms.googleapis.com"
VAULT_APIS = ("secretmanager", "cloudkms")
KMS_ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"


def secret_id(stack: str, secret: str) -> str:
    """`inference-failover-<stack>-<secret>`: stacks sharing a project never collide."""
    return f"{physical_name(TYPE_PREFIX, stack)}-{secret}"


def _seconds(days: int) -> str:
    return f"{days * _DAY_SECONDS}s"


class GcpSecretsVault(SecretsVault):
    """Secret Manager secrets in the stack's region under a Cloud KMS key, readable by the workload only."""

    key_ring: gcp.kms.KeyRing
    """Auto-named key ring (`vault_id`): GCP never deletes one, so a re-created stack gets a new ring."""
    key: gcp.kms.CryptoKey
    """The rotating CMEK key every secret is encrypted with (`key_id`)."""
    secrets: dict[str, gcp.secretmanager.Secret]
    """Secret config name -> its Secret Manager secret."""
    versions: dict[str, gcp.secretmanager.SecretVersion]
    """Secret config name -> the version holding the value from the stack config."""
    read_grants: dict[str, gcp.secretmanager.SecretIamMember]
    """Secret config name -> secretAccessor for the workload's service account on that secret only."""

    def __init__(self, name: str, args: SecretsVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "GcpSecretsVault"), name, None, opts)
        placement = args.placement
        assert placement.gcp_project is not None  # SecretsVaultArgs validation guarantees it on gcp
        # A fresh project has neither API on: every child waits for both (enabled once per
        # project by the stack's GcpApis).
        apis = apis_of(placement.gcp_apis, placement.stack, "the secrets vault").enable(
            *VAULT_APIS,
            previously={api: pulumi.Alias(name=f"{name}-{api}-api", parent=self) for api in VAULT_APIS},
        )
        child = pulumi.ResourceOptions(parent=self, provider=placement.provider, depends_on=apis)
        guarded = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(protect=args.deletion_protection)
        )
        self.key_ring, self.key, self.key_ready = self._key(name, args, child, guarded)
        self.secrets, self.versions = self._secrets(name, args, child, guarded)
        self.read_grants = self._read_access(name, args, child)

        self.secret_refs = collect_refs(
            {
                s: pulumi.Output.concat("projects/", placement.gcp_project, "/secrets/", r.secret_id)
                for s, r in self.secrets.items()
            }
        )
        self.vault_id = self.key_ring.id
        self.key_id = self.key.id
        self.register_outputs(
            {"secret_refs": self.secret_refs, "vault_id": self.vault_id, "key_id": self.key_id}
        )

    def _key(
        self,
        name: str,
        args: SecretsVaultArgs,
        child: pulumi.ResourceOptions,
        guarded: pulumi.ResourceOptions,
    ) -> tuple[gcp.kms.KeyRing, gcp.kms.CryptoKey, list[pulumi.Resource]]:
        """The key ring, the key, and the Secret Manager agent's grant on it (the `key_ready`)."""
        placement = args.placement
        project = placement.gcp_project
        # The agent only exists once asked for; it must exist before it can be granted the key.
        agent = gcp.projects.ServiceIdentity(
            f"{name}-secretmanager-agent",
            gcp.projects.ServiceIdentityArgs(service=SECRET_MANAGER_API, project=project),
            opts=child,
        )
        # Key rings can never be deleted in GCP, so the ring is auto-named: a re-created stack
        # gets a fresh ring instead of colliding with the old one.
        key_ring = gcp.kms.KeyRing(
            f"{name}-secrets",
            gcp.kms.KeyRingArgs(location=placement.region, project=project),
            opts=guarded,
        )
        key = gcp.kms.CryptoKey(
            f"{name}-secrets-key",
            gcp.kms.CryptoKeyArgs(
                name="secrets",
                key_ring=key_ring.id,
                purpose="ENCRYPT_DECRYPT",
                rotation_period=_seconds(args.key_rotation_period_days),
                destroy_scheduled_duration=_seconds(args.recovery_window_days),
                deletion_policy="PREVENT" if args.deletion_protection else "DELETE",
                version_template=gcp.kms.CryptoKeyVersionTemplateArgs(
                    algorithm="GOOGLE_SYMMETRIC_ENCRYPTION",
                    protection_level="SOFTWARE",
                ),
                labels=dict(placement.tags),
            ),
            opts=guarded,
        )
        agent_can_use_key = gcp.kms.CryptoKeyIAMMember(
            f"{name}-secretmanager-agent-key-user",
            gcp.kms.CryptoKeyIAMMemberArgs(
                crypto_key_id=key.id,
                role=KMS_ENCRYPTER_DECRYPTER,
                member=agent.member,
            ),
            opts=child,
        )
        return key_ring, key, [agent_can_use_key]

    def _secrets(
        self,
        name: str,
        args: SecretsVaultArgs,
        child: pulumi.ResourceOptions,
        guarded: pulumi.ResourceOptions,
    ) -> tuple[dict[str, gcp.secretmanager.Secret], dict[str, gcp.secretmanager.SecretVersion]]:
        placement = args.placement
        secrets: dict[str, gcp.secretmanager.Secret] = {}
        versions: dict[str, gcp.secretmanager.SecretVersion] = {}
        for secret in sorted_names(args):
            resource = gcp.secretmanager.Secret(
                f"{name}-{secret}",
                gcp.secretmanager.SecretArgs(
                    secret_id=secret_id(placement.stack, secret),
                    project=placement.gcp_project,
                    replication=gcp.secretmanager.SecretReplicationArgs(
                        user_managed=gcp.secretmanager.SecretReplicationUserManagedArgs(
                            replicas=[
                                gcp.secretmanager.SecretReplicationUserManagedReplicaArgs(
                                    location=placement.region,
                                    customer_managed_encryption=gcp.secretmanager.SecretReplicationUserManagedReplicaCustomerManagedEncryptionArgs(
                                        kms_key_name=self.key.id,
                                    ),
                                )
                            ]
                        )
                    ),
                    version_destroy_ttl=_seconds(args.recovery_window_days),
                    deletion_protection=args.deletion_protection,
                    labels=dict(placement.tags),
                ),
                # Secret Manager checks the key grant when the secret is created.
                opts=pulumi.ResourceOptions.merge(guarded, pulumi.ResourceOptions(depends_on=self.key_ready)),
            )
            secrets[secret] = resource
            versions[secret] = gcp.secretmanager.SecretVersion(
                f"{name}-{secret}-version",
                gcp.secretmanager.SecretVersionArgs(
                    secret=resource.id,
                    secret_data=pulumi.Output.secret(args.secrets[secret]),
                    enabled=True,
                ),
                opts=child,
            )
        return secrets, versions

    def _read_access(
        self, name: str, args: SecretsVaultArgs, child: pulumi.ResourceOptions
    ) -> dict[str, gcp.secretmanager.SecretIamMember]:
        member = args.reader.principal.apply(lambda email: f"serviceAccount:{email}")
        return {
            secret: gcp.secretmanager.SecretIamMember(
                f"{name}-{secret}-read",
                gcp.secretmanager.SecretIamMemberArgs(
                    project=args.placement.gcp_project,
                    secret_id=resource.secret_id,
                    role=SECRET_ACCESSOR,
                    member=member,
                ),
                opts=child,
            )
            for secret, resource in self.secrets.items()
        }
