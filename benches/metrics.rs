//! Metrics benchmark (issue: metrics engine). Fills a SQLite store with the demo plant (the same
//! generator as `gemba demo --csv`), then measures: loading the frame from SQLite, all metrics
//! for one as-of date for the plant plus `by_crew`, a 52-point weekly trend of every metric, and
//! the memory of the loaded frame; then the pull lists of every crew (today).
//!
//!   cargo bench --bench metrics                 # 1,000,000 orders
//!   GEMBA_BENCH_ORDERS=200000 cargo bench --bench metrics

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use gemba::assets::{Measure, pareto_of_assets};
use gemba::config::{Config, DEFAULT_CONFIG};
use gemba::demo::{self, DemoParams};
use gemba::metrics::{Engine, Scope, TREND_METRICS};
use gemba::pull::PullRequest;
use gemba::store::{RunCounts, RunKind, RunMeta, Store};

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p95 = v[((v.len() as f64 * 0.95).ceil() as usize).min(v.len()) - 1];
    format!(
        "median {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} runs)",
        ms(v[v.len() / 2]),
        ms(p95),
        ms(v[v.len() - 1]),
        v.len()
    )
}

fn main() {
    let n: u64 = std::env::var("GEMBA_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let cfg = Config::parse(DEFAULT_CONFIG, "config/gemba.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let until = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    {
        let mut store = Store::open(&url).unwrap();
        let meta = RunMeta {
            kind: RunKind::Demo,
            source: "demo".into(),
            file: None,
            profile: None,
            started_at: chrono::Utc::now(),
        };
        let mut tx = store.begin_import(&meta, true).unwrap();
        let mut p = DemoParams::year_to_today(1, 1.0, 365, cfg.plant.tz);
        p.orders = n;
        p.until = until;
        p.now = gemba::metrics::end_of_day(cfg.plant.tz, until);
        for o in demo::orders(p) {
            tx.upsert(o).unwrap();
        }
        tx.commit(RunCounts {
            read: n,
            upserted: n,
            rejected: 0,
        })
        .unwrap();
    }
    println!(
        "gemba metrics benchmark: {n} orders (demo plant, 365 days to {until}), {} cores",
        std::thread::available_parallelism().map_or(0, |c| c.get())
    );

    let mut store = Store::open(&url).unwrap();
    let before = rss_mb();
    let t = Instant::now();
    let engine = Engine::load(&mut store, &cfg).unwrap();
    let load = t.elapsed();
    let after = rss_mb();
    println!("load frame from SQLite: {:.2} s", load.as_secs_f64());
    println!(
        "frame: {} rows, estimated size {:.0} MB; process RSS {:.0} MB -> {:.0} MB (+{:.0} MB)",
        engine.frame().height(),
        engine.frame().estimated_size() as f64 / 1e6,
        before,
        after,
        after - before
    );

    let as_of = Some(until);
    for _ in 0..3 {
        engine.kpis(as_of, None, &Scope::plant()).unwrap();
    }
    let runs: Vec<Duration> = (0..30)
        .map(|_| {
            let t = Instant::now();
            let k = engine.kpis(as_of, None, &Scope::plant()).unwrap();
            assert_eq!(k.by_crew.len(), cfg.crews.len());
            t.elapsed()
        })
        .collect();
    println!(
        "all metrics, plant + by_crew + quality, one as-of date: {}",
        stats(runs)
    );

    let keys: Vec<String> = TREND_METRICS.iter().map(|s| s.to_string()).collect();
    let from = until - chrono::Duration::weeks(51);
    let runs: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let tr = engine
                .trend(
                    &keys,
                    from,
                    until,
                    "7d".parse().unwrap(),
                    None,
                    &Scope::plant(),
                )
                .unwrap();
            assert_eq!(tr.points.len(), 52);
            t.elapsed()
        })
        .collect();
    println!(
        "52-point weekly trend of all {} metrics: {}",
        keys.len(),
        stats(runs)
    );
    // Pull lists (issue: pull scheduling): every crew of the plant and the unassigned lane.
    let req = PullRequest::default();
    for _ in 0..3 {
        engine.pull(&req).unwrap();
    }
    let mut listed = 0;
    let runs: Vec<Duration> = (0..30)
        .map(|_| {
            let t = Instant::now();
            let plan = engine.pull(&req).unwrap();
            assert_eq!(plan.crews.len(), cfg.crews.len());
            listed = plan.crews.iter().map(|c| c.candidate_count).sum::<usize>();
            t.elapsed()
        })
        .collect();
    println!(
        "pull lists for every crew ({listed} ready orders ranked): {}",
        stats(runs)
    );
    // Assets and bad actors (issue: asset health, bad actors, A3): every asset of the plant with
    // its numbers and health, then the Pareto by reactive hours, as `/assets` and
    // `/assets/pareto` compute them on a miss of the answer cache.
    let runs: Vec<Duration> = (0..30)
        .map(|_| {
            let t = Instant::now();
            let r = engine.assets(&Scope::plant(), as_of, None, None).unwrap();
            assert!(!r.assets.assets.is_empty());
            t.elapsed()
        })
        .collect();
    println!(
        "every asset of the plant, numbers and health: {}",
        stats(runs)
    );
    let runs: Vec<Duration> = (0..30)
        .map(|_| {
            let t = Instant::now();
            let r = engine.assets(&Scope::plant(), as_of, None, None).unwrap();
            let bars = pareto_of_assets(&r.assets, Measure::ReactiveHours);
            assert!(bars.iter().any(|b| b.vital_few));
            t.elapsed()
        })
        .collect();
    println!(
        "bad-actor Pareto of the plant, reactive hours: {}",
        stats(runs)
    );
    let area = Scope {
        area: Some("Packaging".into()),
        ..Scope::default()
    };
    let runs: Vec<Duration> = (0..30)
        .map(|_| {
            let t = Instant::now();
            engine.assets(&area, as_of, None, None).unwrap();
            t.elapsed()
        })
        .collect();
    println!(
        "every asset of an area (the board's five bad actors): {}",
        stats(runs)
    );
    println!("peak RSS of the benchmark process: {:.0} MB", peak_mb());
}

fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
