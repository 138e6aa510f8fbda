//! Where the store lives, seen from outside with the real binary: the default private file,
//! removed when the server stops; a killed server's file, removed by the next server; memory
//! when no file can be made.

use std::net::SocketAddr;
use std::path::Path;

use crate::reach::{Spawned, plain_client};

fn health(addr: SocketAddr) -> serde_json::Value {
    let body = tokio::runtime::Runtime::new().unwrap().block_on(async {
        plain_client()
            .get(format!("http://{addr}/_mock/health"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    });
    serde_json::from_slice(&body).unwrap()
}

/// The store files in `dir`: `qualys-mock-<pid>-<random>.db` and its `-wal` and `-shm`.
fn store_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("qualys-mock-") && n.contains(".db"))
        .collect();
    names.sort();
    names
}

#[test]
fn the_default_store_is_a_private_file_removed_when_the_server_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let env = [("TMPDIR", tmp.path().to_str().unwrap())];
    let mut server = Spawned::start(&[], &env);
    let store = &health(server.http)["store"];
    assert_eq!(store["kind"], "private", "{store}");
    assert!(store["readers"].as_u64().unwrap() >= 4, "{store}");
    let pid = server.child.id();
    let files = store_files(tmp.path());
    assert!(
        files
            .iter()
            .any(|f| f.starts_with(&format!("qualys-mock-{pid}-")) && f.ends_with(".db")),
        "{files:?}"
    );
    server.stop();
    assert_eq!(store_files(tmp.path()), Vec::<String>::new());

    // SIGKILL leaves the files; the next server to start removes them, not its own.
    let mut killed = Spawned::start(&[], &env);
    killed.child.kill().unwrap();
    killed.child.wait().unwrap();
    let left = store_files(tmp.path());
    assert!(!left.is_empty());
    let mut next = Spawned::start(&[], &env);
    let now = store_files(tmp.path());
    assert!(now.iter().all(|f| !left.contains(f)), "{left:?} / {now:?}");
    assert!(
        now.iter()
            .any(|f| f.starts_with(&format!("qualys-mock-{}-", next.child.id()))),
        "{now:?}"
    );
    assert_eq!(health(next.http)["store"]["kind"], "private");
    next.stop();
    assert_eq!(store_files(tmp.path()), Vec::<String>::new());
}

#[test]
fn with_no_temporary_folder_the_store_is_in_memory_with_a_warning() {
    let mut server = Spawned::start(&[], &[("TMPDIR", "/nonexistent/qualys-mock-test")]);
    let health = health(server.http);
    assert_eq!(health["store"]["kind"], "memory", "{health}");
    assert_eq!(health["store"]["readers"], 0);
    assert_eq!(health["counts"]["users"], 3);
    let log = server.stop();
    assert!(log.contains("the store is in memory"), "{log}");
}

/// Servers started at the same moment in one temporary folder (pytest-xdist starts one per
/// worker), each sweeping it for stale stores, keep their own private files: every one is
/// "private", its `.db` and `.lock` are there while it runs, and nothing is left after.
/// (bench/parallel_start runs the same check 8 × 100 times.)
#[test]
fn servers_started_at_once_in_one_folder_keep_their_private_stores() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap().to_owned();
    for _round in 0..5 {
        let mut servers: Vec<Spawned> = std::thread::scope(|s| {
            let starting: Vec<_> = (0..8)
                .map(|_| s.spawn(|| Spawned::start(&["--log", "warn"], &[("TMPDIR", &dir)])))
                .collect();
            starting.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let names: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        for server in &servers {
            let store = &health(server.http)["store"];
            assert_eq!(store["kind"], "private", "{store}");
            let mine = format!("qualys-mock-{}-", server.child.id());
            for ext in [".db", ".lock"] {
                assert!(
                    names
                        .iter()
                        .any(|n| n.starts_with(&mine) && n.ends_with(ext)),
                    "pid {} lost its {ext}: {names:?}",
                    server.child.id()
                );
            }
        }
        for server in &mut servers {
            server.stop();
        }
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
