//! The store's own tests: one suite, run against both engines (`on_sqlite::*`, `on_postgres::*`).
//! The PostgreSQL half needs a server at `GEMBA_TEST_PG` where it may create databases (`.ci/test`
//! starts a throwaway one); without it those tests fail and say so, they never skip.

use super::*;
use crate::safety::{DayMark, Mark};

pub(crate) fn order(id: &str, title: &str) -> WorkOrder {
    WorkOrder {
        source: "s".into(),
        id: id.into(),
        title: title.into(),
        kind: Kind::Corrective,
        status: Status::Ready,
        priority: Priority::new(2).unwrap(),
        site: None,
        area: None,
        crew: Some("C".into()),
        assignee: None,
        asset_id: None,
        asset_name: None,
        asset_criticality: None,
        created_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        due_at: None,
        scheduled_start: None,
        started_at: None,
        completed_at: None,
        updated_at: None,
        estimated_hours: Some(1.5),
        actual_hours: None,
        downtime_hours: None,
        pm_interval_days: None,
        cost: None,
        failure_code: None,
    }
}

/// An order with every field set, so a round trip shows each column.
fn full(id: &str) -> WorkOrder {
    let t = |s: i64| Some(DateTime::from_timestamp(1_700_000_000 + s, 123_000_000).unwrap());
    WorkOrder {
        source: "maximo".into(),
        id: id.into(),
        title: "Replace the seal on P-101 — ünïcode".into(),
        kind: Kind::Preventive,
        status: Status::Completed,
        priority: Priority::new(1).unwrap(),
        site: Some("North".into()),
        area: Some("Packing".into()),
        crew: Some("Mech".into()),
        assignee: Some("Ana".into()),
        asset_id: Some("P-101".into()),
        asset_name: Some("Pump 101".into()),
        asset_criticality: Some(Criticality::new(3).unwrap()),
        created_at: t(0).unwrap(),
        due_at: t(86_400),
        scheduled_start: t(3_600),
        started_at: t(7_200),
        completed_at: t(9_000),
        updated_at: t(9_001),
        estimated_hours: Some(2.25),
        actual_hours: Some(2.5),
        downtime_hours: Some(0.75),
        pm_interval_days: Some(90),
        cost: Some(1234.56),
        failure_code: Some("SEAL-LEAK".into()),
    }
}

fn csv_run() -> RunMeta {
    RunMeta {
        kind: RunKind::Csv,
        source: "s".into(),
        file: Some("export.csv".into()),
        profile: Some("generic".into()),
        started_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    }
}

fn at(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
}

fn rejection(line: u64) -> Rejection {
    Rejection {
        line,
        field: "kind".into(),
        value: format!("v{line}"),
        reason: "unknown code".into(),
    }
}

fn import(store: &mut Store, orders: Vec<WorkOrder>) -> i64 {
    let n = orders.len() as u64;
    let mut tx = store.begin_import(&csv_run(), false).unwrap();
    for o in orders {
        tx.upsert(o).unwrap();
    }
    tx.commit(RunCounts {
        read: n,
        upserted: n,
        rejected: 0,
    })
    .unwrap()
}

fn action(board: &str, title: &str) -> ActionWrite {
    ActionWrite {
        board: board.into(),
        title: title.into(),
        owner: "Ana".into(),
        due: "2026-12-03".into(),
        status: "open".into(),
        orders: vec!["WO-1".into(), "WO-2".into()],
        escalated_from: None,
        escalation_reason: None,
        note: Some("note".into()),
    }
}

/// Fills a store with a little of everything, for the copy.
fn fill(store: &mut Store) {
    import(
        store,
        vec![full("a"), order("b", "two"), order("c", "three")],
    );
    store
        .record_failed_run(
            &csv_run(),
            RunCounts {
                read: 2,
                upserted: 0,
                rejected: 2,
            },
            "bad file",
            &[rejection(2), rejection(3)],
        )
        .unwrap();
    let id = store
        .write_action(
            None,
            &action("crew:Mech", "fix guard"),
            "Ana",
            "created",
            at(10),
        )
        .unwrap();
    store
        .write_action(
            Some(id),
            &action("area:Packing", "fix guard"),
            "Bo",
            "escalated",
            at(20),
        )
        .unwrap();
    let h = store.start_huddle("crew:Mech", at(30)).unwrap();
    store
        .end_huddle(h, at(600), "Ana, Bo", "board,actions")
        .unwrap();
    store
        .put_safety_mark(&DayMark {
            board: "crew:Mech".into(),
            day: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            mark: Mark::parse("near-miss").unwrap(),
            note: "slippery floor".into(),
            who: "Ana".into(),
            at: at(40),
        })
        .unwrap();
    let j = store.start_job_run("nightly", "schedule", at(50)).unwrap();
    store
        .finish_job_run(&JobRun {
            id: j,
            job: "nightly".into(),
            trigger: "schedule".into(),
            started_at: at(50),
            finished_at: Some(at(55)),
            files_imported: 1,
            files_failed: 0,
            files_skipped: 0,
            counts: RunCounts {
                read: 3,
                upserted: 3,
                rejected: 0,
            },
            outcome: "ok".into(),
            error: None,
        })
        .unwrap();
    store
        .record_imported_file("abc123", "drop/a.csv", j, at(55))
        .unwrap();
    let run = store.start_run(&csv_run()).unwrap();
    store
        .commit_page(&Page {
            run_id: run,
            orders: &[order("d", "synced")],
            rejections: &[],
            counts: RunCounts {
                read: 1,
                upserted: 1,
                rejected: 0,
            },
            watermark: Some(("maximo", at(70))),
        })
        .unwrap();
    store.finish_run(run, RunCounts::default(), None).unwrap();
    store
        .record_login_failure("203.0.113.7", at(80), at(0))
        .unwrap();
    let leader = store
        .write_leader(None, &leader("Vera Marsh"), "Ana", "added", at(85))
        .unwrap();
    let routine = store
        .write_routine(
            None,
            &routine(leader, "Daily board review"),
            "Ana",
            "added",
            at(86),
        )
        .unwrap();
    store
        .record_completion(&completion(routine, 90), "Vera Marsh", "done")
        .unwrap();
    let route = store
        .write_route(None, &route(leader), "Ana", "added", at(91))
        .unwrap();
    let w = store
        .start_walk(
            route,
            leader,
            &walk_stops(),
            "Vera Marsh",
            "started",
            at(92),
        )
        .unwrap();
    let mut walk = store.walk(w).unwrap().unwrap();
    walk.ended_at = Some(at(95));
    walk.stops[0].state = crate::walks::StopState::Visited;
    store
        .save_walk(&walk, "Vera Marsh", "ended", at(95))
        .unwrap();
    store
        .put_snapshots(
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            &[("plant".into(), "{\"x\":1}".into())],
        )
        .unwrap();
}

