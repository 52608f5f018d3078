//! `gemba import` through the real binary: profiles, malformed files, transactions.

use gemba::model::{Kind, Status};

use crate::support::{Sandbox, fails, fixture, ok};

fn find<'a>(orders: &'a [gemba::model::WorkOrder], id: &str) -> &'a gemba::model::WorkOrder {
    orders
        .iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("order {id} not stored"))
}

#[test]
fn generic_profile_reads_mixed_dates_quotes_and_line_breaks() {
    let s = Sandbox::new();
    let out = ok(&s.gemba(&[
        "import",
        &fixture("generic_ok.csv"),
        "--profile",
        "generic",
        "--source",
        "plant-a",
    ]));
    assert!(out.contains("read 6, upserted 6, rejected 0"), "{out}");
    let orders = s.orders();
    assert_eq!(orders.len(), 6);
    assert!(orders.iter().all(|o| o.source == "plant-a"));
    assert_eq!(find(&orders, "G-2").title, "Guard damaged, conveyor 3");
    assert_eq!(find(&orders, "G-3").title, "Valve 2\" passing, replace");
    assert_eq!(
        find(&orders, "G-4").title,
        "Monthly inspection\nboiler 1 (see checklist)"
    );
    // Berlin (the demo config's zone) is UTC+1 in early March: a bare date starts at 23:00 UTC the
    // day before, a bare due date ends at 23:00 UTC that day.
    let g2 = find(&orders, "G-2");
    assert_eq!(g2.created_at.to_rfc3339(), "2026-03-04T23:00:00+00:00");
    assert_eq!(g2.due_at.unwrap().to_rfc3339(), "2026-03-20T23:00:00+00:00");
    assert_eq!(
        find(&orders, "G-3").created_at.to_rfc3339(),
        "2026-03-06T08:00:00+00:00"
    );
    // A local datetime is plant time.
    assert_eq!(
        find(&orders, "G-4").created_at.to_rfc3339(),
        "2026-03-01T06:00:00+00:00"
    );
    let g1 = find(&orders, "G-1");
    assert_eq!(
        (g1.kind, g1.status, g1.priority.get()),
        (Kind::Corrective, Status::Completed, 2)
    );
    assert_eq!(
        (g1.estimated_hours, g1.actual_hours, g1.downtime_hours),
        (Some(4.0), Some(3.5), Some(2.0))
    );
    assert_eq!(g1.asset_criticality.unwrap().get(), 8);
    assert_eq!(find(&orders, "G-5").pm_interval_days, Some(90));
    assert_eq!(find(&orders, "G-5").due_at, None);
}

#[test]
fn an_import_stores_todays_snapshot_of_every_scope() {
    let s = Sandbox::new();
    let out = ok(&s.gemba(&["import", &fixture("generic_ok.csv"), "--profile", "generic"]));
    assert!(out.contains("stored today's metrics for"), "{out}");
    let mut store = s.store();
    let snaps = store.snapshots().unwrap();
    let scopes: Vec<&str> = snaps.iter().map(|(_, scope, _)| scope.as_str()).collect();
    for want in [
        "plant",
        "site:Riverside",
        "area:Processing",
        "crew:Utilities",
    ] {
        assert!(scopes.contains(&want), "{want} missing from {scopes:?}");
    }
    let plant: serde_json::Value =
        serde_json::from_str(&snaps.iter().find(|(_, s, _)| s == "plant").unwrap().2).unwrap();
    // G-2 is ready (1.5 h) and G-3 scheduled (6 h): the ready backlog of today.
    assert_eq!(plant["ready_backlog_hours"], 7.5);
}

