"""Where the server listens: the ready file the wrapper reads, and the start line a person
reads (text, or JSON with ``--log-format json``)."""

import json

from qualys_mock import QualysMock


def test_json_logs_start_and_the_start_line_is_json():
    with QualysMock(https=True, log_format="json") as m:
        assert m.url.startswith("http://127.0.0.1:")
        assert m.https_url.startswith("https://127.0.0.1:")
        assert m.health()["status"] == "ok"
        with open(m.log_path, encoding="utf-8") as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        banner = next(json.loads(line) for line in lines if '"listening"' in line)
        assert banner["http"] == m.url
        assert banner["https"] == m.https_url
        assert banner["trust"] == m.ca_bundle
        # Every line the server wrote is JSON, the start line as much as the log.
        for line in lines:
            json.loads(line)


def test_the_wrapper_learns_where_the_server_is_from_its_ready_file():
    with QualysMock(https=True) as m:
        with open(m._ready_path(), encoding="utf-8") as f:
            ready = json.load(f)
        assert ready["http"] == m.url
        assert ready["https"] == m.https_url
        assert ready["ca"] == m.ca_bundle
        assert ready["pid"] == m.pid
        assert ready["version"]
        assert m.health()["status"] == "ok"
