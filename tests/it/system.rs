//! The health of the management system through `/api/v1/system` and `/system`, on a fixture of
//! huddles, routines with their completions, walks, actions with an escalation and emergency
//! orders, written with their own (past) times through the library, against figures computed by
//! hand below; and the tile row and leadership panel on the demo plant's boards.

use chrono::{DateTime, TimeZone, Utc};
use gemba::lsw::ItemResult;
use gemba::store::{ActionWrite, CompletionWrite, LeaderWrite, RouteWrite, RoutineWrite, Store};
use gemba::walks::{Observation, Stop, StopRecord, StopState};
use serde_json::Value;

use crate::server::Server;
use crate::support::{Sandbox, ok};

/// Plant time (the shipped config's Europe/Berlin).
fn at(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Berlin
        .with_ymd_and_hms(2026, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn leader(store: &mut Store, name: &str, board: &str) -> i64 {
    let w = LeaderWrite {
        name: name.into(),
        role: "Supervisor".into(),
        board: board.into(),
        login: None,
        active: true,
    };
    store
        .write_leader(None, &w, "fixture", "added", at(10, 1, 8, 0))
        .unwrap()
}

fn routine(
    store: &mut Store,
    leader_id: i64,
    kind: &str,
    board: &str,
    cadence: &str,
    route_id: Option<i64>,
) -> i64 {
    let w = RoutineWrite {
        leader_id,
        title: format!("{kind} on {board}"),
        kind: kind.into(),
        board: board.into(),
        cadence: cadence.into(),
        window_hours: 4,
        grace_hours: 24,
        items: vec![],
        active: true,
        route_id,
    };
    store
        .write_routine(None, &w, "fixture", "added", at(10, 1, 8, 0))
        .unwrap()
}

fn done(store: &mut Store, routine_id: i64, t: DateTime<Utc>) {
    let c = CompletionWrite {
        routine_id,
        done_at: t,
        note: String::new(),
        results: Vec::<ItemResult>::new(),
    };
    store.record_completion(&c, "fixture", "done").unwrap();
}

fn stop(board: &str, state: StopState, observations: Vec<Observation>) -> StopRecord {
    StopRecord {
        stop: Stop {
            board: board.into(),
            asset: String::new(),
            label: board.into(),
        },
        state,
        at: None,
        answers: vec![],
        observations,
        skip_reason: String::new(),
    }
}

fn walk(
    store: &mut Store,
    route: i64,
    leader_id: i64,
    start: DateTime<Utc>,
    stops: Vec<StopRecord>,
) {
    let id = store
        .start_walk(route, leader_id, &stops, "fixture", "started", start)
        .unwrap();
    let mut w = store.walk(id).unwrap().unwrap();
    w.ended_at = Some(start + chrono::Duration::minutes(30));
    store.save_walk(&w, "fixture", "ended", start).unwrap();
}

fn action(board: &str, due: &str, status: &str) -> ActionWrite {
    ActionWrite {
        board: board.into(),
        title: format!("fix on {board}"),
        owner: "Tom".into(),
        due: due.into(),
        status: status.into(),
        orders: vec![],
        escalated_from: None,
        escalation_reason: None,
        note: None,
    }
}

/// The fixture: the window is the 28 days to Friday 27 November 2026 (31 October to 27
/// November, 20 working days); the crews' boards are the shipped config's five.
fn fixture(s: &Sandbox) {
    // Emergencies: two of Utilities and one of Process Mechanical in the window, one before it.
    let csv = "id,title,kind,status,priority,site,area,crew,created_at\n\
        E1,Pump seized,emergency,completed,1,Riverside,Utilities,Utilities,2026-11-03T06:00:00Z\n\
        E2,Boiler trip,emergency,ready,1,Riverside,Utilities,Utilities,2026-11-17T06:00:00Z\n\
        E3,Mixer stopped,emergency,ready,1,Riverside,Processing,Process Mechanical,2026-11-20T06:00:00Z\n\
        E0,Old one,emergency,completed,1,Riverside,Utilities,Utilities,2026-10-20T06:00:00Z\n\
        C1,Guard,corrective,ready,3,Riverside,Utilities,Utilities,2026-11-10T06:00:00Z\n";
    std::fs::write(s.path("orders.csv"), csv).unwrap();
    let out = ok(&s.gemba(&["import", "orders.csv", "--profile", "generic", "--strict"]));
    assert!(out.contains('5'), "{out}");
    let mut store = s.store();

    // Huddles: Utilities on Mon 2, Tue 3, Wed 4 November; Process Mechanical on the 2nd.
    for (board, d) in [
        ("crew:Utilities", 2),
        ("crew:Utilities", 3),
        ("crew:Utilities", 4),
        ("crew:Process Mechanical", 2),
    ] {
        let id = store.start_huddle(board, at(11, d, 7, 0)).unwrap();
        store.end_huddle(id, at(11, d, 7, 10), "", "").unwrap();
    }

    // Vera's Monday checklist on area Packaging (09:00, on time within 4 h, 24 h grace):
    // the 2nd on time, the 9th missed, the 16th late, the 23rd on time.
    let vera = leader(&mut store, "Vera", "area:Packaging");
    let r1 = routine(
        &mut store,
        vera,
        "checklist",
        "area:Packaging",
        "0 9 * * Mon",
        None,
    );
    done(&mut store, r1, at(11, 2, 9, 30));
    done(&mut store, r1, at(11, 16, 20, 0));
    done(&mut store, r1, at(11, 23, 9, 10));

    // Tom's Thursday gemba walk on crew Utilities (10:00): walked the 5th and the 26th; the
    // 19th every stop was skipped (it does not count); the 12th not at all.
    let tom = leader(&mut store, "Tom", "crew:Utilities");
    let route = store
        .write_route(
            None,
            &RouteWrite {
                title: "Utilities".into(),
                leader_id: tom,
                stops: vec![],
                questions: vec!["Q".into()],
                active: true,
            },
            "fixture",
            "added",
            at(10, 1, 8, 0),
        )
        .unwrap();
    routine(
        &mut store,
        tom,
        "gemba_walk",
        "crew:Utilities",
        "0 10 * * Thu",
        Some(route),
    );

    // Actions: A1 due the 10th, done the 9th (on time); A2 due the 12th, still open; A3 raised
    // on Utilities the 4th, escalated to area Utilities the 5th 08:00, resolved the 7th 08:00
    // (two days to answer), due the 20th.
    let a1 = store
        .write_action(
            None,
            &action("crew:Utilities", "2026-11-10", "open"),
            "Tom",
            "created: fix",
            at(11, 3, 9, 0),
        )
        .unwrap();
    store
        .write_action(
            Some(a1),
            &action("crew:Utilities", "2026-11-10", "done"),
            "Tom",
            "resolved",
            at(11, 9, 9, 0),
        )
        .unwrap();
    store
        .write_action(
            None,
            &action("crew:Utilities", "2026-11-12", "open"),
            "Tom",
            "created: fix",
            at(11, 3, 9, 0),
        )
        .unwrap();
    let a3 = store
        .write_action(
            None,
            &action("crew:Utilities", "2026-11-20", "open"),
            "Tom",
            "created: fix",
            at(11, 4, 9, 0),
        )
        .unwrap();
    let mut up = action("area:Utilities", "2026-11-20", "open");
    up.escalated_from = Some("crew:Utilities".into());
    store
        .write_action(
            Some(a3),
            &up,
            "Tom",
            "escalated from crew Utilities to area Utilities: needs a crane",
            at(11, 5, 8, 0),
        )
        .unwrap();
    up.status = "done".into();
    store
        .write_action(
            Some(a3),
            &up,
            "Vera",
            "resolved: crane booked",
            at(11, 7, 8, 0),
        )
        .unwrap();

    walk(
        &mut store,
        route,
        tom,
        at(11, 5, 10, 30),
        vec![
            stop(
                "crew:Utilities",
                StopState::Visited,
                vec![
                    Observation {
                        text: "leak".into(),
                        action: Some(a1),
                    },
                    Observation {
                        text: "clean".into(),
                        action: None,
                    },
                ],
            ),
            stop("area:Utilities", StopState::Skipped, vec![]),
        ],
    );
    walk(
        &mut store,
        route,
        tom,
        at(11, 19, 10, 30),
        vec![stop("crew:Utilities", StopState::Skipped, vec![])],
    );
    walk(
        &mut store,
        route,
        tom,
        at(11, 26, 10, 20),
        vec![stop("crew:Utilities", StopState::Visited, vec![])],
    );
}

fn row<'a>(body: &'a Value, list: &str, key: &str) -> &'a Value {
    &body[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("{key} in {list}"))["health"]
}