#[test]
fn bom_semicolons_crlf_and_tabs_are_understood() {
    let s = Sandbox::new();
    let out = ok(&s.gemba(&[
        "import",
        &fixture("generic_bom_semicolon_crlf.csv"),
        "--profile",
        "generic",
    ]));
    assert!(out.contains("read 2, upserted 2, rejected 0"), "{out}");
    // Optional columns the file lacks are reported, not fatal.
    assert!(
        out.contains("left empty") && out.contains("due_at"),
        "{out}"
    );
    let out = ok(&s.gemba(&[
        "import",
        &fixture("generic_tab.tsv"),
        "--profile",
        "generic",
    ]));
    assert!(out.contains("read 2, upserted 2, rejected 0"), "{out}");
    let orders = s.orders();
    assert_eq!(find(&orders, "S-1").title, "Pump; noisy");
    assert_eq!(find(&orders, "S-2").estimated_hours, Some(1.5));
    assert_eq!(find(&orders, "T-2").kind, Kind::Project);
}

#[test]
fn bad_rows_are_rejected_with_line_field_value_and_reason() {
    let s = Sandbox::new();
    let out = ok(&s.gemba(&[
        "import",
        &fixture("generic_bad.csv"),
        "--profile",
        "generic",
    ]));
    assert!(out.contains("read 10, upserted 3, rejected 7"), "{out}");
    let mut ids: Vec<String> = s.orders().into_iter().map(|o| o.id).collect();
    ids.sort();
    assert_eq!(ids, ["B-1", "B-10", "B-7"]);
    let mut store = s.store();
    let run = store.runs(1).unwrap().remove(0);
    assert_eq!(
        (run.counts.read, run.counts.upserted, run.counts.rejected),
        (10, 3, 7)
    );
    assert_eq!(run.outcome, "succeeded");
    let rej: Vec<(u64, String, String)> = store
        .rejections(run.id)
        .unwrap()
        .into_iter()
        .map(|r| (r.line, r.field, r.value))
        .collect();
    assert_eq!(
        rej,
        [
            (3, "created_at".into(), "31/03/2026".into()),
            (4, "status".into(), "OPEN".into()),
            (5, "(row)".into(), "9 fields".into()),
            (6, "id".into(), "".into()),
            (7, "created_at".into(), "".into()),
            (10, "estimated_hours".into(), "two".into()),
            (11, "priority".into(), "9".into()),
        ]
    );
    // The CLI lists them too.
    let listed = ok(&s.gemba(&["imports", "--rejections", &run.id.to_string()]));
    assert!(
        listed.contains("`OPEN`") && listed.contains("expected one of"),
        "{listed}"
    );
}

#[test]
fn strict_writes_nothing_on_one_bad_row() {
    let s = Sandbox::new();
    ok(&s.gemba(&["import", &fixture("generic_ok.csv"), "--profile", "generic"]));
    let before = s.orders();
    let err = fails(&s.gemba(&[
        "import",
        &fixture("generic_bad.csv"),
        "--profile",
        "generic",
        "--strict",
    ]));
    assert!(
        err.contains("--strict") && err.contains("7 row(s) rejected") && err.contains("line 3"),
        "{err}"
    );
    assert_eq!(s.orders(), before);
    // The failed run is on record with its rejections, so the person fixing the file sees them.
    let mut store = s.store();
    let run = store.runs(1).unwrap().remove(0);
    assert_eq!(
        (
            run.outcome.as_str(),
            run.counts.upserted,
            run.counts.rejected
        ),
        ("failed", 0, 7)
    );
    assert_eq!(store.rejections(run.id).unwrap().len(), 7);
}

#[test]
fn reimporting_the_same_file_leaves_the_same_store() {
    let s = Sandbox::new();
    ok(&s.gemba(&["import", &fixture("generic_ok.csv"), "--profile", "generic"]));
    let first = s.orders();
    ok(&s.gemba(&["import", &fixture("generic_ok.csv"), "--profile", "generic"]));
    assert_eq!(s.orders(), first);
}

