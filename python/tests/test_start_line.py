"""The wrapper learns where the server listens from its start line, text or JSON."""

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
