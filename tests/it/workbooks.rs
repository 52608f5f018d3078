//! Real exports through the CLI: workbooks (.xlsx, .xls, .ods; date cells and serials, a title
//! block, sheets, damaged and protected files, a drop folder), a profile drafted with
//! `gemba profile new` and a dry run before the import.

use gemba::model::{Kind, Status, WorkOrder};

use crate::support::{Sandbox, fails, fixture, ok, repo};

fn workbook(name: &str) -> String {
    fixture(&format!("workbooks/{name}"))
}

fn find<'a>(orders: &'a [WorkOrder], id: &str) -> &'a WorkOrder {
    orders
        .iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("order {id} not in {:?}", ids(orders)))
}

fn ids(orders: &[WorkOrder]) -> Vec<&str> {
    orders.iter().map(|o| o.id.as_str()).collect()
}

/// The shipped config in the sandbox's config folder (so `--profile NAME` finds
/// `cfg/csv/NAME.toml`); its path.
fn config_folder(s: &Sandbox) -> String {
    let dir = s.path("cfg");
    std::fs::create_dir_all(dir.join("csv")).unwrap();
    std::fs::copy(repo("config/gemba.toml"), dir.join("gemba.toml")).unwrap();
    dir.join("gemba.toml").display().to_string()
}

/// `gemba import FILE --profile generic EXTRA...` in the sandbox.
fn import_generic(s: &Sandbox, file: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import", file, "--profile", "generic"];
    args.extend_from_slice(extra);
    s.gemba(&args)
}

#[test]
fn workbooks_import_date_cells_serials_numbers_and_sheets() {
    let s = Sandbox::new();
    let out = ok(&import_generic(&s, &workbook("generic.xlsx"), &[]));
    assert!(
        out.contains("generic.xlsx, sheet Orders: read 3, upserted 3, rejected 0"),
        "the first sheet: {out}"
    );
    let orders = s.orders();
    let w1 = find(&orders, "W-1");
    // Date cells are plant time (Berlin, UTC+1 in March); the due date 46089 is a bare serial
    // of 2026-03-08, a due date means the end of that day.
    assert_eq!(w1.created_at.to_rfc3339(), "2026-03-02T07:15:00+00:00");
    assert_eq!(w1.due_at.unwrap().to_rfc3339(), "2026-03-08T23:00:00+00:00");
    assert_eq!(
        w1.completed_at.unwrap().to_rfc3339(),
        "2026-03-03T10:00:00+00:00"
    );
    assert_eq!((w1.kind, w1.status), (Kind::Corrective, Status::Completed));
    assert_eq!(
        (w1.cost, w1.failure_code.as_deref()),
        (Some(412.5), Some("SEAL-LEAK"))
    );
    assert_eq!(w1.estimated_hours, Some(4.0));
    // A serial with a fraction is a time of day; a numeric id is read as written.
    assert_eq!(
        find(&orders, "W-2").due_at.unwrap().to_rfc3339(),
        "2026-03-20T11:00:00+00:00"
    );
    assert_eq!(find(&orders, "1003").cost, Some(2210.0));
    assert_eq!(find(&orders, "1003").priority.get(), 1);

    // Another sheet by name (any case); a sheet that is not there names those that are.
    let out = ok(&import_generic(
        &s,
        &workbook("generic.xlsx"),
        &["--sheet", "closed"],
    ));
    assert!(out.contains("sheet Closed: read 1, upserted 1"), "{out}");
    let err = fails(&import_generic(
        &s,
        &workbook("generic.xlsx"),
        &["--sheet", "Open"],
    ));
    assert!(
        err.contains("no sheet named `Open`") && err.contains("`Orders`, `Closed`"),
        "{err}"
    );
    let err = fails(&import_generic(
        &s,
        &fixture("generic_ok.csv"),
        &["--sheet", "Orders"],
    ));
    assert!(err.contains("is for workbooks"), "{err}");

    // OpenDocument and legacy Excel hold the same orders as the .xlsx.
    let xlsx: Vec<WorkOrder> = orders.clone();
    for (file, source) in [("generic.ods", "ods"), ("generic.xls", "xls")] {
        let out = ok(&import_generic(&s, &workbook(file), &["--source", source]));
        assert!(out.contains("read 3, upserted 3, rejected 0"), "{out}");
        let mut same: Vec<WorkOrder> = s
            .orders()
            .into_iter()
            .filter(|o| o.source == source)
            .map(|o| WorkOrder {
                source: "generic".into(),
                ..o
            })
            .collect();
        same.sort_by(|a, b| a.id.cmp(&b.id));
        let mut want = xlsx.clone();
        want.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(same, want, "{file} reads as the .xlsx does");
    }
}