#[test]
fn a_later_export_updates_what_changed_and_leaves_the_rest() {
    let s = Sandbox::new();
    ok(&s.gemba(&["import", &fixture("generic_ok.csv"), "--profile", "generic"]));
    let first = s.orders();
    // G-1 loses its downtime (a value to empty), G-2 gets an assignee (empty to a value) and
    // moves on (a value to another); every other row is the same.
    let text = std::fs::read_to_string(fixture("generic_ok.csv")).unwrap();
    let changed = text.replace(",4,3.5,2,\n", ",4,3.5,,\n").replace(
        "corrective,ready,3,Riverside,Packaging,Packaging Mechanical,,",
        "corrective,in_progress,3,Riverside,Packaging,Packaging Mechanical,B. Smit,",
    );
    assert_ne!(changed, text);
    let later = s.path("later.csv");
    std::fs::write(&later, changed).unwrap();
    ok(&s.gemba(&["import", later.to_str().unwrap(), "--profile", "generic"]));
    let now = s.orders();
    assert_eq!(now.len(), first.len());
    for (a, b) in first.iter().zip(&now) {
        let mut want = a.clone();
        match a.id.as_str() {
            "G-1" => want.downtime_hours = None,
            "G-2" => {
                want.status = gemba::model::Status::InProgress;
                want.assignee = Some("B. Smit".into());
            }
            _ => {}
        }
        assert_eq!(b, &want);
    }
    assert_eq!(find(&first, "G-1").downtime_hours, Some(2.0));
}

#[test]
fn a_failure_mid_import_leaves_the_previous_data_intact() {
    let s = Sandbox::new();
    let csv = s.path("demo.csv");
    ok(&s.gemba(&[
        "demo",
        "--csv",
        csv.to_str().unwrap(),
        "--orders",
        "3000",
        "--until",
        "2026-03-31",
    ]));
    ok(&s.gemba(&["import", &fixture("generic_ok.csv"), "--profile", "generic"]));
    let before = s.orders();
    let err = fails(&s.gemba_env(
        &["import", csv.to_str().unwrap(), "--profile", "generic"],
        &[("GEMBA_FAIL_AFTER_ROWS", "1500")],
    ));
    assert!(err.contains("after 1500 rows"), "{err}");
    assert_eq!(s.orders(), before, "half an import must not be visible");
    let run = s.store().runs(1).unwrap().remove(0);
    assert_eq!(run.outcome, "failed");
    // And the same file imports whole afterwards.
    let out = ok(&s.gemba(&["import", csv.to_str().unwrap(), "--profile", "generic"]));
    assert!(
        out.contains("read 3000, upserted 3000, rejected 0"),
        "{out}"
    );
    assert_eq!(s.orders().len(), 3006);
}

#[test]
fn files_that_are_not_csv_or_lack_columns_fail_at_once() {
    let s = Sandbox::new();
    let err = fails(&s.gemba(&[
        "import",
        &fixture("generic_missing_columns.csv"),
        "--profile",
        "generic",
    ]));
    assert!(
        err.contains("missing required column(s)")
            && err.contains("`status`")
            && err.contains("`created_at`"),
        "{err}"
    );
    assert!(
        err.contains("generic_missing_columns.csv"),
        "names the file: {err}"
    );
    // A file named and made like a workbook is read as one, and this one is not whole.
    let err = fails(&s.gemba(&["import", &fixture("not_csv.xlsx"), "--profile", "generic"]));
    assert!(
        err.contains("not_csv.xlsx") && err.contains("damaged"),
        "{err}"
    );
    let err = fails(&s.gemba(&["import", &fixture("latin1.csv"), "--profile", "generic"]));
    assert!(err.contains("line 2 is not UTF-8"), "{err}");
    let err = fails(&s.gemba(&["import", "no-such-file.csv", "--profile", "generic"]));
    assert!(
        err.contains("no-such-file.csv") && err.contains("cannot read"),
        "{err}"
    );
    let err = fails(&s.gemba(&["import", &fixture("generic_ok.csv"), "--profile", "sapp"]));
    assert!(
        err.contains("no CSV profile named `sapp`") && err.contains("sap-pm"),
        "{err}"
    );
    assert_eq!(s.orders().len(), 0);
    // Each failure is on record.
    assert!(
        s.store()
            .runs(10)
            .unwrap()
            .iter()
            .all(|r| r.outcome == "failed")
    );
}

