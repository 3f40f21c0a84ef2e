"""Fixtures for agent tests; the harness itself lives in ``agentkit``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.agentkit import ServerFactory, TestSupervisor


@pytest.fixture
def supervisor() -> Iterator[TestSupervisor]:
    sup = TestSupervisor()
    yield sup
    sup.close()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path)
    yield factory
    factory.cleanup()


@pytest.fixture(scope="module")
def module_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path_factory.mktemp("servers"))
    yield factory
    factory.cleanup()
