"""A real client: qualysdk's TokenAuth, which only speaks HTTPS and verifies the certificate
(requests, REQUESTS_CA_BUNDLE), against the fixture's HTTPS port and exported CA."""

import pytest
import requests
from qualysdk.auth import TokenAuth
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