#[test]
fn one_bad_file_does_not_stop_the_others() {
    let s = Sandbox::new();
    let o = s.gemba(&[
        "import",
        &fixture("not_csv.xlsx"),
        &fixture("generic_ok.csv"),
        "--profile",
        "generic",
    ]);
    let err = fails(&o);
    assert!(err.contains("1 of 2 file(s) failed"), "{err}");
    assert_eq!(s.orders().len(), 6);
}

#[test]
fn atlas_export_imports_with_expected_counts() {
    let s = Sandbox::new();
    let out = ok(&s.gemba(&["import", &fixture("atlas.csv"), "--profile", "atlas"]));
    assert!(out.contains("read 6, upserted 5, rejected 1"), "{out}");
    assert!(out.contains("line 7: status = `DONE`"), "{out}");
    let orders = s.orders();
    let o = find(&orders, "101");
    assert_eq!(
        (o.kind, o.status, o.priority.get()),
        (Kind::Corrective, Status::Completed, 1)
    );
    assert_eq!(
        o.completed_at.unwrap().to_rfc3339(),
        "2026-03-09T15:30:00+00:00"
    );
    assert_eq!(o.crew.as_deref(), Some("Mech Team"));
    assert_eq!(find(&orders, "102").kind, Kind::Preventive);
    assert_eq!(find(&orders, "102").status, Status::Approved);
    assert_eq!(
        find(&orders, "104").kind,
        Kind::Other,
        "unmapped category kept as other, as the profile says"
    );
    assert_eq!(find(&orders, "105").kind, Kind::Other);
    assert_eq!(find(&orders, "104").priority.get(), 5);
}

#[test]
fn maximo_export_imports_with_expected_counts() {
    let s = Sandbox::new();
    let out = ok(&s.gemba(&["import", &fixture("maximo.tsv"), "--profile", "maximo"]));
    assert!(out.contains("read 6, upserted 5, rejected 1"), "{out}");
    assert!(
        out.contains("worktype") || out.contains("kind = `CAL`"),
        "{out}"
    );
    let orders = s.orders();
    let pm = find(&orders, "1001");
    assert_eq!((pm.kind, pm.status), (Kind::Preventive, Status::Completed));
    // 3/1/26 8:00 AM, Berlin (UTC+1) -> 07:00 UTC
    assert_eq!(pm.created_at.to_rfc3339(), "2026-03-01T07:00:00+00:00");
    assert_eq!(
        (pm.estimated_hours, pm.actual_hours),
        (Some(1.5), Some(1.25))
    );
    assert_eq!((pm.cost, pm.failure_code.as_deref()), (Some(182.75), None));
    let em = find(&orders, "1002");
    assert_eq!(
        (em.cost, em.failure_code.as_deref()),
        (None, Some("MOTOR-TRIP"))
    );
    assert_eq!(
        (em.kind, em.status, em.priority.get()),
        (Kind::Emergency, Status::InProgress, 1)
    );
    assert_eq!(em.created_at.to_rfc3339(), "2026-03-20T11:10:00+00:00");
    assert_eq!(find(&orders, "1003").status, Status::OnHold);
    assert_eq!(
        find(&orders, "1003").priority.get(),
        3,
        "missing wopriority is 3, as the profile says"
    );
    assert_eq!(find(&orders, "1004").status, Status::Requested);
    assert_eq!(find(&orders, "1005").status, Status::Cancelled);
}

