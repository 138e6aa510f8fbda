"""QUALYS_MOCK_URL: the fixtures use a server that is already running (docker-compose, a
shared one) instead of starting their own."""

import os
import subprocess
import sys
import textwrap

from qualys_mock import QualysMock

INNER = textwrap.dedent(
    """
    import os
    import requests

    def test_uses_the_external_server(qualys_mock, qualys_customer):
        assert qualys_mock.url == os.environ["QUALYS_MOCK_URL"]
        assert not hasattr(qualys_mock, "process")  # nothing was started
        r = requests.get(f"{qualys_mock.url}/qps/rest/portal/version",
                         auth=qualys_customer.auth, timeout=30)
        assert r.status_code == 200
        print("CUSTOMER", qualys_customer.name)
    """
)


def test_qualys_mock_url_points_the_fixtures_at_a_running_server(tmp_path):
    (tmp_path / "test_inner.py").write_text(INNER)
    with QualysMock(control_token="t0k") as external:
        before = external.health()["counts"]["customers"]
        env = dict(os.environ, QUALYS_MOCK_URL=external.url, QUALYS_MOCK_CONTROL_TOKEN="t0k")
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", str(tmp_path)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        name = out.stdout.split("CUSTOMER ", 1)[1].split()[0]
        assert name.startswith("pytest-")
        # The customer was made on the external server, through its control token.
        assert external.health()["counts"]["customers"] == before + 1
        assert external.reset(name)["customer"] == name
