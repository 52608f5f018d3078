//! Soak (issue #21): the boards under load while the data changes.
//!
//! Fills a store with demo orders (1,000,000 by default), starts the release `gemba serve` on
//! 127.0.0.1 with two scheduled jobs — an API sync of a mock CMMS (served by this process on
//! loopback) every 10 s, which brings one page of 1,000 changed orders each time, and a drop
//! folder taken every 5 s, where this process lands a CSV of 1,000 orders every minute — and
//! drives the plant board, a crew board, the TV view and `/api/v1/kpis` from 32 connections
//! (closed loop: each sends its next request when the last one is answered) while an action is
//! written every 2 s and the one before it marked done. Each data change is a reload of the
//! server's engine, which its log reports with the time it took.
//!
//! Reports per minute (throughput, p50 / p99 / max, errors, RSS), the latency before (3 s),
//! during and after (3 s) the reloads, the writes, and the server's RSS over the run.
//!
//!   cargo bench --bench soak
//!   GEMBA_SOAK_ORDERS=200000 GEMBA_SOAK_SECONDS=120 cargo bench --bench soak
//!   GEMBA_SOAK_NO_WRITES=1 cargo bench --bench soak      # without the action writes
//!
//! Exits with 1 when a request failed or a job's file failed; the figures are for
//! docs/performance.md.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde_json::{Value, json};

const PATHS: [&str; 4] = ["/", "/board?crew=Utilities", "/?kiosk=1", "/api/v1/kpis"];
const PAGE: usize = 1000;
const TOKEN: &str = "soak-api-token-0123456789abcdef";
/// The window before and after a reload that counts as "before" and "after" it.
const AROUND: Duration = Duration::from_secs(3);

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// One answered (or failed) request: when it was sent (since the start of the load), how long it
/// took, which path, and whether it was a 2xx.
#[derive(Clone, Copy)]
struct Sample {
    at: Duration,
    took: Duration,
    path: u8,
    ok: bool,
}

/// A reload as the server's log reports it: when it ended, and how long it took.
#[derive(Clone, Copy)]
struct Reload {
    start: Duration,
    end: Duration,
}

