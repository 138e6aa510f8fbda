"""A failing test that uses the fixtures shows its own calls to the emulator in its report."""

import textwrap

pytest_plugins = ["pytester"]

INNER = textwrap.dedent(
    """
    import requests

    def test_passes_first(qualys_mock, qualys_customer):
        r = requests.get(f"{qualys_mock.url}/qps/rest/portal/version",
                         auth=qualys_customer.auth, timeout=30)
        assert r.status_code == 200

    def test_fails_after_a_refused_call(qualys_mock, qualys_customer):
        r = requests.post(f"{qualys_mock.url}/sm/v1/scripts/search?pageSize=5",
                          headers={"Authorization": "Bearer not-a-token"},
                          json={"filter": "status:APPROVED"}, timeout=30)
        assert r.status_code == 200

    def test_fails_without_the_fixtures():
        assert False, "no emulator here"
    """
)


def test_a_failing_test_reports_its_calls_to_the_emulator(pytester):
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    section = out.split("qualys-mock requests call", 1)[1].split("short test summary", 1)[0]
    # The failing test's call: method, path with query, status, the body it sent.
    assert "POST /sm/v1/scripts/search?pageSize=5 -> 401" in section, out
    assert '"filter": "status:APPROVED"' in section, out
    # Only that test's calls: not the passing test's, which came before it.
    assert "/qps/rest/portal/version" not in section, out
    # One section: the test without the fixtures gets none.
    assert out.count("qualys-mock requests") == 1, out


def test_a_passing_run_reports_nothing(pytester):
    pytester.makepyfile(
        test_ok="""
        def test_ok(qualys_mock):
            assert qualys_mock.health()["status"] == "ok"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", "-rA")
    result.assert_outcomes(passed=1)
    assert "qualys-mock requests" not in result.stdout.str()
