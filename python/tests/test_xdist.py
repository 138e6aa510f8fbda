"""Under pytest-xdist each worker has its own server, and every test its own customer: an
inner run with -n 2 of tests that all make the same write."""

import os
import subprocess
import sys
import textwrap

INNER = textwrap.dedent(
    """
    import os
    import pytest
    import requests

    @pytest.mark.parametrize("n", range(8))
    def test_same_write(qualys_mock, qualys_customer, n):
        token = requests.post(f"{qualys_mock.url}/auth", timeout=30, data={
            "username": qualys_customer.username, "password": qualys_customer.password,
            "token": "true"}).text
        headers = {"Authorization": f"Bearer {token}"}
        source = 16012 + qualys_customer.id_offset
        r = requests.post(f"{qualys_mock.url}/sm/v1/scripts/{source}/clone", headers=headers,
                          json={"scriptTitle": "same title everywhere"}, timeout=30)
        assert r.status_code == 201, r.text
        print("WORKER", os.environ["PYTEST_XDIST_WORKER"], qualys_mock.pid, qualys_customer.name)
    """
)


def test_each_xdist_worker_has_its_own_server_and_each_test_its_own_customer(tmp_path):
    (tmp_path / "test_inner.py").write_text(INNER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUALYS_MOCK_", "PYTEST_"))}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-rA", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    rows = [line.split()[1:4] for line in out.stdout.splitlines() if line.startswith("WORKER ")]
    assert len(rows) == 8, out.stdout
    servers = {worker: pid for worker, pid, _ in rows}
    assert set(servers) == {"gw0", "gw1"}, rows
    assert len(set(servers.values())) == 2, rows  # one server per worker
    assert len({pid for _, pid, _ in rows}) == 2  # and each worker kept its one server
    assert len({name for _, _, name in rows}) == 8  # a customer per test
