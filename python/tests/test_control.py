"""QualysMock on its own (not the fixture): options, lifecycle and every control wrapper."""

import datetime as dt
import os
import signal
import socket
import subprocess
import time

import pytest
import requests

from qualys_mock import Clock, Customer, QualysMock, QualysMockError


@pytest.fixture(scope="module")
def mock():
    with QualysMock(frozen_at="2022-05-10T00:00:00Z") as m:
        yield m


def token(mock, user="acme_ss2", password="passwd"):
    r = requests.post(
        f"{mock.url}/auth", data={"username": user, "password": password, "token": "true"}, timeout=30
    )
    assert r.status_code == 201, r.text
    return r.text


def test_frozen_at_and_the_clock(mock):
    c = mock.clock()
    assert isinstance(c, Clock)
    assert c.frozen
    assert c.now == dt.datetime(2022, 5, 10, tzinfo=dt.timezone.utc)
    assert mock.advance("4h").now == dt.datetime(2022, 5, 10, 4, tzinfo=dt.timezone.utc)
    assert mock.advance(dt.timedelta(minutes=30)).now_ms == c.now_ms + 4.5 * 3600 * 1000
    c2 = mock.set_clock(dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc), freeze=True)
    assert c2.now.year == 2023 and c2.frozen
    assert not mock.resume().frozen
    assert mock.freeze("2022-05-10T00:00:00Z").frozen


def test_a_token_expires_when_the_clock_moves(mock):
    t = token(mock)
    headers = {"Authorization": f"Bearer {t}"}
    url = f"{mock.url}/sm/v1/scripts/16012"
    assert requests.get(url, headers=headers, timeout=30).status_code == 200
    mock.advance("5h")
    r = requests.get(url, headers=headers, timeout=30)
    assert r.status_code == 401 and "JWT expired" in r.text


def test_control_errors_carry_the_servers_message(mock):
    with pytest.raises(QualysMockError) as e:
        mock.reset(customer="Nobody")
    assert e.value.status == 404
    assert e.value.message == 'no customer named "Nobody"'
    assert "POST /_mock/reset" in str(e.value)
    with pytest.raises(QualysMockError) as e:
        mock.advance("soon")
    assert e.value.status == 400 and "advance must be" in e.value.message
    with pytest.raises(QualysMockError) as e:
        mock.set_config(no_such_limit=1)
    assert "unknown field `noSuchLimit`" in e.value.message
    with pytest.raises(QualysMockError) as e:
        mock.new_customer(copy_of="Initech")
    assert e.value.status == 404 and "Initech" in e.value.message


def test_new_customer_options(mock):
    empty = mock.new_customer("Empty Co", copy_of=None, username="empty_user", password="pw1")
    assert isinstance(empty, Customer)
    assert (empty.name, empty.username, empty.password, empty.id_offset) == (
        "Empty Co",
        "empty_user",
        "pw1",
        0,
    )
    r = requests.post(
        f"{mock.url}/sm/v1/scripts/search",
        headers={"Authorization": f"Bearer {token(mock, 'empty_user', 'pw1')}"},
        json={},
        timeout=30,
    )
    assert r.json()["body"]["totalCount"] == 0
    with pytest.raises(QualysMockError) as e:
        mock.new_customer("Empty Co", copy_of=None)
    assert e.value.status == 409


