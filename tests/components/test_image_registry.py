"""The serving image comes from the stack's own registry, pinned by digest, pulled by the nodes only."""

from __future__ import annotations

import json
import re

import pytest

from components.common import Placement
from components.image_registry import ImageRegistryArgs, ImageRegistryArgsError, parse_image
from components.image_registry.aws import SECRET_PREFIX
from components.inference_cluster.gcp import _NODE_ROLES
from infra import outputs
from offline.harness import ProgramRun
from offline.mocks import ACCOUNT_ID
from tests.components.inference_cluster_support import (
    STACK_IDS,
    STACKS,
    container,
    gpu_pool,
    pools,
    stack_run,
)
from tests.support import CLOUDS, TEST_SECRETS

DIGEST = "sha256:014a95f21c9edf6abe0aea6b07353f96baa4ec291c427bb1176dc7c93a85845c"
REGISTRY_HOST = {
    "aws": re.compile(rf"^{ACCOUNT_ID}\.dkr\.ecr\.us-east-1\.amazonaws\.com/inference-(primary|standby)/"),
    "gcp": re.compile(
        r"^us-central1-docker\.pkg\.dev/acme-inference-standby/inference-(primary|standby)-docker/"
    ),
    "azure": re.compile(r"^inference(primary|standby)[0-9a-f]{10}\.azurecr\.io/"),
}


def _run_on(cloud: str) -> ProgramRun:
    return next(stack_run(p, s, role) for p, s, role in STACKS if (p if role == "primary" else s) == cloud)


@pytest.mark.parametrize(("primary", "standby", "role"), STACKS, ids=STACK_IDS)
def test_server_pulls_the_configured_digest_from_the_stacks_own_registry(
    primary: str, standby: str, role: str
) -> None:
    run = stack_run(primary, standby, role)
    image = container(run, "server")["image"]
    assert image == run.outputs[outputs.SERVING_IMAGE]
    assert REGISTRY_HOST[run.config.cloud].match(image), image
    assert image.endswith(f"/vllm/vllm-openai@{DIGEST}")
    assert "docker.io" not in image


