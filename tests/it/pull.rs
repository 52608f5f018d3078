//! Pull lists through the real interfaces: `gemba import` of a hand-made fixture, then `gemba
//! pull` as JSON, table and CSV, and `/api/v1/pull` and the board's lanes over HTTP. Every
//! expectation carries its arithmetic (docs/pull.md).

use serde_json::Value;

use crate::server::Server;
use crate::support::{Sandbox, fails, fixture, ok};

const CONFIG: &str = r#"[plant]
name = "Pull plant"
timezone = "UTC"

[[crews]]
name = "Mech"
area = "Press shop"
technicians = 2
hours_per_week = 40
shift_hours = 8
indirect_hours_per_day = 2
wip_limit = 5

[[crews]]
name = "Elec"
area = "Press shop"
technicians = 1
hours_per_week = 40
shift_hours = 8
wip_limit = 2
"#;

fn setup() -> (Sandbox, String) {
    let s = Sandbox::new();
    let cfg = s.path("gemba.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let cfg = cfg.display().to_string();
    ok(&s.gemba(&[
        "--config",
        &cfg,
        "import",
        &fixture("pull.csv"),
        "--profile",
        "generic",
    ]));
    (s, cfg)
}

fn pull(s: &Sandbox, cfg: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "--config",
        cfg,
        "pull",
        "--date",
        "2026-03-02",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&s.gemba(&args))).expect("pull prints JSON")
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["order"]["id"].as_str().unwrap())
        .collect()
}

fn lane<'a>(plan: &'a Value, crew: &str) -> &'a Value {
    plan["crews"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["crew"] == crew)
        .unwrap_or_else(|| panic!("no lane {crew} in {plan}"))
}

#[test]
fn pull_lists_of_the_fixture_match_the_hand_computed_walk() {
    let (s, cfg) = setup();
    let plan = pull(&s, &cfg, &[]);
    // A day other than today is scored at its first instant (plant time: UTC here).
    assert_eq!(plan["date"], "2026-03-02");
    assert_eq!(plan["at"], "2026-03-02T00:00:00Z");

    // Mech: 2 x 8 - 2 = 14 h. IP1 in progress: 6 h estimated, 2 h booked: 4 h committed, 10 h
    // left, WIP 1 of 5. EM1 first (emergency, 3 h: 7 h left). A scores 8 x 9 = 72, +10 for 14
    // days, +10 overdue (due the 26th: late since the 27th, 3 days): 92, but 8 h > 7 h. B: 8 x 8
    // = 64 + 5 (7 d) = 69, 4 h: 3 h left. C: 6 x 5 = 30 + 20 (28 d) = 50, 3 h: 0 h left. D (20)
    // waits: no hours left. X is completed, F created after the day: neither is open.
    let m = lane(&plan, "Mech");
    assert_eq!(m["capacity_hours"], 14.0);
    assert_eq!(m["committed_hours"], 4.0);
    assert_eq!(m["available_hours"], 10.0);
    assert_eq!(m["in_progress_count"], 1);
    assert_eq!(ids(&m["suggestions"]), ["EM1", "B", "C"]);
    let sug = m["suggestions"].as_array().unwrap();
    assert_eq!(sug[0]["emergency"], true);
    assert_eq!(sug[0]["score"], 100.0, "P1 x criticality 10");
    assert_eq!(sug[0]["cumulative_hours"], 7.0, "4 h in progress + 3 h");
    assert_eq!(sug[0]["load_pct"], 50.0, "7 of 14 h");
    assert_eq!(sug[1]["score"], 69.0);
    assert_eq!(sug[1]["reason"], "P2 x criticality 8 = 64; +5 aged 7 d");
    assert_eq!(sug[1]["cumulative_hours"], 11.0);
    assert_eq!(sug[1]["load_pct"], 78.6, "11 of 14 h");
    assert_eq!(sug[2]["reason"], "P3 x criticality 5 = 30; +20 aged 28 d");
    assert_eq!(sug[2]["load_pct"], 100.0);
    assert_eq!(m["suggested_hours"], 10.0);
    assert_eq!(ids(&m["too_big"]), ["A"]);
    assert_eq!(
        m["too_big"][0]["reason"],
        "P2 x criticality 9 = 72; +10 aged 14 d; +10 overdue 3 d"
    );
    assert_eq!(m["too_big"][0]["hours_left"], 7.0);
    assert_eq!(m["stopped"], "no_hours_left");
    assert_eq!(m["waiting_count"], 1, "D");
    // H (on hold, 8 x 8 = 64 ... P1: 10 x 8 = 80) outranks C (50); R (P5 x 1 = 2) does not.
    assert_eq!(ids(&m["blocked"]), ["H"]);
    assert_eq!(m["blocked"][0]["order"]["status"], "on_hold");

    // Elec: 1 x 8 = 8 h, E4 in progress (1 h, nothing booked), WIP limit 2: one pull. E1 is
    // 6 x 6 = 36, E2 6 x 5 = 30, E3 4 x 5 = 20.
    let e = lane(&plan, "Elec");
    assert_eq!(e["committed_hours"], 1.0);
    assert_eq!(ids(&e["suggestions"]), ["E1"]);
    assert_eq!(e["stopped"], "wip_limit");
    assert_eq!(e["waiting_count"], 2);

    // Unassigned: U1 has no crew (criticality unknown: default 5, 8 x 5 = 40); U2's crew is not
    // in the config (10 x 3 = 30).
    let u = &plan["unassigned"];
    assert_eq!(u["total"], 2);
    assert_eq!(ids(&u["orders"]), ["U1", "U2"]);
    assert_eq!(
        u["orders"][0]["reason"],
        "P2 x criticality 5 (default: asset criticality unknown) = 40"
    );
}

