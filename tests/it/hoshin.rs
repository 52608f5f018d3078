//! Strategy deployment through the real server: an objective's baseline and monthly actuals
//! equal `gemba trend` for the same metric, scope and month ends; the glide path, a month set by
//! hand and a horizon inside the data's history; the catchball (propose, return with a comment,
//! propose again, agree) with the rule that only a leader of the parent's board agrees when
//! logins are on; gap notes; reviews; bad input as 400s naming the field; hostile text inert.

use chrono::{Datelike, Duration, Months, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::auth::config_with_login;
use crate::server::Server;
use crate::support::{Sandbox, ok};

async fn post(s: &Server, path: &str, cookie: &str, body: Value) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(s.url(path))
        .header("cookie", cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive()
}

fn first_of(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap()
}

fn ym(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

#[tokio::test]
async fn baselines_and_actuals_equal_the_trend_and_the_plan_glides() {
    let sandbox = Sandbox::new();
    ok(&sandbox.gemba(&["demo", "--days", "100", "--orders-per-day", "8"]));
    let s = Server::start(&sandbox, &[]);
    // A horizon inside the data's history: every month is judged.
    let start = first_of(today()) - Months::new(3);
    let horizon = first_of(today()) - Months::new(1);
    let (st, o) = post(
        &s,
        "/api/v1/objectives",
        "",
        json!({
            "title": "PM compliance above 95 %", "owner": "Ana", "board": "area:Packaging",
            "kpi": "pm_compliance_pct", "start": ym(start), "horizon": ym(horizon), "target": 95
        }),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{o}");
    let id = o["id"].as_i64().unwrap();
    let baseline_date = start - Duration::days(1);
    assert_eq!(o["baseline_date"], baseline_date.to_string());
    // The trend over the same month ends, by the CLI.
    let mut trend_from = baseline_date;
    while trend_from.day() != 31 {
        trend_from = first_of(trend_from) - Duration::days(1);
    }
    let out = ok(&sandbox.gemba(&[
        "trend",
        "--metric",
        "pm_compliance_pct",
        "--area",
        "Packaging",
        "--from",
        &trend_from.to_string(),
        "--to",
        &(first_of(today()) - Duration::days(1)).to_string(),
        "--every",
        "1mo",
        "--format",
        "json",
    ]));
    let trend: Value = serde_json::from_str(&out).unwrap();
    let at = |d: NaiveDate| -> Value {
        trend["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["as_of"] == d.to_string())
            .map(|p| p["pm_compliance_pct"].clone())
            .unwrap_or_else(|| panic!("{d} in {trend}"))
    };
    assert_eq!(
        o["baseline"],
        at(baseline_date),
        "the baseline is the trend's value"
    );
    let months = o["months"].as_array().unwrap();
    assert_eq!(months.len(), 3);
    let baseline = o["baseline"].as_f64().unwrap();
    for (i, m) in months.iter().enumerate() {
        let end: NaiveDate = m["month_end"].as_str().unwrap().parse().unwrap();
        assert_eq!(m["actual"], at(end), "{m}");
        // The glide path: a straight line from the baseline to 95 in three months.
        let want = baseline + (95.0 - baseline) * (i + 1) as f64 / 3.0;
        assert!((m["plan"].as_f64().unwrap() - want).abs() < 1e-9, "{m}");
        // Judged by the better side: higher is better for PM compliance.
        let green = m["actual"].as_f64().is_some_and(|a| a >= want);
        assert_eq!(m["cell"], if green { "green" } else { "red" }, "{m}");
    }
    // A plan through this month: this month shows its value so far (PM compliance is an asset
    // metric too, measured here of the board), later months nothing yet.
    let (st, now) = post(&s, "/api/v1/objectives", "", json!({
        "title": "PM compliance above 95 %", "owner": "Ana", "board": "area:Packaging",
        "kpi": "pm_compliance_pct", "start": ym(first_of(today())), "horizon": ym(first_of(today()) + Months::new(2)), "target": 95
    }))
    .await;
    assert_eq!(st, StatusCode::CREATED, "{now}");
    assert!(
        now["months"][0]["actual"].is_number(),
        "so far: {}",
        now["months"][0]
    );
    assert_eq!(now["months"][0]["cell"], "future");
    assert!(now["months"][1]["actual"].is_null());
    // A month set by hand; one outside the plan is a 400 naming the field.
    let (st, v) = post(
        &s,
        &format!("/api/v1/objectives/{id}"),
        "",
        json!({"op": "plan", "month": ym(start), "value": 50}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["plan"][0]["value"].as_f64(),
            v["plan"][0]["edited"].as_bool()
        ),
        (Some(50.0), Some(true))
    );
    assert_eq!(
        v["months"][0]["cell"],
        if v["months"][0]["actual"].as_f64().unwrap() >= 50.0 {
            "green"
        } else {
            "red"
        }
    );
    let (st, e) = post(
        &s,
        &format!("/api/v1/objectives/{id}"),
        "",
        json!({"op": "plan", "month": ym(horizon + Months::new(1)), "value": 50}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"].as_str().unwrap().starts_with("month:"), "{e}");
    for (body, field) in [
        (
            json!({"title": "x", "owner": "y", "board": "plant", "kpi": "uptime", "start": "2026-01", "horizon": "2026-06", "target": 1}),
            "kpi:",
        ),
        (
            json!({"title": "x", "owner": "y", "board": "plant", "kpi": "reactive_pct", "start": "2026-06", "horizon": "2026-01", "target": 1}),
            "horizon:",
        ),
        (
            json!({"title": "", "owner": "y", "board": "plant", "kpi": "reactive_pct", "start": "2026-01", "horizon": "2026-06", "target": 1}),
            "title",
        ),
        (
            json!({"title": "x", "owner": "y", "board": "area:Nowhere", "kpi": "reactive_pct", "start": "2026-01", "horizon": "2026-06", "target": 1}),
            "board:",
        ),
    ] {
        let (st, e) = post(&s, "/api/v1/objectives", "", body.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            e["error"].as_str().unwrap_or_default().starts_with(field),
            "{body}: {e}"
        );
    }
}

#[tokio::test]
async fn catchball_proposes_returns_and_agrees_and_only_the_parent_s_leader_decides() {
    let sandbox = Sandbox::new();
    ok(&sandbox.gemba(&["demo", "--days", "60", "--orders-per-day", "5"]));
    let config = config_with_login(&sandbox, false);
    let s = Server::start(&sandbox, &["--config", config.to_str().unwrap()]);
    let (st, _) = post(&s, "/api/v1/objectives", "", json!({"title": "x", "owner": "y", "board": "plant", "kpi": "reactive_pct", "start": "2026-01", "horizon": "2026-06", "target": 1})).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "writes need a login");
    for path in [
        "/hoshin",
        "/hoshin/1/plan",
        "/hoshin/1/decide",
        "/hoshin/reviews",
    ] {
        let r = reqwest::Client::new()
            .post(s.url(path))
            .form(&[("csrf", "x"), ("title", "X")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let cookie = crate::auth::login(&s, &[("name", "ana"), ("password", "correct horse")])
        .await
        .unwrap_or_else(|_| panic!("ana logs in"));
    // Ana leads the Packaging area, not the plant.
    let (st, leader) = post(
        &s,
        "/api/v1/leaders",
        &cookie,
        json!({"name": "Ana", "role": "Supervisor", "board": "area:Packaging", "login": "ana"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{leader}");
    let start = ym(first_of(today()) - Months::new(1));
    let horizon = ym(first_of(today()) + Months::new(10));
    let (st, o) = post(&s, "/api/v1/objectives", &cookie, json!({
        "title": "<script>alert(1)</script> Reactive work below 15 %", "owner": "Plant manager", "board": "plant",
        "kpi": "reactive_pct", "start": start, "horizon": horizon, "target": 15
    }))
    .await;
    assert_eq!(st, StatusCode::CREATED, "{o}");
    let id = o["id"].as_i64().unwrap();
    let (st, v) = post(
        &s,
        &format!("/api/v1/objectives/{id}"),
        &cookie,
        json!({"op": "deploy", "boards": ["area:Packaging", "area:Utilities"]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let kids = v["children"].as_array().unwrap();
    assert_eq!(kids.len(), 2);
    assert!(kids.iter().all(|k| k["catchball"] == "draft"));
    assert_eq!(v["coverage"], "open");
    let pack = kids
        .iter()
        .find(|k| k["board"] == "area:Packaging")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let util = kids
        .iter()
        .find(|k| k["board"] == "area:Utilities")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (st, e) = post(
        &s,
        &format!("/api/v1/objectives/{id}"),
        &cookie,
        json!({"op": "deploy", "boards": ["crew:Utilities"]}),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a crew is two tiers below the plant: {e}"
    );

    // Packaging proposes 18 %; a leader of the area cannot agree its own board's proposal.
    let step = |oid: i64, body: Value| {
        let cookie = cookie.clone();
        let s = &s;
        async move { post(s, &format!("/api/v1/objectives/{oid}"), &cookie, body).await }
    };
    let (st, v) = step(pack, json!({"op": "propose", "owner": "Ana", "target": 18})).await;
    assert_eq!(
        (st, v["catchball"].as_str()),
        (StatusCode::OK, Some("proposed")),
        "{v}"
    );
    let last = v["plan"].as_array().unwrap().last().unwrap()["value"].as_f64();
    assert_eq!(
        last,
        Some(18.0),
        "the glide path ends at the proposed target"
    );
    let (st, e) = step(pack, json!({"op": "agree"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("only a leader of Plant")
    );
    // Ana now leads the plant: she returns it with a comment, it comes back, she agrees.
    let lid = leader["id"].as_i64().unwrap();
    let (st, _) = post(
        &s,
        &format!("/api/v1/leaders/{lid}"),
        &cookie,
        json!({"name": "Ana", "role": "Plant manager", "board": "plant", "login": "ana"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (st, e) = step(pack, json!({"op": "return"})).await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a return needs a comment: {e}"
    );
    assert!(e["error"].as_str().unwrap().starts_with("comment"));
    let (st, v) = step(
        pack,
        json!({"op": "return", "comment": "18 leaves the plant short: <b>15</b> please"}),
    )
    .await;
    assert_eq!(
        (st, v["catchball"].as_str()),
        (StatusCode::OK, Some("returned"))
    );
    let (st, _) = step(pack, json!({"op": "agree"})).await;
    assert_eq!(st, StatusCode::CONFLICT, "only a proposal is agreed");
    let (st, v) = step(
        pack,
        json!({"op": "propose", "owner": "Ana", "target": 14, "plan": {start.clone(): 20}}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["plan"][0]["value"].as_f64(),
        Some(20.0),
        "a month of the proposal set by hand"
    );
    let (st, e) = step(
        pack,
        json!({"op": "deploy", "boards": ["crew:Packaging Mechanical"]}),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::CONFLICT,
        "a proposal is agreed before it goes further: {e}"
    );
    let (st, v) = step(
        pack,
        json!({"op": "agree", "comment": "agreed at the review"}),
    )
    .await;
    assert_eq!(
        (st, v["catchball"].as_str()),
        (StatusCode::OK, Some("agreed"))
    );
    // Agreed, the area's objective goes down to its crews: the next tier's catchball.
    let (st, v) = step(
        pack,
        json!({"op": "deploy", "boards": ["crew:Packaging Mechanical", "crew:Packaging E&I"]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["children"].as_array().unwrap().len(), 2);
    let rows = s.json("/api/v1/hoshin/bowling").await;
    let depths: Vec<u64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["depth"].as_u64().unwrap())
        .collect();
    assert_eq!(
        depths,
        [0, 1, 2, 2, 1],
        "the plant, Packaging and its crews, Utilities"
    );
    let parent = s.json(&format!("/api/v1/objectives/{id}")).await;
    assert_eq!(
        parent["coverage"], "covers",
        "14 % at most covers the plant's 15 %: {parent}"
    );
    let (st, _) = step(util, json!({"op": "propose", "owner": "Bo", "target": 19})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = step(util, json!({"op": "agree"})).await;
    assert_eq!(st, StatusCode::OK);
    let parent = s.json(&format!("/api/v1/objectives/{id}")).await;
    assert_eq!(
        parent["coverage"], "brackets",
        "15 % lies between 14 % and 19 %"
    );
    let history = s.text(&format!("/hoshin/{pack}")).await;
    for line in [
        "deployed from objective",
        "proposed: reactive_pct 18",
        "returned: 18 leaves",
        "agreed: agreed at the review",
    ] {
        assert!(history.contains(line), "{line}");
    }
    assert!(!history.contains("<b>15</b>") && history.contains("&lt;b&gt;15&lt;/b&gt;"));
    let page = s.text("/hoshin").await;
    assert!(!page.contains("<script>alert") && page.contains("&lt;script&gt;"));

    // Gap notes and reviews.
    let (st, e) = step(
        id,
        json!({"op": "gap", "month": start, "cause": "", "countermeasure": "x"}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"].as_str().unwrap().starts_with("cause"));
    let (st, e) = step(
        id,
        json!({"op": "gap", "month": start, "cause": "a", "countermeasure": "b", "a3": 99}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"].as_str().unwrap().starts_with("a3:"), "{e}");
    let (st, v) = step(id, json!({"op": "gap", "month": start, "cause": "burst of breakdowns", "countermeasure": "A3 on the compressors"})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["months"][0]["gap"]["cause"], "burst of breakdowns");
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/hoshin/reviews"))
        .header("cookie", &cookie)
        .json(&json!({"board": "plant", "month": start, "held_on": today().to_string(), "attendees": "Ana, Bo", "items": {id.to_string(): {"status": "at risk", "note": "Utilities high"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (st, e) = post(&s, "/api/v1/hoshin/reviews", &cookie, json!({"board": "plant", "month": start, "held_on": today().to_string(), "attendees": "Ana", "items": {"999": {"status": "on track"}}})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .starts_with("items: no objective 999"),
        "{e}"
    );
    let (st, e) = post(&s, "/api/v1/hoshin/reviews", &cookie, json!({"board": "plant", "month": "March", "held_on": today().to_string(), "attendees": "Ana"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"].as_str().unwrap().starts_with("month:"), "{e}");
    let reviews = s.json("/api/v1/hoshin/reviews").await;
    assert_eq!(reviews[0]["items"][id.to_string()]["status"], "at risk");
    // The plant's board: this month's row of its objective, and whether this month's review was
    // held (not yet: the one recorded is of last month).
    let board = s.text("/").await;
    assert!(board.contains("Breakthrough objectives") && board.contains("has not been held yet"));
    let this_month = ym(today());
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/hoshin/reviews"))
        .header("cookie", &cookie)
        .json(&json!({"board": "plant", "month": this_month, "held_on": today().to_string(), "attendees": "Ana"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let board = s.text("/").await;
    assert!(
        board.contains(&format!("Monthly review of {this_month} held on")),
        "the board shows it"
    );
    let bowling = s.text("/hoshin/bowling").await;
    assert!(bowling.contains("gap note") && bowling.contains("area Packaging"));
}
