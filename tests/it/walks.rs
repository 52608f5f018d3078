//! Gemba walks through the real server: the demo plant's routes and months of walks, a route set
//! up through the API, walked through the phone page's forms (an observation raised as an
//! action on that stop's board, linked back; a stop skipped with a reason; the rest skipped at
//! the end), the gemba-walk routine done by the walk, and bad input as clear 4xx.

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::actions::csrf_of;
use crate::server::{Server, post_form, post_json};
use crate::support::{Sandbox, due_earlier_today, ok};

#[tokio::test]
async fn a_route_is_walked_stop_by_stop_and_its_observation_is_on_the_board() {
    let sandbox = Sandbox::new();
    ok(&sandbox.gemba(&["demo", "--days", "60", "--orders-per-day", "5"]));
    let s = Server::start(&sandbox, &[]);

    // The demo plant: a route per area, walked on most Tuesdays and Thursdays.
    let routes = s.json("/api/v1/walk-routes").await;
    assert_eq!(routes.as_array().unwrap().len(), 3, "{routes}");
    let walks = s.json("/api/v1/walks").await;
    let walks = walks.as_array().unwrap();
    assert!(walks.len() >= 10, "{} walks in four weeks", walks.len());
    let sum = |k: &str| {
        walks
            .iter()
            .map(|w| w["counts"][k].as_u64().unwrap())
            .sum::<u64>()
    };
    assert!(sum("visited") > 0 && sum("observations") > 0, "{walks:?}");
    let page = s.text("/walks").await;
    assert!(page.contains("Packaging floor walk") && page.contains("Start a walk"));

    // Bad routes name their field.
    let leaders = s.json("/api/v1/leaders").await;
    let marsh = leaders
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "V. Marsh")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let stop = |board: &str, label: &str| json!({"board": board, "label": label});
    let route =
        |stops: Value| json!({"title": "Night shift <b>walk</b>", "leader": marsh, "stops": stops});
    for (body, field) in [
        (route(json!([stop("crew:Moon", "x")])), "stops[0].board:"),
        (route(json!([])), "stops:"),
        (
            json!({"title": "t", "leader": 999, "stops": [stop("plant", "x")]}),
            "leader: no leader 999",
        ),
        (
            json!({"title": " ", "leader": marsh, "stops": [stop("plant", "x")]}),
            "title is required",
        ),
        (json!({"title": "t", "leader": marsh}), "the body:"),
    ] {
        let (st, e) = post_json(&s, "/api/v1/walk-routes", body.clone()).await;
        let want = if field == "the body:" {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(st, want, "{body}: {e}");
        assert!(
            e["error"].as_str().unwrap().starts_with(field),
            "{body}: {e}"
        );
    }
    let (st, r) = post_json(
        &s,
        "/api/v1/walk-routes",
        route(json!([
            stop("crew:Packaging Mechanical", "Filler 3 <script>x</script>"),
            stop("crew:Packaging E&I", "E&I workshop"),
            stop("area:Packaging", "Spares store"),
        ])),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let rid = r["id"].as_i64().unwrap();
    assert_eq!(
        r["questions"].as_array().unwrap().len(),
        3,
        "the standard questions"
    );

    // The supervisor's gemba-walk routine on it, due an hour ago: open until walked.
    let (st, routine) = post_json(
        &s,
        "/api/v1/routines",
        json!({"leader": marsh, "title": "Night walk", "kind": "gemba_walk", "board": "area:Packaging",
               "cadence": due_earlier_today(), "window_hours": 24, "grace_hours": 0,
               "route": rid}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{routine}");
    let (st, e) = post_json(
        &s,
        "/api/v1/routines",
        json!({"leader": marsh, "title": "x", "kind": "gemba_walk", "board": "plant",
               "cadence": "0 10 * * Tue", "window_hours": 4, "grace_hours": 4}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"].as_str().unwrap().starts_with("route"), "{e}");
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let standing = || async {
        let chart = s
            .json(&format!(
                "/api/v1/lsw?person={marsh}&from={today}&to={today}"
            ))
            .await;
        chart["routines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["routine"]["id"] == routine["id"])
            .unwrap()["occurrences"][0]["standing"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(standing().await, "open");

    // Walked through the phone page's forms.
    let csrf = csrf_of(&s.text("/walks").await);
    let r = post_form(
        &s,
        "/walks",
        &[("csrf", &csrf), ("route", &rid.to_string())],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let at = r.headers()["location"].to_str().unwrap().to_string();
    let wid: i64 = at.trim_start_matches("/walks/").parse().unwrap();
    let page = s.text(&at).await;
    assert!(page.contains("Stop 1 of 3") && page.contains("Is the work running to standard?"));
    assert!(!page.contains("<script>x"), "the stop's label is escaped");
    let r = post_form(
        &s,
        &format!("/walks/{wid}/stops/1"),
        &[
            ("csrf", &csrf),
            ("answer.0", "No: the changeover standard is not posted"),
            (
                "obs.0",
                "Changeover standard missing at the filler <img src=x>",
            ),
            ("raise.0", "1"),
            ("obs.1", "Good: floor clear"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post_form(
        &s,
        &format!("/walks/{wid}/stops/2/skip"),
        &[("csrf", &csrf), ("reason", " ")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("reason is required"));
    let r = post_form(
        &s,
        &format!("/walks/{wid}/stops/2/skip"),
        &[("csrf", &csrf), ("reason", "line stopped for a changeover")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post_form(&s, &format!("/walks/{wid}/stops/2"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "a stop is recorded once");
    let r = post_form(&s, &format!("/walks/{wid}/stops/9"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = post_form(&s, &format!("/walks/{wid}/end"), &[("csrf", "stale")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post_form(&s, &format!("/walks/{wid}/end"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post_form(&s, &format!("/walks/{wid}/end"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // The record, and the action on the stop's board, linked back to the walk.
    let w = s.json(&format!("/api/v1/walks/{wid}")).await;
    let states: Vec<&str> = w["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["visited", "skipped", "skipped"]);
    assert_eq!(
        w["stops"][2]["skip_reason"],
        "not reached: the walk ended before it"
    );
    assert_eq!(
        w["counts"],
        json!({"visited": 1, "skipped": 2, "observations": 2, "actions": 1})
    );
    let action = w["stops"][0]["observations"][0]["action"].as_i64().unwrap();
    assert!(w["stops"][0]["observations"][1].get("action").is_none());
    let actions = s
        .json("/api/v1/actions?board=crew:Packaging%20Mechanical")
        .await;
    let a = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == action)
        .expect("the action on the stop's board");
    assert_eq!(
        a["title"],
        "Changeover standard missing at the filler <img src=x>"
    );
    assert_eq!(a["owner"], "V. Marsh");
    assert!(
        a["note"]
            .as_str()
            .unwrap()
            .ends_with(&format!("(/walks/{wid})")),
        "{a}"
    );
    let detail = s.text(&format!("/actions/{action}")).await;
    assert!(
        detail.contains(&format!("<a href=\"/walks/{wid}\">")),
        "linked back"
    );
    let board = s.text("/board?crew=Packaging%20Mechanical").await;
    assert!(board.contains("Changeover standard missing at the filler &lt;img src=x&gt;"));
    let record = s.text(&at).await;
    assert!(
        record.contains("line stopped for a changeover")
            && record.contains(&format!("/actions/{action}"))
    );

    // The walk did the routine.
    assert_eq!(standing().await, "on_time");

    // The API walks a route too, and refuses what the forms refuse.
    let (st, w) = post_json(&s, "/api/v1/walks", json!({"route": rid})).await;
    assert_eq!(st, StatusCode::CREATED, "{w}");
    let id = w["id"].as_i64().unwrap();
    let (st, w) = post_json(
        &s,
        &format!("/api/v1/walks/{id}/stops/2"),
        json!({"skip": "closed"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{w}");
    let (st, e) = post_json(
        &s,
        &format!("/api/v1/walks/{id}/stops/1"),
        json!({"observations": [{"text": "x", "raise": true, "due": "soon"}]}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(e["error"].as_str().unwrap().starts_with("due:"), "{e}");
    let (st, _) = post_json(&s, "/api/v1/walks/99999/end", json!({})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = post_json(&s, "/api/v1/walks", json!({"route": 99999})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
