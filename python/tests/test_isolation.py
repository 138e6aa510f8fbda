"""Tests that write, in parallel (the CI runs this file under pytest-xdist -n 2): each has
its own customer, so the same write in every test never collides, and no test sees
another's."""

import pytest
import requests

TITLE = "isolation probe"


def _car(mock, token, method, path, **kw):
    return requests.request(
        method,
        f"{mock.url}{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        **kw,
    )


@pytest.mark.parametrize("n", range(12))
def test_the_same_write_in_every_test_never_collides(qualys_mock, qualys_customer, car_token, n):
    source = 16012 + qualys_customer.id_offset
    # A shared customer would answer the second clone of this title with 400.
    r = _car(
        qualys_mock, car_token, "POST", f"/sm/v1/scripts/{source}/clone", json={"scriptTitle": TITLE}
    )
    assert r.status_code == 201, r.text
    clone_id = r.json()["body"]["id"]
    r = _car(
        qualys_mock,
        car_token,
        "POST",
        "/sm/v1/scripts/search",
        json={"filter": f'title:`{TITLE}`'},
    )
    found = r.json()["body"]
    assert found["totalCount"] == 1, found
    assert str(found["list"][0]["id"]) == str(clone_id)
    # Its own one-shot fault, on its own path.
    qualys_mock.fail_next("GET", f"/sm/v1/scripts/{clone_id}", 503)
    assert _car(qualys_mock, car_token, "GET", f"/sm/v1/scripts/{clone_id}").status_code == 503
    assert _car(qualys_mock, car_token, "GET", f"/sm/v1/scripts/{clone_id}").status_code == 200


@pytest.mark.parametrize("n", range(4))
def test_a_customer_reset_undoes_only_that_customer(qualys_mock, qualys_customer, car_token, n):
    source = 16012 + qualys_customer.id_offset
    r = _car(
        qualys_mock, car_token, "POST", f"/sm/v1/scripts/{source}/clone", json={"scriptTitle": TITLE}
    )
    assert r.status_code == 201, r.text
    qualys_mock.reset(qualys_customer)
    r = _car(
        qualys_mock, car_token, "POST", "/sm/v1/scripts/search", json={"filter": f'title:`{TITLE}`'}
    )
    assert r.json()["body"]["totalCount"] == 0
