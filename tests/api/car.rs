//! Every request sample of the CAR guide, against a fresh server: status and shape.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[tokio::test]
async fn get_script_by_id_and_by_name() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let r = app.car(Method::GET, "/sm/v1/scripts/16012", &t, "").await;
    assert_eq!(r.status, StatusCode::OK);
    let body = &r.json()["body"];
    assert_eq!(
        keys(body),
        [
            "id",
            "customerUUID",
            "title",
            "description",
            "category",
            "scriptStatus",
            "importedFromId",
            "platform",
            "severity",
            "threshold",
            "type",
            "content",
            "recurringDay",
            "approverId",
            "approverName",
            "created",
            "updated",
            "lastExecutedDateTime",
            "hasBlacklistedCommands",
            "blacklistedCommands"
        ]
    );
    assert_eq!(body["id"], "16012");
    assert_eq!(body["scriptStatus"], "APPROVED");
    assert_eq!(body["lastExecutedDateTime"], 1652865043670i64);
    assert_eq!(body["blacklistedCommands"], "os.chmod, wget.download");
    assert_eq!(body["hasBlacklistedCommands"], true);
    assert_eq!(body["created"]["user"]["name"], "FIM Automation");
    use base64::Engine as _;
    let content = base64::engine::general_purpose::STANDARD
        .decode(body["content"].as_str().unwrap())
        .unwrap();
    assert!(String::from_utf8(content).unwrap().starts_with("import os"));
    // By title, and 404 when neither matches.
    let r = app
        .car(
            Method::GET,
            "/sm/v1/scripts/Collect%20OS%20Inventory",
            &t,
            "",
        )
        .await;
    assert_eq!(r.json()["body"]["id"], "16012");
    let r = app
        .car(Method::GET, "/sm/v1/scripts/99999999", &t, "")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json(),
        json!({"errorCode": "404", "message": "Script with id/name 99999999 not found", "body": null})
    );
}

#[tokio::test]
async fn search_scripts_by_status_as_the_guide_does() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/search",
            &t,
            r#"{"filter": "status:REJECTED"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(keys(&v), ["errorCode", "message", "body"]);
    let list = v["body"]["list"].as_array().unwrap();
    assert_eq!(
        v["body"]["totalCount"].as_u64().unwrap() as usize,
        list.len()
    );
    assert!(list.iter().all(|s| s["status"] == "REJECTED"));
    let sample = list.iter().find(|s| s["id"] == "72524").unwrap();
    assert_eq!(
        keys(sample),
        [
            "severity",
            "testAssets",
            "importedFromId",
            "approverId",
            "created",
            "blacklistedCommands",
            "description",
            "lastExecutedDateTime",
            "threshold",
            "title",
            "type",
            "excludedAssets",
            "assetTags",
            "platform",
            "approverName",
            "subscribedModules",
            "schedule",
            "customerUuid",
            "assets",
            "hasBlacklistedCommands",
            "id",
            "category",
            "updated",
            "status"
        ]
    );
    assert_eq!(
        sample["description"],
        "This script is created for Sanity Automation"
    );
    assert_eq!(sample["type"], json!({"name": "Powershell", "id": 4}));
    assert_eq!(sample["subscribedModules"], json!(["PC"]));
    assert_eq!(sample["threshold"], 250);

    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/search",
            &t,
            r#"{"filter": "status:DEPRECATED"}"#,
        )
        .await;
    assert!(
        r.json()["body"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "DEPRECATED")
    );
}

#[tokio::test]
async fn pagination_sample_and_default_page_size() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let all = app
        .car(Method::POST, "/sm/v1/scripts/search", &t, "")
        .await
        .json();
    let total = all["body"]["totalCount"].as_u64().unwrap();
    assert_eq!(total, 48);
    assert_eq!(
        all["body"]["list"].as_array().unwrap().len(),
        10,
        "10 per page by default"
    );
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/search",
            &t,
            r#"{"filter": "status:APPROVED", "pageSize": 30, "pageNumber": 0}"#,
        )
        .await;
    let approved = r.json()["body"]["totalCount"].as_u64().unwrap();
    assert!(approved > 10);
    // Every page together is every record, once.
    let mut seen = Vec::new();
    for page in 0.. {
        let body = format!(
            r#"{{"pageSize": "7", "pageNumber": "{page}", "sort": "[{{\"title\":\"asc\"}}]"}}"#
        );
        let v = app
            .car(Method::POST, "/sm/v1/scripts/search", &t, &body)
            .await
            .json();
        let list = v["body"]["list"].as_array().unwrap().clone();
        if list.is_empty() {
            break;
        }
        seen.extend(list.iter().map(|s| s["title"].as_str().unwrap().to_owned()));
    }
    assert_eq!(seen.len() as u64, total);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
}

