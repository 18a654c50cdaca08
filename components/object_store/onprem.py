"""Model store on an S3-compatible endpoint (Ceph RGW, SeaweedFS, MinIO...): `cloud: onprem`.

A store without versioning or SSE-S3 (Garage) is declared with `s3Capabilities`
(components/object_store/s3_capabilities.py): the bucket then gets neither call. The bucket itself
is fine on Garage: pulumi-minio 0.17.1 bundles terraform-provider-minio v1.20.1, whose create is
HeadBucket + CreateBucket (acl `private` sends no policy call; the DeleteBucketPolicy of
provider v3.x, which tolerates 501 since v3.11.2, is not in it), read is HeadBucket and delete is
DeleteBucket, all of which Garage implements (tests/components/test_garage_store_servers.py replays them).

The access key never enters the stack config: it is read from the site's OpenBao/Vault (KV v2,
`S3CompatibleStore.credentials_path`) with pulumi-vault's data source, and both store providers
are children of this component, configured from it (never a default provider).

What a real store accepts on a first `pulumi up` decides which provider does what:

- The bucket: `minio.S3Bucket` (pulumi-minio, minio-go; path-style against any S3 API). Not
  `aws.s3.Bucket`: since terraform-provider-aws 6.23 (pulumi-aws 7.13) it reads bucket tags
  through the S3 Control API (`ListTagsForResource`), which needs an account id
  (`skip_requesting_account_id` leaves it empty: "AccountId must only contain a-z...") and which
  Ceph RGW, MinIO and Cloudian do not implement (hashicorp/terraform-provider-aws#46202, open).
- Versioning and default encryption: `aws.s3.BucketVersioning` and
  `aws.s3.BucketServerSideEncryptionConfiguration` through an `aws.Provider` pointed at the
  endpoint (`endpoints.s3`, `s3_use_path_style`) that skips everything only AWS has: STS
  credential validation, the account-id lookup, the EC2 metadata API and the region list.
  Both are plain S3 bucket sub-resources, no tags, no account id.
- Not created, because S3-compatible stores reject or ignore them: public access block
  (SeaweedFS answers NotImplemented), object lock (needs a lock-enabled bucket at creation; most
  stores refuse it on an existing one), SSE-KMS (needs the store's own KMS: Ceph + Vault transit,
  MinIO KES), ownership controls and ACLs (the bucket is private: `acl = private` removes any
  bucket policy; access is by key). A TLS-only bucket policy is left out too: SeaweedFS and Ceph
  enforce `aws:SecureTransport`, but `s3Endpoint` is already https-only.

Encryption at rest: `sse-s3` (the default) sets AES256 as the bucket default, so the store
encrypts every object with its own key; the store must have that key configured (SeaweedFS
`s3.sse.kek`; Ceph `rgw_crypt_sse_s3_backend`; MinIO a KMS). Without one, SeaweedFS accepts the
rule and then fails every upload (InternalError), which the tests prove against a real SeaweedFS.
`encryption="none"` is for a store without SSE-S3: encrypt its disks instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws
import pulumi_minio as minio
import pulumi_vault as vault

from components.common import physical_name, type_token
from components.object_store import s3_bucket
from components.object_store.args import (
    ACCOUNT,
    BUCKET,
    CLOUD,
    ENDPOINT,
    MODULE,
    READ_CREDENTIALS_PATH,
    REGION,
    S3_REGION,
    URI,
    VAULT_ADDRESS,
    VAULT_KV_MOUNT,
    ModelStore,
    ModelStoreArgs,
    S3CompatibleStore,
)

ACCESS_KEY_FIELD: Final = "access_key_id"
SECRET_KEY_FIELD: Final = "secret_access_key"
BUCKET_NAME_MAX: Final = 63


class S3CredentialsError(ValueError):
    """The vault secret of an S3 key lacks one of its two fields."""


def bucket_name_for(stack: str, site: str) -> str:
    """<stack>-models-<site>: unique per stack and site (S3 bucket names are 3-63 characters)."""
    return physical_name(stack, "models", site, max_length=BUCKET_NAME_MAX)


def key_fields(data: Mapping[str, str] | None, mount: str, path: str) -> tuple[str, str]:
    """(access key id, secret) from a KV v2 secret's data; a clear error naming what is missing."""
    values = dict(data or {})
    missing = [name for name in (ACCESS_KEY_FIELD, SECRET_KEY_FIELD) if not values.get(name)]
    if missing:
        raise S3CredentialsError(
            f"vault secret {mount}/{path} lacks {', '.join(missing)} "
            f"(has: {', '.join(sorted(values)) or 'nothing'}): store the key with "
            f"`bao kv put -mount={mount} {path} {ACCESS_KEY_FIELD}=... {SECRET_KEY_FIELD}=...`"
        )
    return values[ACCESS_KEY_FIELD], values[SECRET_KEY_FIELD]


def vault_provider_for(
    name: str, store: S3CompatibleStore, parent: pulumi.Resource
) -> pulumi.ProviderResource:
    """The given vault provider, else one for `store.vault_address` (token from VAULT_TOKEN, never
    in the provider's inputs or state; no child token, as the secrets vault's provider: it would
    need auth/token/create and a long deploy can outlive its TTL)."""
    if store.vault_provider is not None:
        return store.vault_provider
    return vault.Provider(
        f"{name}-vault",
        vault.ProviderArgs(address=store.vault_address, skip_child_token=True),
        opts=pulumi.ResourceOptions(parent=parent),
    )


