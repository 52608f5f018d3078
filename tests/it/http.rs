//! Every route of `gemba serve` over HTTP: pages, CSV downloads, the JSON API, health checks,
//! bad parameters (400, never 500), hostile titles (inert), security headers.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::server::Server;
use crate::support::{Sandbox, fixture, ok};

async fn get(s: &Server, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = reqwest::get(s.url(path))
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = r.status();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

fn same_json(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                "{at}: {x} != {y}"
            );
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, v) in x {
                same_json(v, &y[k], &format!("{at}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                same_json(v, w, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

fn with_hostile_orders() -> Sandbox {
    let s = Sandbox::new();
    ok(&s.gemba(&["demo", "--days", "120", "--orders-per-day", "10"]));
    ok(&s.gemba(&[
        "import",
        &fixture("hostile.csv"),
        "--profile",
        "generic",
        "--source",
        "cmms",
    ]));
    s
}

#[tokio::test]
async fn pages_render_escape_untrusted_text_and_carry_security_headers() {
    let sandbox = with_hostile_orders();
    let s = Server::start(&sandbox, &[]);
    for path in [
        "/",
        "/board?crew=Process%20Mechanical",
        "/board?area=Processing",
        "/board?site=Riverside&area=Processing",
        "/board?area=Packaging&technicians.Packaging+E%26I=1",
        "/?kiosk=1",
        "/trends",
        "/trends?metric=backlog_weeks,reactive_pct&compare=areas",
        "/orders",
        "/orders?crew=Process%20Mechanical&status=in_progress,ready&sort=priority&dir=desc",
        "/orders?overdue=1&sort=due",
        "/imports",
        "/imports/1",
        "/huddles",
        "/login",
    ] {
        let (status, headers, body) = get(&s, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
                && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(
            !body.contains("<script>alert"),
            "{path} renders a hostile title live"
        );
        assert!(
            !body.contains("<img src=x"),
            "{path} renders a hostile asset name live"
        );
        assert!(
            !body.contains("\" onmouseover=\"alert"),
            "{path} lets a title break out of an attribute"
        );
        assert!(
            !body.contains("<script>") || body.contains("<script src=\"/static/board.js\""),
            "{path}: only our own script"
        );
    }
    let (_, _, board) = get(&s, "/board?crew=Process%20Mechanical").await;
    assert!(
        board.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the hostile title is shown as text"
    );
    assert!(board.contains("data-metric=\"backlog_weeks\""));
    let (_, _, kiosk) = get(&s, "/?kiosk=1").await;
    assert!(kiosk.contains("class=\"kiosk tv\"") && kiosk.contains("id=\"clock\""));
    // Without the script the pages turn by a refresh, and the last moves on to the next scope.
    assert!(
        kiosk.contains("http-equiv=\"refresh\" content=\"20; url=/?kiosk=1&amp;page=problems\""),
        "the first page refreshes to the second"
    );
    let (_, _, last) = get(&s, "/?kiosk=1&page=actions").await;
    assert!(
        last.contains(
            "http-equiv=\"refresh\" content=\"20; url=/board?area=Processing&amp;kiosk=1\""
        ),
        "rotates to the next scope of the config after the last page"
    );
    assert!(last.contains("data-after-last=\"/board?area=Processing&amp;kiosk=1\""));
    for page in ["safety", "problems", "pull", "actions"] {
        assert!(kiosk.contains(&format!("id=\"page-{page}\"")), "{page}");
    }
    let (_, _, orders) = get(
        &s,
        "/orders?crew=Process%20Mechanical&kind=emergency&status=in_progress&sort=created&dir=desc",
    )
    .await;
    assert!(orders.contains("H-1") && orders.contains("&lt;script&gt;"));
    // Paging and sorting links keep the filters.
    let (_, _, page1) = get(&s, "/orders?crew=Utilities&sort=due").await;
    assert!(
        page1.contains("href=\"/orders?crew=Utilities&amp;sort=due&amp;page=2\""),
        "next page keeps the filters"
    );
    assert!(
        page1.contains("href=\"/orders?crew=Utilities&amp;sort=due&amp;dir=desc\""),
        "the sorted column flips direction"
    );
}

#[tokio::test]
async fn bad_parameters_are_400_with_a_message() {
    let sandbox = with_hostile_orders();
    let s = Server::start(&sandbox, &[]);
    for (path, says) in [
        ("/board?crew=Nobody", "no crew named `Nobody`"),
        ("/board?area=Atlantis", "no area named `Atlantis`"),
        ("/trends?metric=happiness", "unknown metric `happiness`"),
        ("/trends?from=2026-13-01", "not a date"),
        ("/trends?every=fortnightly", "not a step"),
        ("/trends?compare=planets", "compare"),
        ("/orders?sort=colour", "not a sort key"),
        ("/orders?status=open", "not a status"),
        ("/orders?kind=urgent", "not a kind"),
        ("/orders?page=0", "page: from 1 to 1000000"),
        ("/orders?dir=up", "asc or desc"),
        ("/imports/abc", "not a run number"),
        ("/actions/abc", "`abc` is not an action number"),
        ("/api/v1/kpis?as_of=2026-02-30", "not a date"),
        ("/api/v1/kpis?window_days=0", "window_days"),
        ("/api/v1/kpis?crew=Nobody", "known crews"),
        ("/api/v1/trend?metric=happiness", "unknown metric"),
        ("/api/v1/orders?per_page=0", "per_page"),
        ("/api/v1/imports?limit=lots", "limit"),
        (
            "/api/v1/pull?date=tomorrow",
            "date: `tomorrow` is not a date",
        ),
        (
            "/api/v1/pull?technicians.Utilities=two",
            "technicians.Utilities: `two`",
        ),
        (
            "/api/v1/pull?technicians.Utilities=-2",
            "must be a number from 0 to 1000",
        ),
        (
            "/api/v1/pull?technicians.Welders=2",
            "no crew named `Welders`",
        ),
        (
            "/board?technicians.Utilities=lots",
            "not a number of technicians",
        ),
    ] {
        let (status, _, body) = get(&s, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert!(body.contains(says), "{path}: `{says}` not in {body}");
        if path.starts_with("/api/") {
            let v: Value = serde_json::from_str(&body)
                .unwrap_or_else(|_| panic!("{path}: API errors are JSON: {body}"));
            assert!(v["error"].is_string());
        }
    }
    let (status, _, _) = get(&s, "/imports/999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = get(&s, "/api/v1/imports/999").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, _) = get(&s, "/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A range the document cannot state (from after to) is read, then refused: 422.
    let (status, _, body) = get(&s, "/api/v1/trend?from=2026-05-01&to=2026-01-01").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("after"), "{body}");
}

#[tokio::test]
async fn the_api_serves_the_metrics_md_json_and_documents_itself() {
    let sandbox = with_hostile_orders();
    let s = Server::start(&sandbox, &[]);
    let (status, headers, body) = get(&s, "/api/v1/kpis?crew=Utilities&window_days=14").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let k: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(k["window_days"], 14);
    assert_eq!(k["scope"]["crew"], "Utilities");
    for key in [
        "open_count",
        "backlog_weeks",
        "age_buckets",
        "pm_compliance_pct",
        "mttr_hours",
    ] {
        assert!(k["metrics"].get(key).is_some(), "{key}");
    }
    assert_eq!(k["by_crew"].as_array().unwrap().len(), 5);
    // The API and the CLI print the same JSON for the same question.
    let cli: Value = serde_json::from_str(&ok(&sandbox.gemba(&[
        "kpis",
        "--format",
        "json",
        "--as-of",
        "2026-10-31",
    ])))
    .unwrap();
    let (_, _, api) = get(&s, "/api/v1/kpis?as_of=2026-10-31").await;
    // Per-crew sums run in parallel, so their last bits may differ: equal to 1e-9 relative.
    same_json(&serde_json::from_str::<Value>(&api).unwrap(), &cli, "kpis");

    let (status, _, body) = get(&s, "/api/v1/trend?metric=backlog_weeks,reactive_pct&from=2026-09-01&to=2026-10-27&every=1mo&area=Processing").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let t: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(t["points"].as_array().unwrap().len(), 2);
    assert!(t["points"][0]["backlog_weeks"].is_number());
    assert_eq!(t["scope"]["area"], "Processing");

    let (_, _, body) = get(&s, "/api/v1/orders?per_page=2&page=2&sort=id").await;
    let o: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(o["orders"].as_array().unwrap().len(), 2);
    assert_eq!(
        (o["page"].as_u64(), o["per_page"].as_u64()),
        (Some(2), Some(2))
    );
    assert!(o["total"].as_u64().unwrap() > 1000);
    let (_, _, body) = get(
        &s,
        "/api/v1/orders?crew=Process%20Mechanical&status=in_progress&kind=emergency",
    )
    .await;
    let o: Value = serde_json::from_str(&body).unwrap();
    assert!(
        o["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["title"] == "<script>alert(1)</script>"),
        "JSON keeps the text as it is"
    );

    let (_, _, body) = get(&s, "/api/v1/imports").await;
    let runs: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(runs[0]["kind"], "csv");
    assert_eq!(runs[0]["rows_upserted"], 3);
    let (_, _, body) = get(&s, &format!("/api/v1/imports/{}", runs[0]["id"])).await;
    let run: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(run["run"]["source"], "cmms");

    let (status, _, body) = get(&s, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_str(&body).unwrap();
    for path in [
        "/api/v1/kpis",
        "/api/v1/trend",
        "/api/v1/orders",
        "/api/v1/pull",
        "/api/v1/actions",
        "/api/v1/actions/{id}",
        "/api/v1/imports",
        "/api/v1/imports/{id}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} undocumented");
    }
    assert!(
        doc["components"]["schemas"]["Metrics"]["properties"]
            .get("backlog_weeks")
            .is_some()
    );
    // Types of the same name in two modules are two schemas, not one written over the other.
    let schemas = &doc["components"]["schemas"];
    let has = |schema: &str, property: &str| schemas[schema]["properties"].get(property).is_some();
    assert!(has("Health", "routines") && has("AssetHealth", "level"));
    assert!(has("StartBody", "route") && has("A3StartBody", "board"));
    assert!(has("Stop", "label") && schemas["PullStop"]["enum"].is_array());
    // Every path parameter is declared.
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            for name in path.split('{').skip(1).filter_map(|p| p.split('}').next()) {
                assert!(
                    declared.contains(&name),
                    "{method} {path}: `{name}` undeclared"
                );
            }
        }
    }

    let (status, _, body) = get(&s, "/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    let (status, _, _) = get(&s, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn csv_downloads() {
    let sandbox = with_hostile_orders();
    let s = Server::start(&sandbox, &[]);
    let (status, headers, body) = get(&s, "/orders.csv?crew=Process%20Mechanical&sort=id").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("gemba-orders.csv")
    );
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert!(
        rows.iter()
            .any(|x| &x[1] == "H-1" && &x[2] == "<script>alert(1)</script>")
    );
    assert!(rows.iter().all(|x| &x[8] == "Process Mechanical"));
    let (status, _, body) = get(
        &s,
        "/trends.csv?metric=backlog_weeks&compare=areas&from=2026-10-01&to=2026-10-29",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let header = body.lines().next().unwrap();
    assert_eq!(
        header,
        "as_of,area:Processing backlog_weeks,area:Packaging backlog_weeks,area:Utilities backlog_weeks"
    );
    assert_eq!(body.lines().count(), 1 + 5);
}

#[tokio::test]
async fn an_empty_store_offers_the_demo_and_one_click_loads_it() {
    let sandbox = Sandbox::new();
    let s = Server::start(&sandbox, &[]);
    let (status, _, body) = get(&s, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Load the demo plant") && body.contains("action=\"/demo\""),
        "{body}"
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Without the page's CSRF token the button does nothing.
    let r = client
        .post(s.url("/demo"))
        .form(&[("csrf", "guessed")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(sandbox.store().order_count().unwrap(), 0);
    let r = client
        .post(s.url("/demo"))
        .form(&[("csrf", crate::actions::csrf_of(&body))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, _, body) = get(&s, "/").await;
    assert!(
        body.contains("data-metric=\"backlog_weeks\""),
        "the board shows after loading the demo"
    );
    assert!(sandbox.store().order_count().unwrap() > 10_000);
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let sandbox = Sandbox::new();
    let s = Server::start(&sandbox, &[]);
    let status = s.terminate();
    assert!(status.success(), "exit status {status}");
}

/// The server turns transparent huge pages off for itself (`main.rs`): with them, its resident
/// memory rose reload after reload under load while its live heap stayed flat.
#[cfg(target_os = "linux")]
#[test]
fn the_server_runs_without_transparent_huge_pages() {
    let sandbox = Sandbox::new();
    let s = Server::start(&sandbox, &[]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.child.id())).unwrap();
    let thp: Vec<&str> = status
        .lines()
        .filter(|l| l.starts_with("THP_enabled:"))
        .collect();
    assert_eq!(
        thp.iter()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .collect::<Vec<_>>(),
        [["THP_enabled:", "0"]],
        "{status}"
    );
}

#[tokio::test]
async fn cached_answers_are_one_per_query_and_follow_new_data() {
    let sandbox = Sandbox::new();
    ok(&sandbox.gemba(&["demo", "--days", "60", "--orders-per-day", "8"]));
    let s = Server::start(&sandbox, &[]);
    let a = s.text("/api/v1/kpis?crew=Utilities&window_days=14").await;
    let b = s.text("/api/v1/kpis?window_days=14&crew=Utilities").await;
    assert_eq!(
        a, b,
        "the same question in another order is the same answer"
    );
    let open = |body: &str| -> u64 {
        serde_json::from_str::<Value>(body).unwrap()["metrics"]["open_count"]
            .as_u64()
            .unwrap()
    };
    let before = open(&s.text("/api/v1/kpis").await);
    let orders_before = s.json("/api/v1/orders?per_page=1").await["total"].clone();
    // New data lands while the server runs: the cached answers go with the old data.
    ok(&sandbox.gemba(&[
        "import",
        &fixture("generic_ok.csv"),
        "--profile",
        "generic",
        "--source",
        "late",
    ]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let total = s.json("/api/v1/orders?per_page=1").await["total"].clone();
        if total != orders_before {
            assert_eq!(total.as_u64().unwrap(), orders_before.as_u64().unwrap() + 6);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the orders list never saw the import"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let after = open(&s.text("/api/v1/kpis").await);
    assert!(after >= before, "{before} -> {after}");
    // An error is not kept: a bad query stays a 400 and a good one still answers.
    let (status, _, _) = get(&s, "/api/v1/kpis?window_days=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = get(&s, "/api/v1/kpis?window_days=7").await;
    assert_eq!(status, StatusCode::OK);
}

/// Every API answer is JSON, even where axum's extractors refuse a request; a parameter sent
/// empty is a 400 that names it; the served document lists this plant's names as the only
/// values of the parameters and body fields that take them, and the answers any write may give.
#[tokio::test]
async fn the_api_refuses_in_json_and_documents_this_plant() {
    let sandbox = with_hostile_orders();
    let s = Server::start(&sandbox, &[]);
    let json_error = |headers: &reqwest::header::HeaderMap, body: &str| -> String {
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{body}"
        );
        serde_json::from_str::<Value>(body).unwrap()["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (status, headers, body) = get(&s, "/api/v1/kpis?as_of=&crew=Utilities").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        json_error(&headers, &body).starts_with("as_of: empty"),
        "{body}"
    );
    let (status, headers, body) = get(&s, "/api/v1/kpis?as_of=2026-10-01&as_of=2026-10-02").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(json_error(&headers, &body).contains("as_of"), "{body}");
    let r = crate::server::client()
        .post(s.url("/api/v1/actions"))
        .body("board=plant")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let headers = r.headers().clone();
    assert!(json_error(&headers, &r.text().await.unwrap()).contains("Content-Type"));
    // A method a route does not have is still a 405, with the methods it has.
    let r = crate::server::client()
        .request(reqwest::Method::DELETE, s.url("/api/v1/imports?limit="))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers().contains_key("allow"));
    let headers = r.headers().clone();
    assert_eq!(
        json_error(&headers, &r.text().await.unwrap()),
        "Method Not Allowed"
    );

    let doc = s.json("/api/v1/openapi.json").await;
    let param = |path: &str, name: &str| -> Value {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} {name}"))["schema"]
            .clone()
    };
    let crews = param("/api/v1/kpis", "crew")["enum"].clone();
    assert_eq!(crews.as_array().unwrap().len(), 5, "{crews}");
    assert!(crews.as_array().unwrap().contains(&json!("Utilities")));
    assert_eq!(param("/api/v1/kpis", "site")["enum"], json!(["Riverside"]));
    let boards = param("/api/v1/actions", "board")["enum"].clone();
    assert!(boards.as_array().unwrap().contains(&json!("plant")));
    assert!(
        boards
            .as_array()
            .unwrap()
            .contains(&json!("crew:Utilities"))
    );
    // A list parameter takes the words it knows, comma separated.
    let kinds = param("/api/v1/orders", "kind")["pattern"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        kinds.starts_with("^(emergency|corrective|") && kinds.ends_with(")*$"),
        "{kinds}"
    );
    let create = &doc["paths"]["/api/v1/actions"]["post"];
    for code in ["400", "401", "403", "415"] {
        assert!(create["responses"].get(code).is_some(), "{code}");
    }
    let body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert_eq!(
        doc["components"]["schemas"][body]["properties"]["board"]["enum"],
        boards
    );
    // Reads have no body and write nothing: no 415, 401 or 403 of their own.
    assert!(
        doc["paths"]["/api/v1/kpis"]["get"]["responses"]
            .get("415")
            .is_none()
    );
}
