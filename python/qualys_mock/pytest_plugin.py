"""pytest fixtures for qualys-mock (registered through the ``pytest11`` entry point).

- ``qualys_mock``: one emulator per test session (per pytest-xdist worker), HTTP and HTTPS,
  or the server at ``$QUALYS_MOCK_URL`` when that is set (docker-compose, a shared one).
- ``qualys_customer``: a fresh customer for each test, a copy of the seeded ``Acme`` with its
  own user, so tests and workers never see each other's writes.

Override ``qualys_mock_options`` (a dict of :class:`qualys_mock.QualysMock` keywords) or
``qualys_customer_template`` in a ``conftest.py`` to change them.

When a test that uses these fixtures fails, its report gets a section "qualys-mock
requests", after pytest's captured output: each call the test made to the emulator, from
the request journal (``GET /_mock/requests``), with its status. With a server shared by
several processes (``$QUALYS_MOCK_URL``), their calls at the same time show too.
"""

from __future__ import annotations

import os
import uuid
from typing import Any, Dict, Iterator, List, Optional

import pytest

from ._mock import ControlClient, Customer, QualysMock, QualysMockError

#: The journal's ``seq`` when the test began (what its report lists calls after).
_FIRST_SEQ = pytest.StashKey[int]()
#: Characters of a request body shown in a report.
_BODY_CHARS = 200


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


# -- failure reports ------------------------------------------------------------------------


def _client(item: pytest.Item) -> Optional[ControlClient]:
    client = getattr(item, "funcargs", {}).get("qualys_mock")
    return client if isinstance(client, ControlClient) else None


def _journal_after(client: ControlClient, seq: int) -> List[dict]:
    return client._call("GET", "requests", query={"after": seq})["requests"]


def _last_seq(client: ControlClient) -> int:
    """The newest ``seq`` the journal has handed out, as far as this process knows: kept on
    the client and moved on at the end of each test, so each test reads only its own calls."""
    seq = getattr(client, "_journal_seq", None)
    if seq is None:
        entries = _journal_after(client, 0)
        seq = max((e["seq"] for e in entries), default=0)
        client._journal_seq = seq  # type: ignore[attr-defined]
    return seq


def _describe(entries: List[dict]) -> str:
    lines = []
    for e in entries:
        target = e["path"] + (f"?{e['query']}" if e.get("query") else "")
        who = f"  user={e['user']}" if e.get("user") else ""
        lines.append(
            f"#{e['seq']} {e['method']} {target} -> {e['status']}{who} ({e['latencyMs']:.1f} ms)"
        )
        body = e.get("body")
        if body:
            shown = body if len(body) <= _BODY_CHARS else body[:_BODY_CHARS] + "..."
            more = " (cut by the journal)" if e.get("bodyTruncated") else ""
            lines.append(f"    body: {shown}{more}")
        if e.get("error"):
            lines.append(f"    error: {e['error']}")
    return "\n".join(lines) if lines else "(no calls to the emulator)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    client = _client(item)
    if client is None:
        return
    try:
        if call.when == "setup" and _FIRST_SEQ not in item.stash:
            item.stash[_FIRST_SEQ] = _last_seq(client)
        first = item.stash.get(_FIRST_SEQ, None)
        if first is None:
            return
        entries: Optional[List[dict]] = None
        if report.failed:
            entries = _journal_after(client, first)
            report.sections.append((f"qualys-mock requests {call.when}", _describe(entries)))
        if call.when == "teardown":
            if entries is None:
                entries = _journal_after(client, first)
            client._journal_seq = max(  # type: ignore[attr-defined]
                [e["seq"] for e in entries] + [first]
            )
    except QualysMockError as e:
        if report.failed:
            report.sections.append(
                (f"qualys-mock requests {call.when}", f"(the journal could not be read: {e})")
            )
