//! What each fuzz target checks, for any bytes: more than "no panic". A row is stored or
//! rejected with its line, field and reason, and the counts add up; a parser that accepts its
//! input gives back something that works; one that refuses says where.
//!
//! The normal test suite runs these same functions over the seeds and every input fuzzing
//! found (tests/it/fuzz_inputs.rs includes this file), so they use only gemba and crates it
//! depends on itself.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use chrono_tz::Tz;
use gemba::import::{ImportOptions, import_file};
use gemba::mapping::Mapping;
use gemba::mapping::dates::{DateSettings, DayOrder, UnixUnit};
use gemba::model::Field;
use gemba::store::{MAX_STORED_REJECTIONS, Rejection, Store};
use gemba::sync::manifest::Manifest;
use gemba::sync::{PageMapper, records};

/// A CSV file through the `generic` profile.
pub fn csv_generic(data: &[u8]) {
    csv_import(data, "generic");
}

/// A CSV file through `sap-pm`: value maps, a status split into codes, day-first dates,
/// decimal commas, OData dates.
pub fn csv_sap_pm(data: &[u8]) {
    csv_import(data, "sap-pm");
}

/// Imports into one in-memory store before it is opened afresh, so a long run stays small.
const IMPORTS_PER_STORE: u32 = 200;

struct Bench {
    store: Store,
    imports: u32,
    file: PathBuf,
}

thread_local! {
    static BENCH: RefCell<Option<Bench>> = const { RefCell::new(None) };
}

/// Imports `data` as a file twice, as a dry run and for real (in runs of a few records, so
/// records fall on every edge of a run), each under a source of its own.
fn csv_import(data: &[u8], profile: &str) {
    let mapping = Mapping::find(profile, None, Tz::UTC).expect("a shipped profile");
    BENCH.with_borrow_mut(|bench| {
        if bench
            .as_ref()
            .is_none_or(|b| b.imports >= IMPORTS_PER_STORE)
        {
            *bench = Some(Bench {
                store: Store::open("sqlite::memory:").expect("an in-memory store"),
                imports: 0,
                file: std::env::temp_dir()
                    .join(format!("gemba-fuzz-{}-{profile}.csv", std::process::id())),
            });
        }
        let Bench {
            store,
            imports,
            file,
        } = bench.as_mut().expect("opened above");
        *imports += 1;
        std::fs::write(&*file, data).expect("the fuzz input is written to a temporary file");
        let source = format!("fuzz{imports}");
        let dry = import_file(
            store,
            file,
            &mapping,
            &ImportOptions {
                source: Some(source.clone()),
                dry_run: true,
                ..ImportOptions::default()
            },
        );
        let real = import_file(
            store,
            file,
            &mapping,
            &ImportOptions {
                source: Some(source.clone()),
                chunk_rows: Some(1 + data.len() % 5),
                ..ImportOptions::default()
            },
        );
        let stored = store
            .orders()
            .expect("the store reads back")
            .into_iter()
            .filter(|o| o.source == source)
            .count() as u64;
        match (dry, real) {
            (Err(dry), Err(real)) => {
                assert_eq!(
                    dry.to_string(),
                    real.to_string(),
                    "runs of records changed the error"
                );
                assert!(
                    real.to_string().contains(&*file.to_string_lossy()),
                    "{real}"
                );
                assert_eq!(stored, 0, "a failed import left orders: {real}");
            }
            (Ok(dry), Ok(real)) => {
                let c = real.counts;
                assert_eq!(c.read, c.upserted + c.rejected, "{c:?}");
                assert_eq!(dry.counts, c, "a dry run does not count as the import");
                assert!(
                    stored <= c.upserted && (stored > 0) == (c.upserted > 0),
                    "{stored} stored of {c:?}"
                );
                let run = store
                    .run(real.run_id.expect("a run"))
                    .expect("the run reads back")
                    .expect("the run is stored");
                assert_eq!(run.counts, c);
                assert_eq!(run.outcome, "succeeded");
                let kept = store.rejections(run.id).expect("rejections read back");
                assert_eq!(
                    kept.len() as u64,
                    c.rejected.min(MAX_STORED_REJECTIONS as u64)
                );
                let lines = 1 + data.iter().filter(|b| **b == b'\n' || **b == b'\r').count();
                for r in kept.iter().chain(&real.first_rejections) {
                    rejection_is_located(r, lines as u64);
                }
            }
            (dry, real) => panic!("a dry run and the import disagree: {dry:?} / {real:?}"),
        }
    });
}

/// A rejection names a line of the input, a field (or the whole row) and why.
fn rejection_is_located(r: &Rejection, lines: u64) {
    assert!(
        (1..=lines).contains(&r.line),
        "line {} of {lines}: {r:?}",
        r.line
    );
    assert!(
        r.field == "(row)" || Field::ALL.iter().any(|f| f.name() == r.field),
        "{r:?}"
    );
    assert!(!r.reason.trim().is_empty(), "{r:?}");
}