fn main() {
    let orders = env_num("GEMBA_SOAK_ORDERS", 1_000_000);
    let secs = env_num("GEMBA_SOAK_SECONDS", 600);
    let conns = env_num("GEMBA_SOAK_CONNECTIONS", 32) as usize;
    let bin = env!("CARGO_BIN_EXE_gemba");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = format!("sqlite:{}", dir.path().join("soak.db").display());
    let drop = dir.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let round = Arc::new(AtomicU64::new(0));
    let mock = rt.block_on(mock_cmms(round.clone()));

    let config = dir.path().join("gemba.toml");
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/gemba.toml"))
            .unwrap();
    std::fs::write(
        &config,
        format!(
            "{shipped}\n[connectors.atlas]\nurl = \"http://{mock}\"\npage_size = {PAGE}\nrequests_per_minute = 6000\n\n\
             [[schedules]]\nname = \"soak-sync\"\ncron = \"*/10 * * * * *\"\nsync = \"atlas\"\n\n\
             [[schedules]]\nname = \"soak-drop\"\ncron = \"*/5 * * * * *\"\n\
             import = {{ path = \"{}/*.csv\", profile = \"generic\", source = \"drop\", settle_seconds = 1 }}\n",
            drop.display()
        ),
    )
    .unwrap();

    let t = Instant::now();
    let status = Command::new(bin)
        .args(["demo", "--orders", &orders.to_string()])
        .env("GEMBA_DB", &db)
        .env("GEMBA_CONFIG", &config)
        .stdout(Stdio::null())
        .status()
        .expect("gemba demo");
    assert!(status.success(), "gemba demo failed");
    eprintln!(
        "store: {orders} demo orders in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(bin)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("GEMBA_DB", &db)
        .env("GEMBA_CONFIG", &config)
        .env("GEMBA_LOG", "info")
        .env("NO_COLOR", "1")
        .env("GEMBA_API_TOKEN", TOKEN)
        .env("ATLAS_API_KEY", "soak-key")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gemba serve");
    let pid = server.id();
    let base = format!("http://127.0.0.1:{port}");
    let origin = Instant::now();
    let log = dir.path().join("serve.log");
    let reloads = Arc::new(Mutex::new(Vec::<Reload>::new()));
    let warnings = Arc::new(Mutex::new(Vec::<String>::new()));
    let load_start = Arc::new(Mutex::new(None::<Instant>));
    read_log(
        &mut server,
        &log,
        reloads.clone(),
        warnings.clone(),
        load_start.clone(),
    );

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conns)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..600 {
            if client
                .get(format!("{base}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // The first computation of each, not counted in the soak.
        for p in PATHS {
            let t = Instant::now();
            let r = client.get(format!("{base}{p}")).send().await.unwrap();
            assert!(r.status().is_success(), "{p}: {}", r.status());
            r.bytes().await.unwrap();
            eprintln!("first {p}: {:.2} s", t.elapsed().as_secs_f64());
        }
    });
    eprintln!(
        "server up after {:.1} s; RSS {} MB; the soak runs {secs} s with {conns} connections",
        origin.elapsed().as_secs_f64(),
        rss_mb(pid)
    );

    let start = Instant::now();
    *load_start.lock().unwrap() = Some(start);
    let end = start + Duration::from_secs(secs);
    let (samples, writes, rss, dropped) = rt.block_on(async {
        let mut load = Vec::new();
        for c in 0..conns {
            let client = client.clone();
            let base = base.clone();
            load.push(tokio::spawn(async move {
                let mut out = Vec::with_capacity(1 << 16);
                let mut i = c;
                while Instant::now() < end {
                    let path = i % PATHS.len();
                    i += 1;
                    let sent = Instant::now();
                    let ok = match client.get(format!("{base}{}", PATHS[path])).send().await {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    out.push(Sample {
                        at: sent - start,
                        took: sent.elapsed(),
                        path: path as u8,
                        ok,
                    });
                }
                out
            }));
        }
        let writer = tokio::spawn(write_actions(
            client.clone(),
            base.clone(),
            start,
            if std::env::var("GEMBA_SOAK_NO_WRITES").is_ok() {
                start
            } else {
                end
            },
        ));
        let dropper = tokio::spawn(drop_files(drop.clone(), end));
        let sampler = tokio::spawn(async move {
            let mut rss = Vec::new();
            while Instant::now() < end {
                rss.push((start.elapsed(), rss_mb(pid)));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            rss
        });
        let mut samples = Vec::new();
        for l in load {
            samples.extend(l.await.unwrap());
        }
        (
            samples,
            writer.await.unwrap(),
            sampler.await.unwrap(),
            dropper.await.unwrap(),
        )
    });
    let peak = peak_mb(pid);
    // Let a file dropped in the last seconds be taken before the folder is checked.
    std::thread::sleep(Duration::from_secs(8));
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = server.wait();

    let reloads = reloads.lock().unwrap().clone();
    let failed = std::fs::read_dir(drop.join("failed")).map_or(0, |d| d.count());
    let archived = std::fs::read_dir(drop.join("archive")).map_or(0, |d| d.count());
    if std::env::var_os("GEMBA_SOAK_KEEP").is_some() {
        println!("kept: {}", dir.keep().display());
    }
    let ok = report(
        &samples,
        &writes,
        &reloads,
        &rss,
        peak,
        secs,
        orders,
        conns,
        round.load(Ordering::SeqCst),
    );
    println!("drop folder: {dropped} files landed, {archived} archived, {failed} failed");
    let warnings = warnings.lock().unwrap();
    println!("server log warnings and errors: {}", warnings.len());
    for w in warnings.iter().take(20) {
        println!("  {w}");
    }
    if !ok || failed > 0 || archived < dropped {
        std::process::exit(1);
    }
}

/// Reads the server's log on a thread: keeps it in a file, notes each reload (the line says how
/// long it took) and every warning or error.
fn read_log(
    server: &mut Child,
    file: &Path,
    reloads: Arc<Mutex<Vec<Reload>>>,
    warnings: Arc<Mutex<Vec<String>>>,
    load_start: Arc<Mutex<Option<Instant>>>,
) {
    let stderr = server.stderr.take().unwrap();
    let mut out = std::fs::File::create(file).unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let now = Instant::now();
            let _ = writeln!(out, "{line}");
            if line.contains(" WARN ") || line.contains(" ERROR ") {
                warnings.lock().unwrap().push(line.clone());
            }
            let Some(start) = *load_start.lock().unwrap() else {
                continue;
            };
            if let Some(took) = line
                .split("engine reloaded in ")
                .nth(1)
                .and_then(|d| d.split_whitespace().next())
                .and_then(parse_debug_duration)
            {
                let end = now.saturating_duration_since(start);
                reloads.lock().unwrap().push(Reload {
                    start: end.saturating_sub(took),
                    end,
                });
            }
        }
    });
}

