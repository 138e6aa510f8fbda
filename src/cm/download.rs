//! Alert downloads: CSV exactly as the guide's sample, CEF in the guide's shape.
//!
//! CSV: a header row, every field quoted (quotes doubled), `-` for a missing value, dates
//! `YYYY-MM-DD HH:MM:SS` (UTC).
//!
//! CEF: a syslog-style first line (`MMM dd yyyy HH:mm:s host ip`, seconds unpadded as in the
//! sample), then one line per alert:
//! `CEF:0|QUALYS|QualysGuard|CM-<version>|<CATEGORY>|<EVENT_TYPE>|<severity>|<extension>`.
//! Every extension starts `cat dhost dst dmac dntdom rt`; then, per category (missing values
//! are `NA`, custom labels glued to their `csN` key as the sample does):
//!
//! | category | extension keys after `rt` |
//! | --- | --- |
//! | HOST | `cs1operatingSystem` |
//! | PORT | `cs1operatingSystem dpt cs2protocol cs3defaultService` (the sample) |
//! | VULN | `cs1operatingSystem dpt cs2qid cs3title cs4severity` |
//! | SSL | `dpt cs1sslName cs2sslIssuer cs3sslExpiry` |
//! | SOFTWARE | `cs1operatingSystem cs2softwareName cs3softwareVersion` |
//! | TICKET | `cs1ticketNumber cs2ticketState` |
//!
//! The CEF severity is the vulnerability's severity for VULN events and 0 otherwise.
//!
//! The `fields` URL parameter limits downloads as it limits searches (CM guide): a CSV
//! column or a CEF extension key is written only when its alert field (`id`, `eventType`,
//! `profile.title`, `alertInfo.port`, ...) or a parent of it is listed. The CEF header
//! (`CEF:0|...|<CATEGORY>|<EVENT_TYPE>|<severity>|`) is the format's own and always written.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::format_description;

use super::error::CmError;
use super::fields::Fields;
use super::version::CM_VERSION;
use crate::dates;
use crate::store::cm::AlertRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Cef,
}

impl Format {
    pub fn from_param(param: Option<&String>) -> Result<Format, CmError> {
        let Some(value) = param.map(|v| v.trim()).filter(|v| !v.is_empty()) else {
            return Err(CmError::invalid_request(
                "format: Value is required.",
                "Specify the download format: format=csv or format=cef.",
            ));
        };
        match value.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "cef" => Ok(Format::Cef),
            _ => Err(CmError::invalid_request(
                format!("format: Invalid value ({value})."),
                "Allowed values: csv, cef.",
            )),
        }
    }
}

