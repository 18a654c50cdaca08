"""Mock outputs of the image registry capability: what ECR, Artifact Registry and ACR report."""

from __future__ import annotations

from typing import Any

import pulumi

from offline.mocks import ACCOUNT_ID, AZURE_SUBSCRIPTION, outputs_for

Args = pulumi.runtime.MockResourceArgs


@outputs_for("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
def _pull_through_cache_rule(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    prefix = args.inputs["ecrRepositoryPrefix"]
    return {"id": prefix, "registryId": ACCOUNT_ID, "upstreamRepositoryPrefix": "ROOT"}


@outputs_for("gcp:artifactregistry/repository:Repository")
def _artifact_registry_repository(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    project, location, repo = (args.inputs[k] for k in ("project", "location", "repositoryId"))
    resource = f"projects/{project}/locations/{location}/repositories/{repo}"
    return {
        "id": resource,
        "name": repo,
        "repositoryId": repo,
        "registryUri": f"{location}-docker.pkg.dev/{project}/{repo}",
    }


@outputs_for("azure-native:containerregistry:Registry")
def _acr(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    name = args.inputs["registryName"]
    group = args.inputs.get("resourceGroupName", "mock-rg")
    return {
        "id": f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{group}/providers/"
        f"Microsoft.ContainerRegistry/registries/{name}",
        "name": name,
        "loginServer": f"{name}.azurecr.io",
        "provisioningState": "Succeeded",
    }
