//! The house rules, checked on the source: every arrow between modules points down the layers
//! (no import circle, nothing low reaching up), and the pure core — nouns, kinds, schedule,
//! calendar, plan, the digest's figures and renderings — imports no tokio, no AWS SDK, no store
//! and no clock. Moving code the wrong way fails here, naming the file and the import.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may import modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    &["calendar", "clock", "diag", "metrics"],
    &["kinds"],
    &["model"],
    &["config", "ports", "schedule", "store"],
    &["aws", "plan", "idle"],
    &["digest", "engine"],
    &["service"],
    &["api"],
    &["daemon", "lambda"],
    &["cli"],
];

/// The pure core: these files may not name any of [`IMPURE`].
const PURE: &[&str] = &[
    "src/calendar.rs",
    "src/diag.rs",
    "src/kinds",
    "src/model",
    "src/schedule.rs",
    "src/plan.rs",
    "src/idle.rs",
    "src/digest/figures",
    "src/digest/render",
    "src/digest/chart.rs",
    "src/digest/prices.rs",
];

/// What the pure core must not use: the async runtime, the AWS SDK, the store, the clock, I/O.
const IMPURE: &[&str] = &[
    "tokio",
    "aws_sdk_",
    "aws_smithy",
    "aws_config",
    "crate::store",
    "crate::clock",
    "crate::aws",
    "crate::ports",
    "crate::engine",
    "crate::service",
    "ureq",
    "std::fs",
    "std::net",
    "Utc::now",
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/kinds/ecs.rs` → `kinds`; `src/plan.rs` → `plan`.
fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root.join("src")).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without its comments and its `#[cfg(test)]` modules' bodies left in: what
/// is compiled into lightsout. (Tests may use anything.)
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a file names as `crate::X`.
fn imports(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    // `use crate::{a, b}`: rare here, and read as well.
    out
}

/// Every arrow points down: no module imports one of its own layer or a higher one.
#[test]
fn every_import_points_down_the_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    files(&root.join("src"), &mut all);
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &all {
        let module = module_of(root, file);
        // Test files (`*_tests.rs`) are compiled only for tests, which may use anything.
        if module == "lib" || module == "main" || file.to_string_lossy().ends_with("_tests.rs") {
            continue;
        }
        let Some(mine) = rank(&module) else {
            panic!(
                "{}: module `{module}` is in no layer of tests/layers.rs",
                file.display()
            );
        };
        let text = std::fs::read_to_string(file).unwrap();
        for dep in imports(&code(&text)) {
            if dep == module {
                continue;
            }
            match rank(&dep) {
                Some(theirs) if theirs < mine => {}
                Some(_) => wrong
                    .entry(file.display().to_string())
                    .or_default()
                    .push(format!("{module} → {dep}")),
                None => panic!("{}: imports unknown module crate::{dep}", file.display()),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up or sideways: {wrong:#?}"
    );
}

/// The pure core does no I/O and reads no clock.
#[test]
fn the_pure_core_imports_no_runtime_sdk_store_or_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for place in PURE {
        let path = root.join(place);
        let mut list = Vec::new();
        if path.is_dir() {
            files(&path, &mut list);
        } else {
            list.push(path);
        }
        for file in list {
            if file.to_string_lossy().ends_with("_tests.rs") {
                continue;
            }
            let text = code(&std::fs::read_to_string(&file).unwrap());
            for bad in IMPURE {
                if text.contains(bad) {
                    found.push(format!("{}: {bad}", file.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "the pure core reaches out: {found:#?}");
}
