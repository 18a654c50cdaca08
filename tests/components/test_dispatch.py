"""Each capability's factory picks its cloud's class in a `match` (components/*/__init__.py).

A cloud it has no class for is refused with the config key, the value and the choices, before
anything is created; which SDKs a stack loads is in tests/infra/test_extras.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from components.audit import create_audit_store
from components.dns import create_failover_record
from components.image_registry import create_image_registry
from components.inference_cluster import create_inference_cluster
from components.object_store import create_model_store
from components.observability import create_observability
from components.secrets_vault import create_secrets_vault
from tests.components.test_dns_args import make

EVERY_TARGET = "aws, gcp, azure, onprem"
CLOUDS_ONLY = "aws, gcp, azure"
FACTORIES: list[tuple[Callable[..., Any], str]] = [
    (create_inference_cluster, EVERY_TARGET),
    (create_model_store, EVERY_TARGET),
    (create_secrets_vault, EVERY_TARGET),
    (create_audit_store, EVERY_TARGET),
    # A site serves its own image and has no managed monitoring: these two exist on clouds only.
    (create_image_registry, CLOUDS_ONLY),
    (create_observability, CLOUDS_ONLY),
]


def _refusal(key: str, choices: str, got: str) -> str:
    return re.escape(
        f"stack config '{key}' must be one of {choices} (got {got!r}): "
        "set it in the stack's Pulumi.<stack>.yaml"
    )


@pytest.mark.parametrize(("factory", "choices"), FACTORIES, ids=[f.__name__ for f, _ in FACTORIES])
def test_factory_refuses_a_cloud_it_has_no_class_for(factory: Callable[..., Any], choices: str) -> None:
    args = SimpleNamespace(placement=SimpleNamespace(cloud="awz"))
    with pytest.raises(ValueError, match=_refusal("cloud", choices, "awz")):
        factory("primary", args)


@pytest.mark.parametrize("factory", [create_image_registry, create_observability])
def test_cloud_only_factories_refuse_a_site(factory: Callable[..., Any]) -> None:
    args = SimpleNamespace(placement=SimpleNamespace(cloud="onprem"))
    with pytest.raises(ValueError, match=_refusal("cloud", CLOUDS_ONLY, "onprem")):
        factory("primary", args)


def test_dns_factory_refuses_an_authority_it_has_no_class_for() -> None:
    with pytest.raises(ValueError, match=_refusal("dnsProvider", "aws, gcp, azure, powerdns", "bind")):
        create_failover_record("primary", make(cloud="bind"))
