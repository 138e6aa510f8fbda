"""A real client: qualysdk's TokenAuth and BasicAuth, which only speak HTTPS and verify the
certificate (requests, REQUESTS_CA_BUNDLE), against the fixture's HTTPS port and exported CA."""

import pytest
import requests
from qualysdk.auth import BasicAuth, TokenAuth
from qualysdk.exceptions import AuthenticationError


def _platform(mock):
    return {
        "api_url": mock.https_url,
        "gateway_url": mock.https_url,
        "qualysguard_url": mock.https_url,
    }


def test_qualysdk_token_auth_over_https(qualys_mock, qualys_customer, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", qualys_mock.ca_bundle)
    auth = TokenAuth(
        username=qualys_customer.username,
        password=qualys_customer.password,
        override_platform=_platform(qualys_mock),
    )
    assert auth.token.count(".") == 2  # a JWT
    # The token works on CAR, over the same verified HTTPS.
    r = requests.post(
        f"{qualys_mock.https_url}/sm/v1/scripts/search",
        headers=auth.as_header(),
        json={"filter": "status:APPROVED", "pageSize": 1},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["body"]["totalCount"] > 0
    # And it was this customer's login that the server saw.
    logins = qualys_mock.requests(method="POST", path="/auth", status=201)
    assert any(f"username={qualys_customer.username}" in (e["body"] or "") for e in logins)


def test_qualysdk_refuses_bad_credentials(qualys_mock, qualys_customer, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", qualys_mock.ca_bundle)
    with pytest.raises(AuthenticationError):
        TokenAuth(
            username=qualys_customer.username,
            password="wrong",
            override_platform=_platform(qualys_mock),
        )


def test_without_the_ca_bundle_the_certificate_is_not_trusted(qualys_mock, qualys_customer, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(requests.exceptions.SSLError):
        TokenAuth(
            username=qualys_customer.username,
            password=qualys_customer.password,
            override_platform=_platform(qualys_mock),
        )


def test_qualysdk_basic_auth_over_https(qualys_mock, qualys_customer, monkeypatch):
    """BasicAuth probes GET /msp/about.php with the Basic login when it is created, and reads
    the API limits from that answer's headers."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", qualys_mock.ca_bundle)
    auth = BasicAuth(
        username=qualys_customer.username,
        password=qualys_customer.password,
        override_platform=_platform(qualys_mock),
    )
    assert auth.get_ratelimit() == {"X-RateLimit-Limit": 300, "X-Concurrency-Limit-Limit": 2}
    probes = qualys_mock.requests(method="GET", path="/msp/about.php", status=200)
    assert [e["user"] for e in probes].count(qualys_customer.username) == 2
    # The same login works on CM, the API BasicAuth is for.
    r = requests.get(
        f"{qualys_mock.https_url}/qps/rest/portal/version",
        auth=(auth.username, auth.password),
        timeout=30,
    )
    assert r.status_code == 200, r.text


def test_qualysdk_basic_auth_refuses_bad_credentials(qualys_mock, qualys_customer, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", qualys_mock.ca_bundle)
    with pytest.raises(AuthenticationError, match="Bad Login/Password"):
        BasicAuth(
            username=qualys_customer.username,
            password="wrong",
            override_platform=_platform(qualys_mock),
        )
