//! The layers point one way: `domain` ← `store` ← `auth` (the rules) ← `http` (axum) ←
//! `app`/`main`. This reads the sources and fails, naming file and line, when a module refers
//! to a layer above it, so a shortcut through the router state cannot creep back in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// (directory under `src/`, the paths code in it must not name)
const RULES: &[(&str, &[&str])] = &[
    (
        "domain",
        &[
            "crate::store",
            "crate::auth",
            "crate::http",
            "crate::app",
            "crate::AppState",
        ],
    ),
    (
        "store",
        &["crate::auth", "crate::http", "crate::app", "crate::AppState"],
    ),
    (
        "auth",
        &["crate::http", "crate::app", "crate::AppState", "crate::Application"],
    ),
];

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

/// Every line of code under `src/<dir>` (comments left out) that names a forbidden path.
fn violations(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root.join(dir), &mut files);
    // `src/auth.rs`-style module roots sit beside their directory.
    let beside = root.join(format!("{dir}.rs"));
    if beside.exists() {
        files.push(beside);
    }
    assert!(!files.is_empty(), "no sources found under src/{dir}");
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            // `use crate::{http, ...}` names the layer too.
            let grouped = code.contains("use crate::{") && forbidden.iter().any(|f| code.contains(&f[7..]));
            if grouped || forbidden.iter().any(|f| code.contains(f)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn lower_layers_do_not_import_higher_ones() {
    let mut all = Vec::new();
    for (dir, forbidden) in RULES {
        all.extend(violations(dir, forbidden));
    }
    assert!(
        all.is_empty(),
        "these lines import a higher layer (domain <- store <- auth <- http <- app):\n{}",
        all.join("\n")
    );
}

#[test]
fn the_check_sees_a_violation() {
    // The scanner itself: `http` code does name `crate::app`, so a rule against it finds lines.
    assert!(!violations("http", &["crate::app"]).is_empty());
}
