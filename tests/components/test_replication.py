"""Cross-cloud replication for every cloud pair, checked on mocked runs of the real stack files.

For each of the six pairs the standby copies the primary's actual bucket (named by the primary
run's own outputs) into its own bucket on the configured schedule, keylessly, with read-only
access on the primary side; the primary creates no replication at all. Hourly copies into gcp
use Storage Transfer Service; intervals no mechanism can honour fail with an error naming
`replicationIntervalMinutes`.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from components.inference_cluster import KUBERNETES_VERSION
from components.inference_cluster.edge_proxy import EDGE_KEYS_NAME
from components.inference_cluster.gcp import gke_issuer_url
from components.object_store.args import RCLONE_IMAGE
from components.object_store.azure import STORAGE_BLOB_DATA_CONTRIBUTOR, STORAGE_BLOB_DATA_READER
from components.object_store.replication import (
    ReplicationScheduleError,
    ReplicationSourceError,
    checked_source,
    cron_schedule,
    plan_replication,
)
from infra import outputs
from infra.config import PROJECT, ConfigError
from offline.harness import ProgramError, ProgramRun, Registered, load_stack_config, run_stack
from offline.mock_outputs.storage import STS_AGENT_SUBJECT_ID
from tests.support import PAIR_IDS, PAIRS, TEST_SECRETS, pair, standby_overrides

REPLICATION = "inference-failover:object_store:CrossCloudReplication"
CRONJOB = "kubernetes:batch/v1:CronJob"
TRANSFER_JOB = "gcp:storage/transferJob:TransferJob"
PROVIDER_PACKAGE = {"aws": "aws", "gcp": "gcp", "azure": "azure-native"}

S3_READ_ONLY_ACTIONS = {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "kms:Decrypt"}
FORBIDDEN_TYPES = {
    "aws:iam/accessKey:AccessKey",
    "aws:iam/user:User",
    "gcp:serviceaccount/key:Key",
    "gcp:storage/hmacKey:HmacKey",
    "kubernetes:core/v1:Secret",
    "azure-native:storage:listStorageAccountSAS",
}
# Input names that would carry a long-lived credential, at any depth of any input.
FORBIDDEN_INPUTS = {
    "awsAccessKey",
    "accessKeyId",
    "secretAccessKey",
    "azureCredentials",
    "sasToken",
    "credentialsSecret",
    "privateKey",
    "clientSecret",
    "secretKeyRef",
}
FORBIDDEN_ENV = re.compile(
    r"AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AZURE_CLIENT_SECRET|AZURE_STORAGE_KEY"
    r"|AZURE_STORAGE_SAS|AZURE_STORAGE_CONNECTION_STRING|_SAS_URL$|_KEY$|_SECRET_ACCESS_KEY$"
    r"|_SERVICE_ACCOUNT_CREDENTIALS$|_CONNECTION_STRING$|_CLIENT_SECRET$"
)


# --- helpers --------------------------------------------------------------------------------------


def descendants(run: ProgramRun, root: Registered) -> list[Registered]:
    found: list[Registered] = []
    frontier = [root.urn]
    while frontier:
        children = [r for r in run.resources if r.parent in frontier]
        found += children
        frontier = [c.urn for c in children]
    return found


def replication_of(run: ProgramRun) -> list[Registered]:
    return descendants(run, run.one(REPLICATION))


def of_type(resources: list[Registered], type_token: str) -> list[Registered]:
    return [r for r in resources if r.type == type_token]


def provider_package(resource: Registered) -> str:
    """pulumi:providers:<package> of the resource's explicit provider."""
    return resource.provider.split("::")[2].rsplit(":", 1)[-1]


def on_cloud(resources: list[Registered], cloud: str) -> list[Registered]:
    return [
        r for r in resources if r.custom and r.provider and provider_package(r) == PROVIDER_PACKAGE[cloud]
    ]