#[test]
fn sap_pm_export_imports_with_expected_counts() {
    let s = Sandbox::new();
    let out = ok(&s.gemba(&["import", &fixture("sap-pm.csv"), "--profile", "sap-pm"]));
    assert!(out.contains("read 6, upserted 4, rejected 2"), "{out}");
    let orders = s.orders();
    let o = find(&orders, "4000001");
    assert_eq!(
        (o.kind, o.status, o.priority.get()),
        (Kind::Corrective, Status::Ready, 2)
    );
    assert_eq!(o.updated_at.unwrap().timestamp_millis(), 1_772_700_000_000);
    // Basic end 05.03.2026 is a bare due date: the end of that day in Berlin.
    assert_eq!(o.due_at.unwrap().to_rfc3339(), "2026-03-05T23:00:00+00:00");
    assert_eq!(find(&orders, "4000002").kind, Kind::Preventive);
    assert_eq!(find(&orders, "4000002").status, Status::Requested);
    let teco = find(&orders, "4000003");
    assert_eq!(
        (teco.kind, teco.status, teco.priority.get()),
        (Kind::PlannedCorrective, Status::Completed, 3)
    );
    assert_eq!(find(&orders, "4000004").status, Status::Cancelled);
    // Costs and damage codes of an IW39 list, German-locale numbers.
    assert_eq!(
        (o.cost, o.failure_code.as_deref()),
        (Some(1234.5), Some("LEAK"))
    );
    assert_eq!(teco.cost, Some(8910.0));
    assert_eq!(find(&orders, "4000002").cost, None);
}

#[test]
fn a_user_profile_in_the_config_folder_overrides_and_extends() {
    let s = Sandbox::new();
    let cfg_dir = s.path("cfg");
    std::fs::create_dir_all(cfg_dir.join("csv")).unwrap();
    std::fs::copy(
        crate::support::repo("config/gemba.toml"),
        cfg_dir.join("gemba.toml"),
    )
    .unwrap();
    let maximo = std::fs::read_to_string(crate::support::repo("connectors/csv/maximo.toml"))
        .unwrap()
        .replace("name = \"maximo\"", "name = \"our-maximo\"")
        .replace(
            "PROJ = \"project\" }",
            "PROJ = \"project\", CAL = \"preventive\" }",
        );
    std::fs::write(cfg_dir.join("csv/our-maximo.toml"), maximo).unwrap();
    let cfg = cfg_dir.join("gemba.toml");
    let out = ok(&s.gemba(&[
        "--config",
        cfg.to_str().unwrap(),
        "import",
        &fixture("maximo.tsv"),
        "--profile",
        "our-maximo",
    ]));
    assert!(out.contains("read 6, upserted 6, rejected 0"), "{out}");
    let listed = ok(&s.gemba(&["--config", cfg.to_str().unwrap(), "profiles"]));
    assert!(
        listed.contains("our-maximo") && listed.contains("sap-pm"),
        "{listed}"
    );
}

#[test]
fn blank_lines_are_skipped_and_line_numbers_stay_true() {
    let s = Sandbox::new();
    let out = ok(&s.gemba(&[
        "import",
        &fixture("generic_blank_lines.csv"),
        "--profile",
        "generic",
    ]));
    assert!(out.contains("read 2, upserted 2, rejected 0"), "{out}");
    assert_eq!(find(&s.orders(), "A-2").title, "multi\r\n\r\nline");
}

#[test]
fn an_unclosed_quote_fails_the_file_and_points_at_it() {
    let s = Sandbox::new();
    let err = fails(&s.gemba(&[
        "import",
        &fixture("generic_unclosed_quote.csv"),
        "--profile",
        "generic",
    ]));
    assert!(
        err.contains("quoted value is not closed") && err.contains("line 2"),
        "{err}"
    );
    assert!(
        err.lines().count() <= 3,
        "short, not polars' whole message: {err}"
    );
    assert_eq!(s.orders().len(), 0);
}

