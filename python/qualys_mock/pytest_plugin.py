"""pytest fixtures for qualys-mock (registered through the ``pytest11`` entry point).

- ``qualys_mock``: one emulator per test session (per pytest-xdist worker), HTTP and HTTPS,
  or the server at ``$QUALYS_MOCK_URL`` when that is set (docker-compose, a shared one).
- ``qualys_customer``: a fresh customer for each test, a copy of the seeded ``Acme`` with its
  own user, so tests and workers never see each other's writes.

Override ``qualys_mock_options`` (a dict of :class:`qualys_mock.QualysMock` keywords) or
``qualys_customer_template`` in a ``conftest.py`` to change them.
"""

from __future__ import annotations

import os
import uuid
from typing import Any, Dict, Iterator, Optional

import pytest

from ._mock import ControlClient, Customer, QualysMock


@pytest.fixture(scope="session")
def qualys_mock_options() -> Dict[str, Any]:
    """Keywords for the session's :class:`QualysMock`. HTTPS is on by default, so clients
    that insist on it (qualysdk, qualysetl) work with ``ca_bundle``."""
    return {"https": True}


@pytest.fixture(scope="session")
def qualys_mock(qualys_mock_options: Dict[str, Any]) -> Iterator[ControlClient]:
    """The emulator for this session: ``url``, ``https_url``, ``ca_bundle`` and the control
    methods (``reset``, ``new_customer``, ``advance``, ``fail_next``, ``requests``, ...)."""
    external = os.environ.get("QUALYS_MOCK_URL")
    if external:
        yield ControlClient(
            external,
            control_token=os.environ.get("QUALYS_MOCK_CONTROL_TOKEN") or None,
            https_url=os.environ.get("QUALYS_MOCK_HTTPS_URL") or None,
            ca_bundle=os.environ.get("QUALYS_MOCK_CA_BUNDLE") or None,
        )
        return
    mock = QualysMock(**qualys_mock_options)
    mock.start()
    try:
        yield mock
    finally:
        mock.stop()


@pytest.fixture(scope="session")
def qualys_customer_template() -> Optional[str]:
    """The seeded customer each ``qualys_customer`` copies (``None``: an empty customer)."""
    return "Acme"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture
def qualys_customer(
    qualys_mock: ControlClient, qualys_customer_template: Optional[str]
) -> Customer:
    """A new customer for this test only (name, id, username, password, id_offset)."""
    tag = uuid.uuid4().hex[:12]
    name = f"pytest-{_worker()}-{tag}"
    return qualys_mock.new_customer(
        name, copy_of=qualys_customer_template, username=f"pytest_{tag}"
    )
