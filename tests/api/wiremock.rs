//! WireMock itself, for the tests that compare with it or replay through it: the standalone
//! jar (`WIREMOCK_JAR`, else the npm package `wiremock` that `.ci/run` installs under
//! `target/wiremock`) run with Java.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::xsd::running_in_ci;

/// The jar, when it and Java are installed; otherwise `None`, said loudly on stderr with
/// what goes unchecked (`unchecked`), and a failure under `CI`.
pub(crate) fn jar(unchecked: &str) -> Option<PathBuf> {
    let jar = std::env::var_os("WIREMOCK_JAR")
        .map(PathBuf::from)
        .or_else(|| {
            let build = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/wiremock/node_modules/wiremock/build");
            std::fs::read_dir(build).ok()?.find_map(|e| {
                let path = e.ok()?.path();
                let name = path.file_name()?.to_str()?;
                (name.starts_with("wiremock-standalone-") && name.ends_with(".jar")).then_some(path)
            })
        })
        .filter(|p| p.is_file());
    let java = Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if let (Some(jar), true) = (&jar, java) {
        return Some(jar.clone());
    }
    let message = format!(
        "WireMock or Java is not installed: {unchecked} (npm install --prefix target/wiremock \
         wiremock, apt-get install default-jre-headless, or set WIREMOCK_JAR)"
    );
    if running_in_ci() {
        panic!("{message}; CI is set, so this is a failure, not a skip");
    }
    // Straight to the process's stderr: the harness hides captured output of a passing test.
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("\n!!!!!!!! {message} !!!!!!!!\n\n").as_bytes());
    None
}

/// WireMock serving `root` (`mappings/`, `__files/`), killed when dropped.
pub(crate) struct WireMock {
    child: Child,
    pub(crate) base: String,
}

impl Drop for WireMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start WireMock on a free port over `root` and wait (up to 60 s) until it answers.
pub(crate) async fn start(jar: &Path, root: &Path) -> WireMock {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("java")
        .arg("-jar")
        .arg(jar)
        .args(["--port", &port.to_string(), "--bind-address", "127.0.0.1"])
        .args(["--disable-banner", "--root-dir"])
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start WireMock");
    let wiremock = WireMock {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = crate::reach::plain_client();
    for _ in 0..600 {
        let health = client
            .get(format!("{}/__admin/mappings", wiremock.base))
            .send()
            .await;
        if health.is_ok_and(|r| r.status().is_success()) {
            return wiremock;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("WireMock did not start on port {port} within 60 s");
}