#[tokio::test]
async fn cost_and_failure_code_go_from_the_file_to_the_store_and_the_api() {
    let s = Sandbox::new();
    let out = ok(&s.gemba(&[
        "import",
        &fixture("generic_cost.csv"),
        "--profile",
        "generic",
    ]));
    assert!(out.contains("read 4, upserted 3, rejected 1"), "{out}");
    let orders = s.orders();
    let c1 = find(&orders, "C-1");
    assert_eq!(
        (c1.cost, c1.failure_code.as_deref()),
        (Some(412.5), Some("SEAL-LEAK"))
    );
    let c2 = find(&orders, "C-2");
    assert_eq!((c2.cost, c2.failure_code.as_deref()), (None, None));
    assert_eq!(
        find(&orders, "C-4").cost,
        Some(1290.0),
        "the currency sign is left off"
    );
    let rejections = ok(&s.gemba(&["imports", "--rejections", "1"]));
    assert!(
        rejections.contains("cost")
            && rejections.contains("-80")
            && rejections.contains("cannot be negative"),
        "{rejections}"
    );
    // Importing the same file again changes nothing.
    let again = ok(&s.gemba(&[
        "import",
        &fixture("generic_cost.csv"),
        "--profile",
        "generic",
    ]));
    assert!(again.contains("upserted 3"), "{again}");
    assert_eq!(s.orders(), orders);

    let server = crate::server::Server::start(&s, &[]);
    let api: serde_json::Value = server.json("/api/v1/orders?sort=id").await;
    let row = api["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "C-1")
        .expect("C-1 listed");
    assert_eq!(
        (row["cost"].as_f64(), row["failure_code"].as_str()),
        (Some(412.5), Some("SEAL-LEAK"))
    );
    let csv = server.text("/orders.csv?sort=id").await;
    assert!(
        csv.lines().next().unwrap().contains(",cost,failure_code,"),
        "{csv}"
    );
    assert!(csv.contains(",412.5,SEAL-LEAK,"), "{csv}");
}

/// A profile from `tests/fixtures/profiles/` in the sandbox's config folder.
fn with_profile(s: &Sandbox, name: &str, edit: impl Fn(String) -> String) -> String {
    let dir = s.path("cfg");
    std::fs::create_dir_all(dir.join("csv")).unwrap();
    std::fs::copy(
        crate::support::repo("config/gemba.toml"),
        dir.join("gemba.toml"),
    )
    .unwrap();
    let text = std::fs::read_to_string(crate::support::repo(&format!(
        "tests/fixtures/profiles/{name}.toml"
    )))
    .unwrap();
    std::fs::write(dir.join(format!("csv/{name}.toml")), edit(text)).unwrap();
    dir.join("gemba.toml").to_str().unwrap().to_string()
}

#[test]
fn an_export_without_an_id_column_imports_through_a_composed_id() {
    let s = Sandbox::new();
    let cfg = with_profile(&s, "sap-report", |t| t);
    let import = || {
        ok(&s.gemba(&[
            "--config",
            &cfg,
            "import",
            &fixture("no_id_export.csv"),
            "--profile",
            "sap-report",
        ]))
    };
    let out = import();
    assert!(out.contains("read 6, upserted 5, rejected 1"), "{out}");
    let orders = s.orders();
    let ids: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    // The same seal on two dates is two orders; two identical lubrication rows stay two orders.
    for id in [
        "PUMP-07|2026-03-02|Seal leaking at the shaft",
        "PUMP-07|2026-03-09|Seal leaking at the shaft",
        "CONV-03|2026-03-03|Monthly lubrication",
        "CONV-03|2026-03-03|Monthly lubrication~2",
        "BOIL-01|2026-03-06|Burner flame failure",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    assert_eq!(
        find(&orders, "BOIL-01|2026-03-06|Burner flame failure").kind,
        Kind::Emergency
    );
    assert_eq!(
        find(&orders, "BOIL-01|2026-03-06|Burner flame failure").cost,
        Some(2210.0)
    );
    // The row shifted by an unquoted comma is rejected with its line, the field whose value
    // shows the shift, and why.
    let rejected = ok(&s.gemba(&["imports", "--rejections", "1"]));
    let line = rejected
        .lines()
        .find(|l| l.contains("the header 5"))
        .unwrap_or_else(|| panic!("{rejected}"));
    assert!(
        line.trim_start().starts_with("6 ")
            && line.contains("kind")
            && line.contains("`replace belt`")
            && line.contains("6 fields"),
        "line 6, the field, the row's shape and why: {line}"
    );
    // The same file again: the same store.
    let again = import();
    assert!(again.contains("read 6, upserted 5, rejected 1"), "{again}");
    assert_eq!(s.orders(), orders);
}

#[test]
fn a_hashed_id_is_stable_and_a_changed_row_is_a_new_order() {
    let s = Sandbox::new();
    let cfg = with_profile(&s, "sap-report", |t| {
        t.replace(
            r#"id = { from = ["Asset", "BscStartDate", "Text"] }"#,
            r#"id = { hash = "row" }"#,
        )
    });
    let run =
        |file: &str| ok(&s.gemba(&["--config", &cfg, "import", file, "--profile", "sap-report"]));
    run(&fixture("no_id_export.csv"));
    let first = s.orders();
    assert_eq!(first.len(), 5);
    assert!(
        first
            .iter()
            .all(|o| o.id.len() == 16 || o.id.ends_with("~2")),
        "{first:?}"
    );
    run(&fixture("no_id_export.csv"));
    assert_eq!(s.orders(), first, "hashing is stable");
    // A later export with one cost corrected: that row hashes anew and becomes another order.
    let changed = std::fs::read_to_string(fixture("no_id_export.csv"))
        .unwrap()
        .replace("2210.00", "2250.00");
    let path = s.path("changed.csv");
    std::fs::write(&path, changed).unwrap();
    run(path.to_str().unwrap());
    assert_eq!(
        s.orders().len(),
        6,
        "the corrected row is a new order; docs/profiles.md says so"
    );
}

#[test]
fn a_store_is_copied_and_backed_up_through_the_cli() {
    let s = Sandbox::new();
    ok(&s.gemba(&["demo", "--days", "30", "--orders-per-day", "5"]));
    let orders = s.store().order_count().unwrap();
    let other = format!("sqlite:{}", s.path("copy.db").display());
    let out = ok(&s.gemba(&["store", "copy", "--to", &other]));
    assert!(
        out.contains("orders") && out.contains("every table's count was checked"),
        "{out}"
    );
    assert_eq!(
        gemba::store::Store::open(&other)
            .unwrap()
            .order_count()
            .unwrap(),
        orders
    );
    let refused = fails(&s.gemba(&["store", "copy", "--to", &other]));
    assert!(
        refused.contains("not empty") && refused.contains("--force"),
        "{refused}"
    );
    ok(&s.gemba(&["store", "copy", "--to", &other, "--force"]));
    let same = fails(&s.gemba(&["store", "copy", "--to", &s.db_url()]));
    assert!(same.contains("the same store"), "{same}");
    // A backup of a SQLite store; a PostgreSQL store is backed up with pg_dump.
    let backup = s.path("backup.db");
    let out = s.gemba_env(
        &["store", "backup", backup.to_str().unwrap()],
        &[("GEMBA_DB", &other)],
    );
    assert!(ok(&out).contains(&format!("({orders} orders)")));
    let again = fails(&s.gemba_env(
        &["store", "backup", backup.to_str().unwrap()],
        &[("GEMBA_DB", &other)],
    ));
    assert!(again.contains("--force"), "{again}");
    if s.db_url().starts_with("postgres") {
        let pg = fails(&s.gemba(&["store", "backup", s.path("pg.db").to_str().unwrap()]));
        assert!(pg.contains("pg_dump"), "{pg}");
    }
}

/// The same tests with the store on PostgreSQL (a database of their own on `GEMBA_TEST_PG`).
mod on_postgres {
    use crate::support::on_postgres;

    #[test]
    fn a_store_is_copied_and_backed_up_through_the_cli() {
        on_postgres(super::a_store_is_copied_and_backed_up_through_the_cli);
    }

    #[test]
    fn generic_profile_reads_mixed_dates_quotes_and_line_breaks() {
        on_postgres(super::generic_profile_reads_mixed_dates_quotes_and_line_breaks);
    }

    #[test]
    fn an_import_stores_todays_snapshot_of_every_scope() {
        on_postgres(super::an_import_stores_todays_snapshot_of_every_scope);
    }

    #[test]
    fn bom_semicolons_crlf_and_tabs_are_understood() {
        on_postgres(super::bom_semicolons_crlf_and_tabs_are_understood);
    }

    #[test]
    fn bad_rows_are_rejected_with_line_field_value_and_reason() {
        on_postgres(super::bad_rows_are_rejected_with_line_field_value_and_reason);
    }

    #[test]
    fn strict_writes_nothing_on_one_bad_row() {
        on_postgres(super::strict_writes_nothing_on_one_bad_row);
    }

    #[test]
    fn reimporting_the_same_file_leaves_the_same_store() {
        on_postgres(super::reimporting_the_same_file_leaves_the_same_store);
    }

    #[test]
    fn a_later_export_updates_what_changed_and_leaves_the_rest() {
        on_postgres(super::a_later_export_updates_what_changed_and_leaves_the_rest);
    }

    #[test]
    fn a_failure_mid_import_leaves_the_previous_data_intact() {
        on_postgres(super::a_failure_mid_import_leaves_the_previous_data_intact);
    }

    #[test]
    fn files_that_are_not_csv_or_lack_columns_fail_at_once() {
        on_postgres(super::files_that_are_not_csv_or_lack_columns_fail_at_once);
    }

    #[test]
    fn one_bad_file_does_not_stop_the_others() {
        on_postgres(super::one_bad_file_does_not_stop_the_others);
    }

    #[test]
    fn atlas_export_imports_with_expected_counts() {
        on_postgres(super::atlas_export_imports_with_expected_counts);
    }

    #[test]
    fn maximo_export_imports_with_expected_counts() {
        on_postgres(super::maximo_export_imports_with_expected_counts);
    }

    #[test]
    fn sap_pm_export_imports_with_expected_counts() {
        on_postgres(super::sap_pm_export_imports_with_expected_counts);
    }

    #[test]
    fn a_user_profile_in_the_config_folder_overrides_and_extends() {
        on_postgres(super::a_user_profile_in_the_config_folder_overrides_and_extends);
    }

    #[test]
    fn blank_lines_are_skipped_and_line_numbers_stay_true() {
        on_postgres(super::blank_lines_are_skipped_and_line_numbers_stay_true);
    }

    #[test]
    fn an_unclosed_quote_fails_the_file_and_points_at_it() {
        on_postgres(super::an_unclosed_quote_fails_the_file_and_points_at_it);
    }

    #[test]
    fn cost_and_failure_code_go_from_the_file_to_the_store_and_the_api() {
        on_postgres(super::cost_and_failure_code_go_from_the_file_to_the_store_and_the_api);
    }

    #[test]
    fn an_export_without_an_id_column_imports_through_a_composed_id() {
        on_postgres(super::an_export_without_an_id_column_imports_through_a_composed_id);
    }

    #[test]
    fn a_hashed_id_is_stable_and_a_changed_row_is_a_new_order() {
        on_postgres(super::a_hashed_id_is_stable_and_a_changed_row_is_a_new_order);
    }
}
