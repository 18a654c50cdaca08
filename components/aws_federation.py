"""IAM web-identity trust for one Kubernetes service account of a cluster (no SDK imported here).

Used by cross-cloud replication (object_store/replication_aws.py: the standby cluster reads the
primary's bucket, or writes its own) and by cert-manager's Route 53 access
(inference_cluster/cert_manager_dns.py). The role trusts one IAM OIDC provider, for exactly one
`sub` and the STS audience.
"""

from __future__ import annotations

import json
from typing import Final

STS_AUDIENCE: Final = "sts.amazonaws.com"


def issuer_host(issuer_url: str) -> str:
    """IAM keys web-identity conditions by the issuer without scheme or trailing slash (AKS issuers
    end in '/')."""
    return issuer_url.removeprefix("https://").rstrip("/")


def web_identity_trust(provider_arn: str, issuer_url: str, subject: str) -> str:
    """Assume-role policy: tokens of `issuer_url` (through `provider_arn`) for `subject` only."""
    host = issuer_host(issuer_url)
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {f"{host}:sub": subject, f"{host}:aud": STS_AUDIENCE}},
                }
            ],
        }
    )
