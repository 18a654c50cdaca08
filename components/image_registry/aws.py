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

    image: pulumi.Output[str]
    """`<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<path>@<digest>`, resolved once pulls can work."""
    pull_ready: list[pulumi.CustomResource]
    """The cache rule and the nodes' pull grant; `image` already depends on them."""

    def __init__(
        self, name: str, args: ImageRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "EcrImageCache"), name, None, opts)
        placement = args.placement
        child = pulumi.ResourceOptions(parent=self, provider=placement.provider)
        prefix = physical_name("inference", placement.stack, max_length=ECR_PREFIX_MAX)
        identity = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=placement.provider)
        )
        rule = self._cache(name, args, prefix, child)
        grant = self._pull_grant(name, args, prefix, identity.account_id, child)
        ref = parse_image(args.image)
        image = identity.account_id.apply(
            lambda account: (
                f"{account}.dkr.ecr.{placement.region}.amazonaws.com/{prefix}/{ref.path}@{ref.digest}"
            )
        )
        self.pull_ready = [rule, grant]
        self.image = pulled_after(image, self.pull_ready)
        self.register_outputs({"image": self.image, "repositoryPrefix": prefix})

    def _cache(
        self, name: str, args: ImageRegistryArgs, prefix: str, child: pulumi.ResourceOptions
    ) -> aws.ecr.PullThroughCacheRule:
        """The pull-through cache rule for the image's upstream (with its credentials when configured)."""
        support = parse_image(args.image).upstream
        assert support is not None and support.ecr_url is not None  # checked by ImageRegistryArgs
        credential_arn, rule_deps = self._upstream_credentials(name, args, prefix, child)
        return aws.ecr.PullThroughCacheRule(
            f"{name}-pull-through-cache",
            aws.ecr.PullThroughCacheRuleArgs(
                ecr_repository_prefix=prefix,
                upstream_registry_url=support.ecr_url,
                credential_arn=credential_arn,
            ),
            # ECR checks the upstream credentials when the rule is created: the secret needs its value.
            opts=child.merge(pulumi.ResourceOptions(depends_on=rule_deps)),
        )

    def _upstream_credentials(
        self, name: str, args: ImageRegistryArgs, prefix: str, child: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[str] | None, list[pulumi.Resource]]:
        """The upstream account's token in the secret ECR reads, and what the rule must wait for."""
        credentials = args.credentials
        if credentials is None:
            return None, []
        placement = args.placement
        host = parse_image(args.image).host
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
                name=with_suffix(f"{SECRET_PREFIX}{prefix}-{host}", placement.name_suffix, max_length=512),
                description=f"{host} account ECR's pull-through cache {prefix}/ pulls with",
                tags=dict(placement.tags),
            ),
            opts=child,
        )
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
        return secret.arn, [version]

    def _pull_grant(
        self,
        name: str,
        args: ImageRegistryArgs,
        prefix: str,
        account_id: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> aws.iam.RolePolicy:
        """What the nodes' role needs beyond pulling: fill the cache, under this prefix only."""
        region = args.placement.region
        return aws.iam.RolePolicy(
            f"{name}-nodes-pull-through",
            aws.iam.RolePolicyArgs(
                role=args.puller,
                policy=account_id.apply(lambda account: node_pull_policy(account, region, prefix)),
            ),
            opts=child,
        )
