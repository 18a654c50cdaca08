"""GCP APIs: each one a stack uses is enabled once per project, in one place, before its users.

A fresh project has almost every API off, and creating a resource of a disabled API fails (often
only after the API call, with "SERVICE_DISABLED ... it is disabled"). One `GcpApis` component per
project and provider owns every `gcp.projects.Service` of the stack; components ask it for the
APIs they need and depend on what it returns. Asking twice returns the same resource, so an API
is enabled exactly once however many components use it.

To use a new API: add one line to `GCP_APIS`, then `placement.gcp_apis.enable("<name>")` where it
is needed (tests/infra/test_pulumi_hygiene.py checks that every GCP resource depends on its API).

APIs are never disabled on destroy (`disable_on_destroy=False`): other workloads in the project
may use them, and disabling one takes every resource of it down. `serviceusage.googleapis.com`
(the API that enables APIs) is on in every project and cannot enable itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pulumi
import pulumi_gcp as gcp

from components.common import type_token

GCP_APIS: Final[Mapping[str, str]] = {
    # short name -> what of this project needs it (service name: <short name>.googleapis.com)
    "compute": "GKE nodes, the VPC and Cloud NAT, static addresses, DNS health checks",
    "container": "the GKE cluster and its node pools",
    "iam": "service accounts and workload identity pools and providers",
    "iamcredentials": "GKE Workload Identity: pods get tokens of their service account",
    "sts": "token exchange of workload identity federation (a standby's replication reading this project)",
    "cloudresourcemanager": "project-level IAM grants",
    "dns": "Cloud DNS records and routing policies",
    "storage": "the model bucket and its grants",
    "secretmanager": "the secrets vault",
    "cloudkms": "customer-managed keys of the bucket and the secrets",
    "storagetransfer": "Storage Transfer Service copying the primary's bucket into this one",
    "artifactregistry": "the serving image in the stack's own registry",
    # Observability (issue 11).
    "monitoring": "Managed Service for Prometheus, alert policies and notification channels",
    "billingbudgets": "the stack's monthly billing budget",
    "containerfilesystem": "GKE image streaming of the serving image on the GPU pool",
}


class UnknownGcpApiError(ValueError):
    """A component asked for an API that GCP_APIS does not list."""


def service_name(api: str) -> str:
    return f"{api}.googleapis.com"


class GcpApis(pulumi.ComponentResource):
    """Enables APIs of one GCP project on demand, each once; see the module docstring."""

    project: str
    """The project whose APIs this component enables."""
    services: dict[str, gcp.projects.Service]
    """The `Service` resource of each API enabled so far, by short name (GCP_APIS)."""

    def __init__(
        self,
        name: str,
        *,
        project: str,
        provider: pulumi.ProviderResource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(type_token("gcp", "ProjectApis"), name, None, opts)
        self._stem = name
        self.project = project
        self._provider = provider
        self.services: dict[str, gcp.projects.Service] = {}
        self.register_outputs({"project": project})

    def enable(
        self, *apis: str, previously: Mapping[str, pulumi.Alias] | None = None
    ) -> list[pulumi.Resource]:
        """The `Service` resources of `apis` (short names from GCP_APIS), created on first ask.

        `previously` maps an API to the alias of the resource that enabled it before this
        component existed, so an existing stack adopts it instead of re-creating it.
        """
        unknown = sorted(set(apis) - set(GCP_APIS))
        if unknown:
            raise UnknownGcpApiError(
                f"GCP API {', '.join(unknown)} is not in GCP_APIS (known: {', '.join(GCP_APIS)}): "
                "add a line for it to GCP_APIS in components/gcp_apis.py"
            )
        for api in apis:
            if api not in self.services:
                alias = (previously or {}).get(api)
                self.services[api] = gcp.projects.Service(
                    f"{self._stem}-{api}",
                    gcp.projects.ServiceArgs(
                        project=self.project,
                        service=service_name(api),
                        disable_on_destroy=False,
                        disable_dependent_services=False,
                    ),
                    opts=pulumi.ResourceOptions(
                        parent=self, provider=self._provider, aliases=[alias] if alias else None
                    ),
                )
        return [self.services[api] for api in apis]


def apis_of(placement_apis: GcpApis | None, stack: str, component: str) -> GcpApis:
    """The placement's GcpApis, or an error naming what to pass (components used directly)."""
    if placement_apis is None:
        raise ValueError(
            f"{component} of stack '{stack}' needs Placement(gcp_apis=...) on gcp (got none): create one "
            "components.gcp_apis.GcpApis per project and pass it, as infra/providers.py does"
        )
    return placement_apis