#[test]
fn a_title_block_is_skipped_and_rejections_name_sheet_row_column_and_value() {
    let s = Sandbox::new();
    let cfg = config_folder(&s);
    std::fs::copy(
        fixture("profiles/sap-report.toml"),
        s.path("cfg/csv/sap-report.toml"),
    )
    .unwrap();
    let out = ok(&s.gemba(&[
        "--config",
        &cfg,
        "import",
        &workbook("report_title_block.xlsx"),
        "--profile",
        "sap-report",
    ]));
    assert!(
        out.contains("sheet IW39: read 4, upserted 3, rejected 1"),
        "{out}"
    );
    assert!(
        out.contains("row 7: kind = `Replace belt`")
            && out.contains("(sheet `IW39`, column D `OrderType`)"),
        "the row as the spreadsheet numbers it, the column's letter and name: {out}"
    );
    let orders = s.orders();
    // The start date 46087 is a bare serial: 2026-03-06.
    let boiler = find(&orders, "BOIL-01|2026-03-06|Burner flame failure");
    assert_eq!((boiler.kind, boiler.cost), (Kind::Emergency, Some(2210.0)));
    // The same rows again: the same store.
    ok(&s.gemba(&[
        "--config",
        &cfg,
        "import",
        &workbook("report_title_block.xlsx"),
        "--profile",
        "sap-report",
    ]));
    assert_eq!(s.orders(), orders);

    // A CSV file with a title block, its header row pinned by the profile.
    let csv = s.path("report.csv");
    std::fs::write(
        &csv,
        "Order report\nexported 2026-03-31\nid,title,kind,status,priority,created_at\nT-1,x,corrective,ready,2,2026-03-01\n",
    )
    .unwrap();
    let generic = std::fs::read_to_string(repo("connectors/csv/generic.toml")).unwrap();
    std::fs::write(
        s.path("cfg/csv/titled.toml"),
        generic
            .replace("name = \"generic\"", "name = \"titled\"")
            .replace("[csv]\n", "[csv]\nheader_row = 3\n"),
    )
    .unwrap();
    let out = ok(&s.gemba(&[
        "--config",
        &cfg,
        "import",
        csv.to_str().unwrap(),
        "--profile",
        "titled",
    ]));
    assert!(out.contains("read 1, upserted 1, rejected 0"), "{out}");
    // Without header_row the first line naming the profile's columns is the header.
    let out = ok(&import_generic(&s, csv.to_str().unwrap(), &[]));
    assert!(out.contains("read 1, upserted 1, rejected 0"), "{out}");
}

#[test]
fn damaged_and_protected_workbooks_fail_clearly_and_write_nothing() {
    let s = Sandbox::new();
    ok(&import_generic(&s, &fixture("generic_ok.csv"), &[]));
    let before = s.orders();
    let err = fails(&import_generic(&s, &workbook("corrupt.xlsx"), &[]));
    assert!(
        err.contains("corrupt.xlsx") && err.contains("damaged"),
        "{err}"
    );
    let err = fails(&import_generic(&s, &workbook("protected.xlsx"), &[]));
    assert!(
        err.contains("protected.xlsx") && err.contains("protected by a password"),
        "{err}"
    );
    assert_eq!(s.orders(), before);
    let runs = s.store().runs(10).unwrap();
    assert_eq!(
        runs.iter().filter(|r| r.outcome == "failed").count(),
        2,
        "each failure is on record"
    );
}

