//! The data-quality report over HTTP: `/api/v1/quality` counts what `gemba kpis` counts, per
//! scope; the orders list and its CSV filtered by a problem hold exactly the counted orders; the
//! `/quality` page shows the same numbers, the orders of a problem and the rejected rows.

use gemba::model::{Kind, Status};
use reqwest::StatusCode;
use serde_json::Value;

use crate::server::Server;
use crate::support::{Sandbox, fixture, ok};

const PROBLEMS: [&str; 5] = [
    "missing_estimate",
    "missing_due",
    "unknown_kind",
    "completed_without_date",
    "missing_asset",
];

#[tokio::test]
async fn the_report_counts_what_kpis_counts_and_lists_exactly_those_orders() {
    let sandbox = Sandbox::new();
    ok(&sandbox.gemba(&["demo", "--days", "120", "--orders-per-day", "10"]));
    // A file with bad rows: its rejections are the last import's.
    ok(&sandbox.gemba(&[
        "import",
        &fixture("generic_bad.csv"),
        "--profile",
        "generic",
        "--source",
        "cmms",
    ]));
    let stored = sandbox.orders();
    let s = Server::start(&sandbox, &[]);
    let mut seen_any = false;
    for (query, cli_scope) in [
        ("", vec![]),
        ("crew=Utilities", vec!["--crew", "Utilities"]),
        ("area=Processing", vec!["--area", "Processing"]),
    ] {
        let report = s.json(&format!("/api/v1/quality?{query}")).await;
        let mut args = vec!["kpis", "--format", "json"];
        args.extend(cli_scope.iter().copied());
        let kpis: Value = serde_json::from_str(&ok(&sandbox.gemba(&args))).unwrap();
        let total = report["total_orders"].as_u64().unwrap();
        assert!(total > 0, "{report}");
        assert_eq!(
            report["rejected_rows_last_import"], kpis["quality"]["rejected_rows_last_import"],
            "{query}"
        );
        assert_eq!(report["rejected_rows_last_import"], 7);
        let problems = report["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 5);
        for (p, key) in problems.iter().zip(PROBLEMS) {
            assert_eq!(p["problem"], key);
            let count = p["count"].as_u64().unwrap();
            assert_eq!(
                count,
                kpis["quality"][key].as_u64().unwrap(),
                "{query} {key}"
            );
            let share = p["share_pct"].as_f64().unwrap();
            assert!((share - 100.0 * count as f64 / total as f64).abs() < 1e-9);
            assert_eq!(p["weeks"].as_array().unwrap().len(), 12);
            seen_any |= count > 0;
            // The orders list and its CSV: exactly the counted orders.
            let sep = if query.is_empty() { "" } else { "&" };
            let page = s
                .json(&format!(
                    "/api/v1/orders?{query}{sep}quality={key}&per_page=1"
                ))
                .await;
            assert_eq!(page["total"].as_u64(), Some(count), "{query} {key}");
            let csv = s
                .text(&format!("/orders.csv?{query}{sep}quality={key}"))
                .await;
            let mut rows = csv::Reader::from_reader(csv.as_bytes());
            let header = rows.headers().unwrap().clone();
            let at = |name: &str| header.iter().position(|h| h == name).unwrap();
            let mut listed: Vec<(String, String)> = rows
                .records()
                .map(Result::unwrap)
                .map(|r| (r[at("source")].to_string(), r[at("id")].to_string()))
                .collect();
            listed.sort();
            assert_eq!(listed.len() as u64, count, "{query} {key}");
            // For the plant: exactly the stored orders the definition picks.
            if query.is_empty() {
                let mut want: Vec<(String, String)> = stored
                    .iter()
                    .filter(|o| match key {
                        "missing_estimate" => !o.estimated_hours.is_some_and(|h| h > 0.0),
                        "missing_due" => o.due_at.is_none(),
                        "unknown_kind" => o.kind == Kind::Other,
                        "completed_without_date" => {
                            o.status == Status::Completed && o.completed_at.is_none()
                        }
                        _ => o.asset_id.is_none(),
                    })
                    .map(|o| (o.source.clone(), o.id.clone()))
                    .collect();
                want.sort();
                assert_eq!(listed, want, "{key}");
            }
        }
    }
    assert!(seen_any, "the demo plant has problems to show");

    // The page: the same counts, the largest problem's orders, the rejected rows.
    let report = s.json("/api/v1/quality?crew=Utilities").await;
    let page = s.text("/quality?crew=Utilities").await;
    for p in report["problems"].as_array().unwrap() {
        let cell = format!(
            "data-label=\"orders\" data-count=\"{}\"",
            p["count"].as_u64().unwrap()
        );
        assert!(page.contains(&cell), "{} {cell}", p["problem"]);
    }
    assert!(
        page.contains("data-listed="),
        "a problem's orders are listed"
    );
    assert!(
        page.contains("Rows rejected by the last imports") && page.contains("31/03/2026"),
        "the rejected rows"
    );
    let page = s.text("/quality?problem=missing_due").await;
    assert!(page.contains("data-listed=\"missing_due\""));
    assert!(page.contains("quality=missing_due"), "links to all of them");

    for bad in [
        "/api/v1/quality?crew=Nobody",
        "/quality?problem=typos",
        "/orders?quality=typos",
        "/api/v1/orders?quality=typos",
    ] {
        let r = reqwest::get(s.url(bad)).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}