#[track_caller]
fn close(v: &Value, want: f64) {
    let Some(got) = v.as_f64() else {
        panic!("a number, not {v}");
    };
    assert!((got - want).abs() < 1e-9, "{got} != {want}");
}

#[tokio::test]
async fn the_indicators_equal_a_hand_computation_over_a_fixture() {
    let s = Sandbox::new();
    fixture(&s);
    let server = Server::start(&s, &[]);
    let body = server
        .json("/api/v1/system?as_of=2026-11-27&window_days=28")
        .await;
    let plant = &body["plant"]["health"];
    assert_eq!(plant["working_days"], 20);
    // 4 huddles of the 5 crews' boards over 20 working days.
    assert_eq!(
        (plant["huddles"].as_u64(), plant["boards"].as_u64()),
        (Some(4), Some(5))
    );
    close(&plant["huddles_per_day"], 4.0 / 100.0);
    // Vera: on time, missed, late, on time; Tom's walk: on time, missed, missed, on time.
    assert_eq!(plant["routines"]["on_time"], 4);
    assert_eq!(plant["routines"]["late"], 1);
    assert_eq!(plant["routines"]["missed"], 3);
    close(&plant["routines_on_time_pct"], 50.0);
    assert_eq!(
        (
            plant["walks_planned"].as_u64(),
            plant["walks_done"].as_u64()
        ),
        (Some(4), Some(2))
    );
    close(&plant["walks_done_pct"], 50.0);
    // Two observations at Utilities' stop on the 5th, one raised as an action.
    close(&plant["observations_to_actions_pct"], 50.0);
    // A1 (due the 10th, done the 9th) and A3 (due the 20th, done the 7th) on time; A2 open.
    assert_eq!(
        (
            plant["actions_due"].as_u64(),
            plant["actions_closed_on_time"].as_u64()
        ),
        (Some(3), Some(2))
    );
    close(&plant["actions_closed_on_time_pct"], 200.0 / 3.0);
    // One escalation, answered in two days.
    close(&plant["escalation_response_days"], 2.0);
    // Three actions opened, three emergencies created in the window.
    close(&plant["improvement_ratio"], 1.0);

    // Per board: Utilities' crew and area; a board with nothing has no figures, not zeros.
    let crew = row(&body, "boards", "crew:Utilities");
    close(&crew["huddles_per_day"], 3.0 / 20.0);
    close(&crew["improvement_ratio"], 3.0 / 2.0);
    close(&crew["routines_on_time_pct"], 50.0);
    let area = row(&body, "boards", "area:Utilities");
    assert_eq!(area["escalations"], 1);
    close(&area["escalation_response_days"], 2.0);
    close(&area["actions_closed_on_time_pct"], 100.0);
    let quiet = row(&body, "boards", "crew:Packaging E&I");
    assert!(quiet["routines_on_time_pct"].is_null() && quiet["improvement_ratio"].is_null());
    let tier2 = row(&body, "tiers", "tier:2");
    close(&tier2["routines_on_time_pct"], 50.0);

    // The trend: the week to the 27th has Tom's walk of the 26th done and Vera's check of the
    // 23rd on time; the week to the 6th has the three Utilities huddles and Vera's check.
    let weeks = body["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 12);
    let last = &weeks[11];
    assert_eq!(last["week_ending"], "2026-11-27");
    close(&last["plant"]["routines_on_time_pct"], 100.0);
    let early = weeks
        .iter()
        .find(|w| w["week_ending"] == "2026-11-06")
        .unwrap();
    assert_eq!(early["plant"]["huddles"], 4);
    assert_eq!(early["tiers"][0]["huddles"], 4);

    // The page shows the same figures, with a sign beside each colour.
    let page = server.text("/system?as_of=2026-11-27").await;
    assert!(page.contains("The management system") && page.contains("Routines done on time"));
    assert!(
        page.contains("50 %") && page.contains("✖"),
        "judged against [targets]"
    );
    let e = server.text("/api/v1/system?window_days=0").await;
    assert!(e.contains("window_days"), "{e}");
}

#[tokio::test]
async fn boards_show_their_leaders_and_the_system_tiles() {
    let s = Sandbox::new();
    ok(&s.gemba(&["demo", "--days", "40", "--orders-per-day", "5"]));
    let server = Server::start(&s, &[]);
    let plant = server.text("/").await;
    assert!(plant.contains("The management system, last four weeks"));
    assert!(plant.contains("data-key=\"routines_on_time_pct\""));
    let crew = server.text("/board?crew=Packaging%20Mechanical").await;
    assert!(crew.contains("At the gemba this week"));
    assert!(!crew.contains("The management system, last four weeks"));
    let tv = server
        .text("/board?crew=Packaging%20Mechanical&kiosk=1")
        .await;
    assert!(
        !tv.contains("At the gemba this week"),
        "the TV has its own agenda"
    );
}
