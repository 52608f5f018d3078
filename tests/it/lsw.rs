//! Leader standard work through the real server: the demo plant's leaders and months of
//! routines (some missed, board reviews done by attending huddles), routines set up and checked
//! off through the API and the phone page's form, an audit's failed item raising an action on
//! the board, bad cadences and windows as 400s naming the field, hostile text inert, and every
//! write refused without a login when `[auth]` is set.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::actions::csrf_of;
use crate::auth::config_with_login;
use crate::server::{Server, client, post_json};
use crate::support::{Sandbox, due_earlier_today, ok};

fn standing_of(chart: &Value, routine: i64) -> Vec<String> {
    chart["routines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["routine"]["id"] == routine)
        .unwrap_or_else(|| panic!("routine {routine} in {chart}"))["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["standing"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn routines_are_set_up_checked_off_and_charted_with_the_demo_history() {
    let sandbox = Sandbox::new();
    ok(&sandbox.gemba(&["demo", "--days", "60", "--orders-per-day", "5"]));
    let s = Server::start(&sandbox, &[]);

    // The demo plant: a manager, a supervisor per area, a team leader per crew, with weeks of
    // history: mostly on time, some late, some missed; board reviews done at the huddles.
    let leaders = s.json("/api/v1/leaders").await;
    let names: Vec<&str> = leaders
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"R. Brennan") && names.contains(&"V. Marsh"),
        "{names:?}"
    );
    assert_eq!(names.len(), 1 + 3 + 5, "{names:?}");
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let chart = s
        .json(&format!(
            "/api/v1/lsw?from={}&to={}",
            today - Duration::days(35),
            today - Duration::days(1)
        ))
        .await;
    let plant = &chart["plant"];
    for k in ["on_time", "late", "missed"] {
        assert!(plant[k].as_u64().unwrap() > 0, "{k} in {plant}");
    }
    let pct = chart["plant_on_time_pct"].as_f64().unwrap();
    assert!((55.0..95.0).contains(&pct), "{pct}");
    let reviews: Vec<&Value> = chart["routines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["routine"]["kind"] == "board_review")
        .collect();
    assert!(!reviews.is_empty());
    assert!(
        reviews
            .iter()
            .all(|r| r["tally"]["on_time"].as_u64().unwrap() > 0),
        "every board review was done at some huddle"
    );
    assert_eq!(chart["tiers"].as_array().unwrap().len(), 3);

    // The board: a week and a month, per tier, with signs beside the colours.
    let board = s.text("/lsw").await;
    for needle in [
        "Leader standard work",
        "Tier 1: crews",
        "Tier 2: areas",
        "✓",
        "R. Brennan",
    ] {
        assert!(board.contains(needle), "{needle}");
    }
    let month = s
        .text(&format!("/lsw?month={}", today.format("%Y-%m")))
        .await;
    assert!(month.contains("Riverside Plant: done on time"), "{month}");
    let r = client()
        .get(s.url("/lsw?month=2026-13"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("month"));
    let r = client().get(s.url("/lsw?tier=4")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // A new leader with a hostile name, and routines: bad ones name their field.
    let (st, leader) = post_json(
        &s,
        "/api/v1/leaders",
        json!({"name": "<script>alert(1)</script> Kim", "role": "Supervisor", "board": "area:Packaging"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{leader}");
    let lid = leader["id"].as_i64().unwrap();
    let (st, e) = post_json(
        &s,
        "/api/v1/leaders",
        json!({"name": "<script>alert(1)</script> kim", "role": "x", "board": "plant"}),
    )
    .await;
    // The name is taken (names are compared without case).
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(e["error"].as_str().unwrap().starts_with("name:"), "{e}");
    let routine = |over: Value| {
        let mut base = json!({
            "leader": lid, "title": "Check the <b>line</b>", "kind": "checklist",
            "board": "crew:Packaging E&I", "cadence": due_earlier_today(),
            "window_hours": 24, "grace_hours": 0, "items": ["Guards on", "Floor clear"]
        });
        for (k, v) in over.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    };
    for (over, field) in [
        (json!({"cadence": "every day"}), "cadence:"),
        (json!({"cadence": "* * * * *"}), "cadence:"),
        (json!({"window_hours": 0}), "window_hours:"),
        (json!({"grace_hours": 745}), "grace_hours:"),
        (json!({"board": "crew:Nowhere"}), "board:"),
        (json!({"kind": "dance"}), "kind:"),
        (json!({"items": []}), "items:"),
        (json!({"leader": 99999}), "leader"),
        (json!({"title": " "}), "title"),
    ] {
        let (st, e) = post_json(&s, "/api/v1/routines", routine(over.clone())).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{over}: {e}");
        let msg = e["error"].as_str().unwrap();
        assert!(msg.starts_with(field), "{over}: {msg}");
    }
    let (st, r) = post_json(&s, "/api/v1/routines", routine(json!({}))).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let rid = r["id"].as_i64().unwrap();
    let person = format!("/api/v1/lsw?person={lid}&from={today}&to={today}");
    assert_eq!(standing_of(&s.json(&person).await, rid), ["open"]);
    let last_week = format!(
        "/api/v1/lsw?person={lid}&from={}&to={}",
        today - Duration::days(7),
        today - Duration::days(1)
    );
    assert!(
        standing_of(&s.json(&last_week).await, rid).is_empty(),
        "not due before it was added"
    );

    // Checked off on the phone page: a stale form is refused, the real one records it.
    let page = s.text(&format!("/lsw?person={lid}")).await;
    assert!(!page.contains("<script>alert(1)"), "the name is escaped");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; Kim"));
    assert!(page.contains("Check the &lt;b&gt;line&lt;/b&gt;"));
    let done = format!("/lsw/routines/{rid}/done");
    let r = client()
        .post(s.url(&done))
        .form(&[("csrf", "0".repeat(64).as_str()), ("ok.0", "pass")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        standing_of(&s.json(&person).await, rid),
        ["open"],
        "nothing stored"
    );
    let csrf = csrf_of(&page);
    let back = format!("/lsw?person={lid}");
    let r = client()
        .post(s.url(&done))
        .form(&[
            ("csrf", csrf.as_str()),
            ("ok.0", "pass"),
            ("note.1", "<img src=x onerror=alert(2)>"),
            ("note", "all good"),
            ("return", back.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], back.as_str());
    assert_eq!(standing_of(&s.json(&person).await, rid), ["on_time"]);
    let detail = s.text(&format!("/lsw/routines/{rid}")).await;
    assert!(
        detail.contains("done: Check the &lt;b&gt;line&lt;/b&gt; (1 of 2 items ok) — all good"),
        "{detail}"
    );
    assert!(!detail.contains("<img src=x"));

    // An audit: a failed item raises an action on the routine's board, linked from the result.
    let (st, audit) = post_json(
        &s,
        "/api/v1/routines",
        routine(json!({"kind": "audit", "title": "Line audit", "board": "area:Packaging", "items": ["Standard posted", "Red tags closed"]})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{audit}");
    let aid = audit["id"].as_i64().unwrap();
    let (st, c) = post_json(
        &s,
        &format!("/api/v1/routines/{aid}/completions"),
        json!({"items": [{"ok": true}, {"ok": false, "note": "three open since May", "raise": true}]}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let action = c["results"][1]["action"]
        .as_i64()
        .expect("an action was raised");
    let actions = s.json("/api/v1/actions?board=area:Packaging").await;
    let raised = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == action)
        .unwrap_or_else(|| panic!("{actions}"));
    assert_eq!(
        raised["title"],
        "Line audit failed: Red tags closed: three open since May"
    );
    assert_eq!(raised["owner"], "<script>alert(1)</script> Kim");
    // A passed item cannot raise one, and an unknown routine is a 404.
    let (st, e) = post_json(
        &s,
        &format!("/api/v1/routines/{aid}/completions"),
        json!({"items": [{"ok": true, "raise": true}]}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (st, _) = post_json(&s, "/api/v1/routines/99999/completions", json!({})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Editing: pausing a routine takes it off the chart; the setup page lists everyone.
    let (st, paused) = post_json(
        &s,
        &format!("/api/v1/routines/{rid}"),
        routine(json!({"active": false})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{paused}");
    assert!(standing_of(&s.json(&person).await, rid).is_empty());
    let setup = s.text("/lsw/setup").await;
    assert!(setup.contains("V. Marsh") && setup.contains("Add a routine"));
    let me = s.text("/me").await;
    assert!(
        me.contains(&format!("/lsw?person={lid}")),
        "without logins /me lists the leaders"
    );
    // The OpenAPI document has the routes.
    let doc = s.json("/api/v1/openapi.json").await;
    for p in [
        "/api/v1/lsw",
        "/api/v1/leaders",
        "/api/v1/routines/{id}/completions",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p}");
    }
}

#[tokio::test]
async fn every_standard_work_write_needs_a_login_when_auth_is_set() {
    let sandbox = Sandbox::new();
    ok(&sandbox.gemba(&["demo", "--days", "20", "--orders-per-day", "5"]));
    let config = config_with_login(&sandbox, false);
    let s = Server::start(&sandbox, &["--config", config.to_str().unwrap()]);
    let leaders = s.json("/api/v1/leaders").await;
    let lid = leaders[0]["id"].as_i64().unwrap();
    let routines = s.json("/api/v1/routines").await;
    let rid = routines[0]["id"].as_i64().unwrap();
    for (path, body) in [
        (
            "/api/v1/leaders".to_string(),
            json!({"name": "X", "role": "Y", "board": "plant"}),
        ),
        (
            format!("/api/v1/leaders/{lid}"),
            json!({"name": "X", "role": "Y", "board": "plant"}),
        ),
        ("/api/v1/routines".to_string(), json!({})),
        (format!("/api/v1/routines/{rid}"), json!({})),
        (format!("/api/v1/routines/{rid}/completions"), json!({})),
        ("/api/v1/walk-routes".to_string(), json!({})),
        ("/api/v1/walk-routes/1".to_string(), json!({})),
        ("/api/v1/walks".to_string(), json!({"route": 1})),
        ("/api/v1/walks/1/stops/1".to_string(), json!({})),
        ("/api/v1/walks/1/end".to_string(), json!({})),
    ] {
        let (st, _) = post_json(&s, &path, body).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{path}");
    }
    for path in [
        "/lsw/leaders".to_string(),
        format!("/lsw/leaders/{lid}"),
        "/lsw/routines".to_string(),
        format!("/lsw/routines/{rid}"),
        format!("/lsw/routines/{rid}/done"),
        "/walks".to_string(),
        "/walks/routes".to_string(),
        "/walks/routes/1".to_string(),
        "/walks/1/stops/1".to_string(),
        "/walks/1/stops/1/skip".to_string(),
        "/walks/1/end".to_string(),
    ] {
        let r = client()
            .post(s.url(&path))
            .form(&[("csrf", "x"), ("name", "X")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // Logged in, a form without this session's CSRF token is refused too.
    let cookie = crate::auth::login(&s, &[("name", "ana"), ("password", "correct horse")])
        .await
        .unwrap_or_else(|_| panic!("ana logs in"));
    for path in [
        "/lsw/leaders".to_string(),
        format!("/lsw/routines/{rid}/done"),
        "/walks".to_string(),
        "/walks/routes".to_string(),
        "/walks/1/end".to_string(),
    ] {
        let r = crate::auth::post(&s, &path, &cookie, &[("csrf", "0"), ("name", "X")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let history = s.json("/api/v1/leaders").await;
    assert_eq!(history, leaders, "nothing changed");
    // A leader with ana's login: her /me is her page.
    let r = client()
        .post(s.url("/api/v1/leaders"))
        .header("cookie", &cookie)
        .json(&json!({"name": "Ana", "role": "Supervisor", "board": "area:Packaging", "login": "ana"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let ana: Value = r.json().await.unwrap();
    let me = client()
        .get(s.url("/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        me.headers()["location"],
        format!("/lsw?person={}", ana["id"]).as_str()
    );
    let (st, e) = post_json(&s, "/api/v1/leaders", json!({})).await;
    assert_eq!(
        (st, e["error"].is_string()),
        (StatusCode::UNAUTHORIZED, true)
    );
    // The pages still read, with a way to log in and no form.
    let page = s.text(&format!("/lsw?person={lid}")).await;
    assert!(page.contains("Log in") && !page.contains("name=\"csrf\""));
}