/// One date cell under settings drawn from the first byte: each day order and unit, zero as
/// missing or not, a zone of the source's own or none, in two plant zones; custom formats
/// follow a NUL, separated by `\u{1}`.
pub fn dates(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let rest = String::from_utf8_lossy(rest);
    let (text, formats) = match rest.split_once('\0') {
        Some((t, f)) => (t, f.split('\u{1}').map(String::from).collect()),
        None => (&*rest, Vec::new()),
    };
    let settings = DateSettings {
        order: [DayOrder::Dmy, DayOrder::Mdy, DayOrder::Ymd][usize::from(pick % 3)],
        unix: [UnixUnit::None, UnixUnit::Seconds, UnixUnit::Milliseconds]
            [usize::from(pick / 3 % 3)],
        zero_is_missing: pick & 0x10 != 0,
        formats,
        timezone: (pick & 0x20 != 0).then(|| "America/New_York".to_string()),
    };
    let tz = if pick & 0x40 != 0 {
        Tz::Europe__Berlin
    } else {
        Tz::UTC
    };
    let start = settings.parse(text, tz, false);
    let end = settings.parse(text, tz, true);
    match (&start, &end) {
        // A bare day read as a due date is the end of that day: never before its start.
        (Ok(Some(s)), Ok(Some(e))) => assert!(e >= s, "`{text}`: due {e} before {s}"),
        (Ok(None), Ok(None)) => {}
        (Err(s), Err(e)) => {
            assert_eq!(s, e);
            assert!(!s.trim().is_empty());
        }
        _ => panic!("`{text}` is a date only as a due date, or only not: {start:?} / {end:?}"),
    }
    if let Ok(Some(t)) = start
        && settings.formats.is_empty()
        && (1..=9999).contains(&t.year())
    {
        // What it read, written as RFC 3339, reads back as the same instant.
        let again = settings.parse(&t.to_rfc3339(), tz, false);
        assert_eq!(again, Ok(Some(t)), "`{text}` read as {t}");
    }
}

/// TOML text as a CSV profile and as a connector manifest: one that is accepted binds to a
/// header of its own column names (else every import or sync of it would fail), and one that
/// is refused names its file.
pub fn toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Mapping::parse(text, "fuzz.toml", Tz::UTC) {
        Ok(m) => binds_to_its_own_names(&m),
        Err(e) => assert!(e.to_string().contains("fuzz.toml"), "{e}"),
    }
    match Manifest::parse(text, "fuzz.toml", Tz::UTC) {
        Ok(m) => {
            binds_to_its_own_names(&m.mapping);
            PageMapper::new(&m, "fuzz").expect("an accepted manifest maps records");
        }
        Err(e) => assert!(e.to_string().contains("fuzz.toml"), "{e}"),
    }
}

fn binds_to_its_own_names(m: &Mapping) {
    let names: Vec<String> = m.source_names().iter().map(|s| s.to_string()).collect();
    if let Err(e) = m.bind(&names) {
        panic!("profile accepted but cannot bind to its own columns {names:?}: {e}");
    }
}

/// A crontab line: one that is accepted fires at rising times after any instant, and five
/// fields mean the same as six with seconds 0; one that is refused quotes itself.
pub fn crontab(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    match gemba::schedule::cron::parse(line) {
        Ok(schedule) => {
            let from = Utc.with_ymd_and_hms(2026, 1, 31, 23, 59, 59).unwrap();
            let times: Vec<DateTime<Utc>> = schedule.after(&from).take(4).collect();
            assert!(times.iter().all(|t| *t > from), "`{line}`: {times:?}");
            assert!(times.windows(2).all(|w| w[0] < w[1]), "`{line}`: {times:?}");
            if line.split_whitespace().count() == 5 {
                let six = gemba::schedule::cron::parse(&format!("0 {line}"))
                    .unwrap_or_else(|e| panic!("`{line}` but not with seconds: {e}"));
                let again: Vec<DateTime<Utc>> = six.after(&from).take(4).collect();
                assert_eq!(again, times, "`{line}`");
            }
        }
        Err(e) => assert!(e.to_string().starts_with("cron `"), "{e}"),
    }
}

/// Shipped connectors an API page is mapped through, picked by the input's first byte.
const CONNECTORS: [&str; 8] = [
    "maintainx",
    "upkeep",
    "limble",
    "fiix",
    "maximo",
    "odoo",
    "sap-pm",
    "atlas",
];

/// One API reply (JSON bytes after the first) through a shipped manifest's mapping: every
/// record is an order, a rejection with its ordinal, skipped or stale; nothing is lost.
pub fn api_page(data: &[u8]) {
    let Some((&pick, json)) = data.split_first() else {
        return;
    };
    let manifest = Manifest::find(
        CONNECTORS[usize::from(pick) % CONNECTORS.len()],
        None,
        Tz::UTC,
    )
    .expect("a shipped manifest");
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(json) else {
        return;
    };
    let Ok(recs) = records(&body, &manifest.request.records, "the page") else {
        return;
    };
    let mapper = PageMapper::new(&manifest, "fuzz").expect("a shipped manifest maps");
    let stop_at = (pick & 0x80 != 0).then(|| Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap());
    let before = 100;
    let mut ordinal = before;
    let page = mapper.map(recs, &HashMap::new(), &mut ordinal, stop_at);
    let n = recs.len() as u64;
    assert_eq!(ordinal, before + n);
    assert_eq!(
        page.orders.len() as u64 + page.rejected.len() as u64 + page.skipped + page.stale,
        n,
        "{page:?}"
    );
    for r in &page.rejected {
        assert!(r.line > before, "{r:?}");
        rejection_is_located(r, ordinal);
    }
    for o in &page.orders {
        assert_eq!(o.source, "fuzz");
        assert!(!o.id.trim().is_empty(), "{o:?}");
    }
}
