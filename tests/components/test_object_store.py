"""Model store on every cloud, checked on mocked runs of the real stack files.

Each cloud is seen as a primary and as a standby (every pair in tests.support.PAIRS), so the
secure defaults, the in-cloud replication and the reader grant are asserted on what the shipped
stacks would really create.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.object_store.aws import replica_region_for
from components.object_store.azure import STORAGE_BLOB_DATA_READER, sku_for
from components.object_store.gcp import dual_region_for
from cutover.verify import StoreLocation
from infra import outputs
from infra.catalog import REGIONS
from offline.harness import ProgramRun, Registered
from offline.mocks import ACCOUNT_ID
from tests.support import PAIRS, pair

STORE_TYPE = {
    "aws": "inference-failover:object_store:AwsModelStore",
    "gcp": "inference-failover:object_store:GcpModelStore",
    "azure": "inference-failover:object_store:AzureModelStore",
}
Where = tuple[str, str, int]
"""(primary cloud, standby cloud, 0 for the primary stack or 1 for the standby) of one mocked run."""


def stacks_on(cloud: str) -> list[Any]:
    return [
        pytest.param((p, s, i), id=f"{p}-to-{s}-{('primary', 'standby')[i]}")
        for p, s in PAIRS
        for i, stack_cloud in enumerate((p, s))
        if stack_cloud == cloud
    ]


ALL_STACKS = [param for cloud in ("aws", "gcp", "azure") for param in stacks_on(cloud)]


def run_of(where: Where) -> ProgramRun:
    primary, standby, index = where
    return pair(primary, standby)[index]


def descendants(run: ProgramRun, root: Registered) -> list[Registered]:
    found: list[Registered] = []
    frontier = [root.urn]
    while frontier:
        children = [r for r in run.resources if r.parent in frontier]
        found += children
        frontier = [c.urn for c in children]
    return found


def store_resources(run: ProgramRun, type_token: str) -> list[Registered]:
    store = run.one(STORE_TYPE[run.config.cloud])
    return [r for r in descendants(run, store) if r.type == type_token]


def named(run: ProgramRun, type_token: str, name: str) -> Registered:
    matches = [r for r in store_resources(run, type_token) if r.name == name]
    assert len(matches) == 1, f"expected one {type_token} named {name}, found {[r.name for r in matches]}"
    return matches[0]


def for_bucket(run: ProgramRun, type_token: str, bucket: str) -> Registered:
    matches = [r for r in store_resources(run, type_token) if r.inputs.get("bucket") == bucket]
    assert len(matches) == 1, f"expected one {type_token} for bucket {bucket}, found {len(matches)}"
    return matches[0]


def policy(resource: Registered, field: str = "policy") -> dict[str, Any]:
    document = resource.inputs[field]
    return json.loads(document) if isinstance(document, str) else document


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- AWS ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", stacks_on("aws"))
def test_s3_buckets_are_versioned_kms_encrypted_private_and_tls_only(where: Where) -> None:
    run = run_of(where)
    buckets = store_resources(run, "aws:s3/bucket:Bucket")
    assert len(buckets) == 2, "the model bucket and its replica"
    keys = {k.outputs["arn"]: k for k in store_resources(run, "aws:kms/key:Key")}
    for bucket in buckets:
        name, arn = bucket.outputs["bucket"], bucket.outputs["arn"]
        assert bucket.inputs["forceDestroy"] is False
        versioning = for_bucket(run, "aws:s3/bucketVersioning:BucketVersioning", name)
        assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
        (rule,) = for_bucket(
            run,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            name,
        ).inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        assert rule["bucketKeyEnabled"] is True
        key = keys[rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]]
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == 30
        assert key.provider == bucket.provider, "each bucket's key lives in the bucket's region"
        block = for_bucket(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name).inputs
        assert [
            block[k]
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        ] == [True, True, True, True]
        ownership = for_bucket(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", name)
        assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        (deny,) = policy(for_bucket(run, "aws:s3/bucketPolicy:BucketPolicy", name))["Statement"]
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert sorted(deny["Resource"]) == [arn, f"{arn}/*"]


@pytest.mark.parametrize("where", stacks_on("aws"))
def test_s3_bucket_replicates_to_a_second_region_through_its_own_provider(where: Where) -> None:
    run = run_of(where)
    store = run.one(STORE_TYPE["aws"])
    (replica_provider,) = [r for r in descendants(run, store) if r.type == "pulumi:providers:aws"]
    replica_region = replica_provider.inputs["region"]
    assert replica_region != run.config.region
    if run.config.region == "us-east-1":
        assert replica_region == "us-west-2"
    source = named(run, "aws:s3/bucket:Bucket", f"{run.stack}-models")
    replica = named(run, "aws:s3/bucket:Bucket", f"{run.stack}-models-replica")
    assert replica.provider.startswith(f"{replica_provider.urn}::")
    assert not source.provider.startswith(f"{replica_provider.urn}::")
    assert replica.outputs["region"] == replica_region

    config = named(
        run, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", f"{run.stack}-models-replication"
    )
    assert config.inputs["bucket"] == source.outputs["bucket"]
    (rule,) = config.inputs["rules"]
    destination = rule["destination"]
    replica_key_arn = named(run, "aws:kms/key:Key", f"{run.stack}-models-replica-key").outputs["arn"]
    assert rule["status"] == "Enabled"
    assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
    assert rule["sourceSelectionCriteria"]["sseKmsEncryptedObjects"] == {"status": "Enabled"}
    assert destination["bucket"] == replica.outputs["arn"]
    assert destination["encryptionConfiguration"]["replicaKmsKeyId"] == replica_key_arn
    assert destination["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert destination["metrics"]["status"] == "Enabled"

    role = named(run, "aws:iam/role:Role", f"{run.stack}-models-replication")
    assert config.inputs["role"] == role.outputs["arn"]
    (trust,) = policy(role, "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"}
    statements = policy(named(run, "aws:iam/rolePolicy:RolePolicy", f"{run.stack}-models-replication"))[
        "Statement"
    ]
    writes = [s for s in statements if "s3:ReplicateObject" in as_list(s["Action"])]
    assert [s["Resource"] for s in writes] == [f"{replica.outputs['arn']}/*"]


@pytest.mark.parametrize("where", stacks_on("aws"))
def test_s3_reader_gets_read_only_access_to_this_bucket_and_key(where: Where) -> None:
    run = run_of(where)
    bucket_arn = named(run, "aws:s3/bucket:Bucket", f"{run.stack}-models").outputs["arn"]
    key_arn = named(run, "aws:kms/key:Key", f"{run.stack}-models-key").outputs["arn"]
    grant = named(run, "aws:iam/rolePolicy:RolePolicy", f"{run.stack}-models-read")
    workload_role_arn = run.outputs[outputs.WORKLOAD_IDENTITY]
    assert grant.inputs["role"] == workload_role_arn.rsplit("/", 1)[-1]
    allowed = {
        (action, resource)
        for statement in policy(grant)["Statement"]
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }
    assert allowed == {
        ("s3:ListBucket", bucket_arn),
        ("s3:GetObject", f"{bucket_arn}/*"),
        ("kms:Decrypt", key_arn),
    }


# --- GCP ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", stacks_on("gcp"))
def test_gcs_bucket_is_dual_region_versioned_cmek_uniform_and_private(where: Where) -> None:
    run = run_of(where)
    (bucket,) = store_resources(run, "gcp:storage/bucket:Bucket")
    (key,) = store_resources(run, "gcp:kms/cryptoKey:CryptoKey")
    (ring,) = store_resources(run, "gcp:kms/keyRing:KeyRing")
    inputs = bucket.inputs
    if run.config.region == "us-central1":
        assert inputs["location"] == "NAM4" and ring.inputs["location"] == "nam4"
    assert inputs["location"] == dual_region_for(run.config.region).location
    assert inputs["versioning"] == {"enabled": True}
    assert inputs["uniformBucketLevelAccess"] is True
    assert inputs["publicAccessPrevention"] == "enforced"
    assert inputs["encryption"]["defaultKmsKeyName"] == key.outputs["id"]
    assert inputs["rpo"] == "ASYNC_TURBO"
    assert inputs["softDeletePolicy"]["retentionDurationSeconds"] == 7 * 86_400
    assert inputs["forceDestroy"] is False
    assert key.inputs["rotationPeriod"] == f"{90 * 86_400}s"
    assert key.inputs["keyRing"] == ring.outputs["id"]
    (agent_grant,) = store_resources(run, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert agent_grant.inputs["cryptoKeyId"] == key.outputs["id"]
    assert agent_grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert agent_grant.inputs["member"].endswith("@gs-project-accounts.iam.gserviceaccount.com")


@pytest.mark.parametrize("where", stacks_on("gcp"))
def test_gcs_key_ring_waits_for_cloud_kms_and_has_no_fixed_name(where: Where) -> None:
    """Fresh projects have Cloud KMS off, and GCP never deletes a key ring: a fixed name would
    make a re-created stack fail with AlreadyExists."""
    run = run_of(where)
    (ring,) = store_resources(run, "gcp:kms/keyRing:KeyRing")
    (api,) = [
        r
        for r in run.of_type("gcp:projects/service:Service")
        if r.inputs["service"] == "cloudkms.googleapis.com"
    ]
    assert api.urn in ring.dependencies
    assert api.inputs["disableOnDestroy"] is False
    assert "name" not in ring.inputs


@pytest.mark.parametrize("where", stacks_on("gcp"))
def test_gcs_reader_is_object_viewer_on_this_bucket_only(where: Where) -> None:
    run = run_of(where)
    (bucket,) = store_resources(run, "gcp:storage/bucket:Bucket")
    (grant,) = store_resources(run, "gcp:storage/bucketIAMMember:BucketIAMMember")
    assert grant.inputs["bucket"] == bucket.outputs["name"]
    assert grant.inputs["role"] == "roles/storage.objectViewer"
    assert grant.inputs["member"] == f"serviceAccount:{run.outputs[outputs.WORKLOAD_IDENTITY]}"


# --- Azure ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", stacks_on("azure"))
def test_azure_storage_is_ra_gzrs_versioned_soft_deleting_and_keyless(where: Where) -> None:
    run = run_of(where)
    (account,) = store_resources(run, "azure-native:storage:StorageAccount")
    a = account.inputs
    assert a["sku"] == {"name": "Standard_RAGZRS"}
    assert a["kind"] == "StorageV2"
    assert a["allowBlobPublicAccess"] is False
    assert a["allowSharedKeyAccess"] is False, "no account keys, hence no SAS tokens"
    assert a["defaultToOAuthAuthentication"] is True
    assert a["enableHttpsTrafficOnly"] is True
    assert a["minimumTlsVersion"] == "TLS1_2"
    assert a["allowCrossTenantReplication"] is False
    assert a["encryption"]["requireInfrastructureEncryption"] is True
    (service,) = store_resources(run, "azure-native:storage:BlobServiceProperties")
    assert service.inputs["accountName"] == account.outputs["name"]
    assert service.inputs["isVersioningEnabled"] is True
    assert service.inputs["deleteRetentionPolicy"] == {"enabled": True, "days": 7}
    assert service.inputs["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 7}
    (container,) = store_resources(run, "azure-native:storage:BlobContainer")
    assert container.inputs["publicAccess"] == "None"


@pytest.mark.parametrize("where", stacks_on("azure"))
def test_azure_reader_is_blob_data_reader_on_the_container_only(where: Where) -> None:
    run = run_of(where)
    (container,) = store_resources(run, "azure-native:storage:BlobContainer")
    grants = store_resources(run, "azure-native:authorization:RoleAssignment")
    # The other grant is the storage account's own identity on its encryption key (azure_cmk).
    (grant,) = [g for g in grants if g.inputs["principalId"] == run.outputs[outputs.WORKLOAD_IDENTITY]]
    assert grant.inputs["scope"] == container.outputs["id"]
    assert grant.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{STORAGE_BLOB_DATA_READER}")
    assert grant.inputs["principalId"] == run.outputs[outputs.WORKLOAD_IDENTITY]
    assert grant.inputs["principalType"] == "ServicePrincipal"


# --- every cloud ----------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ALL_STACKS)
def test_model_store_output_describes_the_bucket_for_replication_and_the_verifier(where: Where) -> None:
    run = run_of(where)
    cloud = run.config.cloud
    descriptor = run.outputs[outputs.MODEL_STORE]
    bucket = run.outputs[outputs.MODEL_BUCKET]
    assert descriptor["cloud"] == cloud and descriptor["region"] == run.config.region
    assert descriptor["bucket"] == bucket
    assert descriptor["uri"] == run.outputs[outputs.MODEL_BUCKET_URI]
    if cloud == "aws":
        assert descriptor["account"] == ACCOUNT_ID
        assert descriptor["uri"] == f"s3://{bucket}"
    elif cloud == "gcp":
        assert descriptor["account"] == run.config.gcp_project
        assert descriptor["uri"] == f"gs://{bucket}"
    else:
        (account,) = store_resources(run, "azure-native:storage:StorageAccount")
        assert descriptor["account"] == account.outputs["name"]
        assert descriptor["uri"] == f"https://{account.outputs['name']}.blob.core.windows.net/{bucket}"
    assert run.outputs[outputs.MODEL_URI] == f"{descriptor['uri']}/{run.config.model_path}"
    location = StoreLocation.from_descriptor(descriptor)
    assert (location.cloud, location.bucket, location.account) == (cloud, bucket, descriptor["account"])


# --- region pairing -------------------------------------------------------------------------------


def test_every_aws_region_the_config_accepts_has_a_replica_region_elsewhere() -> None:
    pairs = {region: replica_region_for(region) for region in REGIONS["aws"]}
    assert all(replica != region for region, replica in pairs.items())
    assert replica_region_for("us-east-1", override="eu-west-1") == "eu-west-1"


def test_unpaired_aws_region_fails_naming_the_override() -> None:
    with pytest.raises(ValueError, match=r"'xx-nowhere-1'.*secondary_region"):
        replica_region_for("xx-nowhere-1")


def test_gcs_dual_region_is_predefined_where_possible_else_configurable_on_the_same_continent() -> None:
    nam4 = dual_region_for("us-east1")
    assert (nam4.location, nam4.kms_location, nam4.predefined) == ("NAM4", "nam4", True)
    custom = dual_region_for("europe-west1")
    assert (custom.location, custom.kms_location, custom.predefined) == ("EU", "europe", False)
    assert custom.data_locations[0] == "europe-west1" and custom.data_locations[1] != "europe-west1"
    with pytest.raises(ValueError, match=r"'australia-southeast1'.*secondary_region"):
        dual_region_for("australia-southeast1")
    with pytest.raises(ValueError, match=r"together with 'asia-east1'"):
        dual_region_for("us-east4", "asia-east1")


def test_azure_regions_without_zones_fall_back_to_geo_redundancy() -> None:
    assert sku_for("eastus", secondary_read_access=True) == "Standard_RAGZRS"
    assert sku_for("eastus", secondary_read_access=False) == "Standard_GZRS"
    assert sku_for("westus", secondary_read_access=True) == "Standard_RAGRS"
