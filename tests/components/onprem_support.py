"""Runs of the real program on a site (cloud: onprem) under mocks, for the cluster and workload tests."""

from __future__ import annotations

from functools import cache
from typing import Any

from offline.harness import ProgramRun, run_stack
from tests.support import TEST_SECRETS, primary_overrides

STORE = "https://s3.fra-dc1.internal:8333"
"""The primary site's S3-compatible store (tests.support SITES)."""


@cache
def site_run(extra: tuple[tuple[str, Any], ...] = ()) -> ProgramRun:
    """The shipped primary moved to a site (tests.support PROFILES['onprem']), plus `extra`."""
    return run_stack("primary", {**primary_overrides("onprem", "aws"), **dict(extra)}, TEST_SECRETS)