#[tokio::test]
async fn list_assets_and_tags() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let r = app.car(Method::POST, "/sm/v1/assets/search", &t, "").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["body"]["totalCount"], 120);
    let first = &v["body"]["list"][0];
    assert_eq!(keys(first), ["sortValues", "data"]);
    assert_eq!(
        keys(&first["data"]),
        [
            "interfaces",
            "address",
            "activatedForModules",
            "operatingSystem",
            "assetType",
            "tags",
            "customerUuid",
            "assetId",
            "customerId",
            "name",
            "agentVersion",
            "id",
            "agentUuid"
        ]
    );
    assert_eq!(
        keys(&first["data"]["interfaces"][0]),
        ["hostname", "macAddress", "address", "interfaceName"]
    );
    let r = app
        .car(
            Method::POST,
            "/sm/v1/assettags/search",
            &t,
            r#"{"pageSize": 100}"#,
        )
        .await;
    let v = r.json();
    assert_eq!(v["body"]["totalCount"], 19);
    let tag = v["body"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tagId"] == 112278818)
        .unwrap();
    assert_eq!(
        keys(tag),
        [
            "customerUuid",
            "tagId",
            "customerId",
            "name",
            "tagUuid",
            "id",
            "backgroundColor"
        ]
    );
    assert_eq!(tag["id"], "112278818");
    assert_eq!(tag["backgroundColor"], "#0000FF");
}

#[tokio::test]
async fn jobs_by_script_name_as_the_guide_does() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let r = app
        .car(
            Method::POST,
            "/sm/v1/jobs/search",
            &t,
            r#"{"filter": "script.name:Script test for subscribed modules"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["body"]["totalCount"], 13);
    let job = v["body"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "79097")
        .unwrap()
        .clone();
    assert_eq!(
        job,
        json!({
            "severity": 2, "test": true, "created": {"dateTime": 1651847969380i64}, "executionType": "Manual",
            "correlationUuid": "9bde85fb-010e-45fe-8bc0-4b55cc6c3a2a", "threshold": 12,
            "title": "Script test for subscribed modules-1651847969", "platform": "WINDOWS",
            "updatedDateTime": 1651847969380i64, "scriptId": 72653, "customerUuid": "317df02c-4ad1-55e2-83a3-5646a34fceec",
            "isTest": true, "scriptType": "Python", "id": "79097", "category": {"name": "General Automation", "id": 6}
        })
    );
    // startAt / endAt bound the creation time.
    let r = app
        .car(
            Method::POST,
            "/sm/v1/jobs/search",
            &t,
            r#"{"filter": "scriptId:72653", "startAt": "1651847969380", "endAt": "2022-05-07"}"#,
        )
        .await;
    let list = r.json()["body"]["list"].as_array().unwrap().clone();
    assert!(!list.is_empty());
    assert!(
        list.iter()
            .all(|j| j["created"]["dateTime"].as_i64().unwrap() < 1651968000000)
    );
}

#[tokio::test]
async fn asset_jobs_with_script_result_as_the_guide_does() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let body = r#"{"filter": "job.id:80507", "includeScriptResult": true, "sort": "[{\"created.dateTime\": \"desc\"}]"}"#;
    let r = app
        .car(Method::POST, "/sm/v1/assetjobs/search", &t, body)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["body"]["totalCount"], 1);
    let aj = &v["body"]["list"][0];
    assert_eq!(
        keys(aj),
        [
            "output",
            "customerUuid",
            "enddate",
            "test",
            "isTest",
            "scriptResult",
            "created",
            "id",
            "job",
            "asset",
            "manifestId",
            "status"
        ]
    );
    assert_eq!(aj["output"], json!({"code": 0, "text": "SUCCESS"}));
    assert_eq!(aj["enddate"], "2022-05-11T06:42:13.692+00:00");
    assert_eq!(
        aj["scriptResult"],
        "U2hlbGwgU2NyaXB0IE91dHB1dCBwcmludGVkISEK"
    );
    assert_eq!(aj["created"]["dateTime"], 1652251134952i64);
    assert_eq!(aj["id"], "80541");
    assert_eq!(
        keys(&aj["job"]),
        [
            "scriptId",
            "scriptType",
            "scriptSeverity",
            "scriptName",
            "correlationUuid",
            "id",
            "platform",
            "scriptCategory"
        ]
    );
    assert_eq!(aj["asset"]["name"], "sm-pc-test-Linux-vm2");
    assert_eq!(aj["asset"]["operatingSystem"], "CentOS Linux 7.9.2009");
    assert_eq!(
        aj["asset"]["tags"][1],
        json!({"name": "Test tag", "tagUuid": aj["asset"]["tags"][1]["tagUuid"], "id": 112278818})
    );
    assert_eq!(aj["manifestId"], "c202ab1e-3fbe-46ec-8e28-52f644098880");
    assert_eq!(aj["status"], "SUCCESS");
    // Without includeScriptResult there is no result.
    let r = app
        .car(
            Method::POST,
            "/sm/v1/assetjobs/search",
            &t,
            r#"{"filter": "job.id:80507"}"#,
        )
        .await;
    assert!(r.json()["body"]["list"][0].get("scriptResult").is_none());
}

