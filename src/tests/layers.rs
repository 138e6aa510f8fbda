//! The crate's layers: every top-level module of `src/` (a file or a folder) sits in one
//! layer, and no module imports one in a layer above its own. Modules of one layer may
//! import each other; the crate root (`lib.rs`, `main.rs`) and these tests stand above all.
//!
//! Read from the source itself: every `crate::` path outside comments, grouped imports
//! (`use crate::{a, b}`) included, in code and in its `#[cfg(test)]` modules alike.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers, top first. A new top-level module goes into the layer of what may import it.
const LAYERS: &[&[&str]] = &[
    // The binary's command line and the in-process server.
    &["cli", "mock"],
    // A server: listeners, ready file, shutdown.
    &["server"],
    // The router: every surface merged, the front layer.
    &["app"],
    // The control API's description; the requests no emulated route takes.
    &["openapi", "unrouted"],
    // `/_mock/*`.
    &["control"],
    // The `record` subcommand; the classic platform surface.
    &["record", "classic"],
    // The CM surface (its errors word the CAR's full-disk text).
    &["cm"],
    // The CAR surface.
    &["car"],
    // What every handler can reach; the `generate` subcommand.
    &["state", "generate"],
    // The platform behind `--proxy-unmatched` (its recorder writes stub mappings).
    &["proxy"],
    // The store, the configuration, the stub mappings, connections.
    &["store", "config", "stubs", "conn"],
    // The clock; what every request passes through.
    &["clock", "http"],
    // Leaves: they import no module of the crate.
    &[
        "auth",
        "dates",
        "guard",
        "healthcheck",
        "iprange",
        "logging",
        "page",
        "query",
        "rng",
        "schemas",
        "tls",
        "xml",
    ],
];

/// Outside the layers: the crate root and the tests that need the whole crate.
const ABOVE_ALL: &[&str] = &["lib", "main", "tests"];

fn layer(unit: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&unit))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to: its first folder, or its file name.
fn unit_of(relative: &Path) -> String {
    let first = relative.components().next().unwrap();
    let first = first.as_os_str().to_str().unwrap();
    first.strip_suffix(".rs").unwrap_or(first).to_owned()
}

/// The code of `text` without its comments (`//` to the end of a line, doc comments
/// included).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| line.find("//").map_or(line, |at| &line[..at]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first name of each `crate::` path in `code`: `crate::store::Caller` names `store`,
/// `crate::{car, cm::reply}` names `car` and `cm`.
fn crate_paths(code: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut start) = (0usize, 0usize);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        names.push(ident(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            names.push(ident(rest));
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

/// Each import of a module in a layer above the importer's, as `file: crate::name`, and
/// each top-level module no layer declares.
fn upward_imports(src: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let units: BTreeSet<String> = files
        .iter()
        .map(|f| unit_of(f.strip_prefix(src).unwrap()))
        .collect();
    let undeclared: BTreeSet<String> = units
        .iter()
        .filter(|u| layer(u).is_none() && !ABOVE_ALL.contains(&u.as_str()))
        .cloned()
        .collect();
    let mut upward = BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(src).unwrap();
        let unit = unit_of(relative);
        let Some(own) = layer(&unit) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for name in crate_paths(&code(&text)) {
            if name == unit || !units.contains(&name) {
                continue;
            }
            if let Some(theirs) = layer(&name)
                && theirs < own
            {
                upward.insert(format!("src/{}: crate::{name}", relative.display()));
            }
        }
    }
    (upward, undeclared)
}

#[test]
fn no_module_imports_one_in_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (upward, undeclared) = upward_imports(&src);
    assert!(
        undeclared.is_empty(),
        "top-level modules in no layer (declare them in src/tests/layers.rs): {undeclared:?}"
    );
    assert!(
        upward.is_empty(),
        "imports of a module in a layer above the importer's:\n{}",
        Vec::from_iter(upward).join("\n")
    );
}

#[test]
fn every_declared_module_exists_once() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut seen = BTreeSet::new();
    for unit in LAYERS.iter().flat_map(|layer| layer.iter()) {
        assert!(seen.insert(*unit), "{unit} is declared twice");
        assert!(
            src.join(format!("{unit}.rs")).is_file() || src.join(unit).join("mod.rs").is_file(),
            "{unit} is declared but there is no src/{unit}.rs or src/{unit}/mod.rs"
        );
    }
}

#[test]
fn paths_are_read_from_uses_groups_and_expressions_but_not_comments() {
    let text = "use crate::{car, cm::reply::{Ctx, self}};\n\
                let x = crate::store::Caller::default(); // crate::app\n\
                /// [`crate::mock::MockServer`]\n\
                qualys_mock::crate::nothing;";
    assert_eq!(crate_paths(&code(text)), ["car", "cm", "store"]);
}
