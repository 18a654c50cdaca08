"""pulumi-random answers like the provider: fresh random bytes each time a resource is created.

A mocked run is one stack instance created from nothing, so two runs of the same stack model a
destroy and a re-create: their values differ, as the real provider's would. Within one stack's
life the value lives in state and never changes (RandomId has no keepers here).
"""

import base64
import os
from typing import Any

import pulumi

from infra.mocks import outputs_for


@outputs_for("random:index/randomId:RandomId")
def _random_id(args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]) -> dict[str, Any]:
    raw = os.urandom(int(args.inputs["byteLength"]))
    url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return {
        "id": url,
        "hex": raw.hex(),
        "b64Url": url,
        "b64Std": base64.b64encode(raw).decode(),
        "dec": str(int.from_bytes(raw, "big")),
    }