def test_faults_and_the_journal(mock):
    mock.clear_requests()
    t = token(mock)
    fault = mock.fail_next("POST", "/sm/v1/scripts/search", 500, times=2)
    assert fault["times"] == 2
    assert [f["id"] for f in mock.faults()] == [fault["id"]]
    url = f"{mock.url}/sm/v1/scripts/search"
    headers = {"Authorization": f"Bearer {t}"}
    codes = [requests.post(url, headers=headers, json={}, timeout=30).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    journal = mock.requests(path="/sm/v1/scripts/search")
    assert [e["status"] for e in journal] == [500, 500, 200]
    # A fault answers before the credentials are checked: no verified user; the call the
    # handler answered names its user.
    assert mock.requests(status=500, method="POST")[0]["user"] is None
    assert mock.requests(status=200, method="POST", path="/sm/v1/scripts/search")[0]["user"] == "acme_ss2"
    mock.clear_requests()
    assert mock.requests() == []

    limited = mock.add_fault("/qps/rest/portal/version", latency_ms=1, rate_limit=30)
    for _ in range(2):
        r = requests.get(f"{mock.url}/qps/rest/portal/version", auth=("acme_ss2", "passwd"), timeout=30)
        assert r.status_code == 429 and r.headers["Retry-After"] == "30"
    # The spent fail_next rule stays listed with its count, before the rate limit.
    assert [f["applied"] for f in mock.faults()] == [2, 2]
    mock.remove_fault(limited["id"])
    with pytest.raises(QualysMockError) as e:
        mock.remove_fault(limited["id"])
    assert e.value.status == 404
    r = requests.get(f"{mock.url}/qps/rest/portal/version", auth=("acme_ss2", "passwd"), timeout=30)
    assert r.status_code == 200
    mock.add_fault("/sm/v1/*", drop=True, times=1)
    mock.clear_faults()
    assert mock.faults() == []


def test_config_seed_and_outcome(mock):
    before = mock.config()
    after = mock.set_config(execute_interval_ms=0, jobRunMs=1000)
    assert after["executeIntervalMs"] == 0 and after["jobRunMs"] == 1000
    assert mock.config() == after
    mock.set_config(before)

    loaded = mock.seed(
        {
            "assettags": [
                {
                    "id": 900001,
                    "customer": "Acme",
                    "uuid": "6f1c0e56-0000-4000-8000-000000000001",
                    "name": "Seeded from Python",
                }
            ]
        }
    )
    assert loaded == 1
    r = requests.post(
        f"{mock.url}/sm/v1/assettags/search",
        headers={"Authorization": f"Bearer {token(mock)}"},
        json={"filter": "name:`Seeded from Python`"},
        timeout=30,
    )
    assert r.json()["body"]["totalCount"] == 1

    mock.set_asset_job_outcome(80541, "FAILED", code=2, text="Disk full", result="no space left")
    r = requests.post(
        f"{mock.url}/sm/v1/assetjobs/search",
        headers={"Authorization": f"Bearer {token(mock)}"},
        json={"filter": "id:80541"},
        timeout=30,
    )
    job = r.json()["body"]["list"][0]
    assert job["status"] == "FAILED"
    with pytest.raises(QualysMockError) as e:
        mock.set_asset_job_outcome(80541, "EXPLODED")
    assert "status must be one of" in e.value.message

    mock.reset()  # everything back to the start seed: the seeded tag is gone
    r = requests.post(
        f"{mock.url}/sm/v1/assettags/search",
        headers={"Authorization": f"Bearer {token(mock)}"},
        json={"filter": "name:`Seeded from Python`"},
        timeout=30,
    )
    assert r.json()["body"]["totalCount"] == 0


def test_the_endpoint_index(mock):
    listed = {(e["method"], e["path"]) for e in mock.endpoints()}
    assert ("POST", "/_mock/customers") in listed
    assert ("GET", "/_mock/") in listed


def test_a_control_token_guards_the_control_api():
    with QualysMock(control_token="sesame") as m:
        assert m.new_customer().name.startswith("py-")
        r = requests.post(f"{m.url}/_mock/reset", timeout=30)
        assert r.status_code == 401


def test_https_with_extra_names_and_separate_ca_files(tmp_path):
    with QualysMock(https=True, tls_san=["qualys.test"]) as a, QualysMock(https=True) as b:
        assert a.ca_bundle != b.ca_bundle
        for m in (a, b):
            r = requests.get(f"{m.https_url}/_mock/health", verify=m.ca_bundle, timeout=30)
            assert r.json()["status"] == "ok"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{a.https_url}/_mock/health", verify=b.ca_bundle, timeout=30)
        # The extra name is in the certificate (checked without DNS: connect to the port,
        # verify against the name).
        import ssl

        ctx = ssl.create_default_context(cafile=a.ca_bundle)
        port = int(a.https_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            with ctx.wrap_socket(sock, server_hostname="qualys.test") as tls:
                assert tls.version()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            with pytest.raises(ssl.SSLCertVerificationError):
                ctx.wrap_socket(sock, server_hostname="other.test")


def test_a_file_store_and_a_seed_folder(tmp_path):
    seed = tmp_path / "tiny"
    seed.mkdir()
    (seed / "customers.json").write_text('[{"id": 1, "uuid": "u", "name": "Solo"}]')
    (seed / "users.json").write_text(
        '[{"id": 1, "uuid": "x", "customer": "Solo", "username": "solo", '
        '"password": "pw", "name": "Solo", "modules": ["CAR", "CM"]}]'
    )
    db = tmp_path / "store.sqlite"
    with QualysMock(seed=seed, db=db) as m:
        health = m.health()
        assert health["seed"] == "tiny"
        assert health["counts"]["customers"] == 1
        m.new_customer("Second", copy_of=None)
    assert db.exists()
    with QualysMock(db=db) as m:  # the file is used as it is
        assert m.health()["counts"]["customers"] == 2


def test_a_bad_option_fails_start_with_the_servers_message(tmp_path):
    with pytest.raises(QualysMockError) as e:
        QualysMock(seed=tmp_path / "missing").start()
    assert "exited with" in e.value.message
    with pytest.raises(QualysMockError) as e:
        QualysMock(log="json").start()
    assert "is not a level" in e.value.message


def test_stop_is_graceful_and_leaves_nothing_behind():
    m = QualysMock(https=True).start()
    pid, tmp = m.pid, m._tmp
    assert m.running and os.path.isdir(tmp)
    assert m.stop() == 0  # SIGTERM: a clean exit
    assert not m.running
    assert not os.path.exists(tmp)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_server_never_blocks_on_its_output():
    """Log lines go to a file, so a test that never looks at them cannot stall the server;
    debug logging of every body for 2,000 calls goes through."""
    with QualysMock(log="debug") as m:
        with requests.Session() as s:
            for _ in range(2000):
                assert s.get(f"{m.url}/qps/rest/portal/version", auth=("acme_ss2", "passwd"), timeout=30).ok
        assert os.path.getsize(m.log_path) > 100_000


def test_the_binary_on_a_pipe_nobody_reads_still_answers(tmp_path):
    """The issue's do-it-yourself wrapper: Popen with stderr=PIPE, never read. It used to
    freeze after 287 requests; now it answers 3,000 and stops on SIGTERM."""
    from qualys_mock import find_binary

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [find_binary(), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(500):
            try:
                requests.get(f"{url}/_mock/health", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.02)
        with requests.Session() as s:
            for i in range(3000):
                r = s.get(f"{url}/_mock/health", timeout=10)
                assert r.status_code == 200, i
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_reset_says_what_it_restored_and_the_clock_returns_to_real_time():
    with QualysMock(frozen_at="2022-05-10T00:00:00Z") as m:
        m.advance("1d")
        m.set_config(job_run_ms=1)
        m.fail_next("POST", "/sm/v1/scripts/search", 503)
        kept = m.reset(scope="data")
        assert kept["restored"] == ["data"]
        assert m.config()["jobRunMs"] == 1 and len(m.faults()) == 1
        everything = m.reset()
        assert everything["restored"] == ["data", "clock", "faults", "config", "stubs"]
        assert m.clock().now == dt.datetime(2022, 5, 10, tzinfo=dt.timezone.utc)
        assert m.config()["jobRunMs"] == 30000 and m.faults() == []
        real = m.set_clock("now", freeze=False)
        assert not real.frozen and real.offset_ms == 0
        with pytest.raises(QualysMockError) as e:
            m.set_clock(-1)
        assert e.value.status == 400 and "outside the clock's range" in e.value.message
