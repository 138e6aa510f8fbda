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
        requests.post(f"{qualys_mock.url}/qps/rest/1.0/search/cm/alert",
                      auth=qualys_customer.auth, data="<ServiceRequest/>",
                      headers={"Content-Type": "text/xml"}, timeout=30)
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
    # The failing test's calls, in order: method, path with query, status; the user its
    # credentials name and the body it sent (the journal keeps no body the server refused
    # unread, as it does without credentials).
    refused = section.index("POST /sm/v1/scripts/search?pageSize=5 -> 401")
    searched = section.index("POST /qps/rest/1.0/search/cm/alert -> 200  user=pytest_")
    assert refused < searched, out
    assert "body: <ServiceRequest/>" in section, out
    # An error answer's message is shown under its call.
    assert "error: Not authenticated" in section, out
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