#[test]
fn a_what_if_with_fewer_technicians_recomputes_the_lane() {
    let (s, cfg) = setup();
    // One technician: 1 x 8 - 2 = 6 h, 4 h committed: 2 h left. The emergency (3 h) is still
    // listed, marked as not fitting, and takes what is left; the rest waits.
    let plan = pull(&s, &cfg, &["--crew", "Mech", "--technicians", "Mech=1"]);
    assert!(
        plan["unassigned"].is_null(),
        "a crew's scope has no unassigned lane"
    );
    let m = lane(&plan, "Mech");
    assert_eq!(m["technicians"], 1.0);
    assert_eq!(m["technicians_configured"], 2.0);
    assert_eq!(m["capacity_hours"], 6.0);
    assert_eq!(ids(&m["suggestions"]), ["EM1"]);
    assert_eq!(m["suggestions"][0]["fits"], false);
    assert_eq!(m["suggestions"][0]["load_pct"], 116.7, "7 of 6 h");
    assert_eq!(m["stopped"], "no_hours_left");
    assert_eq!(m["waiting_count"], 4);
}

#[test]
fn the_table_says_why_and_the_csv_lists_every_suggestion() {
    let (s, cfg) = setup();
    let out = ok(&s.gemba(&["--config", &cfg, "pull", "--date", "2026-03-02"]));
    assert!(
        out.contains("Mech: 2 technicians x 8 h - 2 h indirect = 14 h"),
        "{out}"
    );
    assert!(
        out.contains("1 in progress (4 h); 10 h to pull; WIP limit 5"),
        "{out}"
    );
    assert!(
        out.contains("EMERGENCY; P1 x criticality 10 = 100"),
        "{out}"
    );
    assert!(
        out.contains("Too big for what was left: A (8 h, 7 h left, score 92)"),
        "{out}"
    );
    assert!(
        out.contains("No hours left today: 1 more ready order waits."),
        "{out}"
    );
    assert!(
        out.contains("WIP limit 2 reached (in progress plus pulled): 2 more ready orders wait."),
        "{out}"
    );
    assert!(out.contains("Blocked, outranks the list: H"), "{out}");
    assert!(
        out.contains("Unassigned (no configured crew): 2 ready orders"),
        "{out}"
    );

    let csv = ok(&s.gemba(&[
        "--config",
        &cfg,
        "pull",
        "--date",
        "2026-03-02",
        "--format",
        "csv",
    ]));
    let rows: Vec<&str> = csv.lines().collect();
    assert!(
        rows[0].starts_with("date,crew,rank,source,order_id,"),
        "{csv}"
    );
    // Mech 3 + Elec 1 + unassigned 2.
    assert_eq!(rows.len(), 1 + 6, "{csv}");
    assert!(rows[2].starts_with("2026-03-02,Mech,2,"), "{csv}");
}

