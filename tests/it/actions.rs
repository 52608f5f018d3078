//! Huddle actions, escalation and the huddle record through the real interfaces: the board's
//! HTML forms (with their CSRF token) and `/api/v1/actions`, against `gemba serve` on loopback.

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::server::Server;
use crate::support::{Sandbox, ok};

/// The CSRF token in a page's forms.
pub fn csrf_of(page: &str) -> String {
    let at = page
        .find(r#"name="csrf" value=""#)
        .expect("the page has a form with a CSRF token")
        + r#"name="csrf" value=""#.len();
    page[at..at + 64].to_string()
}

struct Client {
    http: reqwest::Client,
    server: Server,
}

impl Client {
    fn start() -> (Sandbox, Client) {
        let sandbox = Sandbox::new();
        ok(&sandbox.gemba(&["demo", "--days", "60", "--orders-per-day", "5"]));
        let server = Server::start(&sandbox, &[]);
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap();
        (sandbox, Client { http, server })
    }

    async fn page(&self, path: &str) -> String {
        let r = self.http.get(self.server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        r.text().await.unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
        let r = self
            .http
            .post(self.server.url(path))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, location, r.text().await.unwrap())
    }

    async fn api(&self, path: &str) -> Value {
        self.http
            .get(self.server.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn action_ids(page: &str) -> Vec<String> {
    page.split(r#"data-action=""#)
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect()
}

#[tokio::test]
async fn an_action_is_raised_escalated_handed_back_and_resolved_with_its_history() {
    let (_sandbox, c) = Client::start();
    let crew = c.page("/board?crew=Utilities").await;
    let csrf = csrf_of(&crew);
    assert!(crew.contains("No open actions."));

    let (status, location, _) = c
        .post(
            "/actions",
            &[
                ("csrf", &csrf),
                ("board", "crew:Utilities"),
                ("title", "<script>alert('x')</script> chiller spares"),
                ("owner", "Ana"),
                ("due", "2026-11-28"),
                ("orders", "WO-0000001, WO-0000002"),
                ("return", "/board?crew=Utilities#actions"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/board?crew=Utilities#actions");
    let crew = c.page("/board?crew=Utilities").await;
    assert!(crew.contains("&lt;script&gt;alert('x')&lt;/script&gt; chiller spares"));
    assert!(
        !crew.contains("<script>alert"),
        "hostile titles render inert"
    );
    let id = action_ids(&crew)[0].clone();
    let op = format!("/actions/{id}");

    // Escalation needs a reason.
    let (status, _, body) = c
        .post(&op, &[("csrf", &csrf), ("op", "escalate"), ("reason", " ")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("reason is required"), "{body}");
    let (status, location, _) = c
        .post(
            &op,
            &[
                ("csrf", &csrf),
                ("op", "escalate"),
                ("reason", "needs a purchase order"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location, "/board?area=Utilities#actions",
        "to the board it is on now"
    );

    // The area board shows it with where it came from; the crew board shows where it went.
    let area = c.page("/board?area=Utilities").await;
    assert!(action_ids(&area).contains(&id));
    assert!(area.contains("escalated from <strong>crew Utilities</strong>"));
    assert!(area.contains("needs a purchase order"));
    let crew = c.page("/board?crew=Utilities").await;
    assert!(crew.contains("Escalated from this board"));
    assert!(crew.contains("now on <strong>area Utilities</strong>"));

    // Handed back with a note, then edited, moved and resolved.
    let (status, _, _) = c
        .post(
            &op,
            &[
                ("csrf", &csrf),
                ("op", "hand_back"),
                ("note", "PO 4711 raised"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = c
        .post(
            &op,
            &[
                ("csrf", &csrf),
                ("op", "edit"),
                ("title", "Chiller spares"),
                ("owner", "Ben"),
                ("due", "2026-11-30"),
                ("orders", "WO-0000001"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    c.post(
        &op,
        &[("csrf", &csrf), ("op", "status"), ("status", "doing")],
    )
    .await;
    c.post(
        &op,
        &[("csrf", &csrf), ("op", "resolve"), ("note", "fitted")],
    )
    .await;

    let a: Value = c.api("/api/v1/actions?board=crew:Utilities").await;
    assert_eq!(a[0]["title"], "Chiller spares");
    assert_eq!(a[0]["owner"], "Ben");
    assert_eq!(a[0]["status"], "done");
    assert_eq!(a[0]["note"], "fitted");
    assert_eq!(a[0]["escalated_from"], Value::Null);

    let detail = c.page(&op).await;
    for line in [
        "created: &lt;script&gt;",
        "escalated from crew Utilities to area Utilities: needs a purchase order",
        "handed back from area Utilities to crew Utilities: PO 4711 raised",
        "edited: title",
        "owner Ana -&gt; Ben",
        "status open -&gt; doing",
        "resolved: fitted",
    ] {
        assert!(detail.contains(line), "history lacks `{line}`: {detail}");
    }
}

#[tokio::test]
async fn writes_need_the_page_token_and_bad_input_is_a_400() {
    let (_sandbox, c) = Client::start();
    let page = c.page("/board?crew=Utilities").await;
    let csrf = csrf_of(&page);
    // The demo plant brings a few actions of its own.
    let before = c.api("/api/v1/actions").await;
    let form = |token: &'static str| {
        vec![
            ("csrf", token),
            ("board", "crew:Utilities"),
            ("title", "x"),
            ("owner", "Ana"),
            ("due", "2026-11-28"),
        ]
    };
    let (status, _, body) = c.post("/actions", &form("not-the-token")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("reload the page"), "{body}");
    let (status, _, _) = c.post("/actions", &form("")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = c
        .post("/huddles", &[("csrf", "x"), ("board", "plant")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        c.api("/api/v1/actions").await,
        before,
        "nothing was written"
    );

    for (field, value, says, want) in [
        // What does not read is a 400; what the rules refuse, a 422.
        (
            "due",
            "soon",
            "due: `soon` is not a date",
            StatusCode::BAD_REQUEST,
        ),
        (
            "board",
            "crew:Nobody",
            "no board `crew:Nobody`",
            StatusCode::BAD_REQUEST,
        ),
        (
            "owner",
            "",
            "owner is required",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let mut f: Vec<(&str, &str)> = form("").into_iter().filter(|(k, _)| *k != field).collect();
        f[0].1 = &csrf;
        f.push((field, value));
        let (status, _, body) = c.post("/actions", &f).await;
        assert_eq!(status, want, "{field}");
        assert!(body.contains(says), "{field}: {body}");
    }
    let (status, _, _) = c
        .post("/actions/999", &[("csrf", &csrf), ("op", "resolve")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Redirects stay on this site.
    let (_, location, _) = c
        .post(
            "/actions",
            &[
                ("csrf", &csrf),
                ("board", "plant"),
                ("title", "t"),
                ("owner", "o"),
                ("due", "2026-11-28"),
                ("return", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location, "/#actions");
}

#[tokio::test]
async fn the_json_api_raises_and_escalates_actions() {
    let (_sandbox, c) = Client::start();
    let on_area_before = c.api("/api/v1/actions?board=area:Processing").await;
    let r = c
        .http
        .post(c.server.url("/api/v1/actions"))
        .json(&json!({"board": "crew:Process Mechanical", "title": "Guard on press 3", "owner": "Dana", "due": "2026-11-20", "orders": ["WO-1"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["overdue"], true, "due before today");
    let id = a["id"].as_i64().unwrap();
    let op = |body: Value| {
        c.http
            .post(c.server.url(&format!("/api/v1/actions/{id}")))
            .json(&body)
            .send()
    };
    let r = op(json!({"op": "escalate"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "reason is required");
    let r = op(json!({"op": "escalate", "reason": "safety, needs the area"}))
        .await
        .unwrap();
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["board"], "area:Processing");
    assert_eq!(a["origin"], "crew:Process Mechanical");
    let r = op(json!({"op": "fly"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let on_area: Value = c.api("/api/v1/actions?board=area:Processing").await;
    assert_eq!(
        on_area.as_array().unwrap().len(),
        on_area_before.as_array().unwrap().len() + 1
    );
    let r = c
        .http
        .get(c.server.url("/api/v1/actions?board=moon"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_huddle_is_recorded_with_who_attended_and_what_it_decided() {
    let (_sandbox, c) = Client::start();
    let page = c.page("/board?crew=Utilities").await;
    let csrf = csrf_of(&page);
    let (status, _, _) = c
        .post("/huddles", &[("csrf", &csrf), ("board", "crew:Utilities")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page = c.page("/board?crew=Utilities").await;
    assert!(page.contains("Huddle running since"));
    let end = page
        .split(r#"action="/huddles/"#)
        .nth(1)
        .map(|s| format!("/huddles/{}", &s[..s.find('"').unwrap()]))
        .expect("an End huddle form");
    c.post(
        "/actions",
        &[
            ("csrf", &csrf),
            ("board", "crew:Utilities"),
            ("title", "Check boiler 1 belt"),
            ("owner", "Eve"),
            ("due", "2026-11-28"),
        ],
    )
    .await;
    // The crew's members are tick boxes; other names are typed.
    let page = c.page("/board?crew=Utilities").await;
    assert!(
        page.contains(r#"name="present" value="S. Ahmed""#),
        "members of the config"
    );
    let (status, _, _) = c
        .post(
            &end,
            &[
                ("csrf", &csrf),
                ("present", "S. Ahmed"),
                ("present", "U. Costa"),
                ("attendees", "Eve, S. Ahmed,  "),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = c.post(&end, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a huddle ends once");
    let huddles = c.page("/huddles").await;
    assert!(
        huddles.contains(r#"data-label="attended">S. Ahmed, U. Costa, Eve</td>"#),
        "{huddles}"
    );
    assert!(huddles.contains("crew Utilities"));
    // One action opened during the huddle, none closed.
    assert!(
        huddles.contains(
            r#"data-label="attended">S. Ahmed, U. Costa, Eve</td><td data-label="pages" class="pages"></td><td class="num" data-label="actions opened">1</td><td class="num" data-label="closed">0</td>"#
        ),
        "{huddles}"
    );
}

/// The same tests with the store on PostgreSQL (a database of their own on `GEMBA_TEST_PG`).
mod on_postgres {
    use crate::support::on_postgres;

    #[test]
    fn an_action_is_raised_escalated_handed_back_and_resolved_with_its_history() {
        on_postgres(super::an_action_is_raised_escalated_handed_back_and_resolved_with_its_history);
    }

    #[test]
    fn writes_need_the_page_token_and_bad_input_is_a_400() {
        on_postgres(super::writes_need_the_page_token_and_bad_input_is_a_400);
    }

    #[test]
    fn the_json_api_raises_and_escalates_actions() {
        on_postgres(super::the_json_api_raises_and_escalates_actions);
    }

    #[test]
    fn a_huddle_is_recorded_with_who_attended_and_what_it_decided() {
        on_postgres(super::a_huddle_is_recorded_with_who_attended_and_what_it_decided);
    }
}
