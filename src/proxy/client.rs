//! The platform behind `--proxy-unmatched`: its HTTP client and the stub recorder, made
//! from a [`ProxyConfig`]. Data only: what forwards a request through it sits above the
//! state that holds it.

use std::sync::Arc;
use std::time::Duration;

use super::record::Recorder;
use crate::config::ProxyConfig;

/// The platform behind `--proxy-unmatched`, and the recorder when `--record-stubs` is set.
#[derive(Clone)]
pub struct Proxy {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) recorder: Option<Arc<Recorder>>,
    pub(crate) record_max_body_bytes: usize,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("base", &self.base)
            .field("recording", &self.recorder.as_ref().map(|r| r.dir()))
            .finish()
    }
}

/// `--proxy-unmatched`: an `http` or `https` URL with a host and no query or fragment; a
/// path is kept as a prefix of every forwarded path.
pub fn parse_base_url(value: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(value.trim()).map_err(|e| {
        format!("{value:?} is not a URL ({e}); give e.g. https://qualysapi.qualys.com")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "{value:?} is not an http:// or https:// URL with a host"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{value:?} has a query or fragment; the forwarded request brings its own"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

impl Proxy {
    /// The proxy `args` ask for, if any: its HTTP client (system roots plus
    /// `--proxy-ca-bundle`), and the recording folder, created if missing.
    pub fn new(config: &ProxyConfig) -> Result<Proxy, String> {
        let base = parse_base_url(&config.url).map_err(|e| format!("--proxy-unmatched: {e}"))?;
        // The crate's one TLS provider; a second install (tests in one process) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(30)))
            // The caller's own headers go through; the client adds none of its own.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &config.ca_bundle {
            let pem = std::fs::read(path)
                .map_err(|e| format!("--proxy-ca-bundle {}: {e}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                format!(
                    "--proxy-ca-bundle {}: not a PEM bundle: {e}",
                    path.display()
                )
            })?;
            if certs.is_empty() {
                return Err(format!(
                    "--proxy-ca-bundle {}: holds no certificate",
                    path.display()
                ));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| format!("--proxy-unmatched: cannot build the HTTP client: {e}"))?;
        let recorder = match &config.record_stubs {
            Some(dir) => Some(Arc::new(Recorder::create(dir)?)),
            None => None,
        };
        Ok(Proxy {
            base,
            http,
            recorder,
            record_max_body_bytes: config.record_max_body_bytes,
        })
    }
}
