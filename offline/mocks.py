"""Pulumi mocks that answer like the clouds do: ids, ARNs, self-links, endpoints.

The generic rules below give every resource a plausible id and cloud-shaped identifiers. A
capability that needs more (an EKS endpoint, a GKE CA certificate, an AKS kubeconfig) registers a
function for its resource type in `offline/mock_outputs/<capability>.py` with `@outputs_for(...)`,
and invokes with `@answers_call(...)`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"
GCP_PROJECT_NUMBER = "987654321098"
AZURE_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
AZURE_TENANT = "11111111-1111-1111-1111-111111111111"

OutputsFn = Callable[[pulumi.runtime.MockResourceArgs, dict[str, Any]], dict[str, Any]]
CallFn = Callable[[pulumi.runtime.MockCallArgs], dict[str, Any]]

_OUTPUTS: dict[str, OutputsFn] = {}
_CALLS: dict[str, CallFn] = {}
_PROVIDER_REGIONS: dict[str, str] = {}
"""Explicit provider id -> its region/location: invokes carry the provider reference, not the region."""


def provider_region(provider_ref: str | None, default: str) -> str:
    """Region of the explicit provider behind a reference `urn::id` (an invoke's or a resource's)."""
    return _PROVIDER_REGIONS.get((provider_ref or "").rsplit("::", 1)[-1], default)


def outputs_for(*type_tokens: str) -> Callable[[OutputsFn], OutputsFn]:
    """Register extra outputs for resource types; the function gets the args and generic state."""

    def register(fn: OutputsFn) -> OutputsFn:
        for token in type_tokens:
            _OUTPUTS[token] = fn
        return fn

    return register


def answers_call(*tokens: str) -> Callable[[CallFn], CallFn]:
    """Register the answer to an invoke (data source) such as aws:index/getCallerIdentity."""

    def register(fn: CallFn) -> CallFn:
        for token in tokens:
            _CALLS[token] = fn
        return fn

    return register


def stable_hex(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _generic_state(args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
    package, _, rest = args.typ.partition(":")
    module, _, kind = rest.partition(":")
    module = module.split("/")[0]
    state: dict[str, Any] = dict(args.inputs)
    name = args.inputs.get("name") or args.name
    if package == "aws":
        resource_id = f"{args.name}-{stable_hex(args.typ, args.name, length=8)}"
        region = args.inputs.get("region", "us-east-1")
        state.setdefault("arn", f"arn:aws:{module}:{region}:{ACCOUNT_ID}:{kind.lower()}/{name}")
        state.setdefault("name", name)
    elif package == "gcp":
        project = args.inputs.get("project", "mock-project")
        resource_id = f"projects/{project}/{module}/{kind.lower()}s/{name}"
        state.setdefault("name", name)
        state.setdefault("selfLink", f"https://www.googleapis.com/{module}/v1/{resource_id}")
        state.setdefault("project", project)
    elif package == "azure-native":
        group = args.inputs.get("resourceGroupName", "mock-rg")
        resource_id = (
            f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{group}/providers/"
            f"Microsoft.{module.capitalize()}/{kind[0].lower() + kind[1:]}s/{name}"
        )
        state.setdefault("name", name)
    else:
        resource_id = f"{args.name}-id"
    state.setdefault("id", resource_id)
    return resource_id, state


class CloudMocks(pulumi.runtime.Mocks):
    """Mocks answering with realistic cloud-shaped state; see module docstring."""

    def __init__(self, stack_outputs: dict[str, dict[str, Any]] | None = None) -> None:
        import offline.mock_outputs  # noqa: F401  (registers per-capability outputs)

        self.stack_outputs = stack_outputs or {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            ref = args.inputs["name"]
            if ref not in self.stack_outputs:
                raise KeyError(f"no outputs mocked for stack reference {ref!r}")
            return ref, {"name": ref, "outputs": self.stack_outputs[ref], "secretOutputNames": []}
        resource_id, state = _generic_state(args)
        if args.typ.startswith("pulumi:providers:"):
            region = args.inputs.get("region") or args.inputs.get("location")
            if isinstance(region, str):
                _PROVIDER_REGIONS[str(state.get("id", resource_id))] = region
        extra = _OUTPUTS.get(args.typ)
        if extra is not None:
            state.update(extra(args, state))
        return str(state.get("id", resource_id)), state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        answer = _CALLS.get(args.token)
        if answer is None:
            raise NotImplementedError(
                f"no mock answer for invoke {args.token}: add one with @answers_call in offline/mock_outputs/"
            )
        return answer(args), []
