//! The board in a real browser: headless Chromium driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`; `.ci/test` installs them). Opens the board and the kiosk view, checks the
//! tiles against `/api/v1/kpis`, clicks through to a crew's board, its pull lane and a what-if
//! (checked against `/api/v1/pull`), and to the trends page, and saves the screenshots the
//! README shows (docs/screenshots/).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{PrintConfiguration, PrintMargins, PrintOrientation, PrintSize};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::server::Server;
use crate::support::{Sandbox, fixture, ok, repo};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn need(binary: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"] {
        let p = format!("{dir}/{binary}");
        if std::path::Path::new(&p).exists() {
            return p;
        }
    }
    panic!(
        "the browser test needs `{binary}`: install Debian's chromium and chromium-driver \
         (apt-get install chromium chromium-driver), or run .ci/test, which installs them"
    );
}

async fn browser(profile: &std::path::Path) -> (Driver, Client) {
    browser_with(profile, None).await
}

/// A browser whose viewport is exactly `(width, height)` CSS pixels at a device scale (Chromium's
/// device emulation: a window size alone leaves room for the window's frame, and headless
/// windows are at least 500 pixels wide).
async fn browser_with(
    profile: &std::path::Path,
    viewport: Option<(u32, u32, f64)>,
) -> (Driver, Client) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let chromium = need("chromium");
    let chromedriver = need("chromedriver");
    let port = free_port();
    let driver = Driver(
        Command::new(chromedriver)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--window-size=1920,1080",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut options = json!({ "binary": chromium, "args": args });
    if let Some((width, height, scale)) = viewport {
        options["mobileEmulation"] = json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": scale, "mobile": width < 700, "touch": width < 700 }
        });
    }
    let caps = json!({ "goog:chromeOptions": options });
    let caps = match caps {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    let started = Instant::now();
    let client = loop {
        match ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => break c,
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start headless chromium through chromedriver: {e}"),
        }
    };
    (driver, client)
}

async fn tile_text(c: &Client, key: &str) -> String {
    c.find(Locator::Css(&format!(
        ".tile[data-metric=\"{key}\"] .value"
    )))
    .await
    .unwrap_or_else(|_| panic!("tile {key} is on the page"))
    .text()
    .await
    .unwrap()
}

async fn heading(c: &Client) -> String {
    c.find(Locator::Css("h1"))
        .await
        .expect("the page has a heading")
        .text()
        .await
        .unwrap()
}

