"""The README's pytest example, exactly as printed there."""

import requests


def test_a_search_after_a_500(qualys_mock, qualys_customer):
    url, user = qualys_mock.url, qualys_customer            # a server per session, a customer per test
    token = requests.post(f"{url}/auth", data={"username": user.username,
                          "password": user.password, "token": "true"}).text
    qualys_mock.fail_next("POST", "/sm/v1/scripts/search", 500)    # the next call fails
    search = lambda: requests.post(f"{url}/sm/v1/scripts/search", json={"filter": "status:APPROVED"},
                                   headers={"Authorization": f"Bearer {token}"})
    assert search().status_code == 500
    assert search().json()["body"]["totalCount"] == 29            # Acme's approved scripts, copied
    calls = qualys_mock.requests(path="/sm/v1/scripts/search")
    assert [c["status"] for c in calls[-2:]] == [500, 200]        # the journal, oldest first
