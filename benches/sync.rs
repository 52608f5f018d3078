//! Sync benchmark (issue: CMMS API connectors). Serves 100,000 Atlas-shaped work orders from a
//! local mock on 127.0.0.1 at 1,000 per page (the pages are serialized before the clock starts,
//! so the figure is the client: HTTP, JSON, mapping, one SQLite transaction per page), and syncs
//! them with the shipped `atlas` manifest into an empty store; then an incremental sync that
//! finds nothing new.
//!
//!   cargo bench --bench sync                    # 100,000 orders
//!   GEMBA_BENCH_ORDERS=20000 cargo bench --bench sync

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use gemba::config::Config;
use gemba::store::Store;
use gemba::sync::{Connector, SyncOptions, sync};
use serde_json::{Value, json};

const PAGE: usize = 1000;

fn record(i: usize) -> Value {
    let statuses = ["OPEN", "IN_PROGRESS", "ON_HOLD", "COMPLETE"];
    let prios = ["HIGH", "MEDIUM", "LOW", "NONE"];
    let teams = ["Mechanics", "Electricians", "Utilities"];
    let created = 1_740_000_000 + i as i64 * 300;
    let iso = |s: i64| {
        chrono::DateTime::from_timestamp(s, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    json!({"id": i, "customId": format!("WO{i:06}"), "title": format!("Replace bearing on conveyor {}", i % 150),
           "status": statuses[i % 4], "priority": prios[i % 4],
           "parentPreventiveMaintenance": if i.is_multiple_of(3) { json!({"id": 4}) } else { Value::Null },
           "asset": {"id": i % 150, "name": format!("Conveyor {}", i % 150)}, "location": {"name": "Hall 2"},
           "team": {"name": teams[i % 3]},
           "createdAt": iso(created), "updatedAt": iso(created + 3600), "dueDate": iso(created + 7 * 86400),
           "completedOn": null, "estimatedDuration": 1.5, "archived": false})
}

fn main() {
    let n: usize = std::env::var("GEMBA_BENCH_ORDERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let pages: Vec<Bytes> = (0..n.div_ceil(PAGE))
        .map(|p| {
            let content: Vec<Value> = (p * PAGE..((p + 1) * PAGE).min(n)).map(record).collect();
            let total = n.div_ceil(PAGE);
            Bytes::from(
                serde_json::to_vec(&json!({"content": content, "totalPages": total, "last": p + 1 >= total, "number": p}))
                    .unwrap(),
            )
        })
        .collect();
    let pages = Arc::new(pages);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let served = pages.clone();
    rt.spawn(async move {
        let app = axum::Router::new().fallback(move |body: Bytes| {
            let pages = served.clone();
            async move {
                let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let has_filter = req["filterFields"]
                    .as_array()
                    .is_some_and(|f| !f.is_empty());
                let p = req["pageNum"].as_u64().unwrap_or(0) as usize;
                let page = if has_filter {
                    Bytes::from_static(br#"{"content": [], "totalPages": 0, "last": true}"#)
                } else {
                    pages
                        .get(p)
                        .cloned()
                        .unwrap_or_else(|| Bytes::from_static(br#"{"content": []}"#))
                };
                ([("content-type", "application/json")], page)
            }
        });
        axum::serve(listener, app).await.unwrap();
    });

    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::parse(
        &format!("[plant]\nname = \"Bench\"\n[connectors.atlas]\nurl = \"http://{addr}\"\npage_size = {PAGE}\nrequests_per_minute = 100000\n"),
        "bench",
    )
    .unwrap();
    // The benchmark's own process: the credential is set here, not in a file.
    unsafe { std::env::set_var("ATLAS_API_KEY", "bench-key") };
    let connector = Connector::from_config(&cfg, "atlas").unwrap();
    let mut store =
        Store::open(&format!("sqlite:{}", dir.path().join("bench.db").display())).unwrap();

    let t = Instant::now();
    let report = rt
        .block_on(sync(
            &mut store,
            &connector,
            SyncOptions::default(),
            &mut |_| {},
        ))
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(report.progress.counts.upserted as usize, n);
    assert_eq!(store.order_count().unwrap() as usize, n);
    println!(
        "full sync: {n} orders, {} pages of {PAGE}, {secs:.2} s, {:.0} orders/s (target: 100,000 in <= 10 s)",
        report.progress.pages,
        n as f64 / secs
    );
    let t = Instant::now();
    let again = rt
        .block_on(sync(
            &mut store,
            &connector,
            SyncOptions::default(),
            &mut |_| {},
        ))
        .unwrap();
    println!(
        "incremental sync, nothing changed: {} page(s), {:.3} s",
        again.progress.pages,
        t.elapsed().as_secs_f64()
    );
}
