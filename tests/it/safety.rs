//! The safety cross through the real interfaces: the board's form (with its CSRF token) and
//! `/api/v1/safety`, against `gemba serve` on loopback. A crew's mark rolls up to its area, bad
//! marks are clear 400s that store nothing, hostile notes stay inert, and `/huddles` lists it.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::actions::csrf_of;
use crate::server::Server;
use crate::support::{Sandbox, ok};

fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn text(s: &Server, path: &str) -> String {
    let r = client().get(s.url(path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    r.text().await.unwrap()
}

async fn json_of(s: &Server, path: &str) -> Value {
    let r = client().get(s.url(path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    r.json().await.unwrap()
}

/// The day `day` of a board's month as the API shows it.
fn day_of(cross: &Value, day: NaiveDate) -> Option<Value> {
    cross["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["day"] == day.to_string())
        .cloned()
}

/// The cell of `day` in a page's safety cross: its `data-mark`.
fn cell_mark(page: &str, day: NaiveDate) -> String {
    let at = page
        .find(&format!(r#"data-day="{day}""#))
        .unwrap_or_else(|| panic!("a cell for {day}"));
    let rest = &page[at..];
    let m = rest.find(r#"data-mark=""#).unwrap() + r#"data-mark=""#.len();
    rest[m..m + rest[m..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn a_day_is_marked_on_the_board_rolls_up_to_the_area_and_bad_marks_store_nothing() {
    let sandbox = Sandbox::new();
    ok(&sandbox.gemba(&["demo", "--days", "40", "--orders-per-day", "5"]));
    let s = Server::start(&sandbox, &[]);
    let day = today();

    // The demo plant brings weeks of marks; today's huddle has not been held yet.
    let crew = json_of(&s, "/api/v1/safety?board=crew:Packaging%20E%26I").await;
    assert!(day_of(&crew, day).is_none(), "today is blank");
    let area = json_of(&s, "/api/v1/safety?board=area:Packaging").await;
    assert_eq!(area["boards"][0], "area:Packaging");
    assert!(
        area["boards"]
            .as_array()
            .unwrap()
            .contains(&json!("crew:Packaging E&I")),
        "{area}"
    );

    // Last month's cross is a link away and shows the demo's marks; a bad month is a 400.
    let last_month = (day.with_day(1).unwrap() - Duration::days(1))
        .with_day(1)
        .unwrap();
    let board = text(&s, "/board?crew=Packaging%20E%26I").await;
    let href = format!(
        "/board?crew=Packaging+E%26I&amp;month={}#safety",
        last_month.format("%Y-%m")
    );
    assert!(board.contains(&href), "a link to last month: {href}");
    let before = text(
        &s,
        &format!(
            "/board?crew=Packaging%20E%26I&month={}",
            last_month.format("%Y-%m")
        ),
    )
    .await;
    let marked = (1..=28)
        .filter(|d| !cell_mark(&before, last_month.with_day(*d).unwrap()).is_empty())
        .count();
    assert!(
        marked >= 10,
        "most working days of last month are marked: {marked}"
    );
    let r = client()
        .get(s.url("/board?crew=Utilities&month=May"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("month: `May`"));

    // The crew marks a first-aid case through the board's form; the note is hostile.
    let board = text(&s, "/board?crew=Packaging%20E%26I").await;
    let csrf = csrf_of(&board);
    let hostile = "<script>alert('x')</script> cut on a finger";
    let r = client()
        .post(s.url("/safety"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("board", "crew:Packaging E&I"),
            ("date", &day.to_string()),
            ("mark", "first_aid"),
            ("note", hostile),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("#safety")
    );
    let board = text(&s, "/board?crew=Packaging%20E%26I").await;
    assert_eq!(cell_mark(&board, day), "first_aid");
    assert!(board.contains("0</span> days since the last first-aid or lost-time case"));
    assert!(!board.contains("<script>alert"), "the note is escaped");
    assert!(board.contains("&lt;script&gt;"));

    // The area marked its own day safe: it still shows the worst of its crews.
    let r = client()
        .post(s.url("/api/v1/safety"))
        .json(&json!({"board": "area:Packaging", "date": day.to_string(), "mark": "safe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let written: Value = r.json().await.unwrap();
    assert_eq!(written["mark"], "safe");
    let area = json_of(&s, "/api/v1/safety?board=area:Packaging").await;
    let today_area = day_of(&area, day).expect("today is marked");
    assert_eq!(today_area["worst"], "first_aid");
    assert_eq!(today_area["worst_on"], json!(["crew:Packaging E&I"]));
    assert_eq!(today_area["own"]["mark"], "safe");
    assert_eq!(area["days_since_case"], 0);
    let area_page = text(&s, "/board?area=Packaging").await;
    assert_eq!(cell_mark(&area_page, day), "first_aid");
    // Another area's board does not see it.
    let other = json_of(&s, "/api/v1/safety?board=area:Utilities").await;
    assert!(day_of(&other, day).is_none_or(|d| d["worst"] != "first_aid"));

    // Bad marks: each refused naming the field (400 when it does not read, 422 when a rule
    // refuses it); nothing is stored.
    let before = json_of(&s, "/api/v1/safety?board=crew:Utilities").await;
    for (body, field, want) in [
        (
            json!({"board": "crew:Utilities", "date": day.to_string(), "mark": "fine"}),
            "mark: `fine`",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"board": "crew:Utilities", "date": (day + Duration::days(1)).to_string(), "mark": "safe"}),
            "is in the future",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"board": "crew:Utilities", "date": "yesterday", "mark": "safe"}),
            "date: `yesterday`",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"board": "crew:Nobody", "date": day.to_string(), "mark": "safe"}),
            "no board `crew:Nobody`",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"board": "crew:Utilities", "date": day.to_string(), "mark": "lost_time"}),
            "needs a note",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"board": "crew:Utilities", "date": day.to_string(), "mark": 3}),
            "mark: `3` must be a string",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let r = client()
            .post(s.url("/api/v1/safety"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "{body}");
        let e: Value = r.json().await.unwrap();
        assert!(e["error"].as_str().unwrap().contains(field), "{body}: {e}");
    }
    let r = client()
        .post(s.url("/safety"))
        .form(&[
            ("csrf", "not-the-token"),
            ("board", "crew:Utilities"),
            ("date", &day.to_string()),
            ("mark", "safe"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a form without its token"
    );
    assert_eq!(
        json_of(&s, "/api/v1/safety?board=crew:Utilities").await,
        before
    );
    let r = client()
        .get(s.url("/api/v1/safety?board=plant&month=2026-13"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // /huddles summarises the crosses: the case is there, escaped.
    let huddles = text(&s, "/huddles").await;
    assert!(huddles.contains(r#"data-board="crew:Packaging E&amp;I""#));
    assert!(huddles.contains("first aid: &lt;script&gt;"), "{huddles}");
    // The OpenAPI document has the routes.
    let doc = json_of(&s, "/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/safety"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/safety"]["post"].is_object());
}

/// The same tests with the store on PostgreSQL (a database of their own on `GEMBA_TEST_PG`).
mod on_postgres {
    use crate::support::on_postgres;

    #[test]
    fn a_day_is_marked_on_the_board_rolls_up_to_the_area_and_bad_marks_store_nothing() {
        on_postgres(
            super::a_day_is_marked_on_the_board_rolls_up_to_the_area_and_bad_marks_store_nothing,
        );
    }
}