/// Everything a store holds, read through the facade.
#[derive(Debug, PartialEq)]
struct Everything {
    orders: Vec<WorkOrder>,
    runs: Vec<ImportRun>,
    rejections: Vec<Vec<Rejection>>,
    actions: Vec<Action>,
    history: Vec<Vec<ActionChange>>,
    huddles: Vec<Huddle>,
    marks: Vec<DayMark>,
    job_runs: Vec<JobRun>,
    file: Option<String>,
    watermark: Option<DateTime<Utc>>,
    snapshots: Vec<(NaiveDate, String, String)>,
    login_failures: u32,
    leaders: Vec<Leader>,
    routines: Vec<Routine>,
    completions: Vec<Completion>,
    lsw_history: Vec<LswChange>,
    routes: Vec<Route>,
    walks: Vec<Walk>,
}

fn everything(store: &mut Store) -> Everything {
    let runs = store.runs(100).unwrap();
    let actions = store.actions(None, None).unwrap();
    let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    Everything {
        orders: store.orders().unwrap(),
        rejections: runs
            .iter()
            .map(|r| store.rejections(r.id).unwrap())
            .collect(),
        history: actions
            .iter()
            .map(|a| store.action_history(a.id).unwrap())
            .collect(),
        runs,
        actions,
        huddles: store.huddles(None, 100).unwrap(),
        marks: store.safety_marks(&["crew:Mech".into()], d, d).unwrap(),
        job_runs: store.job_runs(None, 100).unwrap(),
        file: store.imported_file("abc123").unwrap(),
        watermark: store.watermark("maximo").unwrap(),
        snapshots: store.snapshots().unwrap(),
        login_failures: store.login_failures("203.0.113.7", at(0)).unwrap(),
        leaders: store.leaders().unwrap(),
        routines: store.routines().unwrap(),
        completions: store.completions(at(0), at(100_000)).unwrap(),
        lsw_history: store
            .routines()
            .unwrap()
            .iter()
            .map(|r| format!("routine:{}", r.id))
            .chain(
                store
                    .leaders()
                    .unwrap()
                    .iter()
                    .map(|l| format!("leader:{}", l.id)),
            )
            .chain(["route:1".to_string(), "walk:1".to_string()])
            .flat_map(|s| store.lsw_history(&s).unwrap())
            .collect(),
        routes: store.routes().unwrap(),
        walks: store.walks(at(0), at(100_000)).unwrap(),
    }
}

fn route(leader_id: i64) -> RouteWrite {
    RouteWrite {
        title: "Packing floor".into(),
        leader_id,
        stops: vec![crate::walks::Stop {
            board: "crew:Mech".into(),
            asset: "F3".into(),
            label: "Filler 3 \"guards\" ✓".into(),
        }],
        questions: vec!["Is the work running to standard?".into()],
        active: true,
    }
}

fn walk_stops() -> Vec<crate::walks::StopRecord> {
    vec![crate::walks::StopRecord {
        stop: route(1).stops[0].clone(),
        state: crate::walks::StopState::Pending,
        at: None,
        answers: vec![],
        observations: vec![crate::walks::Observation {
            text: "oil".into(),
            action: Some(4),
        }],
        skip_reason: String::new(),
    }]
}

fn leader(name: &str) -> LeaderWrite {
    LeaderWrite {
        name: name.into(),
        role: "Supervisor".into(),
        board: "area:Packing".into(),
        login: Some("vera".into()),
        active: true,
    }
}

fn routine(leader_id: i64, title: &str) -> RoutineWrite {
    RoutineWrite {
        leader_id,
        title: title.into(),
        kind: "checklist".into(),
        board: "crew:Mech".into(),
        cadence: "0 7 * * Mon-Fri".into(),
        window_hours: 2,
        grace_hours: 4,
        items: vec!["Safety cross marked".into(), "Ünïcode ✓ \"quoted\"".into()],
        active: true,
        route_id: Some(3),
    }
}

fn completion(routine_id: i64, t: i64) -> CompletionWrite {
    CompletionWrite {
        routine_id,
        done_at: at(t),
        note: "all fine".into(),
        results: vec![
            crate::lsw::ItemResult {
                item: "Safety cross marked".into(),
                ok: true,
                note: String::new(),
                action: None,
            },
            crate::lsw::ItemResult {
                item: "Ünïcode ✓ \"quoted\"".into(),
                ok: false,
                note: "not yet".into(),
                action: Some(7),
            },
        ],
    }
}