def document(resource: Registered, field: str) -> dict[str, Any]:
    value = resource.inputs[field]
    return json.loads(value) if isinstance(value, str) else value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def keys_anywhere(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


def pod_spec(cronjob: Registered) -> dict[str, Any]:
    return cronjob.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def env_of(cronjob: Registered) -> dict[str, Any]:
    (container,) = pod_spec(cronjob)["containers"]
    return {e["name"]: e["value"] for e in container["env"]}


def integral(value: Any) -> Any:
    """Mocks hand numbers over as floats; Kubernetes schemas want integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    return value


def standby_issuer(run: ProgramRun) -> str:
    """The standby cluster's OIDC issuer, read from the cluster resource itself."""
    cloud = run.config.cloud
    if cloud == "aws":
        return str(run.one("aws:eks/cluster:Cluster").outputs["identities"][0]["oidcs"][0]["issuer"])
    if cloud == "azure":
        return str(
            run.one("azure-native:containerservice:ManagedCluster").outputs["oidcIssuerProfile"]["issuerURL"]
        )
    cluster = run.one("gcp:container/cluster:Cluster")
    return gke_issuer_url(
        str(run.config.gcp_project), str(cluster.inputs["location"]), str(cluster.outputs["name"])
    )


@cache
def standby_with(primary: str, standby: str, **config: Any) -> ProgramRun:
    """The standby of a pair re-run with extra config, reading the cached primary's real outputs."""
    primary_run = pair(primary, standby)[0]
    ref = load_stack_config("standby")[0][f"{PROJECT}:primaryStack"]
    return run_stack(
        "standby",
        {**standby_overrides(primary, standby), **config},
        TEST_SECRETS,
        stack_outputs={ref: primary_run.outputs},
    )


# --- every pair -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_primary_stack_creates_no_replication(primary: str, standby: str) -> None:
    primary_run, standby_run = pair(primary, standby)
    assert primary_run.of_type(REPLICATION) == []
    assert "replication" not in primary_run.outputs
    assert len(standby_run.of_type(REPLICATION)) == 1


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_standby_copies_the_primarys_actual_bucket_into_its_own(primary: str, standby: str) -> None:
    primary_run, standby_run = pair(primary, standby)
    source = primary_run.outputs[outputs.MODEL_STORE]
    target_bucket = standby_run.outputs[outputs.MODEL_BUCKET]
    described = standby_run.outputs["replication"]
    assert described["source"] == {k: source[k] for k in ("cloud", "region", "bucket", "uri", "account")}
    assert described["target"]["bucket"] == target_bucket
    assert described["keyless"] is True

    (cronjob,) = of_type(replication_of(standby_run), CRONJOB)
    (container,) = pod_spec(cronjob)["containers"]
    assert container["args"][:3] == ["copy", f"source:{source['bucket']}", f"target:{target_bucket}"]
    # Copies, never deletes; size and time (and a shared hash) decide what to copy, not a
    # checksum alone (tests/components/test_replication_emulators.py); metadata (sha256) travels along.
    assert "--metadata" in container["args"] and "--checksum" not in container["args"]
    assert not {"sync", "--delete-after", "--delete-during"} & set(container["args"])
    env = env_of(cronjob)
    rclone_type = {"aws": "s3", "gcp": "google cloud storage", "azure": "azureblob"}
    assert env["RCLONE_CONFIG_SOURCE_TYPE"] == rclone_type[primary]
    assert env["RCLONE_CONFIG_TARGET_TYPE"] == rclone_type[standby]
    if primary == "aws":
        assert env["RCLONE_CONFIG_SOURCE_REGION"] == source["region"]
    if primary == "azure":
        assert env["RCLONE_CONFIG_SOURCE_ACCOUNT"] == source["account"]
    if standby == "azure":
        assert env["RCLONE_CONFIG_TARGET_ACCOUNT"] == standby_run.outputs[outputs.MODEL_STORE]["account"]


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_replication_runs_on_the_configured_interval_without_overlapping_runs(
    primary: str, standby: str
) -> None:
    _, standby_run = pair(primary, standby)
    interval = standby_run.config.replication_interval_minutes
    (cronjob,) = of_type(replication_of(standby_run), CRONJOB)
    spec = cronjob.inputs["spec"]
    assert spec["schedule"] == f"*/{interval} * * * *"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["timeZone"] == "Etc/UTC"
    assert spec["suspend"] is False
    described = standby_run.outputs["replication"]
    assert (described["mechanism"], described["intervalMinutes"]) == ("kubernetes-cronjob", interval)
    assert described["job"] == {
        "kind": "CronJob",
        "namespace": cronjob.inputs["metadata"]["namespace"],
        "name": cronjob.inputs["metadata"]["name"],
    }


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_replication_creates_and_passes_no_keys_secrets_or_sas_tokens(primary: str, standby: str) -> None:
    primary_run, standby_run = pair(primary, standby)
    for run in (primary_run, standby_run):
        # The one Kubernetes Secret is the edge's API key digests (no credential to anything).
        found = {
            r.type
            for r in run.resources
            if not (r.type == "kubernetes:core/v1:Secret" and r.inputs["metadata"]["name"] == EDGE_KEYS_NAME)
        }
        assert found & FORBIDDEN_TYPES == set()
    replication = replication_of(standby_run)
    for resource in replication:
        assert keys_anywhere(resource.inputs) & FORBIDDEN_INPUTS == set(), resource.name
        assert resource.secret_inputs == frozenset(), f"{resource.name} carries a secret"
    (cronjob,) = of_type(replication, CRONJOB)
    names = set(env_of(cronjob))
    assert [n for n in names if FORBIDDEN_ENV.search(n)] == []
    volumes = pod_spec(cronjob)["volumes"]
    assert [v for v in volumes if "secret" in v] == []
    tokens = [
        source["serviceAccountToken"]
        for volume in volumes
        for source in volume.get("projected", {}).get("sources", [])
    ]
    assert tokens, "federated identities read short-lived projected service-account tokens"
    assert all(t["expirationSeconds"] <= 3600 for t in tokens)


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_primary_side_access_is_read_only_on_the_primary_bucket(primary: str, standby: str) -> None:
    primary_run, standby_run = pair(primary, standby)
    source = primary_run.outputs[outputs.MODEL_STORE]
    on_primary = on_cloud(replication_of(standby_run), primary)
    assert on_primary, "replication needs a read grant on the primary"
    types = {r.type for r in on_primary}
    if primary == "aws":
        assert types <= {
            "aws:iam/role:Role",
            "aws:iam/rolePolicy:RolePolicy",
            "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        }
        (grant,) = of_type(on_primary, "aws:iam/rolePolicy:RolePolicy")
        allowed = {
            (action, resource)
            for s in document(grant, "policy")["Statement"]
            for action in as_list(s["Action"])
            for resource in as_list(s["Resource"])
        }
        assert {action for action, _ in allowed} <= S3_READ_ONLY_ACTIONS
        assert {resource for _, resource in allowed} == {
            source["bucketArn"],
            f"{source['bucketArn']}/*",
            source["kmsKeyArn"],
        }
    elif primary == "gcp":
        assert types <= {
            "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
            "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
            "gcp:storage/bucketIAMMember:BucketIAMMember",
        }
        (grant,) = of_type(on_primary, "gcp:storage/bucketIAMMember:BucketIAMMember")
        assert (grant.inputs["bucket"], grant.inputs["role"]) == (
            source["bucket"],
            "roles/storage.objectViewer",
        )
        assert grant.inputs["member"].startswith(
            f"principal://iam.googleapis.com/projects/{source['projectNumber']}/"
        )
    else:
        assert types <= {
            "azure-native:managedidentity:UserAssignedIdentity",
            "azure-native:managedidentity:FederatedIdentityCredential",
            "azure-native:authorization:RoleAssignment",
        }
        (grant,) = of_type(on_primary, "azure-native:authorization:RoleAssignment")
        assert grant.inputs["scope"] == source["containerId"]
        assert grant.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{STORAGE_BLOB_DATA_READER}")
        (identity,) = of_type(on_primary, "azure-native:managedidentity:UserAssignedIdentity")
        assert identity.inputs["resourceGroupName"] == source["resourceGroup"]
        assert grant.inputs["principalId"] == identity.outputs["principalId"]


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_primary_cloud_trusts_only_the_standby_clusters_replication_service_account(
    primary: str, standby: str
) -> None:
    _, standby_run = pair(primary, standby)
    replication = replication_of(standby_run)
    (cronjob,) = of_type(replication, CRONJOB)
    namespace = cronjob.inputs["metadata"]["namespace"]
    subject = f"system:serviceaccount:{namespace}:{pod_spec(cronjob)['serviceAccountName']}"
    issuer = standby_issuer(standby_run)
    on_primary = on_cloud(replication, primary)
    env = env_of(cronjob)
    if primary == "aws":
        (oidc,) = of_type(on_primary, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
        assert oidc.inputs["url"] == issuer and oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]
        (role,) = of_type(on_primary, "aws:iam/role:Role")
        (trust,) = document(role, "assumeRolePolicy")["Statement"]
        host = issuer.removeprefix("https://").rstrip("/")  # AKS issuers end in '/'
        assert trust["Principal"] == {"Federated": oidc.outputs["arn"]}
        assert trust["Condition"]["StringEquals"] == {
            f"{host}:sub": subject,
            f"{host}:aud": "sts.amazonaws.com",
        }
        assert env["AWS_ROLE_ARN"] == role.outputs["arn"]
    elif primary == "gcp":
        (provider,) = of_type(on_primary, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
        assert provider.inputs["oidc"]["issuerUri"] == issuer
        assert provider.inputs["attributeCondition"] == f"assertion.sub == '{subject}'"
        (grant,) = of_type(on_primary, "gcp:storage/bucketIAMMember:BucketIAMMember")
        assert grant.inputs["member"].endswith(f"/subject/{subject}")
        credentials = json.loads(
            of_type(replication, "kubernetes:core/v1:ConfigMap")[0].inputs["data"]["credentials.json"]
        )
        assert (
            credentials["type"] == "external_account"
            and "service_account_impersonation_url" not in credentials
        )
        assert credentials["audience"] == f"//iam.googleapis.com/{provider.outputs['name']}"
    else:
        (credential,) = of_type(on_primary, "azure-native:managedidentity:FederatedIdentityCredential")
        assert (credential.inputs["issuer"], credential.inputs["subject"]) == (issuer, subject)
        assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
        (identity,) = of_type(on_primary, "azure-native:managedidentity:UserAssignedIdentity")
        assert env["AZURE_CLIENT_ID"] == identity.outputs["clientId"]


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_standby_writes_only_its_own_bucket_with_its_own_cluster_identity(primary: str, standby: str) -> None:
    _, standby_run = pair(primary, standby)
    target = standby_run.outputs[outputs.MODEL_STORE]
    replication = replication_of(standby_run)
    on_standby = on_cloud(replication, standby)
    (cronjob,) = of_type(replication, CRONJOB)
    namespace = cronjob.inputs["metadata"]["namespace"]
    account_name = pod_spec(cronjob)["serviceAccountName"]
    subject = f"system:serviceaccount:{namespace}:{account_name}"
    env = env_of(cronjob)
    if standby == "aws":
        (role,) = of_type(on_standby, "aws:iam/role:Role")
        (trust,) = document(role, "assumeRolePolicy")["Statement"]
        cluster_oidc = [
            r
            for r in standby_run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
            if r not in replication
        ]
        assert trust["Principal"] == {"Federated": cluster_oidc[0].outputs["arn"]}, (
            "the EKS cluster's IRSA provider"
        )
        assert subject in trust["Condition"]["StringEquals"].values()
        (grant,) = of_type(on_standby, "aws:iam/rolePolicy:RolePolicy")
        resources = {r for s in document(grant, "policy")["Statement"] for r in as_list(s["Resource"])}
        assert resources == {target["bucketArn"], f"{target['bucketArn']}/*", target["kmsKeyArn"]}
        assert env["AWS_ROLE_ARN"] == role.outputs["arn"]
    elif standby == "gcp":
        (account,) = of_type(on_standby, "gcp:serviceaccount/account:Account")
        (binding,) = of_type(on_standby, "gcp:serviceaccount/iAMMember:IAMMember")
        assert binding.inputs["role"] == "roles/iam.workloadIdentityUser"
        assert (
            binding.inputs["member"]
            == f"serviceAccount:{target['account']}.svc.id.goog[{namespace}/{account_name}]"
        )
        (grant,) = of_type(on_standby, "gcp:storage/bucketIAMMember:BucketIAMMember")
        assert (grant.inputs["bucket"], grant.inputs["role"]) == (
            target["bucket"],
            "roles/storage.objectUser",
        )
        assert grant.inputs["member"] == f"serviceAccount:{account.outputs['email']}"
        (service_account,) = of_type(replication, "kubernetes:core/v1:ServiceAccount")
        annotations = service_account.inputs["metadata"]["annotations"]
        assert annotations == {"iam.gke.io/gcp-service-account": account.outputs["email"]}
    else:
        (credential,) = of_type(on_standby, "azure-native:managedidentity:FederatedIdentityCredential")
        assert (credential.inputs["issuer"], credential.inputs["subject"]) == (
            standby_issuer(standby_run),
            subject,
        )
        (grant,) = of_type(on_standby, "azure-native:authorization:RoleAssignment")
        assert grant.inputs["scope"] == target["containerId"]
        assert grant.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{STORAGE_BLOB_DATA_CONTRIBUTOR}")
        (identity,) = of_type(on_standby, "azure-native:managedidentity:UserAssignedIdentity")
        assert env["AZURE_CLIENT_ID"] == identity.outputs["clientId"]


@pytest.mark.parametrize(("primary", "standby"), PAIRS, ids=PAIR_IDS)
def test_cronjob_is_a_valid_hardened_kubernetes_cronjob(primary: str, standby: str) -> None:
    _, standby_run = pair(primary, standby)
    (cronjob,) = of_type(replication_of(standby_run), CRONJOB)
    kubernetes_validate.validate(integral(cronjob.inputs), KUBERNETES_VERSION, strict=True)
    pod = pod_spec(cronjob)
    (container,) = pod["containers"]
    assert container["image"] == RCLONE_IMAGE and not container["image"].endswith(":latest")
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["limits"]["memory"]
    assert cronjob.inputs["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0


# --- mechanism, schedule and pause ---------------------------------------------------------------


@pytest.mark.parametrize("primary", ["aws", "azure"])
def test_hourly_copies_into_gcp_use_storage_transfer_service_keylessly(primary: str) -> None:
    primary_run = pair(primary, "gcp")[0]
    standby_run = standby_with(primary, "gcp", replicationIntervalMinutes=60)
    source = primary_run.outputs[outputs.MODEL_STORE]
    replication = replication_of(standby_run)
    assert of_type(replication, CRONJOB) == []
    assert [r for r in replication if r.type.startswith("kubernetes:")] == []
    (job,) = of_type(replication, TRANSFER_JOB)
    spec = job.inputs["transferSpec"]
    assert job.inputs["schedule"]["repeatInterval"] == "3600s"
    assert job.inputs["status"] == "ENABLED"
    assert spec["gcsDataSink"]["bucketName"] == standby_run.outputs[outputs.MODEL_BUCKET]
    assert spec["transferOptions"]["deleteObjectsUniqueInSink"] is False
    # A different ETag (every new upload on S3 and Azure) overwrites: a same-size new version too.
    assert spec["transferOptions"]["overwriteWhen"] == "DIFFERENT"
    assert keys_anywhere(job.inputs) & FORBIDDEN_INPUTS == set()
    on_primary = on_cloud(replication, primary)
    if primary == "aws":
        (role,) = of_type(on_primary, "aws:iam/role:Role")
        assert spec["awsS3DataSource"] == {"bucketName": source["bucket"], "roleArn": role.outputs["arn"]}
        (trust,) = document(role, "assumeRolePolicy")["Statement"]
        assert trust["Principal"] == {"Federated": "accounts.google.com"}
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert trust["Condition"] == {"StringEquals": {"accounts.google.com:sub": STS_AGENT_SUBJECT_ID}}
    else:
        (identity,) = of_type(on_primary, "azure-native:managedidentity:UserAssignedIdentity")
        (credential,) = of_type(on_primary, "azure-native:managedidentity:FederatedIdentityCredential")
        assert spec["azureBlobStorageDataSource"] == {
            "storageAccount": source["account"],
            "container": source["bucket"],
            "federatedIdentityConfig": {
                "clientId": identity.outputs["clientId"],
                "tenantId": identity.outputs["tenantId"],
            },
        }
        assert (credential.inputs["issuer"], credential.inputs["subject"]) == (
            "https://accounts.google.com",
            STS_AGENT_SUBJECT_ID,
        )
    agent = standby_run.outputs["replication"]["identity"]["targetWrite"]
    sink_roles = {
        g.inputs["role"]
        for g in of_type(replication, "gcp:storage/bucketIAMMember:BucketIAMMember")
        if g.inputs["member"] == f"serviceAccount:{agent}"
    }
    assert sink_roles == {"roles/storage.legacyBucketWriter", "roles/storage.objectViewer"}


def test_paused_replication_suspends_the_cronjob() -> None:
    standby_run = standby_with("gcp", "azure", replicationPaused=True)
    (cronjob,) = of_type(replication_of(standby_run), CRONJOB)
    assert cronjob.inputs["spec"]["suspend"] is True
    assert standby_run.outputs["replication"]["paused"] is True


def test_paused_replication_disables_the_transfer_job() -> None:
    standby_run = standby_with("aws", "gcp", replicationIntervalMinutes=60, replicationPaused=True)
    (job,) = of_type(replication_of(standby_run), TRANSFER_JOB)
    assert job.inputs["status"] == "DISABLED"


def test_pausing_replication_on_the_primary_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"'replicationPaused' must be unset on a primary stack"):
        run_stack("primary", {"replicationPaused": True}, TEST_SECRETS)


def test_replication_paused_must_be_a_boolean() -> None:
    with pytest.raises(ConfigError, match=r"'replicationPaused' must be one of false, true \(got 'maybe'\)"):
        run_stack("standby", {**standby_overrides("aws", "gcp"), "replicationPaused": "maybe"}, TEST_SECRETS)


def test_interval_no_mechanism_can_honour_fails_naming_the_config_key() -> None:
    with pytest.raises(ProgramError) as failure:
        standby_with("aws", "azure", replicationIntervalMinutes=45)
    message = str(failure.value)
    assert "stack config 'replicationIntervalMinutes'" in message
    assert "(got 45)" in message
    assert "pulumi config set replicationIntervalMinutes 30 -s standby" in message


@pytest.mark.parametrize(
    ("interval", "schedule"),
    [(5, "*/5 * * * *"), (30, "*/30 * * * *"), (60, "0 * * * *"), (180, "0 */3 * * *"), (1440, "0 0 * * *")],
)
def test_cron_schedule_runs_every_interval_minutes(interval: int, schedule: str) -> None:
    assert cron_schedule(interval) == schedule


def test_storage_transfer_service_takes_any_interval_of_an_hour_or_more_into_gcp_only() -> None:
    assert plan_replication("aws", "gcp", 15, "standby").mechanism == "kubernetes-cronjob"
    ninety = plan_replication("azure", "gcp", 90, "standby")
    assert (ninety.mechanism, ninety.schedule) == ("storage-transfer-service", "5400s")
    with pytest.raises(
        ReplicationScheduleError, match=r"'replicationIntervalMinutes'.*aws to azure \(got 90\)"
    ):
        plan_replication("aws", "azure", 90, "standby")
    with pytest.raises(ReplicationScheduleError, match=r"at least 60 .* \(got 45\)"):
        plan_replication("aws", "gcp", 45, "standby")


def test_primary_descriptor_on_another_cloud_or_incomplete_is_rejected() -> None:
    with pytest.raises(ReplicationSourceError, match=r"'primaryCloud'.*set primaryCloud to gcp"):
        checked_source({"cloud": "gcp", "bucket": "b"}, "aws", "standby")
    with pytest.raises(ReplicationSourceError, match=r"lacks bucketArn, kmsKeyArn"):
        checked_source(
            {"cloud": "aws", "bucket": "b", "region": "us-east-1", "account": "1"}, "aws", "standby"
        )


FEDERATION_ANCHOR = {
    "aws": ("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:iam/role:Role", "target-write"),
    "gcp": (
        "gcp:container/cluster:Cluster",
        "gcp:serviceaccount/iAMMember:IAMMember",
        "target-write-workload-identity",
    ),
}


@pytest.mark.parametrize(
    ("primary", "standby"),
    [(p, s) for p, s in PAIRS if s in FEDERATION_ANCHOR],
    ids=[f"{p}-to-{s}" for p, s in PAIRS if s in FEDERATION_ANCHOR],
)
def test_replication_trust_waits_for_the_standby_clusters_identity_federation(
    primary: str, standby: str
) -> None:
    """A real apply rejects a trust naming an OIDC provider / WI pool that does not exist yet."""
    _, standby_run = pair(primary, standby)
    anchor_type, trust_type, suffix = FEDERATION_ANCHOR[standby]
    anchors = [r for r in standby_run.of_type(anchor_type) if "replication" not in r.name]
    assert len(anchors) == 1, [r.name for r in anchors]
    (trust,) = [r for r in standby_run.of_type(trust_type) if r.name.endswith(suffix)]
    assert anchors[0].urn in trust.dependencies
