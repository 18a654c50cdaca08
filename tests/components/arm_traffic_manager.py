"""A model of Azure Traffic Manager's resource API and of how `pulumi up` applies a stack to it.

Mocked runs record what each stack declares; this replays those declarations the way the
engine, azure-native and ARM act on them, so a test can ask what the cloud holds after a
sequence of applies of two stacks:

- Pulumi: each apply creates or updates every resource the run registered and then deletes what
  the stack's previous state held and the run no longer registers. On an update, inputs named
  in `ignore_changes` keep their value from the previous state.
- azure-native: a profile whose `endpoints` input is unset is sent with the endpoints it has now
  (the provider reads them first; MaintainSubResourceIfUnset), so the list is left as it is.
- ARM (Traffic Manager REST API): PUT of a profile sets its endpoint list to exactly the list in
  the body; PUT of an endpoint creates or replaces that one endpoint and needs its profile
  (404 ParentResourceNotFound otherwise); DELETE of a profile deletes its endpoints with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from offline.harness import ProgramRun, Registered

PROFILE = "azure-native:trafficmanager:Profile"
ENDPOINT = "azure-native:trafficmanager:Endpoint"


class ArmError(RuntimeError):
    """What ARM answers with an error status."""


def _profile_key(group: str, name: str) -> tuple[str, str]:
    return (group.lower(), name.lower())


@dataclass
class TrafficManagerArm:
    profiles: dict[tuple[str, str], dict[str, dict[str, Any]]] = field(default_factory=dict)
    """(resource group, profile) -> endpoint name -> endpoint properties."""
    state: dict[str, dict[str, Registered]] = field(default_factory=dict)
    """Pulumi state per stack: URN -> what the last apply declared (Traffic Manager only)."""

    def apply(self, run: ProgramRun) -> None:
        """`pulumi up` of `run` (a mocked run of one stack)."""
        previous = self.state.get(run.stack, {})
        declared = {r.urn: r for r in run.resources if r.type in (PROFILE, ENDPOINT)}
        for urn, resource in declared.items():
            inputs = dict(resource.inputs)
            old = previous.get(urn)
            if old is not None:
                for key in resource.ignore_changes:
                    if key in old.inputs:
                        inputs[key] = old.inputs[key]
                    else:
                        inputs.pop(key, None)
            if resource.type == PROFILE:
                self._put_profile(inputs)
            else:
                self._put_endpoint(inputs)
        for urn, resource in previous.items():
            if urn not in declared:
                self._delete(resource)
        self.state[run.stack] = declared

    def endpoints(self) -> dict[str, dict[str, Any]]:
        """Every endpoint of every profile, by endpoint name."""
        return {name: body for eps in self.profiles.values() for name, body in eps.items()}

    def _put_profile(self, inputs: dict[str, Any]) -> None:
        key = _profile_key(inputs["resourceGroupName"], inputs["profileName"])
        body_endpoints = inputs.get("endpoints")
        if body_endpoints is None:
            # azure-native sends the live list back (or an empty one on create).
            self.profiles.setdefault(key, {})
            return
        self.profiles[key] = {e["name"]: dict(e) for e in body_endpoints}

    def _put_endpoint(self, inputs: dict[str, Any]) -> None:
        key = _profile_key(inputs["resourceGroupName"], inputs["profileName"])
        if key not in self.profiles:
            raise ArmError(f"404 ParentResourceNotFound: profile {key[1]} in {key[0]}")
        self.profiles[key][inputs["endpointName"]] = dict(inputs)

    def _delete(self, resource: Registered) -> None:
        inputs = resource.inputs
        key = _profile_key(inputs["resourceGroupName"], inputs["profileName"])
        if resource.type == PROFILE:
            self.profiles.pop(key, None)
        else:
            self.profiles.get(key, {}).pop(inputs["endpointName"], None)