/// The suite: each test runs once per engine.
macro_rules! both {
    ($($(#[$doc:meta])* fn $name:ident($store:ident: &mut Store) $body:block)*) => {
        $( $(#[$doc])* fn $name($store: &mut Store) $body )*
        mod on_sqlite {
            $( #[test] fn $name() { super::$name(&mut super::sqlite_store()) } )*
        }
        mod on_postgres {
            $( #[test] fn $name() {
                let db = super::pg::Database::new();
                super::$name(&mut super::Store::open(&db.url).unwrap())
            } )*
        }
    };
}

fn sqlite_store() -> Store {
    Store::open("sqlite::memory:").unwrap()
}

/// Throwaway PostgreSQL databases for tests.
pub(crate) mod pg {
    use std::sync::atomic::{AtomicU32, Ordering};

    /// The server's URL, or a failure that says how to get one.
    pub fn server() -> String {
        std::env::var("GEMBA_TEST_PG").unwrap_or_else(|_| {
            panic!(
                "GEMBA_TEST_PG is not set: the PostgreSQL tests need a server where they may create databases. \
                 Run every test with .ci/test (it installs PostgreSQL if missing and starts a throwaway cluster), \
                 or set GEMBA_TEST_PG=postgres://USER@127.0.0.1:PORT/postgres"
            )
        })
    }

    /// A database of its own, dropped at the end of the test.
    pub struct Database {
        pub url: String,
        name: String,
    }

    fn admin() -> postgres::Client {
        let url = server();
        postgres::Client::connect(&url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("GEMBA_TEST_PG ({}): {e}", super::redact(&url)))
    }

    /// `url` with its database replaced by `name`.
    pub fn with_database(url: &str, name: &str) -> String {
        let (base, query) = url
            .split_once('?')
            .map_or((url, None), |(b, q)| (b, Some(q)));
        let after_scheme = base.find("://").map_or(0, |i| i + 3);
        let root = match base[after_scheme..].find('/') {
            Some(i) => &base[..after_scheme + i],
            None => base,
        };
        match query {
            Some(q) => format!("{root}/{name}?{q}"),
            None => format!("{root}/{name}"),
        }
    }

    impl Database {
        pub fn new() -> Database {
            static N: AtomicU32 = AtomicU32::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!(
                "gemba_unit_{}_{}_{nanos}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst),
            );
            admin()
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap();
            Database {
                url: with_database(&server(), &name),
                name,
            }
        }

        /// A client of this database, for what the facade does not show.
        pub fn client(&self) -> postgres::Client {
            postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
        }
    }

    impl Drop for Database {
        fn drop(&mut self) {
            let _ = admin().batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

both! {
    /// Routes and walks read back as written; a walk's stops are saved whole with its end, and
    /// walks are read by when they started.
    fn walks_round_trip(store: &mut Store) {
        let r = store.write_route(None, &route(7), "Ana", "added", at(1)).unwrap();
        let mut w = route(7);
        w.active = false;
        store.write_route(Some(r), &w, "Ana", "paused", at(2)).unwrap();
        let routes = store.routes().unwrap();
        assert_eq!((routes.len(), routes[0].active, routes[0].stops.clone()), (1, false, route(7).stops));
        let id = store.start_walk(r, 7, &walk_stops(), "Vera", "started", at(10)).unwrap();
        let mut walk = store.walk(id).unwrap().unwrap();
        assert_eq!((walk.ended_at, walk.stops.clone()), (None, walk_stops()));
        walk.stops[0].state = crate::walks::StopState::Skipped;
        walk.stops[0].skip_reason = "closed".into();
        walk.ended_at = Some(at(20));
        store.save_walk(&walk, "Vera", "ended", at(20)).unwrap();
        assert_eq!(store.walk(id).unwrap().unwrap(), walk);
        assert_eq!(store.walks(at(10), at(11)).unwrap().len(), 1);
        assert!(store.walks(at(11), at(50)).unwrap().is_empty());
        assert_eq!(store.walk(id + 1).unwrap(), None);
        let lines: Vec<String> = store.lsw_history(&format!("walk:{id}")).unwrap().into_iter().map(|c| c.what).collect();
        assert_eq!(lines, ["started", "ended"]);
    }

    /// Objectives and monthly reviews read back as written, with a line of history each.
    fn objectives_and_reviews_round_trip(store: &mut Store) {
        use crate::hoshin::{Catchball, ObjectiveBody, PlanMonth, ReviewItem};
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        let mut w = ObjectiveWrite {
            parent: None,
            board: "plant".into(),
            title: "Reactive work below 15 %".into(),
            owner: "Ana".into(),
            body: ObjectiveBody {
                kpi: "reactive_pct".into(),
                start: d("2026-09-01"),
                horizon: d("2026-10-31"),
                baseline: Some(27.0),
                baseline_date: d("2026-08-31"),
                target: 15.0,
                plan: vec![
                    PlanMonth { month: "2026-09".into(), value: 21.0, edited: false },
                    PlanMonth { month: "2026-10".into(), value: 15.0, edited: false },
                ],
                ..ObjectiveBody::default()
            },
        };
        let id = store.write_objective(None, &w, "Ana", "set", at(1)).unwrap();
        w.parent = Some(id);
        w.board = "area:Packaging".into();
        w.body.catchball = Catchball::Proposed;
        let child = store.write_objective(None, &w, "Bo", "deployed", at(2)).unwrap();
        let all = store.objectives().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!((all[1].parent, &all[1].body), (Some(id), &w.body));
        assert_eq!(store.objective(child + 1).unwrap(), None);
        let r = ReviewWrite {
            board: "plant".into(),
            month: "2026-09".into(),
            held_on: d("2026-10-02"),
            attendees: "Ana, Bo".into(),
            items: [(id, ReviewItem { status: "at risk".into(), note: "PM backlog".into() })].into(),
        };
        let rid = store.write_review(&r, "Ana", at(3)).unwrap();
        let got = store.reviews().unwrap();
        assert_eq!((got[0].id, &got[0].items, got[0].held_on), (rid, &r.items, d("2026-10-02")));
        assert_eq!(store.lsw_history(&format!("objective:{child}")).unwrap().len(), 1);
        assert_eq!(store.lsw_history(&format!("review:{rid}")).unwrap().len(), 1);
    }

    /// An A3 reads back as written, its body whole; an edit replaces it; each write is a line
    /// of its history.
    fn a3s_round_trip(store: &mut Store) {
        use crate::a3::{Body, Origin, Stage, Target, Op};
        let mut w = A3Write {
            board: "area:Processing".into(),
            title: "Filler 2 stops".into(),
            owner: "Vera".into(),
            stage: Stage::Plan,
            body: Body {
                origin: Origin::Asset { asset: "PAC-FIL-02".into() },
                asset: Some("PAC-FIL-02".into()),
                coach: "Ana".into(),
                ..Body::default()
            },
        };
        let id = store.write_a3(None, &w, "Vera", "started", at(1)).unwrap();
        w.stage = Stage::Do;
        w.body.sections.whys = vec!["seal worn".into()];
        w.body.target = Some(Target {
            metric: "reactive_count".into(),
            asset: Some("PAC-FIL-02".into()),
            scope: "plant".into(),
            op: Op::AtMost,
            value: 1.0,
            by: chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
            window_days: 28,
        });
        assert_eq!(store.write_a3(Some(id), &w, "Vera", "edited", at(2)).unwrap(), id);
        let got = store.a3(id).unwrap().unwrap();
        assert_eq!((got.stage, &got.body, got.created_at, got.updated_at), (Stage::Do, &w.body, at(1), at(2)));
        assert_eq!(store.a3s().unwrap().len(), 1);
        assert_eq!(store.a3(id + 1).unwrap(), None);
        let lines: Vec<String> = store.lsw_history(&format!("a3:{id}")).unwrap().into_iter().map(|c| c.what).collect();
        assert_eq!(lines, ["started", "edited"]);
    }

    /// Leaders, routines and completions read back as written, with a line of history for each
    /// write; an edit replaces the row; completions are read by when they were done.
    fn leader_standard_work_round_trips(store: &mut Store) {
        let l = store.write_leader(None, &leader("Vera Marsh"), "Ana", "added Vera", at(1)).unwrap();
        let mut w = leader("Vera Marsh");
        w.login = None;
        w.active = false;
        assert_eq!(store.write_leader(Some(l), &w, "Bo", "changed Vera", at(2)).unwrap(), l);
        let got = store.leaders().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].login.clone(), got[0].active, got[0].updated_at), (None, false, at(2)));
        let r = store.write_routine(None, &routine(l, "Board review"), "Ana", "added", at(3)).unwrap();
        let mut rw = routine(l, "Board review, renamed");
        rw.window_hours = 24;
        rw.items = vec![];
        store.write_routine(Some(r), &rw, "Ana", "changed", at(4)).unwrap();
        let stored = store.routine(r).unwrap().unwrap();
        assert_eq!((stored.title.as_str(), stored.window_hours, stored.items.len()), ("Board review, renamed", 24, 0));
        assert_eq!(store.routine(r + 100).unwrap(), None);
        let c1 = store.record_completion(&completion(r, 10), "Vera", "done 1").unwrap();
        let c2 = store.record_completion(&completion(r, 20), "Vera", "done 2").unwrap();
        assert!(c2 > c1);
        let done = store.completions(at(10), at(20)).unwrap();
        assert_eq!(done.len(), 1, "the range's end is open");
        assert_eq!(done[0].results, completion(r, 10).results);
        assert_eq!(done[0].who, "Vera");
        let lines: Vec<String> = store.lsw_history(&format!("routine:{r}")).unwrap().into_iter().map(|c| c.what).collect();
        assert_eq!(lines, ["added", "changed", "done 1", "done 2"]);
        assert_eq!(store.lsw_history(&format!("leader:{l}")).unwrap().len(), 2);
        let h = store.start_huddle("crew:Mech", at(30)).unwrap();
        store.end_huddle(h, at(40), "Vera Marsh", "").unwrap();
        assert_eq!(store.huddles_between(at(30), at(31)).unwrap().len(), 1);
        assert!(store.huddles_between(at(31), at(50)).unwrap().is_empty());
    }

    /// Every field of an order survives the store, and a full order reads back equal.
    fn every_column_round_trips(store: &mut Store) {
        import(store, vec![full("x"), order("y", "plain")]);
        assert_eq!(store.orders().unwrap(), vec![full("x"), order("y", "plain")]);
        assert_eq!(store.order_count().unwrap(), 2);
    }

    /// More rows than one batch or chunk: a key repeated inside one and across two keeps the
    /// last; an import dropped without commit leaves nothing, batched or pending.
    fn upserts_keep_the_last_of_a_repeated_key_and_roll_back_whole(store: &mut Store) {
        let n = 40_000;
        let mut tx = store.begin_import(&csv_run(), false).unwrap();
        for i in 0..n {
            let (id, title) = match i {
                3 => ("dup".to_string(), "first"),
                20 => ("dup".to_string(), "second"),
                20_000 => ("dup".to_string(), "third"),
                39_999 => ("dup".to_string(), "fourth"),
                _ => (format!("o{i:05}"), "x"),
            };
            tx.upsert(order(&id, title)).unwrap();
        }
        tx.commit(RunCounts { read: n, upserted: n, rejected: 0 }).unwrap();
        assert_eq!(store.order_count().unwrap(), n - 3);
        let orders = store.orders().unwrap();
        assert_eq!(orders.iter().find(|o| o.id == "dup").unwrap().title, "fourth");
        assert_eq!(orders.iter().find(|o| o.id == "o00005").unwrap(), &order("o00005", "x"));
        let mut tx = store.begin_import(&csv_run(), false).unwrap();
        for i in 0..20_000 {
            tx.upsert(order(&format!("new{i}"), "y")).unwrap();
        }
        drop(tx);
        assert_eq!(store.order_count().unwrap(), n - 3);
        // The store still takes imports after a rollback.
        import(store, vec![order("after", "z")]);
        assert_eq!(store.order_count().unwrap(), n - 2);
    }

    /// A first import of a source is copied straight in on PostgreSQL until a chunk meets a
    /// stored key: one stored by an earlier chunk, then one repeated inside a later chunk. The
    /// outcome is the upsert's (the last wins), every field kept, and a second source's first
    /// import beside a stored one goes straight in too.
    fn a_first_import_keeps_the_last_of_a_key_repeated_across_chunks(store: &mut Store) {
        let n = 50_000;
        let mut tx = store.begin_import(&csv_run(), false).unwrap();
        for i in 0..n {
            let (id, title) = match i {
                100 => ("dup".to_string(), "first chunk"),
                20_000 => ("dup".to_string(), "second chunk"),
                35_000 => ("again".to_string(), "third chunk, first"),
                36_000 => ("again".to_string(), "third chunk, last"),
                _ => (format!("o{i:05}"), "x"),
            };
            tx.upsert(order(&id, title)).unwrap();
        }
        tx.upsert(full("whole")).unwrap();
        tx.commit(RunCounts { read: n + 1, upserted: n + 1, rejected: 0 }).unwrap();
        assert_eq!(store.order_count().unwrap(), n - 1);
        let title = |store: &mut Store, source: &str, id: &str| {
            let orders = store.orders().unwrap();
            orders.into_iter().find(|o| o.source == source && o.id == id).unwrap().title
        };
        assert_eq!(title(store, "s", "dup"), "second chunk");
        assert_eq!(title(store, "s", "again"), "third chunk, last");
        let orders = store.orders().unwrap();
        assert_eq!(orders.iter().find(|o| o.id == "whole").unwrap(), &full("whole"));
        let mut other = csv_run();
        other.source = "other".into();
        let mut tx = store.begin_import(&other, false).unwrap();
        let mut o = order("o00001", "the other source's");
        o.source = "other".into();
        tx.upsert(o).unwrap();
        tx.commit(RunCounts { read: 1, upserted: 1, rejected: 0 }).unwrap();
        assert_eq!(store.order_count().unwrap(), n);
        assert_eq!(title(store, "s", "o00001"), "x");
        assert_eq!(title(store, "other", "o00001"), "the other source's");
    }

    /// A re-import ends each repeated order as its last occurrence, whether the first or the
    /// last occurrence is as stored (PostgreSQL sends only what differs from the store and from
    /// what it sent before).
    fn a_reimport_keeps_the_last_of_a_key_whichever_occurrence_is_stored(store: &mut Store) {
        import(store, vec![order("a", "1"), order("b", "1"), order("c", "1")]);
        import(
            store,
            vec![order("a", "2"), order("b", "1"), order("a", "1"), order("b", "3"), order("c", "1")],
        );
        let titles: Vec<(String, String)> =
            store.orders().unwrap().into_iter().map(|o| (o.id, o.title)).collect();
        let want = [("a", "1"), ("b", "3"), ("c", "1")].map(|(i, t)| (i.to_string(), t.to_string()));
        assert_eq!(titles, want);
        import(store, vec![order("a", "1"), order("a", "4"), order("a", "1")]);
        assert_eq!(store.orders().unwrap()[0].title, "1");
    }

    /// Orders stream in bytewise key order, and a skipped key is left out.
    fn orders_scan_in_key_order_and_skip(store: &mut Store) {
        import(store, vec![order("b", "1"), order("B", "2"), order("a", "3"), order("é", "4")]);
        let mut ids = Vec::new();
        store.scan_order_refs(|o| ids.push(o.id.to_string())).unwrap();
        assert_eq!(ids, ["B", "a", "b", "é"]);
        let mut kept = Vec::new();
        store
            .scan_order_refs_except(|_, id| id == "a", |o| kept.push(o.id.to_string()))
            .unwrap();
        assert_eq!(kept, ["B", "b", "é"]);
    }

    /// Replacing a source removes what the import does not bring, in the same transaction.
    fn replacing_a_source_keeps_only_the_import(store: &mut Store) {
        import(store, vec![order("a", "1"), order("b", "2")]);
        let mut tx = store.begin_import(&csv_run(), true).unwrap();
        tx.upsert(order("c", "3")).unwrap();
        tx.commit(RunCounts::default()).unwrap();
        let ids: Vec<String> = store.orders().unwrap().into_iter().map(|o| o.id).collect();
        assert_eq!(ids, ["c"]);
    }

    /// Runs read back newest first, with their counts, outcome and rejections in line order.
    fn runs_and_rejections(store: &mut Store) {
        let mut tx = store.begin_import(&csv_run(), false).unwrap();
        tx.upsert(order("a", "1")).unwrap();
        tx.reject(&rejection(9)).unwrap();
        tx.reject(&rejection(4)).unwrap();
        let ok = tx.commit(RunCounts { read: 3, upserted: 1, rejected: 2 }).unwrap();
        let failed = store
            .record_failed_run(&csv_run(), RunCounts { read: 5, upserted: 0, rejected: 1 }, "no header", &[rejection(1)])
            .unwrap();
        let runs = store.runs(10).unwrap();
        assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [failed, ok]);
        assert_eq!(runs[1].outcome, "succeeded");
        assert_eq!(runs[1].counts, RunCounts { read: 3, upserted: 1, rejected: 2 });
        assert_eq!(runs[1].file.as_deref(), Some("export.csv"));
        assert_eq!(runs[0].outcome, "failed");
        assert_eq!(runs[0].error.as_deref(), Some("no header"));
        assert_eq!(store.run(ok).unwrap().unwrap(), runs[1]);
        assert_eq!(store.run(9999).unwrap(), None);
        assert_eq!(store.rejections(ok).unwrap(), vec![rejection(4), rejection(9)]);
        assert_eq!(store.rejections(failed).unwrap(), vec![rejection(1)]);
        assert_eq!(store.rejected_rows_last_import().unwrap(), 1);
    }

    /// A sync's pages: each commits its orders, rejections, counts and watermark.
    fn sync_pages_and_watermarks(store: &mut Store) {
        assert_eq!(store.watermark("maximo").unwrap(), None);
        let run = store.start_run(&RunMeta { kind: RunKind::Sync, ..csv_run() }).unwrap();
        assert_eq!(store.runs(1).unwrap()[0].outcome, "running");
        for (k, ids) in [["p1", "p2"], ["p3", "p1"]].iter().enumerate() {
            let orders: Vec<WorkOrder> = ids.iter().map(|id| order(id, &format!("page {k}"))).collect();
            store
                .commit_page(&Page {
                    run_id: run,
                    orders: &orders,
                    rejections: &[rejection(k as u64)],
                    counts: RunCounts { read: 3 * (k as u64 + 1), upserted: 2 * (k as u64 + 1), rejected: k as u64 + 1 },
                    watermark: Some(("maximo", at(k as i64))),
                })
                .unwrap();
        }
        assert_eq!(store.watermark("maximo").unwrap(), Some(at(1)));
        store.finish_run(run, RunCounts { read: 6, upserted: 4, rejected: 2 }, None).unwrap();
        let r = store.run(run).unwrap().unwrap();
        assert_eq!((r.outcome.as_str(), r.counts.upserted), ("succeeded", 4));
        assert_eq!(store.rejections(run).unwrap().len(), 2);
        let titles: Vec<String> = store.orders().unwrap().into_iter().map(|o| o.title).collect();
        assert_eq!(titles, ["page 1", "page 0", "page 1"]);
    }

    /// Actions with their history, filtered by board and origin, newest change first.
    fn actions_and_history(store: &mut Store) {
        let a = store.write_action(None, &action("crew:Mech", "guard"), "Ana", "created", at(10)).unwrap();
        let b = store.write_action(None, &action("crew:Elec", "cable"), "Bo", "created", at(20)).unwrap();
        store
            .write_action(Some(a), &ActionWrite { escalated_from: Some("crew:Mech".into()), escalation_reason: Some("needs parts".into()), ..action("area:Packing", "guard") }, "Ana", "escalated", at(30))
            .unwrap();
        let got = store.action(a).unwrap().unwrap();
        assert_eq!((got.board.as_str(), got.origin.as_str()), ("area:Packing", "crew:Mech"));
        assert_eq!(got.orders, ["WO-1", "WO-2"]);
        assert_eq!(got.escalation_reason.as_deref(), Some("needs parts"));
        assert_eq!((got.created_at, got.updated_at), (at(10), at(30)));
        assert_eq!(store.action(999).unwrap(), None);
        let all: Vec<i64> = store.actions(None, None).unwrap().iter().map(|x| x.id).collect();
        assert_eq!(all, [a, b]);
        assert_eq!(store.actions(Some("crew:Elec"), None).unwrap().len(), 1);
        assert_eq!(store.actions(None, Some("crew:Mech")).unwrap()[0].id, a);
        assert!(store.actions(Some("crew:Mech"), Some("crew:Mech")).unwrap().is_empty());
        let history: Vec<String> = store.action_history(a).unwrap().into_iter().map(|h| h.what).collect();
        assert_eq!(history, ["created", "escalated"]);
        // Touched: changed since the instant, or due on or after the day; lines in order.
        let touched = |store: &mut Store, since: i64, due: &str| -> Vec<(i64, Vec<String>)> {
            let due = NaiveDate::parse_from_str(due, "%Y-%m-%d").unwrap();
            let got = store.actions_touched(at(since), due).unwrap();
            got.into_iter().map(|(a, h)| (a.id, h.into_iter().map(|l| l.what).collect())).collect()
        };
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(touched(store, 25, "2027-01-01"), [(a, lines(&["created", "escalated"]))], "changed since");
        assert_eq!(touched(store, 31, "2026-12-03"), [(a, lines(&["created", "escalated"])), (b, lines(&["created"]))], "due from the day on");
        assert!(touched(store, 31, "2026-12-04").is_empty(), "neither changed since nor due");
        assert_eq!(store.changes_between("crew:Mech", at(0), at(25)).unwrap().len(), 1);
        assert_eq!(store.changes_between("area:Packing", at(0), at(100)).unwrap().len(), 2);
    }

    /// Huddles: started, ended once, listed newest first.
    fn huddles(store: &mut Store) {
        let h1 = store.start_huddle("crew:Mech", at(0)).unwrap();
        let h2 = store.start_huddle("crew:Elec", at(100)).unwrap();
        assert!(store.end_huddle(h1, at(500), "Ana, Bo", "board,pull").unwrap());
        assert!(!store.end_huddle(h1, at(600), "late", "").unwrap());
        assert!(!store.end_huddle(999, at(600), "", "").unwrap());
        let all = store.huddles(None, 10).unwrap();
        assert_eq!(all.iter().map(|h| h.id).collect::<Vec<_>>(), [h2, h1]);
        let mech = store.huddles(Some("crew:Mech"), 10).unwrap();
        assert_eq!(mech[0].ended_at, Some(at(500)));
        assert_eq!((mech[0].attendees.as_str(), mech[0].pages.as_str()), ("Ana, Bo", "board,pull"));
        assert_eq!(store.huddles(None, 1).unwrap().len(), 1);
    }

    /// A day's safety mark replaces the board's earlier one; other boards and days stay apart.
    fn safety_marks(store: &mut Store) {
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        let mark = |board: &str, d, m: &str, s| DayMark {
            board: board.into(),
            day: day(d),
            mark: Mark::parse(m).unwrap(),
            note: format!("{m} note"),
            who: "Ana".into(),
            at: at(s),
        };
        store.put_safety_mark(&mark("crew:Mech", 1, "near-miss", 1)).unwrap();
        store.put_safety_mark(&mark("crew:Mech", 1, "first-aid", 2)).unwrap();
        store.put_safety_mark(&mark("crew:Mech", 2, "safe", 3)).unwrap();
        store.put_safety_mark(&mark("crew:Elec", 1, "safe", 4)).unwrap();
        let got = store.safety_marks(&["crew:Mech".into()], day(1), day(2)).unwrap();
        assert_eq!(got, vec![mark("crew:Mech", 1, "first-aid", 2), mark("crew:Mech", 2, "safe", 3)]);
        let both = store.safety_marks(&["crew:Mech".into(), "crew:Elec".into()], day(1), day(1)).unwrap();
        assert_eq!(both.iter().map(|m| m.board.as_str()).collect::<Vec<_>>(), ["crew:Elec", "crew:Mech"]);
    }

    /// Job runs and the content hashes they imported.
    fn job_runs_and_imported_files(store: &mut Store) {
        let a = store.start_job_run("nightly", "schedule", at(0)).unwrap();
        let b = store.start_job_run("hourly", "hand", at(10)).unwrap();
        let done = JobRun {
            id: a,
            job: "nightly".into(),
            trigger: "schedule".into(),
            started_at: at(0),
            finished_at: Some(at(5)),
            files_imported: 2,
            files_failed: 1,
            files_skipped: 3,
            counts: RunCounts { read: 10, upserted: 9, rejected: 1 },
            outcome: "failed".into(),
            error: Some("one file was bad".into()),
        };
        store.finish_job_run(&done).unwrap();
        assert_eq!(store.job_runs(Some("nightly"), 10).unwrap(), vec![done]);
        assert_eq!(store.job_runs(None, 10).unwrap()[0].id, b);
        assert_eq!(store.job_runs(None, 10).unwrap()[0].outcome, "running");
        assert_eq!(store.imported_file("h1").unwrap(), None);
        store.record_imported_file("h1", "drop/a.csv", a, at(3)).unwrap();
        store.record_imported_file("h1", "drop/copy-of-a.csv", b, at(4)).unwrap();
        assert_eq!(store.imported_file("h1").unwrap().as_deref(), Some("drop/a.csv"));
    }

    /// A fire time of a job is claimed once, and not while another run of the job is alive; a
    /// run without a sign of life is closed once and its fire time claimed again.
    fn fire_times_are_claimed_once_and_taken_over_when_their_run_died(store: &mut Store) {
        let first = store.claim_job_run("nightly", "schedule", at(0), at(1), at(-30)).unwrap();
        assert!(first.is_some());
        // The same fire time again, and the next one while the first run is alive: nothing.
        assert_eq!(store.claim_job_run("nightly", "startup", at(0), at(2), at(-28)).unwrap(), None);
        assert_eq!(store.claim_job_run("nightly", "schedule", at(60), at(61), at(0)).unwrap(), None);
        assert!(store.claim_job_run("hourly", "schedule", at(0), at(1), at(-30)).unwrap().is_some());
        // Its instance beats at 40 s: alive for a claim that asks for life since 35 s.
        store.beat_job_run("nightly", at(0), at(40)).unwrap();
        assert_eq!(store.claim_job_run("nightly", "schedule", at(60), at(61), at(35)).unwrap(), None);
        assert_eq!(store.take_over_job_run("nightly", at(35), at(62), "stopped").unwrap(), None);
        // No sign of life since 40 s: taken over once, the fire time free again.
        assert_eq!(store.take_over_job_run("nightly", at(75), at(80), "stopped").unwrap(), Some(at(0)));
        assert_eq!(store.take_over_job_run("nightly", at(75), at(80), "stopped").unwrap(), None);
        let again = store.claim_job_run("nightly", "takeover", at(0), at(81), at(51)).unwrap();
        assert!(again.is_some() && again != first);
        let runs = store.job_runs(Some("nightly"), 10).unwrap();
        let dead = runs.iter().find(|r| Some(r.id) == first).unwrap();
        assert_eq!((dead.outcome.as_str(), dead.error.as_deref()), ("failed", Some("stopped")));
        // Runs by hand and skipped ticks have no fire time, and are never refused.
        store.start_job_run("nightly", "hand", at(3)).unwrap();
        store.start_job_run("nightly", "hand", at(4)).unwrap();
        assert_eq!(store.job_runs(Some("nightly"), 10).unwrap().len(), 4);
    }

    /// Failed logins count per address across a window; older ones are forgotten on the next
    /// failure, and a login clears its address.
    fn login_failures_count_per_address_and_are_forgotten(store: &mut Store) {
        let (ana, bo) = ("198.51.100.1", "198.51.100.2");
        assert_eq!(store.login_failures(ana, at(0)).unwrap(), 0);
        assert_eq!(store.record_login_failure(ana, at(10), at(0)).unwrap(), 1);
        assert_eq!(store.record_login_failure(ana, at(20), at(0)).unwrap(), 2);
        assert_eq!(store.record_login_failure(bo, at(30), at(0)).unwrap(), 1);
        assert_eq!(store.login_failures(ana, at(0)).unwrap(), 2);
        assert_eq!(store.login_failures(ana, at(15)).unwrap(), 1, "since is inclusive of later ones only");
        // A failure at 40 forgets everything before 25, of every address.
        assert_eq!(store.record_login_failure(bo, at(40), at(25)).unwrap(), 2);
        assert_eq!(store.login_failures(ana, at(0)).unwrap(), 0);
        store.clear_login_failures(bo).unwrap();
        assert_eq!(store.login_failures(bo, at(0)).unwrap(), 0);
    }

    /// Snapshots are stored per day and scope, replaced on the same day.
    fn snapshots(store: &mut Store) {
        let d1 = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let d2 = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        store.put_snapshots(d1, &[("plant".into(), "1".into()), ("crew:Mech".into(), "2".into())]).unwrap();
        store.put_snapshots(d2, &[("plant".into(), "3".into())]).unwrap();
        store.put_snapshots(d2, &[("plant".into(), "4".into())]).unwrap();
        assert_eq!(store.snapshot(d2, "plant").unwrap().as_deref(), Some("4"));
        assert_eq!(store.snapshot(d2, "crew:Mech").unwrap(), None);
        let all: Vec<(NaiveDate, String)> = store.snapshots().unwrap().into_iter().map(|(d, s, _)| (d, s)).collect();
        assert_eq!(all, [(d1, "crew:Mech".into()), (d1, "plant".into()), (d2, "plant".into())]);
    }

    /// The copy's list of tables is every table the engine has: a later table must join it.
    fn the_copy_knows_every_table(store: &mut Store) {
        let mut known: Vec<String> = copy::TABLES.iter().map(|t| t.name.to_string()).collect();
        known.sort();
        assert_eq!(store.table_names().unwrap(), known);
    }

    /// A copy into this engine from SQLite, and back into a new SQLite store, carries
    /// everything; ids go on after the copied ones; a non-empty target is refused without force.
    fn a_copy_carries_everything_there_and_back(store: &mut Store) {
        let mut source = sqlite_store();
        fill(&mut source);
        let report = copy(&mut source, store, false, &mut |_, _| {}).unwrap();
        let orders = report.tables.iter().find(|t| t.0 == "orders").unwrap().1;
        assert_eq!(orders, 4);
        assert_eq!(everything(store), everything(&mut source));
        let mut back = sqlite_store();
        copy(store, &mut back, false, &mut |_, _| {}).unwrap();
        assert_eq!(everything(&mut back), everything(&mut source));
        let e = copy(&mut source, store, false, &mut |_, _| {}).unwrap_err().to_string();
        assert!(e.contains("not empty") && e.contains("--force"), "{e}");
        let before = everything(store);
        copy(&mut source, store, true, &mut |_, _| {}).unwrap();
        assert_eq!(everything(store), before);
        let max = store.actions(None, None).unwrap().iter().map(|a| a.id).max().unwrap();
        let next = store.write_action(None, &action("crew:Mech", "after the copy"), "Ana", "created", at(900)).unwrap();
        assert!(next > max, "{next} after {max}");
        let run = import(store, vec![order("z", "after")]);
        assert!(run > source.runs(1).unwrap()[0].id);
    }
}

#[test]
fn the_engines_migrations_are_in_step() {
    assert_eq!(sqlite::MIGRATIONS.len(), postgres::MIGRATIONS.len());
}

#[test]
fn urls_are_checked_and_never_echo_a_password() {
    assert!(matches!(Store::open("mysql://x"), Err(StoreError::Url(..))));
    let e = Store::open("mysql://user:secret@db/gemba")
        .err()
        .unwrap()
        .to_string();
    assert!(!e.contains("secret"), "{e}");
    // Nothing listens on port 1: the error names host, port and database, not the password.
    let e = Store::open("postgres://gemba:secret@127.0.0.1:1/plant?connect_timeout=2")
        .err()
        .unwrap()
        .to_string();
    assert!(!e.contains("secret"), "{e}");
    assert!(e.contains("127.0.0.1:1/plant"), "{e}");
    let e = Store::open("postgres://gemba:secret@127.0.0.1/plant?sslmode=sometimes")
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("sslmode `sometimes`") && !e.contains("secret"),
        "{e}"
    );
    assert!(Store::open("sqlite::memory:").is_ok());
}

#[test]
fn redacting_a_url_keeps_the_user_host_and_database() {
    assert_eq!(
        redact("postgres://gemba:s3cr%40t@db.example:5433/plant?sslmode=require&password=x"),
        "postgres://gemba@db.example:5433/plant"
    );
    assert_eq!(redact("postgresql://db/plant"), "postgresql://db/plant");
    assert_eq!(redact("sqlite:gemba.db"), "sqlite:gemba.db");
}

#[test]
fn a_store_from_before_costs_keeps_its_orders_and_gains_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let url = format!("sqlite:{}", path.display());
    {
        let mut store = Store::open(&url).unwrap();
        import(&mut store, vec![order("old", "from before")]);
    }
    // The schema as migration 5 left it: no cost, no failure code, no job fire times.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "ALTER TABLE orders DROP COLUMN cost; ALTER TABLE orders DROP COLUMN failure_code; \
         DROP INDEX job_runs_fire; ALTER TABLE job_runs DROP COLUMN fire_at; \
         ALTER TABLE job_runs DROP COLUMN heartbeat_at; DROP TABLE login_failures; \
         DROP TABLE leaders; DROP TABLE routines; DROP TABLE routine_completions; \
         DROP TABLE lsw_history; DROP TABLE walk_routes; DROP TABLE walks; DROP TABLE a3s; DROP TABLE objectives; DROP TABLE hoshin_reviews; \
         PRAGMA user_version = 5;",
    )
    .unwrap();
    drop(conn);
    let mut store = Store::open(&url).unwrap();
    assert_eq!(store.orders().unwrap(), vec![order("old", "from before")]);
    let mut costed = order("new", "with a cost");
    costed.cost = Some(99.5);
    costed.failure_code = Some("SEAL-LEAK".into());
    import(&mut store, vec![costed.clone()]);
    let orders = store.orders().unwrap();
    assert!(orders.contains(&costed) && orders.len() == 2, "{orders:?}");
}

