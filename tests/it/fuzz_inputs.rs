//! The fuzz targets' checks (fuzz/src/checks.rs) over every seed of fuzz/seeds.txt and every
//! input fuzzing found (fuzz/regressions/TARGET/): the properties the fuzzers hold the code to
//! hold in the normal suite, and a crash once found stays fixed.

use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/checks.rs"]
mod checks;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The files that seed `target`, as benches/fuzz.sh gathers them.
fn inputs(target: &str) -> Vec<PathBuf> {
    let seeds = std::fs::read_to_string(root().join("fuzz/seeds.txt")).unwrap();
    let mut dirs: Vec<(PathBuf, Vec<String>)> = seeds
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(target)).then(|| {
                let dir = root().join(words.next().expect("a directory after the target"));
                (dir, words.map(String::from).collect())
            })
        })
        .collect();
    dirs.push((root().join("fuzz/regressions").join(target), Vec::new()));
    let mut files = Vec::new();
    for (dir, exts) in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            let ext = path.extension().and_then(|x| x.to_str()).unwrap_or("");
            if path.is_file() && (exts.is_empty() || exts.iter().any(|x| x == ext)) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn holds(target: &str, check: fn(&[u8])) {
    let files = inputs(target);
    assert!(files.len() >= 3, "{target}: only {files:?}");
    let failed: Vec<String> = files
        .iter()
        .filter(|f| {
            let data = std::fs::read(f).unwrap();
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(failed.is_empty(), "{target} fails on {failed:?}");
}

#[test]
fn csv_generic_inputs_hold() {
    holds("csv_generic", checks::csv_generic);
}

#[test]
fn csv_sap_pm_inputs_hold() {
    holds("csv_sap_pm", checks::csv_sap_pm);
}

#[test]
fn date_inputs_hold() {
    holds("dates", checks::dates);
}

#[test]
fn toml_inputs_hold() {
    holds("toml", checks::toml);
}

#[test]
fn crontab_inputs_hold() {
    holds("crontab", checks::crontab);
}

#[test]
fn api_page_inputs_hold() {
    holds("api_page", checks::api_page);
}
