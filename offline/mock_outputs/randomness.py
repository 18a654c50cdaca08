"""pulumi-random answers like the provider: fresh random bytes each time a resource is created.

A mocked run is one stack instance created from nothing, so two runs of the same stack model a
destroy and a re-create: their values differ, as the real provider's would. Within one stack's
life the value lives in state and never changes (RandomId has no keepers here).

`seeded()` is for comparing two plans of the same code (tests/plan_guard.py): inside it the bytes
depend only on the resource, never on the run, so the comparison sees what the code changed.
"""

import base64
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pulumi

from offline.mocks import outputs_for


def _fresh(length: int, resource: str) -> bytes:
    return os.urandom(length)


_entropy: list[Callable[[int, str], bytes]] = [_fresh]
"""The source of RandomId bytes in use (a one-item list, so `seeded()` swaps it without `global`)."""


def _by_resource(length: int, resource: str) -> bytes:
    return hashlib.sha256(resource.encode()).digest()[:length]


@contextmanager
def seeded() -> Iterator[None]:
    """Within: each RandomId's bytes are a function of its type and name (identical across runs)."""
    _entropy[0] = _by_resource
    try:
        yield
    finally:
        _entropy[0] = _fresh


@outputs_for("random:index/randomId:RandomId")
def _random_id(args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]) -> dict[str, Any]:
    raw = _entropy[0](int(args.inputs["byteLength"]), f"{args.typ}::{args.name}")
    url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return {
        "id": url,
        "hex": raw.hex(),
        "b64Url": url,
        "b64Std": base64.b64encode(raw).decode(),
        "dec": str(int.from_bytes(raw, "big")),
    }
