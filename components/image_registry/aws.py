"""ECR pull-through cache of the serving image: the GPU nodes pull it from this account's registry
in the stack's region, by digest; ECR fetches it from the upstream once, on the first pull.

No lazy pulling on EKS here: SOCI needs the soci-snapshotter on the node (not part of the EKS
AL2023 NVIDIA AMI's managed node group settings) and a SOCI index pushed next to each image, which
a pull-through cache repository does not get. The full pull comes from ECR in the same region.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.common import physical_name, type_token
from components.image_registry.args import MODULE, ImageRegistryArgs, parse_image, pulled_after
from components.naming import with_suffix

ECR_PREFIX_MAX = 30
"""ECR's limit on a pull-through cache rule's repository prefix."""
SECRET_PREFIX = "ecr-pullthroughcache/"
SECRET_NAME_MAX = 512
"""ECR only accepts upstream credentials from secrets named with this prefix."""


def node_pull_policy(account: str, region: str, prefix: str) -> str:
    """What a node needs beyond AmazonEC2ContainerRegistryPullOnly to pull through the cache: create
    the cached repository on the first pull and import the upstream image, under our prefix only."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
                    "Resource": f"arn:aws:ecr:{region}:{account}:repository/{prefix}/*",
                }
            ],
        }
    )


class EcrImageCache(pulumi.ComponentResource):
    """Pull-through cache rule (and its upstream credentials) plus the nodes' pull grant."""

    def __init__(
        self, name: str, args: ImageRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "EcrImageCache"), name, None, opts)
        placement = args.placement
        child = pulumi.ResourceOptions(parent=self, provider=placement.provider)
        ref = parse_image(args.image)
        support = ref.upstream
        assert support is not None and support.ecr_url is not None  # checked by ImageRegistryArgs
        prefix = physical_name("inference", placement.stack, max_length=ECR_PREFIX_MAX)

        credential_arn: pulumi.Output[str] | None = None
        rule_deps: list[pulumi.Resource] = []
        if args.credentials is not None:
            # ECR decrypts this secret itself and only with the AWS managed key aws/secretsmanager
            # ("You must use the default aws/secretsmanager encryption key", ECR user guide,
            # pull-through-cache-creating-secret): the one secret here without our own KMS key,
            # exempted by name prefix in the policy pack (policy/rules.py) and in checkov
            # (tests/policy/checkov_skips.yaml, CKV_AWS_149).
            # The stack instance's suffix: a destroyed secret's name stays reserved for its
            # recovery window (components/naming.py).
            secret = aws.secretsmanager.Secret(
                f"{name}-upstream-credentials",
                aws.secretsmanager.SecretArgs(
                    name=with_suffix(
                        f"{SECRET_PREFIX}{prefix}-{ref.host}", placement.name_suffix, max_length=512
                    ),
                    description=f"{ref.host} account ECR's pull-through cache {prefix}/ pulls with",
                    tags=dict(placement.tags),
                ),
                opts=child,
            )
            credentials = args.credentials
            version = aws.secretsmanager.SecretVersion(
                f"{name}-upstream-credentials",
                aws.secretsmanager.SecretVersionArgs(
                    secret_id=secret.id,
                    secret_string=pulumi.Output.secret(
                        pulumi.Output.from_input(credentials.token).apply(
                            lambda token: json.dumps({"username": credentials.username, "accessToken": token})
                        )
                    ),
                ),
                opts=child,
            )
            credential_arn = secret.arn
            rule_deps.append(version)
        rule = aws.ecr.PullThroughCacheRule(
            f"{name}-pull-through-cache",
            aws.ecr.PullThroughCacheRuleArgs(
                ecr_repository_prefix=prefix,
                upstream_registry_url=support.ecr_url,
                credential_arn=credential_arn,
            ),
            # ECR checks the upstream credentials when the rule is created: the secret needs its value.
            opts=child.merge(pulumi.ResourceOptions(depends_on=rule_deps)),
        )
        identity = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=placement.provider)
        )
        grant = aws.iam.RolePolicy(
            f"{name}-nodes-pull-through",
            aws.iam.RolePolicyArgs(
                role=args.puller,
                policy=identity.account_id.apply(
                    lambda account: node_pull_policy(account, placement.region, prefix)
                ),
            ),
            opts=child,
        )
        image = identity.account_id.apply(
            lambda account: (
                f"{account}.dkr.ecr.{placement.region}.amazonaws.com/{prefix}/{ref.path}@{ref.digest}"
            )
        )
        self.pull_ready: list[pulumi.CustomResource] = [rule, grant]
        self.image: pulumi.Output[str] = pulled_after(image, self.pull_ready)
        self.register_outputs({"image": self.image, "repositoryPrefix": prefix})