#[test]
fn a_drop_folder_takes_workbooks() {
    let s = Sandbox::new();
    let drop = s.path("drop");
    std::fs::create_dir_all(&drop).unwrap();
    let text = std::fs::read_to_string(repo("config/gemba.toml")).unwrap()
        + &format!(
            "\n[[schedules]]\nname = \"sheets\"\ncron = \"0 5 * * *\"\nimport = {{ path = \"{}/*.xlsx\", profile = \"generic\", sheet = \"Closed\", settle_seconds = 0 }}\n",
            drop.display()
        );
    let cfg = s.path("gemba.toml");
    std::fs::write(&cfg, text).unwrap();
    let cfg = cfg.to_str().unwrap();
    std::fs::copy(workbook("generic.xlsx"), drop.join("week-10.xlsx")).unwrap();
    std::fs::copy(workbook("corrupt.xlsx"), drop.join("week-11.xlsx")).unwrap();
    let out = s.gemba(&["--config", cfg, "schedules", "run", "sheets"]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        said.contains("1 file(s) imported, 1 failed"),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ids(&s.orders()), ["W-9"], "the job's sheet");
    let failed: Vec<String> = std::fs::read_dir(drop.join("failed"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        failed.iter().any(|f| f.ends_with("week-11.xlsx")),
        "{failed:?}"
    );
}

#[test]
fn a_drafted_profile_edited_only_in_its_map_imports_an_export_without_ids() {
    let s = Sandbox::new();
    let cfg = config_folder(&s);
    let out = ok(&s.gemba(&[
        "--config",
        &cfg,
        "profile",
        "new",
        &fixture("no_id_export.csv"),
        "--name",
        "iw39",
    ]));
    assert!(out.contains("csv/iw39.toml"), "{out}");
    assert!(
        out.contains("kind: `PM01`")
            && out.contains("kind: `PM02`")
            && out.contains("kind: `PM03`"),
        "the codes to fill in: {out}"
    );
    let path = s.path("cfg/csv/iw39.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(r#"id = { from = ["Asset", "BscStartDate", "Text"] }"#),
        "a composed id: {text}"
    );
    assert!(
        text.contains("line(s) 6"),
        "the shifted row is named: {text}"
    );
    assert_eq!(
        text.matches("FILL IN\"").count(),
        3,
        "only the three codes: {text}"
    );
    // Not usable until the codes are filled in, and the error says which.
    let err = fails(&s.gemba(&[
        "--config",
        &cfg,
        "import",
        &fixture("no_id_export.csv"),
        "--profile",
        "iw39",
        "--dry-run",
    ]));
    assert!(err.contains("map.PM01") && err.contains("FILL IN"), "{err}");
    let refuse = fails(&s.gemba(&[
        "--config",
        &cfg,
        "profile",
        "new",
        &fixture("no_id_export.csv"),
        "--name",
        "iw39",
    ]));
    assert!(refuse.contains("--force"), "{refuse}");

    // The user's only edit: what each order type means.
    let edited = text
        .replace(r#""PM01" = "FILL IN""#, r#""PM01" = "emergency""#)
        .replace(r#""PM02" = "FILL IN""#, r#""PM02" = "corrective""#)
        .replace(r#""PM03" = "FILL IN""#, r#""PM03" = "preventive""#);
    std::fs::write(&path, edited).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--config",
            &cfg,
            "import",
            &fixture("no_id_export.csv"),
            "--profile",
            "iw39",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        ok(&s.gemba(&args.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let dry = run(&["--dry-run"]);
    assert!(
        dry.contains("dry run, nothing written") && dry.contains("would import 5, rejected 1"),
        "{dry}"
    );
    assert!(
        dry.contains("line 6: kind = `replace belt`") && dry.contains("the header 5"),
        "{dry}"
    );
    assert!(
        dry.contains(
            "kind <- OrderType: 4 distinct: `PM02` 2, `PM03` 2, `PM01` 1, `replace belt` 1"
        ),
        "{dry}"
    );
    assert_eq!(s.orders().len(), 0, "a dry run writes nothing");
    assert!(s.store().runs(10).unwrap().is_empty(), "not even a run");

    let out = run(&[]);
    assert!(out.contains("read 6, upserted 5, rejected 1"), "{out}");
    let orders = s.orders();
    assert_eq!(orders.len(), 5);
    assert_eq!(
        find(&orders, "BOIL-01|2026-03-06|Burner flame failure").kind,
        Kind::Emergency
    );
    find(&orders, "CONV-03|2026-03-03|Monthly lubrication~2");
    let rejected = ok(&s.gemba(&["imports", "--rejections", "1"]));
    let line = rejected
        .lines()
        .find(|l| l.contains("replace belt"))
        .unwrap_or_else(|| panic!("{rejected}"));
    assert!(
        line.trim_start().starts_with("6 ")
            && line.contains("kind")
            && line.contains("the header 5"),
        "line, field, value and reason: {line}"
    );
    let again = run(&[]);
    assert!(again.contains("read 6, upserted 5, rejected 1"), "{again}");
    assert_eq!(s.orders(), orders, "the same file again changes nothing");
}

#[test]
fn a_profile_is_drafted_from_a_workbook_below_its_title_block() {
    let s = Sandbox::new();
    let out = ok(&s.gemba(&[
        "profile",
        "new",
        &workbook("report_title_block.xlsx"),
        "--out",
        "-",
    ]));
    assert!(out.contains("sheet IW39"), "{out}");
    assert!(out.contains("# header_row = 4"), "{out}");
    assert!(out.contains("created_at = \"BscStartDate\""), "{out}");
    assert!(out.contains("cost = \"Cost\""), "{out}");
}