#[tokio::test]
async fn activities_as_the_guide_shows() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/activities",
            &t,
            r#"{"qql": "activity: CREATE "}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(
        keys(&v),
        [
            "auditRecords",
            "totalCount",
            "pageNumber",
            "pageSize",
            "applicationName",
            "clientApp",
            "auditEnabledAppId"
        ]
    );
    assert_eq!(
        (
            v["pageNumber"].clone(),
            v["pageSize"].clone(),
            v["applicationName"].clone()
        ),
        (json!(0), json!(10), json!("SM"))
    );
    let all = app
        .car(
            Method::POST,
            "/sm/v1/scripts/activities",
            &t,
            r#"{"qql": "activity: CREATE", "pageSize": 1000}"#,
        )
        .await
        .json();
    let record = all["auditRecords"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "a563f016-8a1e-46ca-9d5f-f30a5df7f860")
        .unwrap()
        .clone();
    assert_eq!(
        record,
        json!({
            "id": "a563f016-8a1e-46ca-9d5f-f30a5df7f860", "auditEnabledAppId": 1, "applicationName": "SM", "userName": "acme_ss2",
            "userUuid": "51fbdb4b-5fb5-fdf6-8141-5a7887ec557b", "customerUuid": "317df02c-4ad1-55e2-83a3-5646a34fceec",
            "client": null, "sourceIp": null, "createdDate": 1651206222012i64, "targetType": "script", "targetName": "testFor",
            "action": "CREATE", "auditComment": null, "externalChangeLink": null, "customFields": [{"key": "targetId", "value": "16016"}]
        })
    );
    assert!(
        all["auditRecords"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["action"] == "CREATE")
    );
    // startDate / endDate.
    let v = app
        .car(
            Method::POST,
            "/sm/v1/scripts/activities",
            &t,
            r#"{"startDate": "2022-04-29", "endDate": "2022-04-29", "pageSize": 100}"#,
        )
        .await
        .json();
    assert!(v["totalCount"].as_u64().unwrap() >= 1);
    assert!(v["auditRecords"].as_array().unwrap().iter().all(|a| {
        let ms = a["createdDate"].as_i64().unwrap();
        (1651190400000..1651276800000).contains(&ms)
    }));
}

#[tokio::test]
async fn export_samples_and_import_back() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let r = app
        .car(Method::GET, "/sm/v1/scripts/export?ids=16515", &t, "")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let one = r.json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["id"], 16515);
    assert_eq!(one[0]["scriptStatus"], "APPROVED");
    let r = app
        .car(Method::GET, "/sm/v1/scripts/export?ids=72652,75508", &t, "")
        .await;
    let two = r.json();
    assert_eq!(
        two.as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].clone())
            .collect::<Vec<_>>(),
        vec![json!(72652), json!(75508)]
    );

    // The export imports back unchanged, into another customer (the titles are free there).
    let g = app.globex().await;
    let r = app
        .upload("/sm/v1/scripts/import", &g, "file", r.body.as_slice())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let ids = r.json()["ImportedIds"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 2);
    for (id, original) in ids.iter().zip(two.as_array().unwrap()) {
        let got = app
            .car(
                Method::GET,
                &format!("/sm/v1/scripts/{}", id.as_str().unwrap()),
                &g,
                "",
            )
            .await
            .json()["body"]
            .clone();
        for field in [
            "title",
            "description",
            "category",
            "platform",
            "severity",
            "threshold",
            "type",
            "content",
            "blacklistedCommands",
        ] {
            assert_eq!(got[field], original[field], "{field}");
        }
        assert_eq!(got["importedFromId"], original["id"]);
        assert_eq!(got["scriptStatus"], "PENDING_REVIEW");
    }
}

