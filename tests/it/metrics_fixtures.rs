//! Hand-computed fixtures for every metric, through `gemba import` + `gemba kpis --format json`.
//! Each expectation carries its arithmetic, so a reader can check it against docs/metrics.md.

use serde_json::Value;

use crate::support::{Sandbox, fails, ok};

const MECH_10X30: &str = "[[crews]]\nname = \"Mech\"\nsite = \"North\"\narea = \"Press\"\ntechnicians = 10\nhours_per_week = 30\n";

/// A sandbox with a config of `plant_extra` (keys under [plant]) and `rest`, and one fixture imported.
fn setup(timezone: &str, rest: &str, fixture: &str) -> (Sandbox, String) {
    let s = Sandbox::new();
    let cfg = s.path("gemba.toml");
    std::fs::write(
        &cfg,
        format!("[plant]\nname = \"Test plant\"\ntimezone = \"{timezone}\"\n{rest}"),
    )
    .unwrap();
    let cfg = cfg.display().to_string();
    let path = crate::support::repo("tests/fixtures/metrics").join(fixture);
    ok(&s.gemba(&[
        "--config",
        &cfg,
        "import",
        path.to_str().unwrap(),
        "--profile",
        "generic",
    ]));
    (s, cfg)
}

fn kpis(s: &Sandbox, cfg: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--config", cfg, "kpis", "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&s.gemba(&args))).expect("kpis prints JSON")
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v["metrics"][key].as_f64()
}