def test_aws_caches_docker_hub_with_credentials_ecr_can_read() -> None:
    run = _run_on("aws")
    rule = run.one("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    assert rule.inputs["upstreamRegistryUrl"] == "registry-1.docker.io"
    prefix = rule.inputs["ecrRepositoryPrefix"]
    assert re.fullmatch(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*", prefix)
    assert 2 <= len(prefix) <= 30
    (secret,) = [
        s
        for s in run.of_type("aws:secretsmanager/secret:Secret")
        if s.outputs["arn"] == rule.inputs["credentialArn"]
    ]
    # ECR reads only secrets named ecr-pullthroughcache/... and encrypted with aws/secretsmanager.
    assert secret.outputs["name"].startswith(SECRET_PREFIX)
    # The stack instance's random suffix: no name collision with the deleted secret after a destroy.
    assert re.fullmatch(rf"{SECRET_PREFIX}inference-primary-docker\.io-[0-9a-f]+", secret.inputs["name"])
    assert "kmsKeyId" not in secret.inputs
    (version,) = [
        v
        for v in run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
        if v.inputs["secretId"] == secret.outputs["id"]
    ]
    assert "secretString" in version.secret_inputs
    assert version.urn in rule.dependencies  # ECR validates the credentials when the rule is created
    assert json.loads(version.inputs["secretString"]) == {
        "username": "acme-ci",
        "accessToken": TEST_SECRETS["dockerHubAccessToken"],
    }


def test_aws_nodes_may_import_only_into_the_cache_prefix() -> None:
    run = _run_on("aws")
    prefix = run.one("aws:ecr/pullThroughCacheRule:PullThroughCacheRule").inputs["ecrRepositoryPrefix"]
    node_role = gpu_pool(run).inputs["nodeRoleArn"].rsplit("/", 1)[1]
    (grant,) = [
        p
        for p in run.of_type("aws:iam/rolePolicy:RolePolicy")
        if "BatchImportUpstreamImage" in p.inputs["policy"]
    ]
    assert grant.inputs["role"] == node_role
    (statement,) = json.loads(grant.inputs["policy"])["Statement"]
    assert sorted(statement["Action"]) == ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
    assert statement["Resource"] == f"arn:aws:ecr:us-east-1:{ACCOUNT_ID}:repository/{prefix}/*"
    managed = {
        a.inputs["policyArn"].rsplit("/", 1)[1]
        for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == node_role
    }
    assert (
        "AmazonEC2ContainerRegistryPullOnly" in managed
        and "AmazonEC2ContainerRegistryReadOnly" not in managed
    )


def test_gcp_remote_repository_of_docker_hub_readable_by_the_nodes_only() -> None:
    run = _run_on("gcp")
    repo = run.one("gcp:artifactregistry/repository:Repository")
    assert (repo.inputs["format"], repo.inputs["mode"], repo.inputs["location"]) == (
        "DOCKER",
        "REMOTE_REPOSITORY",
        "us-central1",
    )
    assert repo.inputs["remoteRepositoryConfig"]["dockerRepository"] == {"publicRepository": "DOCKER_HUB"}
    (grant,) = run.of_type("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
    node_sa = gpu_pool(run).inputs["nodeConfig"]["serviceAccount"]
    assert (grant.inputs["role"], grant.inputs["member"]) == (
        "roles/artifactregistry.reader",
        f"serviceAccount:{node_sa}",
    )
    assert grant.inputs["repository"] == repo.outputs["name"]
    # No project-wide image read any more; the repository grant is the only one.
    roles = {
        m.inputs["role"]
        for m in run.of_type("gcp:projects/iAMMember:IAMMember")
        if node_sa in m.inputs["member"]
    }
    assert "roles/artifactregistry.reader" not in roles and "roles/artifactregistry.reader" not in _NODE_ROLES


def test_gke_gpu_pool_streams_images_from_artifact_registry() -> None:
    run = _run_on("gcp")
    assert gpu_pool(run).inputs["nodeConfig"]["gcfsConfig"] == {"enabled": True}
    assert all(p is gpu_pool(run) or "gcfsConfig" not in p.inputs["nodeConfig"] for p in pools(run))
    apis = {s.inputs["service"] for s in run.of_type("gcp:projects/service:Service")}
    assert {"containerfilesystem.googleapis.com", "artifactregistry.googleapis.com"} <= apis
    # Image streaming with a custom node service account needs Service Usage Consumer.
    assert "roles/serviceusage.serviceUsageConsumer" in _NODE_ROLES


def test_azure_registry_is_locked_down_and_only_the_kubelet_pulls() -> None:
    run = _run_on("azure")
    registry = run.one("azure-native:containerregistry:Registry")
    assert registry.inputs["sku"] == {"name": "Standard"}
    assert registry.inputs["adminUserEnabled"] is False and registry.inputs["anonymousPullEnabled"] is False
    assert re.fullmatch(r"[a-z0-9]{5,50}", registry.inputs["registryName"])
    rule = run.one("azure-native:containerregistry:CacheRule")
    assert (rule.inputs["sourceRepository"], rule.inputs["targetRepository"]) == (
        "docker.io/vllm/vllm-openai",
        "vllm/vllm-openai",
    )
    cluster = run.one("azure-native:containerservice:ManagedCluster")
    kubelet = cluster.outputs["identityProfile"]["kubeletidentity"]["objectId"]
    (grant,) = [
        r
        for r in run.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["scope"] == registry.outputs["id"]
    ]
    assert grant.inputs["principalId"] == kubelet
    assert grant.inputs["roleDefinitionId"].endswith("/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_workload_is_created_after_the_cache_and_the_pull_grant(cloud: str) -> None:
    run = _run_on(cloud)
    deployment = next(r for r in run.of_type("kubernetes:apps/v1:Deployment") if r.name.endswith("-server"))
    grant_types = {
        "aws": ("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "aws:iam/rolePolicy:RolePolicy"),
        "gcp": (
            "gcp:artifactregistry/repository:Repository",
            "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
        ),
        "azure": ("azure-native:containerregistry:CacheRule", "azure-native:authorization:RoleAssignment"),
    }[cloud]
    waits_for = {r.type for r in run.resources if r.urn in deployment.dependencies}
    assert set(grant_types) <= waits_for


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("vllm/vllm-openai:v0.11.0", "image must be pinned by digest"),
        ("ghcr.io/acme/vllm@" + DIGEST, "image must be an image on a registry the aws cache supports"),
        ("vllm/vllm-openai@" + DIGEST, "credentials are required on aws for docker.io"),
    ],
)
def test_component_guards_its_own_args(image: str, expected: str) -> None:
    placement = Placement(cloud="aws", region="us-east-1", provider=None, stack="primary")  # type: ignore[arg-type]
    with pytest.raises(ImageRegistryArgsError) as caught:
        ImageRegistryArgs(placement=placement, image=image, puller="nodes")
    assert expected in str(caught.value)


def test_image_references_are_split_like_registries_do() -> None:
    ref = parse_image("vllm/vllm-openai:v0.11.0@" + DIGEST)
    assert (ref.host, ref.path, ref.tag, ref.digest) == ("docker.io", "vllm/vllm-openai", "v0.11.0", DIGEST)
    assert parse_image("nginx@" + DIGEST).path == "library/nginx"  # Docker Hub official image
    assert parse_image("index.docker.io/vllm/vllm-openai@" + DIGEST).host == "docker.io"
    quay = parse_image("quay.io/acme/server:1.2@" + DIGEST)
    assert (quay.host, quay.path) == ("quay.io", "acme/server")
    assert parse_image("localhost:5000/x@" + DIGEST).host == "localhost:5000"


def test_aws_caches_a_public_registry_without_credentials() -> None:
    from offline.harness import run_stack
    from tests.support import primary_overrides

    image = "quay.io/acme/vllm-openai:v0.11.0@" + DIGEST
    run = run_stack("primary", {**primary_overrides("aws"), "servingImage": image}, TEST_SECRETS)
    rule = run.one("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    assert rule.inputs["upstreamRegistryUrl"] == "quay.io" and "credentialArn" not in rule.inputs
    assert not [
        s
        for s in run.of_type("aws:secretsmanager/secret:Secret")
        if s.outputs["name"].startswith(SECRET_PREFIX)
    ]
    assert container(run, "server")["image"].endswith(f"/inference-primary/acme/vllm-openai@{DIGEST}")


def test_gcp_cache_pulls_docker_hub_with_the_account_when_one_is_given() -> None:
    from offline.harness import run_pair
    from tests.support import primary_overrides, standby_overrides

    _, run = run_pair(
        primary_overrides("aws"),
        {**standby_overrides("aws", "gcp"), "dockerHubUsername": "acme-ci"},
        TEST_SECRETS,
    )
    repo = run.one("gcp:artifactregistry/repository:Repository")
    creds = repo.inputs["remoteRepositoryConfig"]["upstreamCredentials"]["usernamePasswordCredentials"]
    (version,) = [
        v
        for v in run.of_type("gcp:secretmanager/secretVersion:SecretVersion")
        if v.outputs["name"] == creds["passwordSecretVersion"]
    ]
    assert (
        creds["username"] == "acme-ci"
        and version.inputs["secretData"] == TEST_SECRETS["dockerHubAccessToken"]
    )
    assert "secretData" in version.secret_inputs
    # Only Artifact Registry's service agent may read the token, not the pods.
    grants = [
        g
        for g in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
        if g.inputs["secretId"] == version.inputs["secret"]
    ]
    assert [g.inputs["member"] for g in grants] == [
        "serviceAccount:service-987654321098@gcp-sa-artifactregistry.iam.gserviceaccount.com"
    ]
    assert grants[0].urn in repo.dependencies
    # Without an account the remote repository pulls anonymously (the shipped standby).
    shipped_repo = _run_on("gcp").one("gcp:artifactregistry/repository:Repository")
    assert "upstreamCredentials" not in shipped_repo.inputs["remoteRepositoryConfig"]


def test_gcp_upstream_token_is_encrypted_with_the_stacks_kms_key_granted_first() -> None:
    from offline.harness import run_pair
    from tests.support import primary_overrides, standby_overrides

    _, run = run_pair(
        primary_overrides("aws"),
        {**standby_overrides("aws", "gcp"), "dockerHubUsername": "acme-ci"},
        TEST_SECRETS,
    )
    repo = run.one("gcp:artifactregistry/repository:Repository")
    secrets = run.of_type("gcp:secretmanager/secret:Secret")
    (secret,) = [s for s in secrets if "upstream-credentials" in s.name]
    (replica,) = secret.inputs["replication"]["userManaged"]["replicas"]
    (key,) = [k for k in run.of_type("gcp:kms/cryptoKey:CryptoKey") if k.inputs["name"] == "secrets"]
    (ring,) = [r for r in run.of_type("gcp:kms/keyRing:KeyRing") if r.outputs["id"] == key.inputs["keyRing"]]
    assert replica["customerManagedEncryption"] == {"kmsKeyName": key.outputs["id"]}
    # Secret Manager needs the key in the replica's own region.
    assert replica["location"] == ring.inputs["location"] == repo.inputs["location"]
    (agent_grant,) = [
        g
        for g in run.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
        if g.inputs["cryptoKeyId"] == key.outputs["id"]
        and g.inputs["member"].endswith("@gcp-sa-secretmanager.iam.gserviceaccount.com")
    ]
    assert agent_grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert agent_grant.urn in secret.dependencies


def test_gcp_credentials_without_the_stacks_key_are_refused() -> None:
    from components.image_registry import RegistryCredentials

    placement = Placement(cloud="gcp", region="us-central1", provider=None, stack="standby")  # type: ignore[arg-type]
    with pytest.raises(ImageRegistryArgsError) as caught:
        ImageRegistryArgs(
            placement=placement,
            image="vllm/vllm-openai:v0.11.0@" + DIGEST,
            puller="nodes",
            credentials=RegistryCredentials(username="acme-ci", token="t"),
        )
    assert "secrets_key is required on gcp" in str(caught.value)


def test_aws_pull_through_secret_is_the_only_one_exempt_from_the_stacks_key() -> None:
    from policy.rules import customer_managed_keys

    run = _run_on("aws")
    secrets = run.of_type("aws:secretsmanager/secret:Secret")
    ecr = [s for s in secrets if s.outputs["name"].startswith(SECRET_PREFIX)]
    others = [s for s in secrets if not s.outputs["name"].startswith(SECRET_PREFIX)]
    assert ecr and others
    # ECR reads it only with aws/secretsmanager (ECR user guide); the rule exempts exactly that prefix.
    assert all("kmsKeyId" not in s.inputs for s in ecr)
    assert all(s.inputs["kmsKeyId"] for s in others)
    assert customer_managed_keys("aws:secretsmanager/secret:Secret", {"name": ecr[0].outputs["name"]}) == []
    assert customer_managed_keys("aws:secretsmanager/secret:Secret", {"name": "inference/api-key"})
    assert customer_managed_keys("aws:secretsmanager/secret:Secret", {"name": "x-ecr-pullthroughcache/y"})
