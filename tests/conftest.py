"""Fixtures shared by every area of the suite: the real local servers, one of each per session.

A test asks for a server by naming it as an argument (`def test_x(moto_s3: Emulator)`); nothing
is imported by name. Each server starts on its first use and stops at the end of the session (of
each xdist worker), bound to 127.0.0.1. The server modules are imported inside the fixtures, and
no test module runs a program or starts a server at import, so collecting the suite stays fast
(`-k` selections included).

Stack runs are not fixtures: `tests.support.pair`, `shipped` and `run_stack`-based helpers are
cached per process and computed on first use, which is what a session fixture would do, and they
stay callable from `parametrize`d helpers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.dns_server import PowerDns
    from tests.emulators import Emulator


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[Emulator]:
    """A moto S3 server on 127.0.0.1 for the whole session."""
    from tests.emulators import session_emulator, start_moto

    yield from session_emulator(start_moto)


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[Emulator]:
    """A fake-gcs-server on 127.0.0.1 for the whole session."""
    from tests.emulators import session_emulator, start_fake_gcs

    yield from session_emulator(start_fake_gcs)


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[Emulator]:
    """A SeaweedFS S3 gateway on 127.0.0.1 for the whole session (keys SEAWEEDFS_*_KEY)."""
    from tests.emulators import session_emulator, start_seaweedfs

    yield from session_emulator(start_seaweedfs)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Emulator]:
    """An Azurite blob server on 127.0.0.1 for the whole session (account devstoreaccount1)."""
    from tests.emulators import session_emulator, start_azurite

    yield from session_emulator(start_azurite)


@pytest.fixture(scope="session")
def powerdns() -> Iterator[PowerDns]:
    """A running PowerDNS for the whole session.

    Skips (with the install command) when PowerDNS is not installed; fails instead when CI or
    REQUIRE_DNS_SERVER is set, so CI can never silently skip the DNS tests.
    """
    from tests.dns_server import PowerDns, missing_reason

    reason = missing_reason()
    if reason is not None:
        if os.environ.get("CI") or os.environ.get("REQUIRE_DNS_SERVER"):
            pytest.fail(f"{reason} (CI/REQUIRE_DNS_SERVER is set, so this is an error, not a skip)")
        pytest.skip(reason)
    with PowerDns() as server:
        yield server