async fn api_json(url: String) -> Value {
    reqwest::get(&url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap()
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let dir = repo("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test]
async fn the_board_in_a_real_browser() {
    let sandbox = Sandbox::new();
    let server = Server::start(&sandbox, &["--demo"]);
    let profile = sandbox.path("chromium-profile");
    let (_driver, c) = browser(&profile).await;

    c.goto(&server.url("/")).await.unwrap();
    assert_eq!(heading(&c).await, "Plant");
    // The tiles show what the API says, rounded as the board rounds.
    let api: Value = api_json(server.url("/api/v1/kpis")).await;
    for (key, decimals) in [
        ("backlog_weeks", 1),
        ("ready_backlog_weeks", 1),
        ("reactive_pct", 1),
        ("pm_compliance_pct", 1),
        ("schedule_compliance_pct", 1),
    ] {
        let want = api["metrics"][key]
            .as_f64()
            .map_or("–".to_string(), |v| format!("{v:.decimals$}"));
        assert_eq!(tile_text(&c, key).await, want, "tile {key}");
    }
    assert_eq!(
        tile_text(&c, "overdue_count").await,
        api["metrics"]["overdue_count"].to_string()
    );
    // Every tile says its status in words too, not by colour alone.
    for t in c.find_all(Locator::Css(".tile")).await.unwrap() {
        let class = t.attr("class").await.unwrap().unwrap_or_default();
        if !class.contains("none") {
            let status = t
                .find(Locator::Css(".status"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(status.contains("target"), "{class}: {status}");
        }
    }
    assert!(
        !c.find_all(Locator::Css("figure.chart svg polyline"))
            .await
            .unwrap()
            .is_empty(),
        "the trend charts have lines"
    );
    screenshot(&c, "board.png").await;

    // The huddle printout: the whole board, pull lanes included, on one A4 landscape page.
    let pdf = print_landscape(&c, PrintSize::A4, 0.7).await;
    let pages = pdf_pages(&pdf);
    assert_eq!(pages, 1, "the printed board is one A4 landscape page");

    // Through the navigation to a crew's board.
    c.find(Locator::LinkText("Packaging E&I"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let url = c.current_url().await.unwrap();
    assert!(
        url.as_str().contains("/board?crew=Packaging+E%26I")
            || url.as_str().contains("crew=Packaging%20E%26I"),
        "{url}"
    );
    assert_eq!(heading(&c).await, "Packaging E&I");
    let crew_api: Value = api_json(server.url("/api/v1/kpis?crew=Packaging%20E%26I")).await;
    assert_eq!(
        tile_text(&c, "overdue_count").await,
        crew_api["metrics"]["overdue_count"].to_string()
    );
    screenshot(&c, "crew-board.png").await;

    // A crew's pull lane: what the API suggests, in the same order, visible on the board. The
    // demo plant is a year to today, so which crew has room today varies: the first that has
    // ready work to pull.
    let plant_pull: Value = api_json(server.url("/api/v1/pull")).await;
    let lane_crew = plant_pull["crews"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["suggestions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["emergency"] == false)
        })
        .expect("a demo crew has ready work to pull")
        .clone();
    let crew_name = lane_crew["crew"].as_str().unwrap().to_string();
    let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    c.goto(&server.url(&format!("/board?crew={}", enc(&crew_name))))
        .await
        .unwrap();
    let lane_css = format!(".lane[data-crew=\"{crew_name}\"]");
    let lane_css = lane_css.as_str();
    let lane_ids = |c: &Client| {
        let c = c.clone();
        async move {
            let mut ids = Vec::new();
            for li in c
                .find_all(Locator::Css(&format!("{lane_css} ol.pulls li")))
                .await
                .unwrap()
            {
                ids.push(li.attr("data-order").await.unwrap().unwrap());
            }
            ids
        }
    };
    let suggestions = |v: &Value| v["crews"][0]["suggestions"].as_array().unwrap().clone();
    let api_ids = |v: &Value| -> Vec<String> {
        suggestions(v)
            .iter()
            .map(|s| s["order"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let lane = c.find(Locator::Css(lane_css)).await.expect("the pull lane");
    assert!(lane.is_displayed().await.unwrap());
    let pull_api: Value =
        api_json(server.url(&format!("/api/v1/pull?crew={}", enc(&crew_name)))).await;
    let before = lane_ids(&c).await;
    assert_eq!(before, api_ids(&pull_api));
    let png = lane.screenshot().await.expect("lane screenshot");
    std::fs::write(repo("docs/screenshots/pull-lane.png"), png).unwrap();

    // What-if: nobody available today. The lane is recomputed: only emergencies stay.
    let input = c
        .find(Locator::Css(&format!("{lane_css} input[type=number]")))
        .await
        .unwrap();
    input.clear().await.unwrap();
    input.send_keys("0").await.unwrap();
    c.find(Locator::Css(&format!("{lane_css} button")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The form submits and the board reloads with the lane recomputed.
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!("{lane_css}.what-if")))
        .await
        .expect("the lane is recomputed as a what-if");
    let url = c.current_url().await.unwrap();
    assert!(url.as_str().contains("technicians."), "{url}");
    let lane = c.find(Locator::Css(lane_css)).await.unwrap();
    assert!(
        lane.attr("class")
            .await
            .unwrap()
            .unwrap()
            .contains("what-if")
    );
    let text = lane.text().await.unwrap();
    let configured = lane_crew["technicians_configured"].as_f64().unwrap();
    assert!(
        text.contains(&format!("0 technicians (what-if; {configured} configured)")),
        "{text}"
    );
    let after = lane_ids(&c).await;
    let what_if: Value = api_json(server.url(&format!(
        "/api/v1/pull?crew={0}&technicians.{0}=0",
        enc(&crew_name)
    )))
    .await;
    assert_eq!(after, api_ids(&what_if));
    assert_ne!(after, before, "the what-if changed the lane");
    assert!(
        suggestions(&what_if).iter().all(|s| s["emergency"] == true),
        "with no one available only emergencies are listed"
    );

    // The huddle raises an action on the crew board and escalates it to the area.
    c.goto(&server.url("/board?crew=Packaging%20E%26I"))
        .await
        .unwrap();
    // The form is folded away when the board has open actions (the demo's walks leave some).
    c.execute("document.querySelector('details.add').open = true", vec![])
        .await
        .unwrap();
    let add = c.find(Locator::Css("details.add form")).await.unwrap();
    add.find(Locator::Css("input[name=title]"))
        .await
        .unwrap()
        .send_keys("Spare sensor for filler 4")
        .await
        .unwrap();
    add.find(Locator::Css("input[name=owner]"))
        .await
        .unwrap()
        .send_keys("Maria")
        .await
        .unwrap();
    add.find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let action = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("li.action"))
        .await
        .expect("the new action is on the crew board");
    let id = action.attr("data-action").await.unwrap().unwrap();
    assert!(
        action
            .text()
            .await
            .unwrap()
            .contains("Spare sensor for filler 4")
    );
    action
        .find(Locator::Css("details.act summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let escalate = action
        .find(Locator::Css("form:has(button.escalate)"))
        .await
        .unwrap();
    escalate
        .find(Locator::Css("input[name=reason]"))
        .await
        .unwrap()
        .send_keys("needs a budget the crew does not have")
        .await
        .unwrap();
    escalate
        .find(Locator::Css("button.escalate"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The huddle stays on its board, which lists the action as escalated; the area has it.
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!(
            r#"ul.escalations li[data-action="{id}"]"#
        )))
        .await
        .expect("the crew board lists what it escalated");
    c.find(Locator::LinkText("Packaging"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let on_area = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!(r#"li.action[data-action="{id}"]"#)))
        .await
        .expect("the escalated action is on the area board");
    assert_eq!(heading(&c).await, "Packaging");
    let text = on_area.text().await.unwrap();
    assert!(
        text.contains("escalated from crew Packaging E&I") && text.contains("needs a budget"),
        "{text}"
    );
    let section = c.find(Locator::Css(".actions-section")).await.unwrap();
    let png = section.screenshot().await.expect("actions screenshot");
    std::fs::write(repo("docs/screenshots/actions.png"), png).unwrap();

    // To the managers' trends, areas side by side.
    c.find(Locator::LinkText("Trends"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(heading(&c).await, "Trends");
    c.goto(&server.url("/trends?metric=backlog_weeks,reactive_pct&compare=areas"))
        .await
        .unwrap();
    let legends = c.find_all(Locator::Css(".legend .key")).await.unwrap();
    assert!(legends.len() >= 6, "three areas for each of two metrics");
    screenshot(&c, "trends.png").await;

    // From the board to the data-quality page: the counts `kpis` gives, the orders of a problem.
    c.goto(&server.url("/")).await.unwrap();
    click(&c, ".quality-link a").await;
    assert_eq!(heading(&c).await, "Data quality");
    for row in c
        .find_all(Locator::Css("table.quality tbody tr[data-problem]"))
        .await
        .unwrap()
    {
        let key = row.attr("data-problem").await.unwrap().unwrap();
        let shown = row
            .find(Locator::Css("td[data-count]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(shown, api["quality"][&key].to_string(), "{key}");
    }
    let missing_due = api["quality"]["missing_due"].as_u64().unwrap();
    assert!(missing_due > 0, "the demo has orders without a due date");
    click(&c, "tr[data-problem=missing_due] td a").await;
    let listed = wait_for(
        &c,
        "table[data-listed=missing_due]",
        "the orders without a due date",
    )
    .await;
    let rows = listed.find_all(Locator::Css("tbody tr")).await.unwrap();
    assert_eq!(rows.len() as u64, missing_due.min(25));
    assert!(
        !c.find_all(Locator::Css("figure.chart svg polyline"))
            .await
            .unwrap()
            .is_empty(),
        "the weekly shares are drawn"
    );
    screenshot(&c, "quality.png").await;

    c.close().await.unwrap();
}

/// Clicks the element `css` names, which must be on the page.
/// The page printed by the browser on `size` paper, landscape, with its backgrounds, at the
/// page's own scale, with `margin` centimetres all round.
async fn print_landscape(c: &Client, size: PrintSize, margin: f64) -> Vec<u8> {
    c.print(
        PrintConfiguration::builder()
            .orientation(PrintOrientation::Landscape)
            .size(size)
            .margins(PrintMargins {
                top: margin,
                bottom: margin,
                left: margin,
                right: margin,
            })
            .background(true)
            .shrink_to_fit(false)
            .build()
            .unwrap(),
    )
    .await
    .expect("the page prints")
}

/// The page count of a PDF: its page tree's `/Count` (Chromium writes one page tree).
fn pdf_pages(pdf: &[u8]) -> u32 {
    let text = String::from_utf8_lossy(pdf);
    text.split("/Count ")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .expect("a PDF with a page count")
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} is on the page"))
        .click()
        .await
        .unwrap();
}

/// Waits up to 20 s for the element `css` names (a page that reloads after a form).
async fn wait_for(c: &Client, css: &str, what: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// What the TV's current page shows, measured in the browser: the document's scroll size against
/// the viewport, every box whose content is cut, list text below 1.6 % of the viewport height,
/// and what is on the page.
const TV_REPORT: &str = r#"
const H = innerHeight, W = innerWidth, se = document.scrollingElement;
const page = document.querySelector('.tv-page.current');
const visible = e => e.offsetParent !== null;
const boxes = [...page.querySelectorAll('.panel, .lane, .safety, .chart, .tile, .tv-actions, .lanes, .cross')].filter(visible);
const cut = boxes.filter(e => e.scrollHeight > e.clientHeight + 2 || e.scrollWidth > e.clientWidth + 2)
  .map(e => e.className + ' ' + e.scrollWidth + 'x' + e.scrollHeight + ' > ' + e.clientWidth + 'x' + e.clientHeight);
const small = [...page.querySelectorAll('li, td')].filter(visible).filter(e => e.textContent.trim())
  .filter(e => parseFloat(getComputedStyle(e).fontSize) < 0.016 * H - 0.01)
  .map(e => e.textContent.trim().slice(0, 30) + ' ' + getComputedStyle(e).fontSize);
return {
  name: page.dataset.page, sh: se.scrollHeight, sw: se.scrollWidth, H, W, cut, small,
  lanes: [...page.querySelectorAll('.lane')].map(l => l.dataset.crew),
  tiles: page.querySelectorAll('.tile').length,
  charts: page.querySelectorAll('figure.chart svg polyline').length,
  lists: page.querySelectorAll('table.orders').length,
  rows: [...page.querySelectorAll('table.orders tr')].filter(visible).length,
  actions: [...page.querySelectorAll('li.action')].filter(visible).length,
  cross: page.querySelectorAll('.cross .day').length,
  indicator: document.querySelector('.agenda li.here').dataset.page,
  timer: (document.getElementById('timer') || {}).className || null,
};
"#;

/// The days of this month in the demo plant's time zone.
fn days_this_month() -> u32 {
    use chrono::Datelike;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let first = today.with_day(1).unwrap();
    let next = first + chrono::Months::new(1);
    (next - first).num_days() as u32
}

async fn tv_report(c: &Client) -> Value {
    c.execute(TV_REPORT, vec![])
        .await
        .expect("the report script runs")
}

/// Asserts that the current TV page fills the screen and cuts nothing.
fn assert_fits(r: &Value, size: &str) {
    let (h, w) = (r["H"].as_f64().unwrap(), r["W"].as_f64().unwrap());
    assert!(
        r["sh"].as_f64().unwrap() <= h,
        "{size} {}: scrollHeight {r}",
        r["name"]
    );
    assert!(
        r["sw"].as_f64().unwrap() <= w,
        "{size} {}: scrollWidth {r}",
        r["name"]
    );
    assert_eq!(r["cut"], json!([]), "{size} {}: cut boxes", r["name"]);
    assert_eq!(
        r["small"],
        json!([]),
        "{size} {}: text below 1.6 % of the height",
        r["name"]
    );
}

async fn current_page(c: &Client) -> String {
    c.execute(
        "return document.querySelector('.tv-page.current').dataset.page",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap()
    .to_string()
}

async fn press(c: &Client, key: fantoccini::key::Key) {
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys(&key)
        .await
        .unwrap();
}

/// A sandbox with the demo plant and the shipped config, but pages that turn every 5 seconds and
/// a one-minute huddle, so the test sees the timer turn amber and red.
fn tv_server(sandbox: &Sandbox) -> Server {
    let config = std::fs::read_to_string(repo("config/gemba.toml"))
        .unwrap()
        .replace("kiosk_page_seconds = 20", "kiosk_page_seconds = 5")
        .replace("huddle_minutes = 10", "huddle_minutes = 1");
    assert!(config.contains("huddle_minutes = 1\n"));
    let path = sandbox.path("tv.toml");
    std::fs::write(&path, config).unwrap();
    Server::start(sandbox, &["--demo", "--config", path.to_str().unwrap()])
}

#[tokio::test]
async fn the_tv_runs_the_huddle_agenda_without_a_mouse() {
    let sandbox = Sandbox::new();
    let server = tv_server(&sandbox);
    let (_driver, c) = browser_with(&sandbox.path("tv-profile"), Some((1920, 1080, 1.0))).await;
    // Something for the plant's huddle to act on.
    let r = reqwest::Client::new()
        .post(server.url("/api/v1/actions"))
        .json(&json!({"board": "plant", "title": "Budget for a second hoist", "owner": "Plant manager", "due": "2026-12-20"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let pull: Value = api_json(server.url("/api/v1/pull")).await;
    let mut want_lanes: Vec<String> = pull["crews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["crew"].as_str().unwrap().to_string())
        .collect();
    if pull["unassigned"]["total"].as_u64().unwrap_or(0) > 0 {
        want_lanes.push(String::new());
    }
    assert!(
        want_lanes.len() > 3,
        "the plant's lanes need two pull pages"
    );

    // Outside a huddle the pages turn by themselves.
    c.goto(&server.url("/?kiosk=1")).await.unwrap();
    let r = tv_report(&c).await;
    assert_eq!(
        (r["name"].as_str(), r["W"].as_f64()),
        (Some("safety"), Some(1920.0)),
        "{r}"
    );
    let started = Instant::now();
    while current_page(&c).await == "safety" {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the page turns after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(current_page(&c).await, "problems");

    // The huddle starts on the TV: the timer runs against its one-minute box (amber at once).
    c.goto(&server.url("/?kiosk=1")).await.unwrap();
    click(&c, "form.huddle.start button").await;
    let timer = wait_for(&c, "#timer", "the huddle's timer").await;
    let huddle_started = Instant::now();
    assert!(
        timer
            .attr("class")
            .await
            .unwrap()
            .unwrap()
            .contains("closing")
    );
    assert_eq!(current_page(&c).await, "safety");

    // Safety first: the huddle marks today on the cross.
    click(&c, "form.mark-day button.mark.safe").await;
    wait_for(&c, ".cross .day.today.safe", "today is marked safe").await;

    // A full cycle with the clicker's keys: every page fits; together they show everything.
    let mut seen_lanes: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let (mut tiles, mut charts, mut lists, mut actions) = (0, 0, 0, false);
    for i in 0.. {
        let r = tv_report(&c).await;
        assert_fits(&r, "1920x1080");
        assert_eq!(r["indicator"], r["name"], "the page indicator follows");
        let name = r["name"].as_str().unwrap().to_string();
        screenshot(&c, &format!("tv-{}-{name}.png", i + 1)).await;
        tiles = tiles.max(r["tiles"].as_u64().unwrap());
        charts = charts.max(r["charts"].as_u64().unwrap());
        lists = lists.max(r["lists"].as_u64().unwrap());
        if name == "safety" {
            assert_eq!(
                r["cross"],
                days_this_month(),
                "a cell for every day of the month"
            );
        }
        if name == "problems" {
            assert!(
                r["rows"].as_u64().unwrap() > 10,
                "the lists fill the page: {r}"
            );
        }
        if name == "actions" {
            actions = true;
            assert!(
                r["actions"].as_u64().unwrap() > 0,
                "the demo's open actions: {r}"
            );
        }
        seen_lanes.extend(
            r["lanes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_string()),
        );
        names.push(name.clone());
        if name == "actions" {
            break;
        }
        press(
            &c,
            if i % 2 == 0 {
                fantoccini::key::Key::PageDown
            } else {
                fantoccini::key::Key::Right
            },
        )
        .await;
        assert_ne!(current_page(&c).await, name, "a key turns the page");
    }
    assert_eq!(names, ["safety", "problems", "pull", "pull-2", "actions"]);
    assert_eq!(
        (tiles, charts, lists),
        (7, 5, 3),
        "tiles, chart lines, order lists"
    );
    assert!(actions);
    assert_eq!(
        seen_lanes, want_lanes,
        "every pull lane of the scope, in order"
    );
    // Back with PageUp; in a huddle the last page stays (no rotation).
    press(&c, fantoccini::key::Key::PageUp).await;
    assert_eq!(current_page(&c).await, "pull-2");
    press(&c, fantoccini::key::Key::PageDown).await;
    press(&c, fantoccini::key::Key::PageDown).await;
    assert_eq!(current_page(&c).await, "actions");

    // Past the one-minute box the timer is red.
    let left = Duration::from_secs(63).saturating_sub(huddle_started.elapsed());
    tokio::time::sleep(left).await;
    let r = tv_report(&c).await;
    assert_eq!(r["timer"], "timer over", "{r}");
    let png = c
        .find(Locator::Css(".tv-head"))
        .await
        .unwrap()
        .screenshot()
        .await
        .unwrap();
    std::fs::write(repo("docs/screenshots/tv-timer-over.png"), png).unwrap();
    // The huddle ends on the last page; its record keeps the pages shown.
    click(&c, "form.huddle.end button").await;
    wait_for(&c, "form.huddle.start", "the huddle has ended").await;
    let huddles = server.text("/huddles").await;
    assert!(
        huddles.contains(">safety, problems, pull, pull-2, actions</td>"),
        "the record keeps the pages shown"
    );
    c.close().await.unwrap();

    // The same pages fit a small TV and a 4K one (device scale 2).
    for (size, viewport) in [
        ("1366x768", (1366, 768, 1.0)),
        ("3840x2160@2", (1920, 1080, 2.0)),
    ] {
        let (_driver, c) = browser_with(&sandbox.path(&format!("tv-{size}")), Some(viewport)).await;
        for page in ["safety", "problems", "pull", "pull-2", "actions"] {
            c.goto(&server.url(&format!("/?kiosk=1&page={page}")))
                .await
                .unwrap();
            let r = tv_report(&c).await;
            assert_eq!(r["name"], page);
            assert_fits(&r, size);
        }
        if size.ends_with("@2") {
            screenshot(&c, "tv-4k-safety.png").await;
        }
        c.close().await.unwrap();
    }
}

#[tokio::test]
async fn every_page_reads_on_a_phone() {
    let sandbox = Sandbox::new();
    let server = Server::start(&sandbox, &["--demo"]);
    let (_driver, c) = browser_with(&sandbox.path("phone"), Some((390, 844, 3.0))).await;
    let actions: Value = api_json(server.url("/api/v1/actions")).await;
    let action = actions[0]["id"].as_i64().expect("the demo's actions");
    for path in [
        "/".to_string(),
        "/board?crew=Packaging%20E%26I".into(),
        "/board?area=Packaging".into(),
        "/trends".into(),
        "/orders".into(),
        "/orders?overdue=1".into(),
        "/quality".into(),
        "/huddles".into(),
        "/imports".into(),
        format!("/actions/{action}"),
    ] {
        c.goto(&server.url(&path)).await.unwrap();
        let r = c
            .execute(
                "return [innerWidth, document.scrollingElement.scrollWidth, [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 1).map(e => e.tagName + '.' + e.className).slice(0, 5)]",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(r[0], 390, "the phone's viewport");
        assert!(
            r[1].as_f64().unwrap() <= 390.0,
            "{path}: no horizontal scrolling: {r}"
        );
        if path == "/board?crew=Packaging%20E%26I" {
            screenshot(&c, "phone-board.png").await;
        }
    }
    c.close().await.unwrap();
}

/// A leader checks a routine off on a phone: the card of today's routine, its items ticked with
/// a note, then the card on time; the standard-work board on a desktop. Both are screenshots of
/// the README.
#[tokio::test]
async fn a_leader_checks_a_routine_off_on_a_phone() {
    let sandbox = Sandbox::new();
    let server = Server::start(&sandbox, &["--demo"]);
    let leaders: Value = api_json(server.url("/api/v1/leaders")).await;
    let marsh = leaders
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "V. Marsh")
        .expect("the demo's supervisor")["id"]
        .as_i64()
        .unwrap();
    // A routine due earlier today, daily, so today's is open whatever the day of the week.
    let r: Value = reqwest::Client::new()
        .post(server.url("/api/v1/routines"))
        .json(&json!({
            "leader": marsh, "title": "Packaging line walk checklist", "kind": "checklist",
            "board": "area:Packaging", "cadence": crate::support::due_earlier_today(),
            "window_hours": 24, "grace_hours": 0,
            "items": ["Guards and covers in place", "Floor clear of oil and parts", "Red tags reviewed with the team"]
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rid = r["id"].as_i64().expect("the routine was added");

    let (_driver, c) = browser_with(&sandbox.path("phone-lsw"), Some((390, 844, 3.0))).await;
    c.goto(&server.url(&format!("/lsw?person={marsh}")))
        .await
        .unwrap();
    let card = format!("section.lsw-card[data-routine=\"{rid}\"]");
    wait_for(&c, &format!("{card}.open"), "today's card, open").await;
    click(&c, &format!("{card} input[name=\"ok.0\"]")).await;
    click(&c, &format!("{card} input[name=\"ok.1\"]")).await;
    c.find(Locator::Css(&format!("{card} input[name=\"note.2\"]")))
        .await
        .unwrap()
        .send_keys("two tags older than a week, raised at the huddle")
        .await
        .unwrap();
    screenshot(&c, "lsw-phone.png").await;
    click(&c, &format!("{card} button[type=\"submit\"]")).await;
    wait_for(
        &c,
        &format!("{card}.on_time"),
        "the card on time after Done",
    )
    .await;
    for path in [
        format!("/lsw?person={marsh}"),
        "/lsw".into(),
        "/lsw/setup".into(),
        format!("/lsw/routines/{rid}"),
        "/me".into(),
        "/system".into(),
    ] {
        c.goto(&server.url(&path)).await.unwrap();
        let w = c
            .execute("return document.scrollingElement.scrollWidth", vec![])
            .await
            .unwrap();
        assert!(
            w.as_f64().unwrap() <= 390.0,
            "{path}: no horizontal scrolling: {w}"
        );
        if path.starts_with("/lsw/routines/") {
            let history = c.source().await.unwrap();
            assert!(
                history.contains("2 of 3 items ok"),
                "the routine's history has the completion"
            );
        }
    }
    c.close().await.unwrap();

    let (_driver, c) = browser(&sandbox.path("desk-lsw")).await;
    c.goto(&server.url("/lsw")).await.unwrap();
    wait_for(
        &c,
        "table.lsw-chart td.lsw-cell.on_time",
        "the chart's cells",
    )
    .await;
    let missed = c
        .find_all(Locator::Css("table.lsw-chart td.lsw-cell.missed"))
        .await
        .unwrap();
    let on_time = c
        .find_all(Locator::Css("table.lsw-chart td.lsw-cell.on_time"))
        .await
        .unwrap();
    assert!(
        on_time.len() > missed.len(),
        "mostly on time: {} vs {}",
        on_time.len(),
        missed.len()
    );
    c.goto(&server.url(&format!(
        "/lsw?week={}",
        (chrono::Utc::now() - chrono::Duration::days(7)).date_naive()
    )))
    .await
    .unwrap();
    wait_for(
        &c,
        "table.lsw-chart td.lsw-cell.missed",
        "a missed routine last week",
    )
    .await;
    screenshot(&c, "lsw-board.png").await;
    // The management system: the plant's tiles and the tiers' and boards' tables.
    c.goto(&server.url("/system")).await.unwrap();
    wait_for(
        &c,
        ".system-tiles .tile[data-key=\"routines_on_time_pct\"]",
        "the system's tiles",
    )
    .await;
    let tiles = c
        .find_all(Locator::Css(".system-tiles .tile"))
        .await
        .unwrap();
    assert_eq!(
        tiles.len(),
        9 + 2,
        "nine leading indicators (two of A3s), two lagging"
    );
    let judged = c
        .find_all(Locator::Css(
            "table.system td.red, table.system td.green, table.system td.amber",
        ))
        .await
        .unwrap();
    assert!(!judged.is_empty(), "figures judged against [targets]");
    screenshot(&c, "system.png").await;
    c.close().await.unwrap();
}

/// A gemba walk on a phone (390×844): a route of three stops, an observation raised as an action
/// at the first, the second skipped with a reason, the third visited, the walk ended; the action
/// is then on the first stop's board. The stop's form is a screenshot of the README.
#[tokio::test]
async fn a_gemba_walk_on_a_phone_raises_an_action_on_the_board() {
    let sandbox = Sandbox::new();
    let server = Server::start(&sandbox, &["--demo"]);
    let leaders: Value = api_json(server.url("/api/v1/leaders")).await;
    let marsh = leaders
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "V. Marsh")
        .expect("the demo's supervisor")["id"]
        .as_i64()
        .unwrap();
    let r: Value = reqwest::Client::new()
        .post(server.url("/api/v1/walk-routes"))
        .json(&json!({
            "title": "Packaging, three stops", "leader": marsh,
            "stops": [
                {"board": "crew:Packaging Mechanical", "asset": "FIL-03", "label": "Filler 3 and its changeover board"},
                {"board": "crew:Packaging E&I", "label": "E&I workshop"},
                {"board": "area:Packaging", "label": "Spares store"}
            ]
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rid = r["id"].as_i64().expect("the route was added");

    let (_driver, c) = browser_with(&sandbox.path("phone-walk"), Some((390, 844, 3.0))).await;
    c.goto(&server.url("/walks")).await.unwrap();
    click(
        &c,
        &format!("li[data-route=\"{rid}\"] form.start-walk button"),
    )
    .await;
    wait_for(&c, "section.walk-stop[data-stop=\"1\"]", "the first stop").await;
    let fill = |css: &'static str, text: &'static str| {
        let c = c.clone();
        async move {
            c.find(Locator::Css(css))
                .await
                .unwrap_or_else(|_| panic!("{css}"))
                .send_keys(text)
                .await
                .unwrap();
        }
    };
    fill(
        "textarea[name=\"answer.0\"]",
        "No: the changeover standard is not posted",
    )
    .await;
    fill(
        "input[name=\"obs.0\"]",
        "Changeover standard missing at filler 3",
    )
    .await;
    click(&c, "input[name=\"raise.0\"]").await;
    fill(
        "input[name=\"obs.1\"]",
        "Floor clear, tools on the shadow board",
    )
    .await;
    screenshot(&c, "walk-phone.png").await;
    click(&c, "form.walk-visit button").await;
    wait_for(&c, "section.walk-stop[data-stop=\"2\"]", "the second stop").await;
    fill(
        "form.walk-skip input[name=\"reason\"]",
        "workshop locked for a permit job",
    )
    .await;
    click(&c, "form.walk-skip button").await;
    wait_for(&c, "section.walk-stop[data-stop=\"3\"]", "the third stop").await;
    click(&c, "form.walk-visit button").await;
    wait_for(&c, "form.walk-end", "the end button").await;
    click(&c, "form.walk-end button").await;
    wait_for(&c, "section.walk-record.skipped", "the record").await;
    let w = c
        .execute("return document.scrollingElement.scrollWidth", vec![])
        .await
        .unwrap();
    assert!(w.as_f64().unwrap() <= 390.0, "the walk fits the phone: {w}");
    let record = c.source().await.unwrap();
    assert!(record.contains("workshop locked for a permit job"));
    assert!(
        !record.contains("Done with this stop"),
        "the walk has ended"
    );
    c.goto(&server.url("/board?crew=Packaging%20Mechanical"))
        .await
        .unwrap();
    let board = c.source().await.unwrap();
    assert!(
        board.contains("Changeover standard missing at filler 3"),
        "the observation is an action on the stop's board"
    );
    c.goto(&server.url("/walks")).await.unwrap();
    let w = c
        .execute("return document.scrollingElement.scrollWidth", vec![])
        .await
        .unwrap();
    assert!(w.as_f64().unwrap() <= 390.0, "/walks fits the phone: {w}");
    c.close().await.unwrap();
}

/// Sets a form field's value in the page (a date input takes typed keys in the browser's locale).
async fn set_value(c: &Client, css: &str, value: &str) {
    c.execute(
        "document.querySelector(arguments[0]).value = arguments[1]",
        vec![json!(css), json!(value)],
    )
    .await
    .unwrap_or_else(|e| panic!("{css}: {e}"));
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} is on the page"));
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

async fn page_text(c: &Client) -> String {
    c.find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// An A3 from the bad-actor chart to its follow-up, measured from the orders: started from a
/// bar's row, its sections and target filled, a countermeasure that is an action on the board,
/// resolved there, and the verdict that turns when orders after the in-place day come in.
#[tokio::test]
async fn an_a3_from_the_bad_actor_chart_to_its_measured_follow_up() {
    let sandbox = Sandbox::new();
    ok(&sandbox.gemba(&[
        "import",
        &fixture("assets/plant.csv"),
        "--profile",
        "generic",
    ]));
    let server = Server::start(&sandbox, &[]);
    let (_driver, c) = browser(&sandbox.path("a3")).await;
    c.goto(&server.url("/assets/pareto?as_of=2026-03-31"))
        .await
        .unwrap();
    click(&c, "tr#asset-F1 a.start-a3").await;
    wait_for(&c, "form.a3-start", "the start form").await;
    type_into(
        &c,
        "form.a3-start input[name=title]",
        "Filler 1 stops every week",
    )
    .await;
    type_into(&c, "form.a3-start input[name=owner]", "Vera").await;
    click(&c, "form.a3-start button").await;
    wait_for(&c, ".a3-sheet", "the sheet").await;
    let url = c.current_url().await.unwrap();
    let id: i64 = url.path().trim_start_matches("/a3/").parse().unwrap();
    assert!(
        page_text(&c).await.contains("Filler 1 (F1)"),
        "the current condition is the asset's"
    );

    // The sections and the target through the form.
    click(&c, "details.edit-a3 > summary").await;
    type_into(
        &c,
        "form.a3-edit textarea[name=problem]",
        "Filler 1 broke down 4 times in March",
    )
    .await;
    type_into(
        &c,
        "form.a3-edit input[name=\"why.1\"]",
        "Its bearings run dry",
    )
    .await;
    type_into(
        &c,
        "form.a3-edit input[name=\"cause.method\"]",
        "No lube route",
    )
    .await;
    click(
        &c,
        "form.a3-edit select[name=metric] option[value=reactive_count]",
    )
    .await;
    type_into(&c, "form.a3-edit input[name=value]", "1").await;
    type_into(&c, "form.a3-edit input[name=window_days]", "14").await;
    let by = (chrono::Utc::now().date_naive() + chrono::Duration::days(60)).to_string();
    set_value(&c, "form.a3-edit input[name=by]", &by).await;
    click(&c, "form.a3-edit button[type=submit]").await;
    wait_for(&c, ".a3-box p.target", "the target condition").await;
    assert!(page_text(&c).await.contains("Its bearings run dry"));

    // A countermeasure: an action on the A3's board, resolved there.
    type_into(
        &c,
        "form.countermeasure input[name=title]",
        "Add filler 1 to the lube route",
    )
    .await;
    click(&c, "form.countermeasure button").await;
    wait_for(&c, "table.countermeasures", "the countermeasure").await;
    let a: Value = api_json(server.url(&format!("/api/v1/a3/{id}"))).await;
    let action = a["countermeasures"][0]["action"].as_i64().unwrap();
    c.goto(&server.url("/")).await.unwrap();
    let li = format!("li.action[data-action=\"{action}\"]");
    wait_for(&c, &li, "the countermeasure on the plant's board").await;
    click(&c, &format!("{li} details.act > summary")).await;
    type_into(
        &c,
        &format!("{li} details.act form:last-of-type input[name=note]"),
        "route updated",
    )
    .await;
    click(&c, &format!("{li} details.act form:last-of-type button")).await;
    let started = Instant::now();
    loop {
        let a: Value = api_json(server.url(&format!("/api/v1/a3/{id}"))).await;
        if a["actions"][0]["status"] == "done" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the action is done: {a}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // In place today: the follow-up waits for its window.
    c.goto(&server.url(&format!("/a3/{id}"))).await.unwrap();
    assert!(page_text(&c).await.contains("not yet"));
    // In place since 1 April (set by hand): 2 breakdowns before, 1 after, at most 1: met.
    click(&c, "details.edit-a3 > summary").await;
    set_value(&c, "form.a3-edit input[name=in_place_on]", "2026-04-01").await;
    click(&c, "form.a3-edit button[type=submit]").await;
    wait_for(&c, ".verdict.green", "the verdict met").await;
    // Orders after the in-place day come in: a breakdown in the after window. Not met.
    ok(&sandbox.gemba(&[
        "import",
        &fixture("assets/after.csv"),
        "--profile",
        "generic",
    ]));
    let started = Instant::now();
    loop {
        c.goto(&server.url(&format!("/a3/{id}"))).await.unwrap();
        if c.find(Locator::Css(".a3-box .verdict.red")).await.is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the verdict turns within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(page_text(&c).await.contains("not met"));
}

/// The asset pages and an A3 sheet of the demo plant: the screenshots the README shows, and the
/// sheet printed by the browser on one A3 landscape page.
#[tokio::test]
async fn the_asset_health_grid_the_pareto_and_an_a3_sheet_on_one_page() {
    let sandbox = Sandbox::new();
    let server = Server::start(&sandbox, &["--demo"]);
    let (_driver, c) = browser(&sandbox.path("assets")).await;
    c.goto(&server.url("/assets/health?area=Packaging"))
        .await
        .unwrap();
    wait_for(&c, ".asset-grid .asset-tile.red", "a red tile").await;
    screenshot(&c, "asset-health.png").await;
    c.goto(&server.url("/assets/pareto")).await.unwrap();
    wait_for(&c, "figure.pareto rect.bar.vital", "the vital few").await;
    screenshot(&c, "pareto.png").await;
    c.goto(&server.url("/a3/1")).await.unwrap();
    wait_for(&c, ".a3-sheet", "the demo's first A3").await;
    assert!(page_text(&c).await.contains("met"));
    screenshot(&c, "a3.png").await;
    let pdf = print_landscape(
        &c,
        PrintSize {
            width: 29.7,
            height: 42.0,
        },
        0.8,
    )
    .await;
    assert_eq!(pdf_pages(&pdf), 1, "the A3 sheet is one A3 landscape page");
}

/// Strategy deployment in a browser: an objective set through the form, deployed to two areas,
/// one area's proposal agreed, a red month of the bowling chart with its gap note.
#[tokio::test]
async fn an_objective_is_deployed_agreed_and_its_red_month_explained() {
    let sandbox = Sandbox::new();
    let server = Server::start(&sandbox, &["--demo"]);
    let (_driver, c) = browser(&sandbox.path("hoshin")).await;
    c.goto(&server.url("/hoshin")).await.unwrap();
    c.execute(
        "document.querySelector('form.objective-form').closest('details').open = true",
        vec![],
    )
    .await
    .unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let first = today - chrono::Duration::days(i64::from(chrono::Datelike::day(&today)) - 1);
    let start = (first - chrono::Months::new(3)).format("%Y-%m").to_string();
    let horizon = (first + chrono::Months::new(8)).format("%Y-%m").to_string();
    type_into(
        &c,
        "form.objective-form input[name=title]",
        "PM compliance above 98 %",
    )
    .await;
    type_into(&c, "form.objective-form input[name=owner]", "Plant manager").await;
    click(
        &c,
        "form.objective-form select[name=kpi] option[value=pm_compliance_pct]",
    )
    .await;
    set_value(&c, "form.objective-form input[name=start]", &start).await;
    set_value(&c, "form.objective-form input[name=horizon]", &horizon).await;
    type_into(&c, "form.objective-form input[name=target]", "98").await;
    click(&c, "form.objective-form button").await;
    wait_for(&c, "table.plan", "the objective's plan").await;
    let id: i64 = c
        .current_url()
        .await
        .unwrap()
        .path()
        .trim_start_matches("/hoshin/")
        .parse()
        .unwrap();
    // The first month set by hand to 100: more than the plant's PMs reach, so it is red.
    let first_month = format!("tr#m-{start} form.plan-month input[name=value]");
    type_into(&c, &first_month, "100").await;
    c.find(Locator::Css(&first_month))
        .await
        .unwrap()
        .send_keys("\u{E007}")
        .await
        .unwrap();
    wait_for(&c, &format!("tr#m-{start}.cell-red"), "the first month red").await;

    // Deployed to two areas; Packaging proposes 97 and the plant agrees.
    click(&c, "form.deploy input[value=\"area:Packaging\"]").await;
    click(&c, "form.deploy input[value=\"area:Utilities\"]").await;
    click(&c, "form.deploy button").await;
    wait_for(&c, "table.deployment tbody tr", "the deployment").await;
    let v: Value = api_json(server.url(&format!("/api/v1/objectives/{id}"))).await;
    assert_eq!(v["children"].as_array().unwrap().len(), 2, "{v}");
    let pack = v["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["board"] == "area:Packaging")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    c.goto(&server.url(&format!("/hoshin/{pack}")))
        .await
        .unwrap();
    type_into(&c, "form.propose input[name=owner]", "V. Marsh").await;
    type_into(&c, "form.propose input[name=target]", "97").await;
    click(&c, "form.propose button").await;
    wait_for(&c, "form.decide", "the proposal to decide").await;
    click(&c, "form.decide button[value=agree]").await;
    wait_for(&c, ".catchball.green", "agreed").await;

    // The red month explained, then read on the bowling chart.
    c.goto(&server.url(&format!("/hoshin/{id}"))).await.unwrap();
    let gap = format!("tr#m-{start} form.gap-form");
    type_into(
        &c,
        &format!("{gap} input[name=cause]"),
        "PM routes skipped during the shutdown",
    )
    .await;
    type_into(
        &c,
        &format!("{gap} input[name=countermeasure]"),
        "Shutdown plan keeps the critical PMs",
    )
    .await;
    type_into(&c, &format!("{gap} input[name=a3]"), "1").await;
    click(&c, &format!("{gap} button")).await;
    wait_for(&c, &format!("tr#m-{start} span.gap"), "the gap note").await;
    screenshot(&c, "hoshin-objective.png").await;
    c.goto(&server.url("/hoshin/bowling")).await.unwrap();
    let cell = wait_for(
        &c,
        "table.bowling td.cell.red[title*=\"PM routes skipped\"]",
        "the red cell with its note",
    )
    .await;
    assert!(
        cell.text().await.unwrap().contains("✖"),
        "a sign beside the colour"
    );
    let text = page_text(&c).await;
    assert!(
        text.contains("area Packaging") && text.contains("agreed"),
        "{text}"
    );
    screenshot(&c, "hoshin-bowling.png").await;
    // The monthly review prints it on one landscape page.
    let pdf = print_landscape(&c, PrintSize::A4, 0.7).await;
    assert_eq!(
        pdf_pages(&pdf),
        1,
        "the bowling chart is one A4 landscape page"
    );
}
