//! A3s through the real server: the demo plant's three (one met, one under way, one just
//! started from an action); an A3 started from an action through the forms, its sections
//! filled, a countermeasure that is an action on its board, resolved, and the follow-up that
//! waits for its window; bad input as 400s naming the field; hostile text inert; and every write
//! refused without a login when `[auth]` is set.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::actions::csrf_of;
use crate::auth::config_with_login;
use crate::server::{Server, client, post_form, post_json};
use crate::support::{Sandbox, ok};

#[tokio::test]
async fn an_a3_is_started_filled_and_its_countermeasure_is_on_the_board() {
    let sandbox = Sandbox::new();
    ok(&sandbox.gemba(&["demo", "--days", "150", "--orders-per-day", "12"]));
    let s = Server::start(&sandbox, &[]);

    // The demo plant's A3s: the worst bad actor's, met; the next one's under way; one in Plan.
    let list = s.json("/api/v1/a3").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(
        (
            list[0]["stage"].as_str(),
            list[0]["follow_up"]["verdict"].as_str()
        ),
        (Some("act"), Some("met")),
        "{}",
        list[0]
    );
    assert!(list[0]["follow_up"]["cycle_days"].as_i64().unwrap() > 30);
    assert_eq!(
        (
            list[1]["stage"].as_str(),
            list[1]["follow_up"]["verdict"].as_str()
        ),
        (Some("do"), Some("not_yet"))
    );
    assert_eq!(list[2]["stage"], "plan");
    let system = s.json("/api/v1/system").await;
    assert!(
        system["plant"]["health"]["a3_open"].as_u64().unwrap() >= 2,
        "{}",
        system["plant"]
    );
    // The area board names its bad actors, each with a way to start an A3.
    let board = s.text("/board?area=Packaging").await;
    assert!(board.contains("Bad actors") && board.contains("/a3?asset="));

    // Started from an action of a crew's board, through the form.
    let actions = s.json("/api/v1/actions").await;
    let action = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["board"] == "crew:Utilities")
        .unwrap_or(&actions[0])
        .clone();
    let aid = action["id"].as_i64().unwrap();
    assert!(
        s.text(&format!("/actions/{aid}"))
            .await
            .contains(&format!("/a3?action={aid}")),
        "the action offers an A3"
    );
    // From a gemba walk's observation: the walk's record links to the form, which names it.
    let walks = s
        .json(&format!(
            "/api/v1/walks?from={}",
            chrono::Utc::now().date_naive() - chrono::Duration::days(140)
        ))
        .await;
    let (wid, stop) = walks
        .as_array()
        .unwrap()
        .iter()
        .find_map(|w| {
            let n = w["stops"]
                .as_array()?
                .iter()
                .position(|st| st["observations"].as_array().is_some_and(|o| !o.is_empty()))?;
            Some((w["id"].as_i64()?, n + 1))
        })
        .expect("a demo walk with an observation");
    assert!(
        s.text(&format!("/walks/{wid}"))
            .await
            .contains(&format!("/a3?walk={wid}&amp;stop={stop}"))
    );
    let from_walk = s.text(&format!("/a3?walk={wid}&stop={stop}")).await;
    assert!(
        from_walk.contains(&format!("gemba walk #{wid}, stop {stop}")),
        "the form says where it starts from"
    );
    let page = s.text(&format!("/a3?action={aid}")).await;
    assert!(
        page.contains(&format!("action #{aid}")),
        "the form says where it starts from"
    );
    let csrf = csrf_of(&page);
    let r = post_form(
        &s,
        "/a3",
        &[
            ("csrf", &csrf),
            ("action", &aid.to_string()),
            ("board", action["board"].as_str().unwrap()),
            ("title", "<script>alert(1)</script> Boiler trips"),
            ("owner", "Ana"),
            ("coach", "Bo"),
            ("background", "Trips <b>every</b> week"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let at = r.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = at.trim_start_matches("/a3/").parse().unwrap();
    let sheet = s.text(&at).await;
    assert!(
        !sheet.contains("<script>alert") && sheet.contains("&lt;script&gt;"),
        "hostile text is inert"
    );
    assert!(sheet.contains("Current condition") && sheet.contains("Reactive share of hours"));

    // The sections through the sheet's form.
    let csrf = csrf_of(&sheet);
    let r = post_form(
        &s,
        &at,
        &[
            ("csrf", &csrf),
            ("title", "Boiler trips"),
            ("owner", "Ana"),
            ("coach", "Bo"),
            ("stage", "plan"),
            ("background", "Trips every week"),
            ("problem", "The boiler tripped 5 times in March"),
            ("why.1", "Low water level"),
            ("why.2", "The feed pump cavitates"),
            ("cause.machine", "worn impeller"),
            ("root_cause", "No NPSH margin"),
            ("plan", "Raise the tank"),
            ("metric", "emergency_pct"),
            ("scope", "plant"),
            ("op", ""),
            ("value", "5"),
            ("by", "2099-01-01"),
            ("window_days", "28"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let a = s.json(&format!("/api/v1/a3/{id}")).await;
    assert_eq!(
        a["sections"]["whys"],
        json!(["Low water level", "The feed pump cavitates"])
    );
    assert_eq!(
        (a["target"]["op"].as_str(), a["origin"]["from"].as_str()),
        (Some("at_most"), Some("action"))
    );

    // A countermeasure is an action on the A3's board; resolved, the follow-up waits for its
    // window (in place today, 28 days to come).
    let r = post_form(
        &s,
        &format!("{at}/countermeasures"),
        &[
            ("csrf", &csrf),
            ("title", "Raise the feed tank 1 m"),
            ("owner", "Ana"),
            ("due", "2099-01-01"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let a = s.json(&format!("/api/v1/a3/{id}")).await;
    assert_eq!(a["stage"], "do", "the first countermeasure moves it to Do");
    let cm = a["countermeasures"][0]["action"].as_i64().unwrap();
    let on_board = s
        .json(&format!(
            "/api/v1/actions?board={}",
            action["board"].as_str().unwrap()
        ))
        .await;
    let found = on_board
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == cm)
        .expect("on the board");
    assert!(
        found["note"]
            .as_str()
            .unwrap()
            .contains(&format!("/a3/{id}"))
    );
    let (st, _) = post_json(
        &s,
        &format!("/api/v1/actions/{cm}"),
        json!({"op": "resolve", "note": "raised"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let a = s.json(&format!("/api/v1/a3/{id}")).await;
    let f = &a["follow_up"];
    assert_eq!(
        (f["countermeasures_done"].as_u64(), f["verdict"].as_str()),
        (Some(1), Some("not_yet")),
        "{f}"
    );
    assert!(f["in_place_on"].is_string() && f["before"].is_number());

    // A board's PM compliance is a target without an asset (an asset's, with one).
    let (st, v) = post_json(&s, &format!("/api/v1/a3/{id}"), json!({"target": {"metric": "pm_compliance_pct", "scope": "plant", "value": 90, "by": "2099-01-01", "window_days": 28}})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (v["target"]["asset"].clone(), v["target"]["op"].as_str()),
        (Value::Null, Some("at_least"))
    );
    assert!(v["follow_up"]["before"].is_number(), "{v}");
    // Bad input names its field.
    let bad = [
        (
            json!({"target": {"metric": "uptime", "scope": "plant", "value": 1, "by": "2099-01-01", "window_days": 28}}),
            "metric:",
        ),
        (
            json!({"target": {"metric": "reactive_pct", "scope": "plant", "value": 1, "by": "2001-01-01", "window_days": 28}}),
            "by:",
        ),
        (
            json!({"target": {"metric": "mtbf_hours", "asset": "NOPE-1", "scope": "plant", "value": 1, "by": "2099-01-01", "window_days": 28}}),
            "asset:",
        ),
        (
            json!({"target": {"metric": "reactive_pct", "scope": "crew:Nobody", "value": 1, "by": "2099-01-01", "window_days": 28}}),
            "scope:",
        ),
        (json!({"stage": "done"}), "stage:"),
        (json!({"title": ""}), "title is required"),
        (json!({"in_place_on": "2099-01-01"}), "in_place_on:"),
        (json!({"in_place_on": "0001-01-01"}), "in_place_on:"),
    ];
    for (body, field) in bad {
        let (st, e) = post_json(&s, &format!("/api/v1/a3/{id}"), body.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            e["error"].as_str().unwrap_or_default().contains(field),
            "{body}: {e}"
        );
    }
    let (st, e) = post_json(
        &s,
        "/api/v1/a3",
        json!({"title": "x", "board": "plant", "owner": "y", "asset": "NOPE-1"}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"].as_str().unwrap().starts_with("asset:"), "{e}");
    // Closed, it takes no more countermeasures until its stage is set back.
    let (st, _) = post_json(&s, &format!("/api/v1/a3/{id}"), json!({"stage": "closed"})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, e) = post_json(
        &s,
        &format!("/api/v1/a3/{id}/countermeasures"),
        json!({"title": "x", "owner": "y", "due": "2099-01-01"}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    let (st, _) = post_json(&s, "/api/v1/a3/9999", json!({"title": "x"})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let history = s.text(&at).await;
    assert!(history.contains("countermeasure: action #") && history.contains("started: "));
}

#[tokio::test]
async fn every_a3_write_needs_a_login_when_auth_is_set() {
    let sandbox = Sandbox::new();
    ok(&sandbox.gemba(&["demo", "--days", "20", "--orders-per-day", "5"]));
    let config = config_with_login(&sandbox, false);
    let s = Server::start(&sandbox, &["--config", config.to_str().unwrap()]);
    let (st, _) = post_json(
        &s,
        "/api/v1/a3",
        json!({"title": "x", "board": "plant", "owner": "y"}),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    for path in ["/api/v1/a3/1", "/api/v1/a3/1/countermeasures"] {
        let (st, _) = post_json(&s, path, json!({})).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{path}");
    }
    for path in ["/a3", "/a3/1", "/a3/1/countermeasures"] {
        let r = post_form(&s, path, &[("csrf", "x"), ("title", "X")]).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let cookie = crate::auth::login(&s, &[("name", "ana"), ("password", "correct horse")])
        .await
        .unwrap_or_else(|_| panic!("ana logs in"));
    let r = crate::auth::post(
        &s,
        "/a3",
        &cookie,
        &[
            ("csrf", "0"),
            ("title", "X"),
            ("board", "plant"),
            ("owner", "ana"),
        ],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a form without the session's token"
    );
    let r = client()
        .post(s.url("/api/v1/a3"))
        .header("cookie", &cookie)
        .json(&json!({"title": "Logged in", "board": "plant", "owner": "ana"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(s.json("/api/v1/a3").await.as_array().unwrap().len(), 1);
}