class OnpremModelStore(ModelStore):
    """A bucket on an S3-compatible store, versioned and encrypted where the store supports it
    (`S3CompatibleStore.capabilities`); see the module docstring."""

    settings: S3CompatibleStore
    """The store's endpoint, region, encryption and vault paths (`ModelStoreArgs.s3_compatible`)."""
    vault_provider: pulumi.ProviderResource
    """The site vault's provider: the store's keys are read through it."""
    bucket_provider: minio.Provider
    """Creates buckets on the store (pulumi-minio; the audit store reuses it)."""
    s3_provider: aws.Provider
    """pulumi-aws pointed at the store's endpoint: versioning, encryption (the audit store reuses it)."""
    bucket: minio.S3Bucket
    """The private model bucket."""
    versioning: aws.s3.BucketVersioning | None
    """Versioning on the model bucket; None on a store without it (`s3Capabilities`, Garage)."""
    encryption: aws.s3.BucketServerSideEncryptionConfiguration | None
    """AES256 default encryption (`sse-s3`); None with `encryption="none"`."""

    def __init__(self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token(MODULE, "OnpremModelStore"), name, None, opts)
        self.cloud = "onprem"
        store = args.s3_compatible
        assert store is not None  # ModelStoreArgs refuses an onprem store without it
        self.settings = store
        self._store_providers(name, store)
        self._bucket(name, args)
        self._descriptor(args)
        self.register_outputs(
            {"bucketName": self.bucket_name, "bucketUri": self.bucket_uri, "descriptor": self.descriptor}
        )

    def _store_providers(self, name: str, store: S3CompatibleStore) -> None:
        """The vault's provider, the deployer's key from it, and both store providers with that key."""
        self.vault_provider = vault_provider_for(name, store, self)
        self.bucket_provider, self.s3_provider = s3_endpoint_providers(
            f"{name}-store", store, self.vault_provider, self
        )

    def _bucket(self, name: str, args: ModelStoreArgs) -> None:
        """The bucket (minio provider), then its versioning and encryption (aws provider)."""
        placement = args.placement
        self.bucket = minio.S3Bucket(
            f"{name}-models",
            minio.S3BucketArgs(
                bucket=bucket_name_for(placement.stack, placement.region),
                acl="private",
                force_destroy=False,
                object_locking=False,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.bucket_provider, protect=args.deletion_protection
            ),
        )
        s3_opts = pulumi.ResourceOptions(parent=self, provider=self.s3_provider, depends_on=[self.bucket])
        self.versioning = None
        if self.settings.supports("versioning"):  # Garage: PutBucketVersioning answers 501
            self.versioning = s3_bucket.versioned(f"{name}-models", self.bucket.bucket, s3_opts)
        self.encryption = s3_bucket.encrypt(
            f"{name}-models", self.bucket.bucket, self.settings.encryption, s3_opts
        )

    def _descriptor(self, args: ModelStoreArgs) -> None:
        store = self.settings
        self.bucket_name = self.bucket.bucket
        self.bucket_uri = self.bucket.bucket.apply(lambda b: f"s3://{b}")
        descriptor: dict[str, Any] = {
            CLOUD: "onprem",
            REGION: args.placement.region,
            BUCKET: self.bucket_name,
            URI: self.bucket_uri,
            ACCOUNT: urlsplit(store.endpoint).hostname,
            ENDPOINT: store.endpoint,
            S3_REGION: store.region,
            VAULT_ADDRESS: store.vault_address,
            VAULT_KV_MOUNT: store.vault_kv_mount,
            "versioning": store.supports("versioning"),
            "encryption": store.encryption,
        }
        if store.read_credentials_path is not None:
            descriptor[READ_CREDENTIALS_PATH] = store.read_credentials_path
        self.descriptor = pulumi.Output.from_input(descriptor).apply(dict)


def s3_endpoint_providers(
    stem: str, store: S3CompatibleStore, vault_provider: pulumi.ProviderResource, parent: pulumi.Resource
) -> tuple[minio.Provider, aws.Provider]:
    """(minio provider `<stem>`, aws provider `<stem>-s3`) for the S3 API at `store.endpoint`,
    both with the deployer's key read through `vault_provider`. The model store and an audit
    endpoint of its own (components/audit/onprem_endpoint.py) are built the same way."""
    secret = vault.kv.get_secret_v2_output(
        mount=store.vault_kv_mount,
        name=store.credentials_path,
        opts=pulumi.InvokeOutputOptions(parent=parent, provider=vault_provider),
    )
    keys = secret.data.apply(lambda d: key_fields(d, store.vault_kv_mount, store.credentials_path))
    access_key: pulumi.Output[str] = pulumi.Output.secret(keys.apply(lambda k: k[0]))
    secret_key: pulumi.Output[str] = pulumi.Output.secret(keys.apply(lambda k: k[1]))
    bucket_provider = minio.Provider(
        stem,
        minio.ProviderArgs(
            minio_server=urlsplit(store.endpoint).netloc,
            minio_ssl=True,
            minio_region=store.region,
            minio_user=access_key,
            minio_password=secret_key,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    s3_provider = aws.Provider(
        f"{stem}-s3",
        aws.ProviderArgs(
            region=store.region,
            access_key=access_key,
            secret_key=secret_key,
            endpoints=[aws.ProviderEndpointArgs(s3=store.endpoint)],
            s3_use_path_style=True,
            # Only AWS has STS, an account id, the EC2 metadata API and its region list.
            skip_credentials_validation=True,
            skip_requesting_account_id=True,
            skip_metadata_api_check=True,
            skip_region_validation=True,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return bucket_provider, s3_provider