#[tokio::test]
async fn clone_samples() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/72652/clone",
            &t,
            r#"{"scriptTitle": "Restart Print Spooler (copy)"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let v = r.json();
    assert_eq!(
        (v["errorCode"].clone(), v["message"].clone()),
        (json!("0"), json!("Cloned script successfully"))
    );
    let id = v["body"]["id"].as_i64().unwrap();
    let clone = app
        .car(Method::GET, &format!("/sm/v1/scripts/{id}"), &t, "")
        .await
        .json();
    assert_eq!(
        clone["body"]["scriptStatus"], "PENDING_REVIEW",
        "a clone needs review again"
    );
    assert!(clone["body"]["approverId"].is_null());
    // The guide's curl sample names the new title `scriptId`, and the source by name.
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/Restart%20Print%20Spooler/clone",
            &t,
            r#"{"scriptId": "NewClonedScript"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn execute_sample_then_find_the_job_by_correlation_uuid() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let body = r#"{"testMode": false, "assetIds": ["20452610"], "assetTagIds": [], "excludedAssetIds": []}"#;
    let r = app
        .car(Method::POST, "/sm/v1/scripts/72648/execute", &t, body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let correlation = r.json()["body"]["correlationUuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let filter = format!(r#"{{"filter": "correlationUuid:`{correlation}`"}}"#);
    let jobs = app
        .car(Method::POST, "/sm/v1/jobs/search", &t, &filter)
        .await
        .json();
    assert_eq!(jobs["body"]["totalCount"], 1);
    assert_eq!(jobs["body"]["list"][0]["executionType"], "Manual");
    assert_eq!(jobs["body"]["list"][0]["scriptId"], 72648);
}

fn schedule(kind: &str, extra: Value) -> String {
    let mut body = json!({
        "activate": true, "assetTags": [], "assets": [{"UUId": "b1d8c7d2-0000-4000-8000-000000000001", "id": 20452610}],
        "description": "", "excludedAssets": [], "scripts": [{"id": 72648, "title": "Disk Usage Report"}],
        "title": format!("{kind} schedule"), "user": {"id": "51fbdb4b-5fb5-fdf6-8141-5a7887ec557b", "name": "FIM Automation"},
        "scheduleType": kind
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body.to_string()
}

#[tokio::test]
async fn scheduler_samples_of_every_type() {
    let app = TestApp::new().await;
    // The guide's samples are dated May 2022: set the clock just before them.
    app.state
        .clock()
        .set(crate::helpers::ms("2022-05-10T00:00:00Z"));
    let t = app.acme().await;
    let samples = [
        schedule(
            "ONE_TIME",
            json!({"endDate": "2022-05-11", "startDate": "2022-05-11", "startTime": "07:25:00"}),
        ),
        schedule(
            "MONTHLY",
            json!({"endDate": "2022-12-31", "startDate": "2022-05-12", "startTime": "09:20:00",
            "recurrenceDate": 7, "recurrenceMonth": 1, "monthlyScheduleType": "MONTHLY_DATE_OF_MONTH_JOB"}),
        ),
        schedule(
            "WEEKLY",
            json!({"endDate": "2022-05-16", "startDate": "2022-05-11", "startTime": "10:49:00", "daysOfWeek": ["1", "2"]}),
        ),
        schedule(
            "HOURLY",
            json!({"endDate": "2022-05-16", "startDate": "2022-05-11", "startTime": "10:49:00", "hourlyInterval": 6}),
        ),
        schedule(
            "DAILY",
            json!({"activate": false, "endDate": "2022-05-15", "startDate": "2022-05-11", "startTime": "09:42:00"}),
        ),
    ];
    for body in samples {
        let r = app
            .car(Method::POST, "/sm/v1/scripts/scheduler", &t, &body)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{body}: {}", r.text());
        let v = r.json();
        assert_eq!(v["errorCode"], "0");
        assert_eq!(v["message"], "Script scheduler created successfully");
        assert!(v["body"]["id"].as_str().unwrap().parse::<i64>().is_ok());
    }
}