#[test]
fn a_newer_schema_is_refused_by_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("new.db").display());
    drop(Store::open(&url).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join("new.db")).unwrap();
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    let e = Store::open(&url).err().unwrap().to_string();
    assert!(e.contains("version 99") && e.contains("newer"), "{e}");
    let db = pg::Database::new();
    drop(Store::open(&db.url).unwrap());
    db.client()
        .batch_execute("UPDATE gemba_schema SET version = 99")
        .unwrap();
    let e = Store::open(&db.url).err().unwrap().to_string();
    assert!(e.contains("version 99") && e.contains("newer"), "{e}");
}

#[test]
fn a_backup_is_a_store_with_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut store =
        Store::open(&format!("sqlite:{}", dir.path().join("live.db").display())).unwrap();
    fill(&mut store);
    let file = dir.path().join("backup.db");
    store.backup(&file).unwrap();
    let mut copy = Store::open(&format!("sqlite:{}", file.display())).unwrap();
    assert_eq!(everything(&mut copy), everything(&mut store));
}

#[test]
fn postgres_instances_starting_together_migrate_once() {
    let db = pg::Database::new();
    let opened: Vec<bool> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| Store::open(&db.url).is_ok()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(opened, [true; 4]);
    let rows = db
        .client()
        .query("SELECT version FROM gemba_schema", &[])
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i64>(0), postgres::MIGRATIONS.len() as i64);
}

