"""Artifact Registry remote repository of the serving image's upstream, in the stack's region.

Images in Artifact Registry are also what GKE image streaming serves (the GPU pool has it on),
so a new node starts the server before the whole ~10 GB image has been pulled.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.common import physical_name, type_token
from components.gcp_apis import apis_of
from components.image_registry.args import MODULE, ImageRegistryArgs, parse_image, pulled_after

REPOSITORY_ID_MAX = 63


class ArtifactRegistryImageCache(pulumi.ComponentResource):
    """Remote Docker repository plus the GPU nodes' read grant on that repository only."""

    image: pulumi.Output[str]
    """`<region>-docker.pkg.dev/<project>/<repository>/<path>@<digest>`, resolved once pulls can work."""
    pull_ready: list[pulumi.CustomResource]
    """The remote repository and the nodes' read grant; `image` already depends on them."""

    def __init__(
        self, name: str, args: ImageRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(MODULE, "ArtifactRegistryImageCache"), name, None, opts)
        placement = args.placement
        # Every child waits for its APIs (enabled once per project by the stack's GcpApis).
        needed = (
            ("artifactregistry", "secretmanager") if args.credentials is not None else ("artifactregistry",)
        )
        apis = apis_of(placement.gcp_apis, placement.stack, "the image registry").enable(*needed)
        child = pulumi.ResourceOptions(parent=self, provider=placement.provider, depends_on=apis)
        ref = parse_image(args.image)
        repository_id = physical_name(
            "inference", placement.stack, ref.host.split(".")[0], max_length=REPOSITORY_ID_MAX
        )
        repository = self._cache(name, args, repository_id, child)
        grant = self._pull_grant(name, args, repository, child)
        project = placement.gcp_project or ""
        image = repository.repository_id.apply(
            lambda repo: f"{placement.region}-docker.pkg.dev/{project}/{repo}/{ref.path}@{ref.digest}"
        )
        self.pull_ready = [repository, grant]
        self.image = pulled_after(image, self.pull_ready)
        self.register_outputs({"image": self.image, "repository": repository.id})

    def _cache(
        self, name: str, args: ImageRegistryArgs, repository_id: str, child: pulumi.ResourceOptions
    ) -> gcp.artifactregistry.Repository:
        """The remote repository of the image's upstream (with its credentials when configured)."""
        placement = args.placement
        ref = parse_image(args.image)
        support = ref.upstream
        assert support is not None  # checked by ImageRegistryArgs
        if support.artifact_registry.startswith("https://"):
            docker = gcp.artifactregistry.RepositoryRemoteRepositoryConfigDockerRepositoryArgs(
                custom_repository=gcp.artifactregistry.RepositoryRemoteRepositoryConfigDockerRepositoryCustomRepositoryArgs(
                    uri=support.artifact_registry
                )
            )
        else:
            docker = gcp.artifactregistry.RepositoryRemoteRepositoryConfigDockerRepositoryArgs(
                public_repository=support.artifact_registry
            )
        upstream_credentials, repo_deps = self._upstream_credentials(name, args, repository_id, child)
        return gcp.artifactregistry.Repository(
            f"{name}-image-cache",
            gcp.artifactregistry.RepositoryArgs(
                project=placement.gcp_project or "",
                location=placement.region,
                repository_id=repository_id,
                format="DOCKER",
                mode="REMOTE_REPOSITORY",
                description=f"Pull-through cache of {ref.host} for the inference stack {placement.stack}",
                remote_repository_config=gcp.artifactregistry.RepositoryRemoteRepositoryConfigArgs(
                    description=ref.host, docker_repository=docker, upstream_credentials=upstream_credentials
                ),
                labels=dict(placement.tags),
            ),
            opts=child.merge(pulumi.ResourceOptions(depends_on=repo_deps)),
        )

    def _upstream_credentials(
        self, name: str, args: ImageRegistryArgs, repository_id: str, child: pulumi.ResourceOptions
    ) -> tuple[
        gcp.artifactregistry.RepositoryRemoteRepositoryConfigUpstreamCredentialsArgs | None,
        list[pulumi.Resource],
    ]:
        """The upstream account's token in Secret Manager, readable by the Artifact Registry agent
        only, and what the repository must wait for (nothing without credentials)."""
        credentials = args.credentials
        if credentials is None:
            return None, []
        placement = args.placement
        project = placement.gcp_project or ""
        # The Artifact Registry service agent reads the token from Secret Manager on each
        # upstream fetch; nothing else may (the pods' identity is not granted it).
        assert args.secrets_key is not None  # checked by ImageRegistryArgs
        secret = gcp.secretmanager.Secret(
            f"{name}-upstream-credentials",
            gcp.secretmanager.SecretArgs(
                secret_id=physical_name(repository_id, "upstream-token", max_length=255),
                project=project,
                replication=gcp.secretmanager.SecretReplicationArgs(
                    user_managed=gcp.secretmanager.SecretReplicationUserManagedArgs(
                        replicas=[
                            gcp.secretmanager.SecretReplicationUserManagedReplicaArgs(
                                location=placement.region,
                                customer_managed_encryption=gcp.secretmanager.SecretReplicationUserManagedReplicaCustomerManagedEncryptionArgs(
                                    kms_key_name=args.secrets_key
                                ),
                            )
                        ]
                    )
                ),
                labels=dict(placement.tags),
            ),
            # Encrypted with the stack's Cloud KMS key (the secrets vault's, same region):
            # Secret Manager checks its agent's grant on the key when the secret is created.
            opts=child.merge(pulumi.ResourceOptions(depends_on=list(args.secrets_key_ready))),
        )
        version = gcp.secretmanager.SecretVersion(
            f"{name}-upstream-credentials",
            gcp.secretmanager.SecretVersionArgs(
                secret=secret.id, secret_data=pulumi.Output.secret(credentials.token)
            ),
            opts=child,
        )
        agent = gcp.projects.ServiceIdentity(
            f"{name}-artifactregistry-agent",
            gcp.projects.ServiceIdentityArgs(service="artifactregistry.googleapis.com", project=project),
            opts=child,
        )
        agent_reads = gcp.secretmanager.SecretIamMember(
            f"{name}-artifactregistry-agent-reads-token",
            gcp.secretmanager.SecretIamMemberArgs(
                project=project,
                secret_id=secret.id,
                role="roles/secretmanager.secretAccessor",
                member=agent.member,
            ),
            opts=child,
        )
        ar = gcp.artifactregistry
        upstream_credentials = ar.RepositoryRemoteRepositoryConfigUpstreamCredentialsArgs(
            username_password_credentials=ar.RepositoryRemoteRepositoryConfigUpstreamCredentialsUsernamePasswordCredentialsArgs(
                username=credentials.username, password_secret_version=version.name
            )
        )
        return upstream_credentials, [agent_reads]

    def _pull_grant(
        self,
        name: str,
        args: ImageRegistryArgs,
        repository: gcp.artifactregistry.Repository,
        child: pulumi.ResourceOptions,
    ) -> gcp.artifactregistry.RepositoryIamMember:
        """Artifact Registry reader for the GPU nodes' service account, on this repository only."""
        return gcp.artifactregistry.RepositoryIamMember(
            f"{name}-nodes-read-images",
            gcp.artifactregistry.RepositoryIamMemberArgs(
                project=args.placement.gcp_project or "",
                location=args.placement.region,
                repository=repository.name,
                role="roles/artifactregistry.reader",
                member=pulumi.Output.concat("serviceAccount:", args.puller),
            ),
            opts=child,
        )