/// A `Duration` as its `Debug` prints it: `2.345s`, `950.2ms`, `12µs`.
fn parse_debug_duration(s: &str) -> Option<Duration> {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_alphabetic() || c == 'µ')?);
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "ms" => n / 1e3,
        "µs" => n / 1e6,
        "ns" => n / 1e9,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// A mock Atlas CMMS: the first (full) listing and every incremental one answer one page of
/// 1,000 orders of the Utilities crew, whose status and title change with each request.
async fn mock_cmms(round: Arc<AtomicU64>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let round = round.clone();
        async move {
            let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let page = req["pageNum"].as_u64().unwrap_or(0);
            let r = round.fetch_add(1, Ordering::SeqCst);
            let content: Vec<Value> = if page == 0 {
                (0..PAGE).map(|i| record(i, r)).collect()
            } else {
                Vec::new()
            };
            let body = json!({"content": content, "totalPages": 1, "last": true, "number": page});
            (
                [("content-type", "application/json")],
                serde_json::to_vec(&body).unwrap(),
            )
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn record(i: usize, round: u64) -> Value {
    let statuses = ["OPEN", "IN_PROGRESS", "ON_HOLD", "COMPLETE"];
    let now = chrono::Utc::now();
    let iso =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let created = now - chrono::Duration::days(1 + (i % 60) as i64);
    let done = statuses[(i + round as usize) % 4] == "COMPLETE";
    json!({"id": 900_000_000 + i, "customId": format!("SOAK{i:05}"),
           "title": format!("Soak order {i}, round {round}"),
           "status": statuses[(i + round as usize) % 4], "priority": "MEDIUM",
           "parentPreventiveMaintenance": if i.is_multiple_of(3) { json!({"id": 4}) } else { Value::Null },
           "asset": {"id": i % 40, "name": format!("Soak asset {}", i % 40)}, "location": {"name": "Utilities"},
           "team": {"name": "Utilities"},
           "createdAt": iso(created), "updatedAt": iso(now), "dueDate": iso(created + chrono::Duration::days(14)),
           "completedOn": if done { json!(iso(now)) } else { Value::Null },
           "estimatedDuration": 2.0, "archived": false})
}

/// Lands a CSV of 1,000 orders in the drop folder every minute (written as `.part`, then
/// renamed, as an export tool would); returns how many landed.
async fn drop_files(dir: std::path::PathBuf, end: Instant) -> usize {
    let mut n = 0;
    while Instant::now() + Duration::from_secs(15) < end {
        let mut csv = String::from(
            "id,title,kind,status,priority,crew,asset_id,asset_name,created_at,due_at,estimated_hours\n",
        );
        let today = chrono::Utc::now().date_naive();
        for i in 0..1000 {
            let status = ["ready", "in_progress", "completed", "waiting_parts"][(i + n) % 4];
            let created = today - chrono::Duration::days(1 + (i % 30) as i64);
            csv.push_str(&format!(
                "DROP-{i},Drop order {i} (file {n}),corrective,{status},3,Packaging Mechanical,PAC-C-{:02},Conveyor {},{created},{},1.5\n",
                i % 12,
                i % 12,
                created + chrono::Duration::days(10)
            ));
        }
        let part = dir.join(format!("soak-{n:03}.csv.part"));
        std::fs::write(&part, csv).unwrap();
        std::fs::rename(&part, dir.join(format!("soak-{n:03}.csv"))).unwrap();
        n += 1;
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    n
}

/// Writes an action every 2 s on the Utilities crew's board and marks the one before it done;
/// returns each write's latency and outcome.
async fn write_actions(
    client: reqwest::Client,
    base: String,
    start: Instant,
    end: Instant,
) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut last: Option<i64> = None;
    let due = (chrono::Utc::now() + chrono::Duration::days(7))
        .date_naive()
        .to_string();
    let mut n = 0;
    while Instant::now() < end {
        n += 1;
        let sent = Instant::now();
        let created = client
            .post(format!("{base}/api/v1/actions"))
            .bearer_auth(TOKEN)
            .json(&json!({"board": "crew:Utilities", "title": format!("Soak action {n}"), "owner": "Soak", "due": due}))
            .send()
            .await;
        let id = match created {
            Ok(r) if r.status().as_u16() == 201 => {
                r.json::<Value>().await.ok().and_then(|v| v["id"].as_i64())
            }
            _ => None,
        };
        out.push(Sample {
            at: sent - start,
            took: sent.elapsed(),
            path: 0,
            ok: id.is_some(),
        });
        if let Some(prev) = last {
            let sent = Instant::now();
            let ok = client
                .post(format!("{base}/api/v1/actions/{prev}"))
                .bearer_auth(TOKEN)
                .json(&json!({"op": "status", "status": "done"}))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            out.push(Sample {
                at: sent - start,
                took: sent.elapsed(),
                path: 1,
                ok,
            });
        }
        last = id;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    out
}

fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn rss_mb(pid: u32) -> u64 {
    status_kb(pid, "VmRSS:") / 1024
}

fn peak_mb(pid: u32) -> u64 {
    status_kb(pid, "VmHWM:") / 1024
}

/// p50, p99 and max of latencies, in ms.
fn percentiles(mut took: Vec<Duration>) -> (f64, f64, f64) {
    if took.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    took.sort_unstable();
    let at = |q: f64| took[((took.len() as f64 * q).ceil() as usize).clamp(1, took.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(at(0.50)), ms(at(0.99)), ms(*took.last().unwrap()))
}

fn line(label: &str, s: &[&Sample], secs: f64) -> String {
    let errors = s.iter().filter(|s| !s.ok).count();
    let (p50, p99, max) = percentiles(s.iter().map(|s| s.took).collect());
    format!(
        "{label:<26} {:>8} req {:>7.0} req/s  p50 {p50:>6.1} ms  p99 {p99:>6.1} ms  max {max:>7.1} ms  errors {errors}",
        s.len(),
        s.len() as f64 / secs.max(1e-9),
    )
}

#[allow(clippy::too_many_arguments)]
fn report(
    samples: &[Sample],
    writes: &[Sample],
    reloads: &[Reload],
    rss: &[(Duration, u64)],
    peak: u64,
    secs: u64,
    orders: u64,
    conns: usize,
    pages: u64,
) -> bool {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "\nsoak: {orders} orders, {conns} connections, {secs} s, {cores} cores; {} reloads, {pages} sync pages served",
        reloads.len()
    );
    let all: Vec<&Sample> = samples.iter().collect();
    println!("{}", line("all reads", &all, secs as f64));
    for (i, p) in PATHS.iter().enumerate() {
        let of: Vec<&Sample> = samples.iter().filter(|s| s.path as usize == i).collect();
        println!("{}", line(&format!("  {p}"), &of, secs as f64));
    }
    let creates: Vec<&Sample> = writes.iter().filter(|s| s.path == 0).collect();
    let dones: Vec<&Sample> = writes.iter().filter(|s| s.path == 1).collect();
    println!("{}", line("action written", &creates, secs as f64));
    println!("{}", line("action marked done", &dones, secs as f64));

    // Each request by where it was sent relative to the reloads.
    let phase = |at: Duration| -> usize {
        for r in reloads {
            if at >= r.start && at <= r.end {
                return 1;
            }
        }
        for r in reloads {
            if at + AROUND >= r.start && at < r.start {
                return 0;
            }
            if at > r.end && at <= r.end + AROUND {
                return 2;
            }
        }
        3
    };
    let mut phases: [Vec<&Sample>; 4] = Default::default();
    for s in samples {
        phases[phase(s.at)].push(s);
    }
    // How long each phase lasted, in steps of 100 ms (the windows around reloads overlap).
    let mut spans = [0.0_f64; 4];
    for step in 0..secs * 10 {
        spans[phase(Duration::from_millis(step * 100))] += 0.1;
    }
    let during = spans[1];
    let took: Vec<f64> = reloads
        .iter()
        .map(|r| (r.end - r.start).as_secs_f64())
        .collect();
    println!(
        "\nreloads: {} in {secs} s, each {:.2}–{:.2} s (median {:.2} s), {:.0} % of the time",
        reloads.len(),
        took.iter().cloned().fold(f64::INFINITY, f64::min),
        took.iter().cloned().fold(0.0, f64::max),
        {
            let mut t = took.clone();
            t.sort_by(f64::total_cmp);
            t.get(t.len() / 2).copied().unwrap_or(0.0)
        },
        100.0 * during / secs as f64
    );
    for (i, label) in [
        "3 s before a reload",
        "during a reload",
        "3 s after a reload",
        "between (the rest)",
    ]
    .iter()
    .enumerate()
    {
        println!("{}", line(label, &phases[i], spans[i]));
    }
    let worst = reloads
        .iter()
        .map(|r| {
            let of: Vec<Duration> = samples
                .iter()
                .filter(|s| s.at >= r.start && s.at <= r.end)
                .map(|s| s.took)
                .collect();
            percentiles(of).1
        })
        .fold(0.0, f64::max);
    println!("worst p99 of a single reload: {worst:.1} ms");
    let mut slow: Vec<&Sample> = samples.iter().collect();
    slow.sort_by_key(|s| std::cmp::Reverse(s.took));
    println!("slowest reads (sent at, took, path; reloads ended near it):");
    for s in slow.iter().take(8) {
        let near: Vec<String> = reloads
            .iter()
            .filter(|r| r.end + AROUND >= s.at && r.start <= s.at + s.took + AROUND)
            .map(|r| format!("{:.1}–{:.1} s", r.start.as_secs_f64(), r.end.as_secs_f64()))
            .collect();
        println!(
            "  {:>7.2} s  {:>7.1} ms  {:<24} {}",
            s.at.as_secs_f64(),
            s.took.as_secs_f64() * 1e3,
            PATHS[s.path as usize],
            near.join(", ")
        );
    }

    println!("\nper minute:");
    let minutes = secs.div_ceil(60);
    for m in 0..minutes {
        let from = Duration::from_secs(m * 60);
        let to = from + Duration::from_secs(60);
        let of: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.at >= from && s.at < to)
            .collect();
        let r = reloads
            .iter()
            .filter(|r| r.end >= from && r.end < to)
            .count();
        let mb: Vec<u64> = rss
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, mb)| *mb)
            .collect();
        println!(
            "{}  reloads {r:>2}  RSS {}–{} MB",
            line(
                &format!("  minute {}", m + 1),
                &of,
                60.0_f64.min(secs as f64 - (m * 60) as f64)
            ),
            mb.iter().min().unwrap_or(&0),
            mb.iter().max().unwrap_or(&0)
        );
    }
    // Flat memory: the RSS after the first reload against the last minute's.
    let first = reloads.first().map_or(Duration::ZERO, |r| r.end);
    let after: Vec<u64> = rss
        .iter()
        .filter(|(t, _)| *t > first)
        .map(|(_, mb)| *mb)
        .collect();
    let last_min: Vec<u64> = rss
        .iter()
        .filter(|(t, _)| t.as_secs() + 60 >= secs)
        .map(|(_, mb)| *mb)
        .collect();
    println!(
        "RSS: {} MB at the start, {}–{} MB after the first reload, {}–{} MB in the last minute, peak {peak} MB",
        rss.first().map_or(0, |r| r.1),
        after.iter().min().unwrap_or(&0),
        after.iter().max().unwrap_or(&0),
        last_min.iter().min().unwrap_or(&0),
        last_min.iter().max().unwrap_or(&0),
    );
    let errors = samples.iter().filter(|s| !s.ok).count() + writes.iter().filter(|s| !s.ok).count();
    println!("errors: {errors}");
    errors == 0
}
