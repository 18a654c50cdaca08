"""Render a mocked run's AWS and GCP resources as a Terraform plan (JSON) that checkov can read.

pulumi-aws and pulumi-gcp are bridged from the Terraform providers, so each Pulumi type has a
Terraform twin with the same attributes in snake_case (`aws:eks/cluster:Cluster` ->
`aws_eks_cluster`). An input holding another resource's id/arn/name becomes a Terraform reference
in `configuration`, as in a real plan where the value is not known yet, so checkov's graph checks
(e.g. "the bucket has a public access block") see the connections. Azure (azure-native) has no
Terraform twin and is not rendered.
"""

from __future__ import annotations

import re
from typing import Any

from offline.harness import ProgramRun, Registered

# Types whose Terraform name does not follow google_<module>_<kind> / aws_<module>_<kind>.
_TERRAFORM_TYPES: dict[str, str] = {
    "gcp:projects/iAMMember:IAMMember": "google_project_iam_member",
    "gcp:projects/service:Service": "google_project_service",
    "gcp:projects/serviceIdentity:ServiceIdentity": "google_project_service_identity",
    "gcp:serviceaccount/account:Account": "google_service_account",
    "gcp:serviceaccount/iAMMember:IAMMember": "google_service_account_iam_member",
    "gcp:secretmanager/secret:Secret": "google_secret_manager_secret",
    "gcp:secretmanager/secretVersion:SecretVersion": "google_secret_manager_secret_version",
    "gcp:secretmanager/secretIamMember:SecretIamMember": "google_secret_manager_secret_iam_member",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
}
_REFERABLE = ("id", "arn", "name", "bucket", "selfLink", "email")


def _snake(name: str) -> str:
    name = name.replace("IAM", "Iam")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def terraform_type(pulumi_type: str) -> str | None:
    if pulumi_type in _TERRAFORM_TYPES:
        return _TERRAFORM_TYPES[pulumi_type]
    match = re.match(r"^(aws|gcp):(\w+)/\w+:(\w+)$", pulumi_type)
    if match is None:
        return None
    package, module, kind = match.groups()
    if package == "aws":
        return f"aws_{_snake(kind)}" if module == "ec2" else f"aws_{module}_{_snake(kind)}"
    return f"google_{module}_{_snake(kind)}"


def _values(value: Any) -> Any:
    if isinstance(value, dict):
        return {_snake(k): _values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_values(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def plan_of(run: ProgramRun) -> dict[str, Any]:
    rendered: list[tuple[Registered, str, str]] = []
    for resource in run.resources:
        tf_type = terraform_type(resource.type) if resource.custom else None
        if tf_type is not None:
            rendered.append((resource, tf_type, re.sub(r"\W", "_", resource.name)))
    referable: dict[str, str] = {}
    for resource, tf_type, name in rendered:
        for attribute in _REFERABLE:
            value = resource.outputs.get(attribute)
            if isinstance(value, str) and len(value) > 3:
                referable.setdefault(value, f"{tf_type}.{name}.{_snake(attribute)}")
    planned, configured = [], []
    for resource, tf_type, name in rendered:
        address = f"{tf_type}.{name}"
        values = _values(resource.inputs)
        expressions: dict[str, Any] = {}
        for key, value in list(values.items()):
            target = referable.get(value) if isinstance(value, str) else None
            if target is not None and not target.startswith(f"{address}."):
                del values[key]  # unknown until apply, as in a real plan
                expressions[key] = {"references": [target, target.rsplit(".", 1)[0]]}
        provider = "registry.terraform.io/hashicorp/" + ("aws" if tf_type.startswith("aws") else "google")
        common = {
            "address": address,
            "mode": "managed",
            "type": tf_type,
            "name": name,
            "provider_name": provider,
        }
        planned.append({**common, "values": values})
        configured.append({**common, "expressions": expressions})
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": [
            {
                **{k: p[k] for k in ("address", "mode", "type", "name", "provider_name")},
                "change": {"actions": ["create"], "before": None, "after": p["values"]},
            }
            for p in planned
        ],
        "configuration": {"root_module": {"resources": configured}},
    }