#[test]
fn bad_what_ifs_and_scopes_are_refused_with_what_to_write() {
    let (s, cfg) = setup();
    let e = fails(&s.gemba(&["--config", &cfg, "pull", "--technicians", "Mech"]));
    assert!(e.contains("write CREW=N"), "{e}");
    let e = fails(&s.gemba(&["--config", &cfg, "pull", "--technicians", "Mech=two"]));
    assert!(e.contains("`two` is not a number"), "{e}");
    let e = fails(&s.gemba(&["--config", &cfg, "pull", "--technicians", "Mech=-1"]));
    assert!(
        e.contains("technicians of crew `Mech` must be a number from 0 to 1000"),
        "{e}"
    );
    let e = fails(&s.gemba(&["--config", &cfg, "pull", "--technicians", "Welders=3"]));
    assert!(
        e.contains("no crew named `Welders`") && e.contains("Mech, Elec"),
        "{e}"
    );
}

async fn get(s: &Server, path: &str) -> (u16, String) {
    let r = reqwest::get(s.url(path)).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_api_and_the_board_serve_the_same_lists_and_the_what_if() {
    let (sandbox, cfg) = setup();
    let s = Server::start(&sandbox, &["--config", &cfg]);

    // The API answers what the CLI prints.
    let (status, body) = get(&s, "/api/v1/pull?date=2026-03-02").await;
    assert_eq!(status, 200, "{body}");
    let api: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(api, pull(&sandbox, &cfg, &[]));

    let (_, body) = get(
        &s,
        "/api/v1/pull?date=2026-03-02&crew=Mech&technicians.Mech=1",
    )
    .await;
    let m: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ids(&m["crews"][0]["suggestions"]), ["EM1"]);
    assert_eq!(m["crews"][0]["capacity_hours"], 6.0, "1 x 8 - 2");

    // The plant board shows a lane per crew and the unassigned lane, each with its reasons.
    let (status, page) = get(&s, "/").await;
    assert_eq!(status, 200, "{page}");
    for needle in [
        r#"data-crew="Mech""#,
        r#"data-crew="Elec""#,
        r#"class="lane unassigned""#,
        r#"name="technicians.Mech" value="2""#,
        "2 technicians x 8 h - 2 h indirect = 14 h",
        r#"data-order="EM1""#,
        "P2 x criticality 8 = 64",
        "Not ready, but would rank higher",
    ] {
        assert!(page.contains(needle), "`{needle}` not on the board");
    }
    // The what-if recomputes the lane: one technician leaves 2 h, only the emergency is listed.
    let (status, page) = get(&s, "/board?technicians.Mech=1").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("1 technician (what-if; 2 configured) x 8 h - 2 h indirect = 6 h"));
    assert!(page.contains("What-if: technicians changed for today."));
    assert!(page.contains("does not fit"));
    let mech =
        &page[page.find(r#"data-crew="Mech""#).unwrap()..page.find(r#"data-crew="Elec""#).unwrap()];
    assert!(!mech.contains(r#"data-order="B""#), "B no longer fits");
    // An area's board has its crews' lanes; the unassigned orders here have no area.
    let (_, page) = get(&s, "/board?area=Press+shop").await;
    assert!(page.contains(r#"data-crew="Elec""#) && !page.contains("lane unassigned"));
    // The kiosk shows the lanes without the form.
    let (_, page) = get(&s, "/board?area=Press+shop&kiosk=1").await;
    assert!(page.contains(r#"data-crew="Mech""#) && !page.contains("technicians.Mech"));
}