fn close(actual: Option<f64>, expected: f64, what: &str) {
    let a = actual.unwrap_or_else(|| panic!("{what} is null, expected {expected}"));
    assert!(
        (a - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "{what}: {a} != {expected}"
    );
}

#[test]
fn practitioner_example_1200_hours_over_10_technicians_at_30_hours_is_4_crew_weeks() {
    let (s, cfg) = setup("UTC", MECH_10X30, "backlog_1200h.csv");
    let k = kpis(&s, &cfg, &["--as-of", "2026-03-31"]);
    // B01..B11 open, B12 completed after T: 12 x 100 h. B13 cancelled, B14/B15 done before T.
    assert_eq!(k["metrics"]["open_count"], 12);
    close(num(&k, "backlog_hours"), 1200.0, "backlog_hours");
    close(
        num(&k, "capacity_hours_per_week"),
        300.0,
        "capacity (10 x 30)",
    );
    close(num(&k, "backlog_weeks"), 4.0, "backlog_weeks");
    // A past date has no status history: ready backlog is unknown, not guessed.
    assert_eq!(k["metrics"]["ready_backlog_hours"], Value::Null);
    assert_eq!(k["metrics"]["ready_backlog_weeks"], Value::Null);
    assert_eq!(k["by_crew"][0]["crew"], "Mech");
    close(
        k["by_crew"][0]["metrics"]["backlog_weeks"].as_f64(),
        4.0,
        "Mech backlog_weeks",
    );
    // B15: completed without completed_at.
    assert_eq!(k["quality"]["completed_without_date"], 1);
    assert_eq!(k["as_of"], "2026-03-31");
    assert_eq!(k["window_days"], 28);
    assert_eq!(
        k["scope"],
        serde_json::json!({"site": null, "area": null, "crew": null})
    );
    // Now (no --as-of): B12 is done too; ready = B01, B02 (ready) + B08, B09 (scheduled) = 400 h.
    let now = kpis(&s, &cfg, &[]);
    assert_eq!(now["metrics"]["open_count"], 11);
    close(
        num(&now, "ready_backlog_hours"),
        400.0,
        "ready_backlog_hours",
    );
    close(
        num(&now, "ready_backlog_weeks"),
        400.0 / 300.0,
        "ready_backlog_weeks",
    );
    // Site and area scopes count the capacity of the crews placed there.
    let area = kpis(&s, &cfg, &["--as-of", "2026-03-31", "--area", "Press"]);
    close(
        area["metrics"]["capacity_hours_per_week"].as_f64(),
        300.0,
        "area capacity",
    );
    let other = kpis(&s, &cfg, &["--as-of", "2026-03-31", "--site", "South"]);
    assert_eq!(other["metrics"]["capacity_hours_per_week"], Value::Null);
    assert_eq!(other["metrics"]["backlog_weeks"], Value::Null);
    assert_eq!(other["metrics"]["open_count"], 0);
}

#[test]
fn due_dates_on_time_overdue_completed_without_date_and_cancelled() {
    let (s, cfg) = setup("UTC", MECH_10X30, "due_and_completion.csv");
    let k = kpis(&s, &cfg, &["--as-of", "2026-03-31"]);
    // O2 (bare due 31 March = end of that day) is not overdue at the end of 31 March; O3 (noon) is.
    assert_eq!(k["metrics"]["open_count"], 2);
    assert_eq!(k["metrics"]["overdue_count"], 1);
    // Completed in the window: O1, O4, O8, and O5 (at its updated_at). O6 has no date: left out.
    assert_eq!(k["metrics"]["completed_count"], 4);
    // With a due date: O1 on time (done 18:00, due end of day), O4 late (due noon), O8 done at
    // the very instant it was due: on time. 2 of 3.
    close(num(&k, "on_time_pct"), 200.0 / 3.0, "on_time_pct");
    // Created in [4 March, 1 April): O5 and O8; O6 is left out, O7 is cancelled.
    assert_eq!(k["metrics"]["created_count"], 2);
    close(num(&k, "completion_ratio"), 2.0, "completion_ratio");
    assert_eq!(k["quality"]["completed_without_date"], 2);
    assert_eq!(k["quality"]["missing_due"], 1);
    assert_eq!(
        k["quality"]["missing_asset"], 8,
        "quality counts cancelled orders too"
    );
}

#[test]
fn reactive_planned_emergency_and_mttr() {
    let rest = format!("{MECH_10X30}[defaults]\nestimate_hours = {{ corrective = 3.0 }}\n");
    let (s, cfg) = setup("UTC", &rest, "flow_mix.csv");
    let k = kpis(&s, &cfg, &["--as-of", "2026-03-31"]);
    assert_eq!(k["metrics"]["completed_count"], 6);
    // Reactive: E1 actual 3 + C1 estimate 2 + C2 default 3 = 8. Planned: P1 actual 5 + P2
    // estimate 10 (actual 0 is no actual) = 15. X1 (other) is in neither class.
    close(num(&k, "reactive_hours"), 8.0, "reactive_hours");
    close(num(&k, "planned_hours"), 15.0, "planned_hours");
    close(num(&k, "reactive_pct"), 8.0 / 23.0 * 100.0, "reactive_pct");
    close(
        num(&k, "reactive_count_pct"),
        60.0,
        "reactive_count_pct (3 of 5)",
    );
    close(
        num(&k, "reactive_to_planned_ratio"),
        8.0 / 15.0,
        "reactive_to_planned_ratio",
    );
    close(num(&k, "emergency_pct"), 20.0, "emergency_pct (1 of 5)");
    // MTTR: E1 downtime 5 h, C1 started 08:00 done 12:00 = 4 h, C2 has neither: (5 + 4) / 2.
    close(num(&k, "mttr_hours"), 4.5, "mttr_hours");
    close(
        num(&k, "completion_ratio"),
        1.0,
        "completion_ratio (6 created, 6 done)",
    );
    // Undefined, so null: no open orders, no due dates, no PM deadlines, no schedules.
    for key in [
        "mean_age_days",
        "on_time_pct",
        "pm_compliance_pct",
        "schedule_compliance_pct",
    ] {
        assert_eq!(k["metrics"][key], Value::Null, "{key}");
    }
    // A window with no completions at all: every flow percentage is null, never NaN.
    let empty = kpis(&s, &cfg, &["--as-of", "2025-06-30"]);
    for key in [
        "completion_ratio",
        "reactive_pct",
        "reactive_count_pct",
        "reactive_to_planned_ratio",
        "emergency_pct",
        "mttr_hours",
    ] {
        assert_eq!(empty["metrics"][key], Value::Null, "{key}");
    }
}

#[test]
fn pm_grace_20pct_is_6_days_on_a_30_day_interval_and_capped_at_28() {
    let (s, cfg) = setup(
        "UTC",
        &format!("{MECH_10X30}[metrics]\npm_grace = \"20pct\"\n"),
        "pm_grace.csv",
    );
    let k = kpis(&s, &cfg, &["--as-of", "2026-03-31"]);
    // PM1 deadline 21 Mar + 6 d = 27 Mar, done 25 Mar: on time. PM2/PM3 deadline 2 Mar + 28 d =
    // 30 Mar: done 29 Mar on time, 30 Mar noon late. PM4 (no interval, no grace) never done.
    // PM5 deadline 11 Mar + 6 d = 17 Mar 00:00, done at that instant: on time ("by" includes it).
    close(
        num(&k, "pm_compliance_pct"),
        60.0,
        "pm_compliance_pct with 20pct grace (3 of 5)",
    );
    for (grace, expected) in [("none", 0.0), ("1d", 0.0)] {
        let cfg2 = s.path(&format!("grace-{grace}.toml"));
        std::fs::write(
            &cfg2,
            format!("[plant]\nname = \"T\"\n{MECH_10X30}[metrics]\npm_grace = \"{grace}\"\n"),
        )
        .unwrap();
        let k = kpis(&s, cfg2.to_str().unwrap(), &["--as-of", "2026-03-31"]);
        // Without the long grace PM2/PM3 fall due before the window; PM1, PM4 and PM5 are late.
        close(
            num(&k, "pm_compliance_pct"),
            expected,
            &format!("pm_compliance_pct with {grace}"),
        );
    }
}

#[test]
fn schedule_compliance_uses_the_iso_week_across_a_month_end() {
    let (s, cfg) = setup("UTC", MECH_10X30, "schedule_week.csv");
    let k = kpis(&s, &cfg, &["--as-of", "2025-05-11"]);
    // Week of Wed 30 April ends Mon 5 May 00:00: S1 (Sat 3 May) in, S2 (Mon 5 May 08:00) out.
    // S4's week ends 21 April: in. S3's week ends at T itself: not yet in the window. S5 is done
    // at its week's end exactly, which is not before it. 2 of 4.
    close(
        num(&k, "schedule_compliance_pct"),
        50.0,
        "schedule_compliance_pct",
    );
}

#[test]
fn the_plant_day_decides_when_the_plant_differs_from_utc() {
    let (s, cfg) = setup("Asia/Tokyo", MECH_10X30, "tokyo.csv");
    let k = kpis(&s, &cfg, &["--as-of", "2026-03-31"]);
    // T = 1 April 00:00 in Tokyo = 31 March 15:00 UTC: Z1 (16:00 UTC) does not exist yet.
    assert_eq!(k["metrics"]["open_count"], 3);
    assert_eq!(k["metrics"]["created_count"], 3);
    // Z3 is due at the end of 31 March in Tokyo = T: not overdue. Z4 (30 March) is.
    assert_eq!(k["metrics"]["overdue_count"], 1);
    assert_eq!(k["metrics"]["age_buckets"]["0-7"], 1);
    // The same orders in a UTC plant: Z1 exists by the end of the UTC day.
    let (u, ucfg) = setup("UTC", MECH_10X30, "tokyo.csv");
    let k = kpis(&u, &ucfg, &["--as-of", "2026-03-31"]);
    assert_eq!(k["metrics"]["open_count"], 4);
    assert_eq!(k["metrics"]["overdue_count"], 1);
}

#[test]
fn zero_capacity_is_null_and_an_unknown_crew_lists_the_known_ones() {
    let rest = "[[crews]]\nname = \"Idle\"\ntechnicians = 0\nhours_per_week = 40\n[[crews]]\nname = \"Mech\"\ntechnicians = 2\nhours_per_week = 40\n";
    let (s, cfg) = setup("UTC", rest, "backlog_1200h.csv");
    let k = kpis(&s, &cfg, &["--as-of", "2026-03-31", "--crew", "Idle"]);
    assert_eq!(k["metrics"]["capacity_hours_per_week"], 0.0);
    assert_eq!(k["metrics"]["backlog_weeks"], Value::Null);
    let err = fails(&s.gemba(&["--config", &cfg, "kpis", "--crew", "Electrical"]));
    assert!(
        err.contains("no crew named `Electrical`") && err.contains("Idle, Mech"),
        "{err}"
    );
}

#[test]
fn csv_and_table_formats() {
    let (s, cfg) = setup("UTC", MECH_10X30, "backlog_1200h.csv");
    let csv = ok(&s.gemba(&[
        "--config",
        &cfg,
        "kpis",
        "--format",
        "csv",
        "--as-of",
        "2026-03-31",
    ]));
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..3], ["scope", "as_of", "window_days"]);
    let plant: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(plant[0], "plant");
    let i = header.iter().position(|h| *h == "backlog_weeks").unwrap();
    assert_eq!(plant[i], "4");
    assert!(lines.next().unwrap().starts_with("crew:Mech,"));
    let table = ok(&s.gemba(&["--config", &cfg, "kpis", "--as-of", "2026-03-31"]));
    assert!(
        table.contains("Backlog") && table.contains("4.0") && table.contains("crew-weeks"),
        "{table}"
    );
    assert!(
        !table.contains("\x1b["),
        "no colour codes when stdout is not a terminal"
    );
}
