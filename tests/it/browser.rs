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
use crate::support::{Sandbox, repo};

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
    let caps = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1920,1080", format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
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
    let pdf = c
        .print(
            PrintConfiguration::builder()
                .orientation(PrintOrientation::Landscape)
                .size(PrintSize::A4)
                .margins(PrintMargins {
                    top: 0.7,
                    bottom: 0.7,
                    left: 0.7,
                    right: 0.7,
                })
                .background(true)
                .shrink_to_fit(false)
                .build()
                .unwrap(),
        )
        .await
        .expect("the board prints");
    // The page tree's `/Count` (Chromium writes one page tree).
    let text = String::from_utf8_lossy(&pdf);
    let pages: u32 = text
        .split("/Count ")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .expect("a PDF with a page count");
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

    // The crew's pull lane: what the API suggests, in the same order, visible on the board.
    let lane_css = r#".lane[data-crew="Packaging E&I"]"#;
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
    let pull_api: Value = api_json(server.url("/api/v1/pull?crew=Packaging%20E%26I")).await;
    let before = lane_ids(&c).await;
    assert_eq!(before, api_ids(&pull_api));
    assert!(
        suggestions(&pull_api)
            .iter()
            .any(|s| s["emergency"] == false),
        "the demo crew has ready work to pull"
    );
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
    assert!(url.as_str().contains("technicians.Packaging"), "{url}");
    let lane = c.find(Locator::Css(lane_css)).await.unwrap();
    assert!(
        lane.attr("class")
            .await
            .unwrap()
            .unwrap()
            .contains("what-if")
    );
    let text = lane.text().await.unwrap();
    assert!(
        text.contains("0 technicians (what-if; 3 configured)"),
        "{text}"
    );
    let after = lane_ids(&c).await;
    let what_if: Value =
        api_json(server.url("/api/v1/pull?crew=Packaging%20E%26I&technicians.Packaging%20E%26I=0"))
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

    // The TV view: big type, a clock, and a refresh that rotates to the next scope.
    c.goto(&server.url("/?kiosk=1")).await.unwrap();
    assert!(c.find(Locator::Css("body.kiosk #clock")).await.is_ok());
    assert!(
        c.find_all(Locator::Css("nav.top"))
            .await
            .unwrap()
            .is_empty(),
        "no navigation on the TV"
    );
    screenshot(&c, "kiosk.png").await;

    c.close().await.unwrap();
}
