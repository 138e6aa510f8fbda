"""The qualys_mock and qualys_customer fixtures, with plain requests calls to CAR and CM."""

import os
import xml.etree.ElementTree as ET

import requests


def test_qualys_mock_is_a_running_emulator(qualys_mock):
    health = requests.get(f"{qualys_mock.url}/_mock/health", timeout=30).json()
    assert health["status"] == "ok"
    assert qualys_mock.health()["version"] == health["version"]
    assert qualys_mock.url.startswith("http://127.0.0.1:")
    assert qualys_mock.https_url.startswith("https://127.0.0.1:")
    assert os.path.isfile(qualys_mock.ca_bundle)


def test_qualys_customer_is_a_fresh_copy_of_acme(qualys_mock, qualys_customer, car_token):
    assert qualys_customer.name.startswith("pytest-")
    assert qualys_customer.id > 2002
    assert qualys_customer.id_offset == qualys_customer.id * 1_000_000_000
    assert qualys_customer.username and qualys_customer.password
    # The copy of Acme's script 16012, under the customer's own id.
    script_id = 16012 + qualys_customer.id_offset
    r = requests.get(
        f"{qualys_mock.url}/sm/v1/scripts/{script_id}",
        headers={"Authorization": f"Bearer {car_token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["body"]["title"] == "Collect OS Inventory"
    # Acme's original is not the customer's.
    r = requests.get(
        f"{qualys_mock.url}/sm/v1/scripts/16012",
        headers={"Authorization": f"Bearer {car_token}"},
        timeout=30,
    )
    assert r.status_code == 404


def test_car_search_with_qql(qualys_mock, car_token):
    r = requests.post(
        f"{qualys_mock.url}/sm/v1/scripts/search",
        headers={"Authorization": f"Bearer {car_token}"},
        json={"filter": "status:APPROVED", "pageSize": 5},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    body = r.json()["body"]
    assert body["totalCount"] > 0
    assert all(s["status"] == "APPROVED" for s in body["list"])


def test_car_rejects_a_bad_token(qualys_mock):
    r = requests.post(
        f"{qualys_mock.url}/sm/v1/scripts/search",
        headers={"Authorization": "Bearer not-a-token"},
        json={},
        timeout=30,
    )
    assert r.status_code == 401


def test_cm_search_in_xml_and_json(qualys_mock, qualys_customer):
    auth = qualys_customer.auth
    r = requests.get(f"{qualys_mock.url}/qps/rest/portal/version", auth=auth, timeout=30)
    assert r.status_code == 200
    assert ET.fromstring(r.content).findtext("responseCode") == "SUCCESS"

    r = requests.post(
        f"{qualys_mock.url}/qps/rest/1.0/search/cm/alert/",
        auth=auth,
        headers={"Accept": "application/json"},
        json={"ServiceRequest": {"preferences": {"limitResults": 3}}},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    response = r.json()["ServiceResponse"]
    assert response["responseCode"] == "SUCCESS"
    assert response["count"] == 3


def test_cm_rejects_wrong_credentials(qualys_mock, qualys_customer):
    r = requests.get(
        f"{qualys_mock.url}/qps/rest/portal/version",
        auth=(qualys_customer.username, "wrong"),
        timeout=30,
    )
    assert r.status_code == 401


def test_injected_cm_events_raise_alerts_only_for_that_customer(qualys_mock, qualys_customer):
    # Acme's profiles watch 10.10.10.1-10.10.31.255; the copy watches the same range.
    alerts = qualys_mock.cm_events(
        qualys_customer,
        [
            {
                "eventType": "PORT_OPEN",
                "ipAddress": "10.10.30.99",
                "hostname": "new.acme.corp",
                "info": {"port": 8443, "protocol": "tcp"},
            }
        ],
    )
    assert alerts, "no alert raised"
    ids = [str(a["Alert"]["id"]) for a in alerts]
    r = requests.post(
        f"{qualys_mock.url}/qps/rest/1.0/search/cm/alert/",
        auth=qualys_customer.auth,
        headers={"Accept": "application/json"},
        json={
            "ServiceRequest": {
                "filters": {
                    "Criteria": [{"field": "id", "operator": "IN", "value": ",".join(ids)}]
                }
            }
        },
        timeout=30,
    )
    assert r.json()["ServiceResponse"]["count"] == len(ids)
