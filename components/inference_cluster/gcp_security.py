"""GKE application-layer secrets encryption: a Cloud KMS key the GKE service agent may use.

GKE encrypts Secrets in etcd with the key as its service agent
(service-<project number>@container-engine-robot.iam.gserviceaccount.com), and refuses to create
a cluster whose agent cannot use the key, so the grant must exist before the cluster: the
cluster depends on it. The key sits in the cluster's own region (GKE requires the key's
location to match a regional cluster's) and rotates every 90 days; GKE decrypts with whichever
version encrypted a Secret, so rotation needs no cluster change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_gcp as gcp

from components.gcp_apis import GcpApis

STORE_TYPE: Final = "inference-failover:object_store:GcpModelStore"
"""Type of the model store component, parent of the Cloud KMS Service of earlier versions."""
KMS_ENCRYPTER_DECRYPTER: Final = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
KEY_ROTATION_PERIOD: Final = f"{90 * 24 * 3600}s"
KEY_DESTROY_SCHEDULED: Final = f"{30 * 24 * 3600}s"


def gke_service_agent(project_number: str) -> str:
    return f"serviceAccount:service-{project_number}@container-engine-robot.iam.gserviceaccount.com"


@dataclass(frozen=True)
class SecretsEncryption:
    key: gcp.kms.CryptoKey
    grant: gcp.kms.CryptoKeyIAMMember
    """The GKE service agent's use of the key; the cluster must depend on it."""


def secrets_encryption_key(
    name: str,
    *,
    project: str,
    region: str,
    labels: dict[str, str],
    apis: GcpApis,
    child: pulumi.ResourceOptions,
    deletion_protection: bool,
) -> SecretsEncryption:
    """Key ring + key + the GKE service agent's grant; `child` already waits for the container
    API, whose enabling creates the service agent the grant names."""
    # The model store enabled Cloud KMS itself before GcpApis existed; the cluster now asks for it
    # first, so it carries the alias that lets existing stacks adopt that Service.
    store = f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{STORE_TYPE}::{name}"
    kms_api = apis.enable(
        "cloudkms", previously={"cloudkms": pulumi.Alias(name=f"{name}-models-cloudkms-api", parent=store)}
    )
    after_kms = child.merge(pulumi.ResourceOptions(depends_on=kms_api))
    # Key rings can never be deleted in GCP: auto-named, so a re-created stack gets a fresh ring.
    ring = gcp.kms.KeyRing(
        f"{name}-etcd",
        gcp.kms.KeyRingArgs(location=region, project=project),
        opts=after_kms.merge(pulumi.ResourceOptions(protect=deletion_protection)),
    )
    key = gcp.kms.CryptoKey(
        f"{name}-etcd",
        gcp.kms.CryptoKeyArgs(
            name="gke-secrets",
            key_ring=ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=KEY_ROTATION_PERIOD,
            destroy_scheduled_duration=KEY_DESTROY_SCHEDULED,
            deletion_policy="PREVENT" if deletion_protection else "DELETE",
            version_template=gcp.kms.CryptoKeyVersionTemplateArgs(
                algorithm="GOOGLE_SYMMETRIC_ENCRYPTION", protection_level="SOFTWARE"
            ),
            labels=labels,
        ),
        opts=after_kms.merge(pulumi.ResourceOptions(protect=deletion_protection)),
    )
    project_info = gcp.organizations.get_project_output(
        project_id=project, opts=pulumi.InvokeOutputOptions(parent=child.parent, provider=child.provider)
    )
    grant = gcp.kms.CryptoKeyIAMMember(
        f"{name}-etcd-gke-agent",
        gcp.kms.CryptoKeyIAMMemberArgs(
            crypto_key_id=key.id,
            role=KMS_ENCRYPTER_DECRYPTER,
            member=project_info.number.apply(gke_service_agent),
        ),
        # The agent exists once the Kubernetes Engine API (in `child`'s dependencies) is enabled.
        opts=after_kms,
    )
    return SecretsEncryption(key, grant)


def database_encryption(encryption: SecretsEncryption) -> gcp.container.ClusterDatabaseEncryptionArgs:
    return gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED", key_name=encryption.key.id)
