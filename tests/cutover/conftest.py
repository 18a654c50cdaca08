"""Fixtures of the cutover tests: the two sides (model servers, DNS zone, simulated stacks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.cutover.cutover_support import Sides
    from tests.dns_server import PowerDns


@pytest.fixture
def sides(powerdns: PowerDns, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sides]:
    """Fresh HTTPS model servers on fresh loopback addresses, a fresh zone on the session's
    PowerDNS, stacks that start from the shipped stack files."""
    from tests.cutover.cutover_support import running_sides

    with running_sides(powerdns, tmp_path_factory.mktemp("edge-tls")) as sides:
        yield sides