pub fn render(
    format: Format,
    alerts: &[AlertRow],
    now: OffsetDateTime,
    host: &str,
    fields: Option<&Fields>,
) -> Response {
    let (body, content_type, file) = match format {
        Format::Csv => (csv(alerts, fields), "text/csv;charset=UTF-8", "alerts.csv"),
        Format::Cef => (
            cef(alerts, now, host, fields),
            "text/plain;charset=UTF-8",
            "alerts.cef",
        ),
    };
    let disposition = format!("attachment; filename=\"{file}\"");
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

fn info_text(info: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    match info.get(key)? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

// --- CSV ---------------------------------------------------------------------------------

/// The CSV columns and the alert field each shows.
const CSV_HEADER: [(&str, &str); 9] = [
    ("AlertId", "id"),
    ("Event Type", "eventType"),
    ("ProfileId", "profile.id"),
    ("Profile Name", "profile.title"),
    ("IP Address", "ipAddress"),
    ("Hostname", "hostname"),
    ("Operating System", "alertInfo.operatingSystem"),
    ("Event Date", "eventDate"),
    ("Alert Date", "alertDate"),
];

fn kept(fields: Option<&Fields>, path: &str) -> bool {
    fields.is_none_or(|f| f.selects(path))
}

fn csv_field(v: Option<&str>) -> String {
    match v {
        Some(v) if !v.is_empty() => format!("\"{}\"", v.replace('"', "\"\"")),
        _ => "\"-\"".to_owned(),
    }
}

fn csv_date(seconds: i64) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    dates::from_s(seconds).format(&fmt).unwrap_or_default()
}

pub fn csv(alerts: &[AlertRow], fields: Option<&Fields>) -> String {
    let columns: Vec<bool> = CSV_HEADER
        .iter()
        .map(|(_, path)| kept(fields, path))
        .collect();
    let keep = |row: [String; 9]| -> String {
        row.into_iter()
            .zip(&columns)
            .filter(|(_, k)| **k)
            .map(|(v, _)| v)
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut out = String::with_capacity(64 + alerts.len() * 160);
    out.push_str(&keep(CSV_HEADER.map(|(h, _)| csv_field(Some(h)))));
    out.push('\n');
    for a in alerts {
        let profile_id = a.profile.as_ref().map(|p| p.id.to_string());
        let row = [
            csv_field(Some(&a.id.to_string())),
            csv_field(Some(&a.event_type)),
            csv_field(profile_id.as_deref()),
            csv_field(a.profile.as_ref().map(|p| p.title.as_str())),
            csv_field(Some(&a.ip_address)),
            csv_field(Some(&a.hostname)),
            csv_field(info_text(&a.alert_info(), "operatingSystem").as_deref()),
            csv_field(Some(&csv_date(a.event_s))),
            csv_field(Some(&csv_date(a.alert_s))),
        ];
        out.push_str(&keep(row));
        out.push('\n');
    }
    out
}

// --- CEF ---------------------------------------------------------------------------------

fn cef_date(seconds: i64) -> String {
    let fmt = format_description!("[month repr:short] [day] [year] [hour]:[minute]:[second]");
    dates::from_s(seconds).format(&fmt).unwrap_or_default()
}

/// The syslog-style first line: `Jun 06 2017 15:43:9 host ip`.
fn cef_first_line(now: OffsetDateTime, host: &str) -> String {
    let fmt = format_description!("[month repr:short] [day] [year] [hour]:[minute]:");
    format!(
        "{}{} {host} 127.0.0.1",
        now.format(&fmt).unwrap_or_default(),
        now.second()
    )
}

/// Header fields escape `|` and `\`; extension values escape `=` and `\` (spaces stay, as
/// the sample shows).
fn cef_header(v: &str) -> String {
    v.replace('\\', "\\\\").replace('|', "\\|")
}

fn cef_value(v: Option<String>) -> String {
    match v {
        Some(v) => v
            .replace('\\', "\\\\")
            .replace('=', "\\=")
            .replace(['\n', '\r'], " "),
        None => "NA".to_owned(),
    }
}

pub fn category(event_type: &str) -> &'static str {
    match event_type.split('_').next().unwrap_or_default() {
        "HOST" => "HOST",
        "PORT" => "PORT",
        "VULN" => "VULN",
        "SSL" => "SSL",
        "SOFTWARE" => "SOFTWARE",
        "TICKET" => "TICKET",
        _ => "OTHER",
    }
}

/// The alert field a CEF extension key shows.
fn cef_field(key: &str) -> String {
    match key {
        "cat" => "eventType".to_owned(),
        "dhost" => "hostname".to_owned(),
        "dst" => "ipAddress".to_owned(),
        "dmac" => "alertInfo.macAddress".to_owned(),
        "dntdom" => "alertInfo.netbiosName".to_owned(),
        "rt" => "eventDate".to_owned(),
        "dpt" => "alertInfo.port".to_owned(),
        // `cs1operatingSystem` -> `alertInfo.operatingSystem`
        custom => format!(
            "alertInfo.{}",
            custom.trim_start_matches(|c: char| c == 'c' || c == 's' || c.is_ascii_digit())
        ),
    }
}

pub fn cef(
    alerts: &[AlertRow],
    now: OffsetDateTime,
    host: &str,
    fields: Option<&Fields>,
) -> String {
    let mut out = cef_first_line(now, host);
    out.push('\n');
    for a in alerts {
        let cat = category(&a.event_type);
        let details = a.alert_info();
        let info = |k: &str| info_text(&details, k);
        let severity = if cat == "VULN" {
            info("severity").unwrap_or_else(|| "0".to_owned())
        } else {
            "0".to_owned()
        };
        let netbios = info("netbiosName").map(|n| n.to_uppercase());
        let mut ext: Vec<(&str, String)> = vec![
            ("cat", cat.to_owned()),
            (
                "dhost",
                cef_value(Some(a.hostname.clone()).filter(|h| !h.is_empty())),
            ),
            ("dst", cef_value(Some(a.ip_address.clone()))),
            ("dmac", cef_value(info("macAddress"))),
            ("dntdom", cef_value(netbios)),
            ("rt", cef_date(a.event_s)),
        ];
        let mut add = |k: &'static str, v: Option<String>| ext.push((k, cef_value(v)));
        match cat {
            "HOST" => add("cs1operatingSystem", info("operatingSystem")),
            "PORT" => {
                add("cs1operatingSystem", info("operatingSystem"));
                add("dpt", info("port"));
                add("cs2protocol", info("protocol"));
                add("cs3defaultService", info("defaultService"));
            }
            "VULN" => {
                add("cs1operatingSystem", info("operatingSystem"));
                add("dpt", info("port"));
                add("cs2qid", info("qid"));
                add("cs3title", info("title"));
                add("cs4severity", info("severity"));
            }
            "SSL" => {
                add("dpt", info("port"));
                add("cs1sslName", info("sslName"));
                add("cs2sslIssuer", info("sslIssuer"));
                add(
                    "cs3sslExpiry",
                    info("sslExpiry").map(|e| dates::parse_s(&e).map_or(e, cef_date)),
                );
            }
            "SOFTWARE" => {
                add("cs1operatingSystem", info("operatingSystem"));
                add("cs2softwareName", info("softwareName"));
                add("cs3softwareVersion", info("softwareVersion"));
            }
            "TICKET" => {
                add("cs1ticketNumber", info("ticketNumber"));
                add("cs2ticketState", info("ticketState"));
            }
            _ => {}
        }
        let extension: Vec<String> = ext
            .into_iter()
            .filter(|(k, _)| kept(fields, &cef_field(k)))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push_str(&format!(
            "CEF:0|QUALYS|QualysGuard|CM-{}|{}|{}|{}|{}\n",
            cef_header(CM_VERSION),
            cef_header(cat),
            cef_header(&a.event_type),
            cef_header(&severity),
            extension.join(" ")
        ));
    }
    out
}