#[test]
fn postgres_leaves_unchanged_orders_untouched() {
    let db = pg::Database::new();
    let mut store = Store::open(&db.url).unwrap();
    import(&mut store, vec![order("a", "1"), order("b", "2")]);
    let versions = |db: &pg::Database| -> Vec<String> {
        db.client()
            .query("SELECT xmin::text FROM orders ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let before = versions(&db);
    import(&mut store, vec![order("a", "1"), order("b", "changed")]);
    let after = versions(&db);
    assert_eq!(before[0], after[0], "an unchanged row was rewritten");
    assert_ne!(before[1], after[1], "a changed row was not written");
    // A row without its hash (copied from SQLite, or from before the hash) is written once,
    // which fills the hash, and then left alone.
    db.client()
        .execute("UPDATE orders SET row_hash = NULL WHERE id = 'a'", &[])
        .unwrap();
    let before = versions(&db);
    import(&mut store, vec![order("a", "1"), order("b", "changed")]);
    let filled = versions(&db);
    assert_ne!(
        before[0], filled[0],
        "a row without its hash was not written"
    );
    assert_eq!(before[1], filled[1], "an unchanged row was rewritten");
    import(&mut store, vec![order("a", "1"), order("b", "changed")]);
    assert_eq!(versions(&db), filled);
    let hashes: i64 = db
        .client()
        .query_one("SELECT count(row_hash) FROM orders", &[])
        .unwrap()
        .get(0);
    assert_eq!(hashes, 2);
}

#[test]
fn postgres_reimports_write_only_the_changed_rows() {
    let db = pg::Database::new();
    let mut store = Store::open(&db.url).unwrap();
    let orders = |changed: usize| -> Vec<WorkOrder> {
        (0..40_000)
            .map(|i| {
                order(
                    &format!("o{i:05}"),
                    if i == changed { "changed" } else { "x" },
                )
            })
            .collect()
    };
    import(&mut store, orders(usize::MAX));
    import(&mut store, orders(31_234));
    let written: Vec<String> = db
        .client()
        .query(
            "SELECT id FROM orders WHERE xmin = (SELECT max(xmin::text::bigint) FROM orders)::text::xid",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(written, ["o31234"]);
    assert_eq!(store.orders().unwrap()[31_234].title, "changed");
}

#[test]
fn postgres_opens_a_lost_connection_again() {
    let db = pg::Database::new();
    let mut store = Store::open(&db.url).unwrap();
    import(&mut store, vec![order("a", "1")]);
    let mut admin = db.client();
    admin
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .unwrap();
    // pg_terminate_backend only signals: wait until the store's backend is gone.
    let others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
    for _ in 0..100 {
        if admin.query_one(others, &[]).unwrap().get::<_, i64>(0) == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The first call may meet the closed connection; the next opens it again.
    let first = store.order_count();
    let second = store.order_count().unwrap();
    assert_eq!(second, 1, "{first:?}");
}

#[test]
fn postgres_commits_notify_the_data_channel() {
    let db = pg::Database::new();
    let mut listener = db.client();
    listener.batch_execute("LISTEN gemba_data").unwrap();
    let mut store = Store::open(&db.url).unwrap();
    let run = import(&mut store, vec![order("a", "1")]);
    let mut got = Vec::new();
    let mut n = listener.notifications();
    let mut it = n.timeout_iter(std::time::Duration::from_secs(5));
    use ::postgres::fallible_iterator::FallibleIterator;
    if let Some(note) = it.next().unwrap() {
        got.push(note.payload().to_string());
    }
    assert_eq!(got, [run.to_string()]);
}

#[test]
fn postgres_tls_modes_check_what_they_say() {
    let root = std::env::var("GEMBA_TEST_PG_ROOTCERT").unwrap_or_else(|_| {
        panic!("GEMBA_TEST_PG_ROOTCERT is not set: the TLS tests need the CA of the test server's certificate (.ci/test makes one)")
    });
    let db = pg::Database::new();
    let url = |query: &str| format!("{}?{query}", db.url);
    let ssl_in_use = |u: &str| -> bool {
        let mut store = Store::open(u).unwrap();
        match &mut store.engine {
            Engine::Postgres(e) => e
                .call(|c, err| {
                    Ok(c.query_one(
                        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                        &[],
                    )
                    .map_err(err)?
                    .get::<_, bool>(0))
                })
                .unwrap(),
            Engine::Sqlite(_) => unreachable!(),
        }
    };
    assert!(!ssl_in_use(&url("sslmode=disable")));
    assert!(ssl_in_use(&url("sslmode=prefer")));
    assert!(ssl_in_use(&url("sslmode=require")));
    let root_q = format!("sslrootcert={root}");
    assert!(ssl_in_use(&url(&format!("sslmode=verify-ca&{root_q}"))));
    // The certificate names 127.0.0.1 and localhost.
    assert!(ssl_in_use(&url(&format!("sslmode=verify-full&{root_q}"))));
    // Without its CA the server is not trusted, and the error says why.
    let e = Store::open(&url("sslmode=verify-full"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("certificate"), "{e}");
    let e = Store::open(&url(
        "sslmode=verify-full&sslrootcert=/nonexistent/root.crt",
    ))
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("/nonexistent/root.crt"), "{e}");
}
