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
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        let mut w = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_path(&path)
            .unwrap();
        w.write_record(["id", "title", "kind", "status", "priority", "created_at"]).unwrap();
        let mut expected = Vec::new();
        for (i, t) in titles.iter().enumerate() {
            let created = DateTime::<Utc>::from_timestamp(secs[i], 0).unwrap();
            w.write_record([format!("P-{i}"), t.clone(), "corrective".into(), "ready".into(), "2".into(), created.to_rfc3339()]).unwrap();
            expected.push((format!("P-{i}"), t.trim().to_string(), created));
        }
        w.flush().unwrap();
        drop(w);
        let mapping = Mapping::find("generic", None, chrono_tz::Tz::UTC).unwrap();
        let mut store = Store::open("sqlite::memory:").unwrap();
        let report = import_file(&mut store, &path, &mapping, &ImportOptions::default()).unwrap();
        prop_assert_eq!(report.counts.rejected, 0, "{:?}", report.first_rejections);
        let mut got: Vec<(String, String, DateTime<Utc>)> = store.orders().unwrap().into_iter().map(|o| (o.id, o.title, o.created_at)).collect();
        got.sort_by_key(|(id, _, _)| id[2..].parse::<usize>().unwrap());
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn a_bad_cell_anywhere_is_reported_on_its_own_line(
        titles in proptest::collection::vec(title(), 2..15),
        bad in any::<prop::sample::Index>(),
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
        let report = import_file(&mut store, &path, &mapping, &ImportOptions::default()).unwrap();
        prop_assert_eq!(report.counts.rejected, 1);
        let r = &report.first_rejections[0];
        prop_assert_eq!((r.line, r.field.as_str(), r.value.as_str()), (bad_line, "status", "broken"));
    }
}
