"""The tests run against the installed wheel (see .ci/run): nothing here imports from the
source tree. Fixtures come from the package's pytest11 entry point."""

import pytest
import requests


@pytest.fixture
def car_token(qualys_mock, qualys_customer):
    """A CAR JWT for this test's customer."""
    r = requests.post(
        f"{qualys_mock.url}/auth",
        data={
            "username": qualys_customer.username,
            "password": qualys_customer.password,
            "token": "true",
        },
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return r.text
