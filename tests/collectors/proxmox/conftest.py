"""fakepve over HTTPS on loopback, with a test CA made once per session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.demo.fakepve_runner import TlsFiles
from tests.peers.proxmox import PvePeer, make_tls, running_fakepve, two_node_cluster


class Clock:
    """The collector's injectable clock: moves only when the test says so."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def pve_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(Path(tmp_path_factory.mktemp("pve-tls")))


@pytest.fixture
def pve_peer(pve_tls: TlsFiles) -> Iterator[PvePeer]:
    """A two-node cluster (``pve-test``, VMs 101-106) for one test."""
    with running_fakepve(pve_tls, two_node_cluster()) as peer:
        yield peer


@pytest.fixture
def clock() -> Clock:
    return Clock()
