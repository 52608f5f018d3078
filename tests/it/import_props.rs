//! Property tests: arbitrary CSV content through the real import path (library API).

use chrono::{DateTime, Utc};
use gemba::import::{ImportOptions, import_file};
use gemba::mapping::Mapping;
use gemba::store::Store;
use proptest::prelude::*;

fn title() -> impl Strategy<Value = String> {
    // Printable text with the characters that break naive CSV handling.
    proptest::collection::vec(
        prop_oneof![
            Just(",".to_string()),
            Just(";".to_string()),
            Just("\"".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\t".to_string()),
            "[a-zA-Z0-9 äöüßé–€<>&']{1,6}",
        ],
        1..8,
    )
    .prop_map(|parts| parts.concat())
    .prop_filter("blank titles are missing values", |t| !t.trim().is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn titles_and_dates_survive_any_quoting_and_delimiter(
        titles in proptest::collection::vec(title(), 1..20),
        delimiter in prop_oneof![Just(b','), Just(b';'), Just(b'\t')],
        crlf in any::<bool>(),
        secs in proptest::collection::vec(0i64..4_000_000_000, 20),
        blank_after in proptest::collection::vec(any::<bool>(), 20),
        chunk in 1usize..6,
    ) {
        // Records, blank lines between some of them, and runs of `chunk` records parsed
        // together: every edge case of a record on the edge of a run.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let record = |fields: &[String]| {
            let mut w = csv::WriterBuilder::new()
                .delimiter(delimiter)
                .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
                .from_writer(Vec::new());
            w.write_record(fields).unwrap();
            w.into_inner().unwrap()
        };
        let header: Vec<String> = ["id", "title", "kind", "status", "priority", "created_at"].map(String::from).to_vec();
        let mut text = record(&header);
        let mut expected = Vec::new();
        for (i, t) in titles.iter().enumerate() {
            let created = DateTime::<Utc>::from_timestamp(secs[i], 0).unwrap();
            text.extend(record(&[format!("P-{i}"), t.clone(), "corrective".into(), "ready".into(), "2".into(), created.to_rfc3339()]));
            if blank_after[i] {
                text.extend_from_slice(eol);
            }
            expected.push((format!("P-{i}"), t.trim().to_string(), created));
        }
        std::fs::write(&path, text).unwrap();
        let mapping = Mapping::find("generic", None, chrono_tz::Tz::UTC).unwrap();
        let mut store = Store::open("sqlite::memory:").unwrap();
        let opts = ImportOptions { chunk_rows: Some(chunk), ..ImportOptions::default() };
        let report = import_file(&mut store, &path, &mapping, &opts).unwrap();
        prop_assert_eq!(report.counts.rejected, 0, "{:?}", report.first_rejections);
        let mut got: Vec<(String, String, DateTime<Utc>)> = store.orders().unwrap().into_iter().map(|o| (o.id, o.title, o.created_at)).collect();
        got.sort_by_key(|(id, _, _)| id[2..].parse::<usize>().unwrap());
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn a_bad_cell_anywhere_is_reported_on_its_own_line(
        titles in proptest::collection::vec(title(), 2..15),
        bad in any::<prop::sample::Index>(),
        chunk in 1usize..6,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        let mut w = csv::Writer::from_path(&path).unwrap();
        w.write_record(["id", "title", "kind", "status", "priority", "created_at"]).unwrap();
        let bad = bad.index(titles.len());
        let mut line = 2u64;
        let mut bad_line = 0;
        for (i, t) in titles.iter().enumerate() {
            let status = if i == bad { "broken" } else { "ready" };
            if i == bad { bad_line = line; }
            w.write_record([format!("P-{i}"), t.clone(), "corrective".into(), status.into(), "2".into(), "2026-03-01".into()]).unwrap();
            line += 1 + t.matches('\n').count() as u64;
        }
        w.flush().unwrap();
        drop(w);
        let mapping = Mapping::find("generic", None, chrono_tz::Tz::UTC).unwrap();
        let mut store = Store::open("sqlite::memory:").unwrap();
        let opts = ImportOptions { chunk_rows: Some(chunk), ..ImportOptions::default() };
        let report = import_file(&mut store, &path, &mapping, &opts).unwrap();
        prop_assert_eq!(report.counts.rejected, 1);
        let r = &report.first_rejections[0];
        prop_assert_eq!((r.line, r.field.as_str(), r.value.as_str()), (bad_line, "status", "broken"));
    }
}

/// A generic CSV of `rows` (id number, status), all else fixed but the title, which tells the
/// file apart.
fn write_orders(path: &std::path::Path, file: usize, rows: &[(u8, bool)]) {
    let mut text = String::from("id,title,kind,status,priority,created_at,estimated_hours\n");
    for (id, done) in rows {
        let status = if *done { "completed" } else { "ready" };
        text.push_str(&format!(
            "P-{id},from file {file},corrective,{status},{},2026-03-0{}T08:00:00Z,{}\n",
            1 + id % 5,
            1 + id % 9,
            id % 4
        ));
    }
    std::fs::write(path, text).unwrap();
}

fn sorted(frame: polars::prelude::DataFrame) -> polars::prelude::DataFrame {
    frame.sort(["source", "id"], Default::default()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The frame gathered while importing, with the stored orders no import touched, is the
    /// frame a reload of the store gives: what today's snapshot after `gemba import` reads.
    #[test]
    fn the_frame_gathered_by_imports_is_the_frame_of_the_store(
        stored in proptest::collection::vec((0u8..12, any::<bool>()), 0..10),
        imports in proptest::collection::vec(
            (prop_oneof![Just("a"), Just("b")], proptest::collection::vec((0u8..12, any::<bool>()), 0..10)),
            1..4,
        ),
        chunk in 1usize..4,
    ) {
        let cfg = gemba::config::Config::parse(gemba::config::DEFAULT_CONFIG, "default").unwrap();
        let mapping = Mapping::find("generic", None, chrono_tz::Tz::UTC).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open("sqlite::memory:").unwrap();
        // What is in the store before: source `a`, and an order of another source.
        let before = dir.path().join("before.csv");
        write_orders(&before, 0, &stored);
        import_file(&mut store, &before, &mapping, &ImportOptions { source: Some("a".into()), ..ImportOptions::default() }).unwrap();
        write_orders(&before, 0, &[(1, false)]);
        import_file(&mut store, &before, &mapping, &ImportOptions { source: Some("c".into()), ..ImportOptions::default() }).unwrap();
        let mut gathered = Vec::new();
        for (k, (source, rows)) in imports.iter().enumerate() {
            let path = dir.path().join(format!("{k}.csv"));
            write_orders(&path, k + 1, rows);
            let opts = ImportOptions {
                source: Some(source.to_string()),
                gather: Some(cfg.clone()),
                chunk_rows: Some(chunk),
                ..ImportOptions::default()
            };
            let mut report = import_file(&mut store, &path, &mapping, &opts).unwrap();
            gathered.push(report.gathered.take().unwrap());
        }
        let after = gemba::metrics::frame::frame_after_imports(&mut store, &cfg, gathered).unwrap();
        let loaded = gemba::metrics::frame::load_frame(&mut store, &cfg).unwrap();
        prop_assert_eq!(after.height(), loaded.height());
        let (after, loaded) = (sorted(after), sorted(loaded));
        prop_assert!(after.equals_missing(&loaded), "{after}\n{loaded}");
    }
}
