//! HTTPS: the certificate (given, or generated at start) and a TLS listener for
//! `axum::serve`.
//!
//! With no `--tls-cert`/`--tls-key`, a throw-away certificate authority is made at start and
//! signs a server certificate for `localhost`, `127.0.0.1`, `::1` and the `--tls-san` names
//! (a docker-compose service name, say). The CA's PEM is written to a file so a client can
//! trust it (`REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`,
//! `curl --cacert`). A CA plus a leaf, rather than one self-signed leaf, is what strict
//! verifiers (Python 3.13's `VERIFY_X509_STRICT`, webpki) accept.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("cannot write the certificate to {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("invalid certificate or key: {0}")]
    Config(#[from] rustls::Error),
    #[error("--tls-cert and --tls-key go together: give both or neither")]
    HalfPair,
}

/// A certificate chain and its key, ready for rustls.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// PEM of what a client should trust (the generated CA), when generated.
    pub trust_pem: Option<String>,
}

impl Identity {
    /// Load a PEM certificate chain and private key.
    pub fn load(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
        let read_err = |path: &Path, e: &dyn std::fmt::Display| TlsError::Read {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| read_err(cert, &e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| read_err(cert, &e))?;
        if chain.is_empty() {
            return Err(read_err(cert, &"no certificate in the file"));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| read_err(key, &e))?;
        Ok(Identity {
            chain,
            key,
            trust_pem: None,
        })
    }

    /// Make a CA and a server certificate for `localhost`, `127.0.0.1` and `::1`.
    #[cfg(test)]
    pub fn generate() -> Result<Identity, TlsError> {
        Identity::generate_for(&[])
    }

    /// Make a CA and a server certificate for `localhost`, `127.0.0.1`, `::1` and `extra`
    /// (DNS names or IP addresses).
    pub fn generate_for(extra: &[String]) -> Result<Identity, TlsError> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "qualys-mock local CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate()?;
        let mut names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        for name in extra {
            if !name.is_empty() && !names.contains(name) {
                names.push(name.clone());
            }
        }
        let mut leaf = CertificateParams::new(names)?;
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.use_authority_key_identifier_extension = true;
        leaf.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;

        let key =
            PrivateKeyDer::try_from(leaf_key.serialize_der()).map_err(|e| TlsError::Read {
                path: PathBuf::from("<generated key>"),
                message: e.to_string(),
            })?;
        Ok(Identity {
            chain: vec![leaf_cert.der().clone(), ca_cert.der().clone()],
            key,
            trust_pem: Some(ca_cert.pem()),
        })
    }

    /// The rustls configuration (ring provider; HTTP/1.1 over ALPN).
    pub fn server_config(self) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain, self.key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Where the generated CA goes without `--tls-cert-out`: the temp folder, named by the
/// HTTPS port, so servers on one machine do not overwrite each other's file.
pub fn default_trust_pem_path(https_port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("qualys-mock-ca-{https_port}.pem"))
}

/// Write the PEM a client should trust.
pub fn write_trust_pem(path: &Path, pem: &str) -> Result<(), TlsError> {
    std::fs::write(path, pem).map_err(|source| TlsError::Write {
        path: path.to_owned(),
        source,
    })
}

/// A listener that hands `axum::serve` connections whose TLS handshake has completed.
///
/// Handshakes run in their own tasks, so one slow client does not hold up the others.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor_task: JoinHandle<()>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, ready) = mpsc::channel(64);
        let acceptor_task = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(error = %e, "https accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            ready,
            local,
            acceptor_task,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor_task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The acceptor task only ends when aborted; wait for shutdown.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}
