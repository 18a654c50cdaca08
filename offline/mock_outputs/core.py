"""Answers for identity invokes every cloud module may call."""

from typing import Any

import pulumi

from offline.mocks import ACCOUNT_ID, AZURE_SUBSCRIPTION, AZURE_TENANT, GCP_PROJECT_NUMBER, answers_call


@answers_call("aws:index/getCallerIdentity:getCallerIdentity")
def _aws_identity(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/deployer",
        "userId": "AIDAEXAMPLE",
        "id": ACCOUNT_ID,
    }


@answers_call("aws:index/getPartition:getPartition")
def _aws_partition(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}


@answers_call("aws:index/getRegion:getRegion")
def _aws_region(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    return {"name": "us-east-1", "region": "us-east-1", "id": "us-east-1"}


@answers_call("gcp:organizations/getProject:getProject")
def _gcp_project(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    project = args.args.get("projectId", "mock-project")
    return {"projectId": project, "number": GCP_PROJECT_NUMBER, "name": project, "id": f"projects/{project}"}


@answers_call("gcp:organizations/getClientConfig:getClientConfig")
def _gcp_client(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    return {"project": "mock-project", "region": "us-central1", "accessToken": "mock", "id": "mock"}


@answers_call("azure-native:authorization:getClientConfig")
def _azure_client(args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
    return {
        "clientId": "22222222-2222-2222-2222-222222222222",
        "objectId": "33333333-3333-3333-3333-333333333333",
        "subscriptionId": AZURE_SUBSCRIPTION,
        "tenantId": AZURE_TENANT,
    }
