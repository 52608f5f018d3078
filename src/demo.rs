//! The demo plant: a realistic year of maintenance history, deterministic for a seed, so a new
//! user sees a full board at once and benchmarks have data of any size. Orders stream out of an
//! iterator, so writing ten million of them to CSV takes no more memory than writing ten.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::mapping::dates::local_to_utc;
use crate::model::{Criticality, Kind, Priority, Status, WorkOrder};

/// The `source` of demo orders.
pub const DEMO_SOURCE: &str = "demo";
const SITE: &str = "Riverside";

/// (area, [(crew, share of the area's work)]) — the crews of `config/gemba.toml`.
const AREAS: &[(&str, &[(&str, f64)])] = &[
    (
        "Processing",
        &[("Process Mechanical", 0.6), ("Process E&I", 0.4)],
    ),
    (
        "Packaging",
        &[("Packaging Mechanical", 0.62), ("Packaging E&I", 0.38)],
    ),
    ("Utilities", &[("Utilities", 1.0)]),
];

/// (area, equipment type, how many, criticality range)
const EQUIPMENT: &[(&str, &str, u32, (u8, u8))] = &[
    ("Processing", "Reactor", 6, (8, 10)),
    ("Processing", "Mixer", 10, (5, 8)),
    ("Processing", "Centrifugal pump", 24, (4, 9)),
    ("Processing", "Heat exchanger", 8, (5, 8)),
    ("Processing", "Agitator", 8, (4, 7)),
    ("Processing", "Dosing skid", 6, (6, 9)),
    ("Packaging", "Filler", 4, (8, 10)),
    ("Packaging", "Capper", 4, (7, 9)),
    ("Packaging", "Labeler", 6, (5, 7)),
    ("Packaging", "Case packer", 4, (6, 8)),
    ("Packaging", "Palletizer", 3, (6, 8)),
    ("Packaging", "Stretch wrapper", 3, (3, 5)),
    ("Packaging", "Conveyor", 26, (2, 6)),
    ("Packaging", "Checkweigher", 4, (4, 6)),
    ("Utilities", "Boiler", 3, (8, 10)),
    ("Utilities", "Air compressor", 5, (7, 9)),
    ("Utilities", "Chiller", 4, (6, 9)),
    ("Utilities", "Cooling tower", 3, (5, 7)),
    ("Utilities", "Transformer", 4, (7, 10)),
    ("Utilities", "AHU", 12, (2, 5)),
    ("Utilities", "Fire pump", 2, (9, 10)),
];

const TECHNICIANS: &[&str] = &[
    "A. Novak",
    "B. Okafor",
    "C. Lindqvist",
    "D. Reyes",
    "E. Tanaka",
    "F. Müller",
    "G. Rossi",
    "H. Dubois",
    "I. Kowalski",
    "J. Hughes",
    "K. Nguyen",
    "L. Ortega",
    "M. Schulz",
    "N. Patel",
    "O. Berg",
    "P. Costa",
    "Q. Ivanova",
    "R. Santos",
    "S. Weber",
    "T. Fischer",
    "U. Haddad",
];

struct Asset {
    id: String,
    name: String,
    area: &'static str,
    kind: &'static str,
    criticality: u8,
}

/// How the demo is shaped.
#[derive(Debug, Clone)]
pub struct DemoParams {
    pub seed: u64,
    /// Days of history, ending with `until`. A lead-in of a quarter as long again comes before
    /// them, so the first day already has the backlog a real plant has.
    pub days: u32,
    /// Total orders to produce over those days.
    pub orders: u64,
    /// The last day of history (plant time); orders are open or done as of the end of it
    /// or of `now`, whichever is earlier.
    pub until: NaiveDate,
    pub tz: Tz,
    pub now: DateTime<Utc>,
}

impl DemoParams {
    /// Days generated: the history plus its lead-in.
    pub fn total_days(&self) -> u32 {
        let days = self.days.max(1);
        days + days / 4
    }

    fn first_day(&self) -> NaiveDate {
        self.until - Duration::days(self.total_days() as i64 - 1)
    }

    /// A year up to today with about `per_day` orders a day.
    pub fn year_to_today(seed: u64, per_day: f64, days: u32, tz: Tz) -> DemoParams {
        let now = Utc::now();
        let mut p = DemoParams {
            seed,
            days,
            orders: 0,
            until: now.with_timezone(&tz).date_naive(),
            tz,
            now: now.with_timezone(&Utc),
        };
        p.orders = (per_day * p.total_days() as f64).round() as u64;
        p
    }
}

/// The stream of demo orders, in order of creation.
pub struct DemoOrders {
    p: DemoParams,
    rng: ChaCha8Rng,
    assets: Vec<Asset>,
    /// Orders still to make on each day (index 0 = first day).
    per_day: Vec<u64>,
    burst: Vec<bool>,
    day: usize,
    left_today: u64,
    seq: u64,
    horizon: DateTime<Utc>,
    /// The bad actors' places in `assets`, worst first.
    bad: Vec<usize>,
}

/// The demo plant's bad actors and their share of the breakdowns drawn to a bad actor: a few
/// assets that eat most of the reactive hours, so the Pareto has something to say.
pub const BAD_ACTORS: [(&str, f64); 5] = [
    ("PAC-FIL-02", 0.34),
    ("PRO-CP-07", 0.26),
    ("UTI-AC-03", 0.18),
    ("PAC-CON-11", 0.12),
    ("PRO-MIX-04", 0.10),
];

/// The share of breakdowns that go to a bad actor.
const BAD_SHARE: f64 = 0.3;

/// The worst bad actor's extra breakdowns stop this many days before the demo's last day: the
/// countermeasures of the demo's A3 on it worked.
pub const FIXED_DAYS_AGO: i64 = 70;

/// The demo's orders for `p`.
pub fn orders(p: DemoParams) -> DemoOrders {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let assets = build_assets(&mut rng);
    let first = p.first_day();
    // Day weights: fewer requests at weekends, breakdown bursts of 2 to 5 days now and then.
    let mut weights = Vec::with_capacity(p.total_days() as usize);
    let mut burst = Vec::with_capacity(p.total_days() as usize);
    let mut burst_left: u32 = 0;
    for d in 0..p.total_days() {
        let date = first + Duration::days(d as i64);
        if burst_left == 0 && rng.random_bool(0.03) {
            burst_left = rng.random_range(2..=5);
        }
        let in_burst = burst_left > 0;
        burst_left = burst_left.saturating_sub(1);
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        weights.push(if weekend { 0.45 } else { 1.0 } * if in_burst { 1.8 } else { 1.0 });
        burst.push(in_burst);
    }
    // Spread exactly `orders` over the days in proportion to the weights.
    let total: f64 = weights.iter().sum();
    let mut per_day = Vec::with_capacity(weights.len());
    let (mut acc, mut given) = (0.0, 0u64);
    for w in &weights {
        acc += w / total * p.orders as f64;
        let upto = acc.round() as u64;
        per_day.push(upto - given);
        given = upto;
    }
    if let Some(last) = per_day.last_mut() {
        *last += p.orders - given;
    }
    let end_of_until = crate::metrics::end_of_day(p.tz, p.until);
    let horizon = end_of_until.min(p.now);
    let left_today = per_day.first().copied().unwrap_or(0);
    DemoOrders {
        p,
        rng,
        per_day,
        burst,
        day: 0,
        left_today,
        seq: 0,
        horizon,
        // Every bad actor is among the assets, or the demo has none.
        bad: BAD_ACTORS
            .iter()
            .map(|(id, _)| assets.iter().position(|a| a.id == *id))
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default(),
        assets,
    }
}

fn build_assets(rng: &mut ChaCha8Rng) -> Vec<Asset> {
    let mut out = Vec::new();
    for (area, kind, n, (lo, hi)) in EQUIPMENT {
        let prefix: String = area.chars().take(3).collect::<String>().to_uppercase();
        for i in 1..=*n {
            // One word: its first three letters (CON, CAP); several: their initials (CP, HE).
            let words: Vec<&str> = kind.split_whitespace().collect();
            let tag: String = if words.len() == 1 {
                kind.chars().take(3).collect::<String>().to_uppercase()
            } else {
                words
                    .iter()
                    .filter_map(|w| w.chars().next())
                    .collect::<String>()
                    .to_uppercase()
            };
            out.push(Asset {
                id: format!("{prefix}-{tag}-{i:02}"),
                name: format!("{kind} {i}"),
                area,
                kind,
                criticality: rng.random_range(*lo..=*hi),
            });
        }
    }
    out
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [(T, f64)]) -> &'a T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0.0..total);
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

/// Rounds to tenths, so hours survive a trip through CSV text unchanged.
fn tenths(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Exponentially distributed with the given mean.
fn exp(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random_range(0.0..1.0f64)).ln()
}

impl Iterator for DemoOrders {
    type Item = WorkOrder;

    fn next(&mut self) -> Option<WorkOrder> {
        while self.left_today == 0 {
            self.day += 1;
            self.left_today = *self.per_day.get(self.day)?;
        }
        self.left_today -= 1;
        self.seq += 1;
        Some(self.make())
    }
}

impl DemoOrders {
    fn make(&mut self) -> WorkOrder {
        let p = &self.p;
        let rng = &mut self.rng;
        let date = p.first_day() + Duration::days(self.day as i64);
        let burst = self.burst[self.day];
        let kinds: [(Kind, f64); 7] = if burst {
            [
                (Kind::Emergency, 0.20),
                (Kind::Corrective, 0.34),
                (Kind::PlannedCorrective, 0.12),
                (Kind::Preventive, 0.22),
                (Kind::Predictive, 0.04),
                (Kind::Project, 0.02),
                (Kind::Other, 0.06),
            ]
        } else {
            [
                (Kind::Emergency, 0.05),
                (Kind::Corrective, 0.20),
                (Kind::PlannedCorrective, 0.19),
                (Kind::Preventive, 0.36),
                (Kind::Predictive, 0.07),
                (Kind::Project, 0.04),
                (Kind::Other, 0.09),
            ]
        };
        // The plant gets better over the year: less breakdown work as PM takes hold.
        let progress = self.day as f64 / self.per_day.len().max(1) as f64;
        let mut kinds = kinds;
        kinds[0].1 *= 1.4 - 0.8 * progress;
        kinds[1].1 *= 1.3 - 0.6 * progress;
        let kind = *pick(rng, &kinds);
        let mut asset = &self.assets[rng.random_range(0..self.assets.len())];
        // A share of the breakdowns goes to the bad actors of the asset's area (drawn from the
        // order's number, so the stream's other draws, and the crews' work, stay as they were);
        // the worst one's stop when its A3's countermeasures were in place.
        if kind.class() == crate::model::Class::Reactive && unit(self.seq ^ 0xbad_ac7e) < BAD_SHARE
        {
            let here: Vec<(usize, f64)> = self
                .bad
                .iter()
                .zip(BAD_ACTORS)
                .enumerate()
                .filter(|(_, (at, _))| self.assets[**at].area == asset.area)
                .map(|(rank, (_, (_, w)))| (rank, w))
                .collect();
            let total: f64 = here.iter().map(|h| h.1).sum();
            let mut x = unit(self.seq ^ 0x0dd_ba11) * total;
            let days_ago = (self.per_day.len() - 1 - self.day) as i64;
            for (k, (rank, w)) in here.iter().enumerate() {
                if x < *w || k + 1 == here.len() {
                    if !(*rank == 0 && days_ago <= FIXED_DAYS_AGO) {
                        asset = &self.assets[self.bad[*rank]];
                    }
                    break;
                }
                x -= w;
            }
        }
        let crews = AREAS
            .iter()
            .find(|(a, _)| *a == asset.area)
            .expect("asset areas come from AREAS")
            .1;
        let crew = *pick(rng, crews);
        let hour = if kind == Kind::Emergency {
            rng.random_range(0..24)
        } else {
            rng.random_range(6..18)
        };
        let local = date.and_time(
            NaiveTime::from_hms_opt(hour, rng.random_range(0..60), rng.random_range(0..60))
                .expect("valid time"),
        );
        let created_at = local_to_utc(p.tz, local);
        let priority: u8 = match kind {
            Kind::Emergency => 1,
            Kind::Corrective => *pick(rng, &[(2, 0.5), (3, 0.4), (1, 0.1)]),
            Kind::PlannedCorrective => *pick(rng, &[(3, 0.6), (4, 0.3), (2, 0.1)]),
            Kind::Preventive | Kind::Predictive => *pick(rng, &[(3, 0.7), (2, 0.2), (4, 0.1)]),
            Kind::Project => *pick(rng, &[(4, 0.6), (5, 0.4)]),
            Kind::Other => *pick(rng, &[(3, 0.4), (4, 0.3), (5, 0.3)]),
        };
        let (lo, hi) = match kind {
            Kind::Emergency => (1.5, 6.0),
            Kind::Corrective => (1.0, 8.0),
            Kind::PlannedCorrective => (2.0, 14.0),
            Kind::Preventive => (0.5, 4.0),
            Kind::Predictive => (0.5, 2.0),
            Kind::Project => (8.0, 40.0),
            Kind::Other => (1.0, 4.0),
        };
        let estimate = tenths(rng.random_range(lo..hi));
        let pm_interval_days = match kind {
            Kind::Preventive => Some(*pick(
                rng,
                &[(7u32, 0.25), (14, 0.2), (30, 0.35), (90, 0.2)],
            )),
            Kind::Predictive => Some(*pick(rng, &[(30u32, 0.6), (90, 0.4)])),
            _ => None,
        };
        let due_days: Option<i64> = match kind {
            Kind::Emergency => Some(1),
            Kind::Corrective => (!rng.random_bool(0.12)).then(|| rng.random_range(3..15)),
            Kind::PlannedCorrective => Some(rng.random_range(14..46)),
            Kind::Preventive | Kind::Predictive => {
                Some((pm_interval_days.unwrap_or(30) as i64 / 2).clamp(3, 14))
            }
            Kind::Project => Some(rng.random_range(30..91)),
            Kind::Other => (!rng.random_bool(0.3)).then(|| rng.random_range(7..31)),
        };
        // A bare due date: the end of that day in plant time.
        let due_at = due_days.map(|d| {
            local_to_utc(
                p.tz,
                (date + Duration::days(d + 1)).and_time(NaiveTime::MIN),
            )
        });
        // How long until done, in days.
        let lead = match (kind, priority) {
            (Kind::Emergency, _) => rng.random_range(0.05..0.6),
            (Kind::Preventive | Kind::Predictive, _) => {
                let d = due_days.unwrap_or(7) as f64;
                if rng.random_bool(0.86) {
                    rng.random_range(0.2..d)
                } else {
                    d + exp(rng, 8.0)
                }
            }
            (_, 1) => exp(rng, 1.0),
            (_, 2) => exp(rng, 5.0),
            (_, 3) => exp(rng, 14.0),
            (_, 4) => exp(rng, 30.0),
            _ => exp(rng, 45.0),
        };
        let actual = tenths(estimate * rng.random_range(0.7..1.5));
        let planned = matches!(kind.class(), crate::model::Class::Planned);
        let scheduled_start = (planned && rng.random_bool(0.85)).then(|| {
            let offset = (lead * rng.random_range(0.5..0.95)).max(0.0);
            let day = (created_at + Duration::seconds((offset * 86_400.0) as i64))
                .with_timezone(&p.tz)
                .date_naive();
            local_to_utc(
                p.tz,
                day.and_time(NaiveTime::from_hms_opt(7, 0, 0).expect("valid")),
            )
        });
        let done_at = created_at + Duration::seconds((lead * 86_400.0) as i64);
        let horizon = self.horizon;
        let mut status;
        let mut completed_at = None;
        let mut started_at = None;
        let mut updated_at;
        // Hours booked so far on an order in progress.
        let mut booked = None;
        if rng.random_bool(0.02) {
            status = Status::Cancelled;
            updated_at = (created_at + Duration::hours(rng.random_range(1..200))).min(horizon);
        } else if done_at < horizon {
            status = Status::Completed;
            completed_at = Some(done_at);
            started_at = Some(
                done_at - Duration::minutes((actual * 60.0 * rng.random_range(1.0..1.6)) as i64),
            )
            .map(|s| s.max(created_at));
            updated_at = done_at;
        } else {
            // Work that takes `actual` hours, spread over shifts, is under way when it would
            // have started before now; a few orders are left in progress for days (stuck).
            let wall = Duration::minutes((actual * 60.0 * rng.random_range(1.0..3.0)) as i64);
            let start = done_at - wall;
            let stuck = rng.random_bool(0.03);
            if start < horizon || stuck {
                status = Status::InProgress;
                let start = if stuck {
                    horizon - Duration::hours(rng.random_range(30..240))
                } else {
                    start
                }
                .max(created_at);
                let elapsed =
                    (horizon - start).num_minutes() as f64 / wall.num_minutes().max(1) as f64;
                booked = Some(tenths(actual * elapsed.min(0.9))).filter(|h| *h > 0.0);
                started_at = Some(start);
            } else {
                status = *pick(
                    rng,
                    &[
                        (Status::Requested, 0.14),
                        (Status::Approved, 0.25),
                        (Status::Ready, 0.30),
                        (Status::Scheduled, 0.18),
                        (Status::OnHold, 0.13),
                    ],
                );
                if status == Status::Scheduled && scheduled_start.is_none() {
                    status = Status::Ready;
                }
            }
            updated_at = (created_at + Duration::hours(rng.random_range(0..72))).min(horizon);
        }
        // The flaws real CMMS data has.
        let estimated_hours = (!rng.random_bool(if kind == Kind::Emergency { 0.3 } else { 0.07 }))
            .then_some(estimate);
        let actual_hours = match status {
            Status::Completed => (!rng.random_bool(0.05)).then_some(actual),
            _ => booked,
        };
        if status == Status::Completed && rng.random_bool(0.01) {
            completed_at = None;
        }
        if status != Status::Completed
            && status != Status::Cancelled
            && let Some(s) = started_at
        {
            updated_at = updated_at.max(s);
        }
        let downtime_hours = (status == Status::Completed
            && (kind == Kind::Emergency || (kind == Kind::Corrective && rng.random_bool(0.4))))
        .then(|| tenths(actual * rng.random_range(1.0..2.5)));
        let crew_name = (!rng.random_bool(0.01)).then(|| crew.to_string());
        let assignee = (status != Status::Requested && status != Status::Approved)
            .then(|| TECHNICIANS[rng.random_range(0..TECHNICIANS.len())].to_string());
        let title = title_for(rng, kind, asset, pm_interval_days);
        let (cost, failure_code) = cost_and_code(self.seq, kind, status, actual_hours, &asset.id);
        WorkOrder {
            source: DEMO_SOURCE.into(),
            id: format!("WO-{:07}", self.seq),
            title,
            kind,
            status,
            priority: Priority::new(priority as i64).expect("demo priorities are 1..5"),
            site: Some(SITE.into()),
            area: Some(asset.area.into()),
            crew: crew_name,
            assignee,
            asset_id: (!rng.random_bool(0.03)).then(|| asset.id.clone()),
            asset_name: Some(asset.name.clone()),
            asset_criticality: Some(
                Criticality::new(asset.criticality as i64).expect("demo criticality is 1..10"),
            ),
            created_at,
            due_at,
            scheduled_start,
            started_at,
            completed_at,
            updated_at: Some(updated_at),
            estimated_hours,
            actual_hours,
            downtime_hours,
            pm_interval_days,
            cost,
            failure_code,
        }
    }
}

/// The failure codes of the demo plant, most frequent first (a Pareto-like spread).
pub const FAILURE_CODES: [(&str, f64); 12] = [
    ("BRG-WEAR", 0.22),
    ("SEAL-LEAK", 0.16),
    ("BELT-SLIP", 0.12),
    ("SENSOR-FAULT", 0.10),
    ("MOTOR-OVERHEAT", 0.08),
    ("VALVE-STUCK", 0.07),
    ("MISALIGNMENT", 0.06),
    ("LUBE-LOW", 0.05),
    ("CABLE-DAMAGE", 0.05),
    ("AIR-LEAK", 0.04),
    ("PLC-FAULT", 0.03),
    ("OPERATOR-ERROR", 0.02),
];

/// Labour in the demo plant's currency per hour.
const LABOUR_RATE: f64 = 65.0;

/// A uniform number in [0, 1) from a 64-bit key (splitmix64): the demo's costs and codes are
/// drawn from the order's number, so they leave the order stream's random sequence as it was.
fn unit(key: u64) -> f64 {
    let mut z = key.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// An order's cost (labour of its booked hours and parts, more parts for breakdowns) and, for
/// repairs, a failure code: half of an asset's failures are its usual one, so bad actors show.
fn cost_and_code(
    seq: u64,
    kind: Kind,
    status: Status,
    actual_hours: Option<f64>,
    asset: &str,
) -> (Option<f64>, Option<String>) {
    let u = |salt: u64| unit(seq.wrapping_mul(31).wrapping_add(salt));
    let labour = actual_hours.map(|h| h * LABOUR_RATE);
    let parts_mean = match kind {
        Kind::Emergency => 420.0,
        Kind::Corrective => 230.0,
        Kind::PlannedCorrective => 260.0,
        Kind::Project => 900.0,
        Kind::Preventive | Kind::Predictive => 45.0,
        Kind::Other => 60.0,
    };
    let parts = (status == Status::Completed).then(|| -parts_mean * (1.0 - u(1)).ln());
    let cost = match (labour, parts) {
        (None, None) => None,
        (l, p) => Some((l.unwrap_or(0.0) + p.unwrap_or(0.0)).round()),
    };
    let repair = matches!(kind, Kind::Emergency | Kind::Corrective)
        && matches!(status, Status::Completed | Status::InProgress);
    // A code drawn by its weight; each asset has a usual one, drawn the same way.
    let weighted = |mut x: f64| {
        FAILURE_CODES
            .iter()
            .position(|(_, w)| {
                x -= w;
                x < 0.0
            })
            .unwrap_or(0)
    };
    let code = repair.then(|| {
        let asset_key = asset
            .bytes()
            .fold(7u64, |h, b| h.wrapping_mul(131).wrapping_add(b as u64));
        let i = if u(2) < 0.5 {
            weighted(unit(asset_key))
        } else {
            weighted(u(3))
        };
        FAILURE_CODES[i].0.to_string()
    });
    (cost.filter(|c| *c > 0.0), code)
}

fn title_for(rng: &mut ChaCha8Rng, kind: Kind, a: &Asset, interval: Option<u32>) -> String {
    let n = &a.name;
    match kind {
        Kind::Preventive => {
            let what = [
                "inspection",
                "lubrication route",
                "service",
                "filter change",
                "safety check",
            ];
            format!(
                "{}-day {} – {n}",
                interval.unwrap_or(30),
                what[rng.random_range(0..what.len())]
            )
        }
        Kind::Predictive => {
            let what = [
                "Vibration survey",
                "Thermography",
                "Oil analysis",
                "Ultrasound check",
            ];
            format!("{} – {n}", what[rng.random_range(0..what.len())])
        }
        Kind::Emergency => {
            let what = [
                "tripped, line down",
                "seized",
                "leaking, \"urgent\"",
                "no output",
                "smoke from motor",
            ];
            format!("BREAKDOWN: {n} {}", what[rng.random_range(0..what.len())])
        }
        Kind::Corrective => {
            let what = [
                "noisy bearing",
                "leak at flange",
                "sensor fault",
                "belt slipping",
                "guard damaged",
                "2\" valve passing, replace",
            ];
            format!("{n}: {}", what[rng.random_range(0..what.len())])
        }
        Kind::PlannedCorrective => {
            let what = [
                "Replace worn seals on",
                "Realign drive of",
                "Rebuild gearbox of",
                "Replace bearings, coupling on",
            ];
            format!("{} {n}", what[rng.random_range(0..what.len())])
        }
        Kind::Project => format!(
            "Upgrade: {} {n}",
            ["retrofit VFD on", "install guarding on", "relocate"][rng.random_range(0..3)]
        ),
        Kind::Other => format!(
            "{} ({})",
            [
                "Support production trial",
                "Housekeeping, workshop",
                "Tool calibration"
            ][rng.random_range(0..3)],
            a.kind
        ),
    }
}

/// Replaces the store's demo orders with the demo plant of `p` in one transaction, then writes
/// today's snapshots. Returns how many orders were written.
pub fn load_into(
    store: &mut crate::store::Store,
    config: &crate::config::Config,
    p: DemoParams,
) -> Result<u64, crate::metrics::MetricsError> {
    use crate::store::{RunCounts, RunKind, RunMeta};
    let meta = RunMeta {
        kind: RunKind::Demo,
        source: DEMO_SOURCE.into(),
        file: None,
        profile: None,
        started_at: Utc::now(),
    };
    let mut tx = store.begin_import(&meta, true)?;
    let mut counts = RunCounts::default();
    let (seed, until, now, days) = (p.seed, p.until, p.now, p.days);
    for o in orders(p) {
        tx.upsert(o)?;
        counts.read += 1;
        counts.upserted += 1;
    }
    tx.commit(counts)?;
    history_into(store, config, seed, until, now, days)?;
    let engine = crate::metrics::Engine::load(store, config)?;
    engine.write_snapshots(store)?;
    if i64::from(days) > 120 {
        demo_a3s(store, config, &engine, now)?;
        demo_hoshin(store, config, &engine, now)?;
    }
    Ok(counts.upserted)
}

/// Days of huddle and safety history the demo plant brings (at most its days of orders).
pub const HISTORY_DAYS: i64 = 100;

/// What the daily management system of the demo plant left behind: the crews' morning huddles on
/// most working days (the areas' weekly), a safety cross marked on the days of a huddle (mostly
/// safe; near misses, a few first-aid cases, one lost-time case), and a handful of actions, some
/// done, one overdue, one escalated. Written once: a store that already has huddles or marks
/// keeps its own records. Deterministic per seed.
pub fn history_into(
    store: &mut crate::store::Store,
    config: &crate::config::Config,
    seed: u64,
    until: NaiveDate,
    now: DateTime<Utc>,
    days: u32,
) -> Result<(), crate::store::StoreError> {
    use crate::safety::{DayMark, Mark};
    if !store.huddles(None, 1)?.is_empty() {
        return Ok(());
    }
    let tz = config.plant.tz;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5afe_c055);
    let at = |day: NaiveDate, h: u32, m: u32| {
        local_to_utc(tz, day.and_hms_opt(h, m, 0).expect("a time of day"))
    };
    let near_misses = [
        "oil on the floor by line 2, cleaned and marked",
        "guard left open on the conveyor after a PM",
        "forklift passed close to the workshop door",
        "ladder with a cracked rung found in the store",
        "hot surface on the steam valve without a sign",
    ];
    let cases = [
        "cut on a finger changing a blade, plaster from the first-aid box",
        "splash of cleaning agent on the forearm, rinsed",
        "bruised hand when a spanner slipped",
    ];
    let areas: Vec<String> = {
        let mut a: Vec<String> = config.crews.iter().filter_map(|c| c.area.clone()).collect();
        a.sort();
        a.dedup();
        a
    };
    let today = until;
    let leaders = DemoLeaders::of(config);
    let mut visits = ChaCha8Rng::seed_from_u64(seed ^ 0x9e3b_a10c);
    for back in (0..HISTORY_DAYS.min(i64::from(days))).rev() {
        let day = today - Duration::days(back);
        if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            continue;
        }
        for (ci, crew) in config.crews.iter().enumerate() {
            let board = format!("crew:{}", crew.name);
            // Today's huddle has not been held yet: the demo starts before it.
            if back == 0 || rng.random_bool(0.1) {
                continue;
            }
            let start = at(day, 7, rng.random_range(0..6));
            if start > now {
                continue;
            }
            let minutes = rng.random_range(7..14);
            let id = store.start_huddle(&board, start)?;
            let mut present: Vec<&str> = crew
                .members
                .iter()
                .filter(|_| rng.random_bool(0.85))
                .map(String::as_str)
                .collect();
            // The area's supervisor joins on the days of their board review of this crew.
            if let Some((name, days)) = leaders.review_of(&crew.name)
                && days.contains(&day.weekday())
                && visits.random_bool(0.8)
            {
                present.push(name);
            }
            store.end_huddle(
                id,
                start + Duration::minutes(minutes),
                &present.join(", "),
                "safety,problems,pull,actions",
            )?;
            let roll: f64 = rng.random();
            let (mark, note) = if back == 23.min(i64::from(days) - 1) && ci == 0 {
                (
                    Mark::LostTime,
                    "strained back lifting a gearbox without the hoist; off two days".to_string(),
                )
            } else if roll < 0.015 {
                (
                    Mark::FirstAid,
                    cases[rng.random_range(0..cases.len())].to_string(),
                )
            } else if roll < 0.07 {
                (
                    Mark::NearMiss,
                    near_misses[rng.random_range(0..near_misses.len())].to_string(),
                )
            } else {
                (Mark::Safe, String::new())
            };
            store.put_safety_mark(&DayMark {
                board,
                day,
                mark,
                note,
                who: present.first().unwrap_or(&"team leader").to_string(),
                at: start + Duration::minutes(2),
            })?;
        }
        if day.weekday() == Weekday::Mon && back > 0 {
            for area in &areas {
                let start = at(day, 9, 30);
                let id = store.start_huddle(&format!("area:{area}"), start)?;
                let supervisor = leaders.supervisor(area).unwrap_or("area supervisor");
                let attendees = if visits.random_bool(0.9) {
                    format!("{supervisor}, team leaders")
                } else {
                    "team leaders".to_string()
                };
                store.end_huddle(
                    id,
                    start + Duration::minutes(rng.random_range(12..20)),
                    &attendees,
                    "safety,problems,pull,actions",
                )?;
            }
        }
    }
    demo_actions(store, config, today, now)?;
    demo_standard_work(store, config, &leaders, seed, today, now, days)
}

/// The demo plant's leaders: a maintenance manager for the plant, a supervisor per area (who
/// reviews each crew board of the area on set weekdays, at its huddle), and each crew's first
/// member as its team leader.
struct DemoLeaders {
    manager: &'static str,
    /// (area, supervisor).
    supervisors: Vec<(String, &'static str)>,
    /// (crew, supervisor, weekdays of the review).
    reviews: Vec<(String, &'static str, Vec<Weekday>)>,
}

const SUPERVISORS: [&str; 6] = [
    "V. Marsh",
    "W. Ito",
    "Y. Becker",
    "Z. Andersen",
    "X. Obi",
    "Q. Laurent",
];

impl DemoLeaders {
    fn of(config: &crate::config::Config) -> DemoLeaders {
        let mut areas: Vec<String> = config.crews.iter().filter_map(|c| c.area.clone()).collect();
        areas.sort();
        areas.dedup();
        let supervisors: Vec<(String, &'static str)> = areas
            .into_iter()
            .enumerate()
            .map(|(i, a)| (a, SUPERVISORS[i % SUPERVISORS.len()]))
            .collect();
        let mut reviews = Vec::new();
        for (area, sup) in &supervisors {
            let crews: Vec<&crate::config::Crew> = config
                .crews
                .iter()
                .filter(|c| c.area.as_ref() == Some(area))
                .collect();
            for (i, c) in crews.iter().enumerate() {
                use Weekday::{Fri, Mon, Thu, Tue, Wed};
                let days = match (crews.len(), i % 2) {
                    (1, _) => vec![Mon, Tue, Wed, Thu, Fri],
                    (_, 0) => vec![Mon, Wed, Fri],
                    _ => vec![Tue, Thu],
                };
                reviews.push((c.name.clone(), *sup, days));
            }
        }
        DemoLeaders {
            manager: "R. Brennan",
            supervisors,
            reviews,
        }
    }

    fn supervisor(&self, area: &str) -> Option<&'static str> {
        self.supervisors
            .iter()
            .find(|(a, _)| a == area)
            .map(|(_, s)| *s)
    }

    fn review_of(&self, crew: &str) -> Option<(&'static str, &[Weekday])> {
        self.reviews
            .iter()
            .find(|(c, _, _)| c == crew)
            .map(|(_, s, d)| (*s, d.as_slice()))
    }
}

/// The cadence of weekdays at a time, as crontab.
fn weekday_cron(minute: u32, hour: u32, days: &[Weekday]) -> String {
    let names: Vec<&str> = days
        .iter()
        .map(|d| match d {
            Weekday::Mon => "Mon",
            Weekday::Tue => "Tue",
            Weekday::Wed => "Wed",
            Weekday::Thu => "Thu",
            Weekday::Fri => "Fri",
            Weekday::Sat => "Sat",
            Weekday::Sun => "Sun",
        })
        .collect();
    format!("{minute} {hour} * * {}", names.join(","))
}

/// The leaders of the demo plant and their standard work, set up at the start of the history,
/// with their routines done over it: mostly on time, some late, some missed (a board review is
/// done by attending the huddle, which the huddles above record). Written once: a store that
/// has leaders keeps its own. Deterministic per seed.
fn demo_standard_work(
    store: &mut crate::store::Store,
    config: &crate::config::Config,
    leaders: &DemoLeaders,
    seed: u64,
    today: NaiveDate,
    now: DateTime<Utc>,
    days: u32,
) -> Result<(), crate::store::StoreError> {
    use crate::lsw::{ItemAnswer, LeaderDraft, LswError, RoutineDraft, Standard};
    if !store.leaders()?.is_empty() {
        return Ok(());
    }
    let tz = config.plant.tz;
    let back = HISTORY_DAYS.min(i64::from(days));
    let start = local_to_utc(
        tz,
        (today - Duration::days(back))
            .and_hms_opt(6, 0, 0)
            .expect("06:00"),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x15d_3a11);
    let mut lsw = Standard {
        store,
        cfg: config,
        who: "demo plant",
        now: start.min(now),
    };
    let result = (|| -> Result<(), LswError> {
        let leader = |lsw: &mut Standard<'_>, name: &str, role: &str, board: String| {
            lsw.save_leader(
                None,
                &LeaderDraft {
                    name: name.into(),
                    role: role.into(),
                    board,
                    login: String::new(),
                    active: true,
                },
            )
        };
        let routine = |lsw: &mut Standard<'_>,
                       leader: i64,
                       title: &str,
                       kind: &str,
                       board: &str,
                       cadence: &str,
                       window: (u32, u32),
                       items: &[&str]| {
            lsw.save_routine(
                None,
                &RoutineDraft {
                    leader: leader.to_string(),
                    title: title.into(),
                    kind: kind.into(),
                    board: board.into(),
                    cadence: cadence.into(),
                    window_hours: window.0.to_string(),
                    grace_hours: window.1.to_string(),
                    items: items.join("\n"),
                    active: true,
                    route: String::new(),
                },
            )
        };
        let mut ticked = Vec::new();
        let mut walked: Vec<(i64, &str)> = Vec::new();
        let m = leader(
            &mut lsw,
            leaders.manager,
            "Maintenance manager",
            "plant".into(),
        )?;
        ticked.push(routine(
            &mut lsw,
            m,
            "Weekly tier-3 review of the plant board",
            "checklist",
            "plant",
            "30 10 * * Mon",
            (4, 24),
            &[
                "Backlog within 2 to 4 crew-weeks in every area",
                "Escalated actions answered or handed back",
                "Reactive work trend checked against the target",
                "Bad actors of the week named",
            ],
        )?);
        ticked.push(routine(
            &mut lsw,
            m,
            "Monthly standard-work audit",
            "audit",
            "plant",
            "0 8 1 * *",
            (72, 96),
            &[
                "Supervisors' board reviews done on time",
                "Crew huddles held every working day",
                "Every action on the boards has an owner and a due date",
                "Safety crosses marked every working day",
            ],
        )?);
        for (area, sup) in &leaders.supervisors {
            let board = format!("area:{area}");
            let s = leader(&mut lsw, sup, "Maintenance supervisor", board.clone())?;
            for (crew, _, wd) in leaders.reviews.iter().filter(|r| r.1 == *sup) {
                routine(
                    &mut lsw,
                    s,
                    &format!("Tier-1 board review: {crew}"),
                    "board_review",
                    &format!("crew:{crew}"),
                    &weekday_cron(0, 7, wd),
                    (2, 6),
                    &[],
                )?;
            }
            routine(
                &mut lsw,
                s,
                "Weekly tier-2 area review",
                "board_review",
                &board,
                "30 9 * * Mon",
                (2, 24),
                &[],
            )?;
            // The supervisor's gemba walk: the area's crews where their work is, then the
            // workshop, on Tuesday and Thursday.
            let mut stops: Vec<crate::walks::StopDraft> = config
                .crews
                .iter()
                .filter(|c| c.area.as_deref() == Some(area.as_str()))
                .map(|c| crate::walks::StopDraft {
                    board: format!("crew:{}", c.name),
                    asset: String::new(),
                    label: format!("{}: the work at hand, its standard and its board", c.name),
                })
                .collect();
            stops.push(crate::walks::StopDraft {
                board: board.clone(),
                asset: String::new(),
                label: "Workshop and spares store".into(),
            });
            let route = crate::walks::Walker {
                store: &mut *lsw.store,
                cfg: config,
                who: "demo plant",
                now: lsw.now,
            }
            .save_route(
                None,
                &crate::walks::RouteDraft {
                    title: format!("{area} floor walk"),
                    leader: s.to_string(),
                    stops,
                    questions: String::new(),
                    active: true,
                },
            )
            .map_err(|e| match e {
                crate::walks::WalkError::Store(e) => LswError::Store(e),
                other => LswError::Items(other.to_string()),
            })?;
            lsw.save_routine(
                None,
                &RoutineDraft {
                    leader: s.to_string(),
                    title: format!("Gemba walk: {area} floor"),
                    kind: "gemba_walk".into(),
                    board: board.clone(),
                    cadence: "0 10 * * Tue,Thu".into(),
                    window_hours: "4".into(),
                    grace_hours: "24".into(),
                    items: String::new(),
                    active: true,
                    route: route.to_string(),
                },
            )?;
            walked.push((route, *sup));
            ticked.push(routine(
                &mut lsw,
                s,
                "Workshop and stores standard check",
                "checklist",
                &board,
                "0 13 * * Fri",
                (4, 68),
                &[
                    "Shadow board complete, tools back",
                    "Critical spares at their minimum",
                    "Open permits closed out",
                ],
            )?);
        }
        for crew in &config.crews {
            let Some(name) = crew.members.first() else {
                continue;
            };
            let board = format!("crew:{}", crew.name);
            let t = leader(&mut lsw, name, "Team leader", board.clone())?;
            ticked.push(routine(
                &mut lsw,
                t,
                "Prepare the huddle board",
                "checklist",
                &board,
                "45 6 * * Mon-Fri",
                (1, 2),
                &[
                    "Yesterday marked on the safety cross",
                    "New breakdowns read",
                    "Today's pull agreed with the planner",
                ],
            )?);
        }
        // Each routine's history: done on time mostly, late sometimes, now and then missed,
        // recorded by its owner.
        let routines = lsw.store.routines()?;
        let people = lsw.store.leaders()?;
        for id in ticked {
            let Some(r) = routines.iter().find(|r| r.id == id) else {
                continue;
            };
            let owner = people
                .iter()
                .find(|l| l.id == r.leader_id)
                .map_or("demo plant", |l| l.name.as_str());
            let cadence = crate::lsw::Cadence::parse(&r.cadence)?;
            for due in cadence.due_times(tz, start, now) {
                let roll: f64 = rng.random();
                let after_minutes = if roll < 0.80 {
                    rng.random_range(-10..i64::from(r.window_hours) * 60)
                } else if roll < 0.90 {
                    i64::from(r.window_hours) * 60
                        + rng.random_range(5..i64::from(r.grace_hours.max(1)) * 60)
                } else {
                    continue;
                };
                let at = due + Duration::minutes(after_minutes);
                if at > now {
                    continue;
                }
                let answers: Vec<ItemAnswer> = r
                    .items
                    .iter()
                    .map(|_| {
                        let ok = rng.random_bool(0.9);
                        ItemAnswer {
                            ok,
                            note: if ok {
                                String::new()
                            } else {
                                "not yet: followed up with the team".into()
                            },
                            raise: false,
                        }
                    })
                    .collect();
                Standard {
                    store: &mut *lsw.store,
                    cfg: config,
                    who: owner,
                    now: at,
                }
                .complete(id, &answers, "")?;
            }
        }
        for (route, sup) in walked {
            demo_walks(&mut *lsw.store, config, route, sup, start, now, &mut rng).map_err(|e| {
                match e {
                    crate::walks::WalkError::Store(e) => LswError::Store(e),
                    other => LswError::Items(other.to_string()),
                }
            })?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(()),
        Err(LswError::Store(e)) => Err(e),
        // The shipped plan is valid for every config with crews.
        Err(e) => {
            tracing::warn!("demo standard work: {e}");
            Ok(())
        }
    }
}

/// A few actions of the last weeks on the crews' boards: done, open, one overdue, one escalated.
fn demo_actions(
    store: &mut crate::store::Store,
    config: &crate::config::Config,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), crate::store::StoreError> {
    use crate::actions::{ActionError, Actions, Draft};
    let tz = config.plant.tz;
    let plan = [
        (
            "Order spare mechanical seals for the CIP pumps",
            -20,
            7,
            "done",
        ),
        ("Label the isolation points on filler 3", -12, 5, "done"),
        (
            "Agree a PM window with production for the boiler feed pump",
            -9,
            3,
            "overdue",
        ),
        (
            "Replace the worn hoist chain in the workshop",
            -6,
            10,
            "escalated",
        ),
        (
            "Check the compressor room ventilation after the near miss",
            -2,
            5,
            "open",
        ),
    ];
    for (ci, crew) in config.crews.iter().enumerate().take(3) {
        for (i, (title, created, due_in, fate)) in plan.iter().enumerate() {
            if (i + ci) % 2 == 1 && *fate != "escalated" {
                continue;
            }
            let created = today + Duration::days(*created);
            let when = local_to_utc(tz, created.and_hms_opt(7, 8, 0).expect("07:08"));
            if when > now {
                continue;
            }
            let owner = crew.members.get(i % crew.members.len().max(1)).cloned();
            let mut a = Actions {
                store,
                cfg: config,
                who: "demo plant",
                now: when,
            };
            let result = (|| -> Result<(), ActionError> {
                let id = a.create(
                    &format!("crew:{}", crew.name),
                    &Draft {
                        title: title.to_string(),
                        owner: owner.unwrap_or_else(|| "team leader".into()),
                        due: (created + Duration::days(*due_in)).to_string(),
                        orders: String::new(),
                    },
                )?;
                a.now = when + Duration::days(2);
                match *fate {
                    "done" => a.resolve(id, "done and checked at the huddle")?,
                    "escalated" => {
                        a.escalate(
                            id,
                            "needs a budget and a supplier the crew cannot order from",
                        )?;
                    }
                    _ => {}
                }
                Ok(())
            })();
            match result {
                Ok(()) => {}
                Err(ActionError::Store(e)) => return Err(e),
                // The shipped plan is valid for every config with crews.
                Err(e) => tracing::warn!("demo action `{title}`: {e}"),
            }
        }
    }
    Ok(())
}

/// The header of the `generic` CSV profile, in the order `write_csv` writes.
pub const GENERIC_HEADER: [&str; 24] = [
    "id",
    "title",
    "kind",
    "status",
    "priority",
    "site",
    "area",
    "crew",
    "assignee",
    "asset_id",
    "asset_name",
    "asset_criticality",
    "created_at",
    "due_at",
    "scheduled_start",
    "started_at",
    "completed_at",
    "updated_at",
    "estimated_hours",
    "actual_hours",
    "downtime_hours",
    "pm_interval_days",
    "cost",
    "failure_code",
];

/// Writes orders as a `generic` CSV, streaming. Due dates that are the end of a plant day are
/// written as that bare date; other instants as ISO 8601 UTC.
pub fn write_csv<W: std::io::Write>(
    out: W,
    orders: impl Iterator<Item = WorkOrder>,
    tz: Tz,
) -> Result<u64, csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(GENERIC_HEADER)?;
    let ts = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    };
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut n = 0;
    for o in orders {
        let due = o
            .due_at
            .map(|d| {
                let local = d.with_timezone(&tz);
                if local.time() == NaiveTime::MIN {
                    (local.date_naive() - Duration::days(1)).to_string()
                } else {
                    ts(Some(d))
                }
            })
            .unwrap_or_default();
        w.write_record([
            o.id.as_str(),
            &o.title,
            o.kind.as_str(),
            o.status.as_str(),
            &o.priority.to_string(),
            o.site.as_deref().unwrap_or(""),
            o.area.as_deref().unwrap_or(""),
            o.crew.as_deref().unwrap_or(""),
            o.assignee.as_deref().unwrap_or(""),
            o.asset_id.as_deref().unwrap_or(""),
            o.asset_name.as_deref().unwrap_or(""),
            &o.asset_criticality
                .map(|c| c.to_string())
                .unwrap_or_default(),
            &ts(Some(o.created_at)),
            &due,
            &ts(o.scheduled_start),
            &ts(o.started_at),
            &ts(o.completed_at),
            &ts(o.updated_at),
            &num(o.estimated_hours),
            &num(o.actual_hours),
            &num(o.downtime_hours),
            &o.pm_interval_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            &num(o.cost),
            o.failure_code.as_deref().unwrap_or(""),
        ])?;
        n += 1;
    }
    w.flush()?;
    Ok(n)
}

/// A supervisor's Tuesday and Thursday walks of a route from `start` to `now`: most done
/// within the morning, a stop now and then skipped, a few observations per walk, some raised as
/// actions on the stop's board (those older than two weeks mostly done since).
fn demo_walks(
    store: &mut crate::store::Store,
    config: &crate::config::Config,
    route: i64,
    leader: &str,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    rng: &mut ChaCha8Rng,
) -> Result<(), crate::walks::WalkError> {
    use crate::walks::{ObservationDraft, Walker};
    let seen = [
        "Changeover board not updated since Monday",
        "Oil drip under the gearbox, tray placed",
        "Guard bolt missing on the outfeed conveyor",
        "5S good: tools back on the shadow board",
        "Spare belt stock at zero, reorder not raised",
        "PM sheet done but not signed off",
        "Operators asked for a faster way to report small stops",
    ];
    let skips = [
        "line stopped for a changeover",
        "area closed for cleaning",
        "called away to a breakdown",
    ];
    let cadence = crate::lsw::Cadence::parse("0 10 * * Tue,Thu").map_err(|e| {
        crate::walks::WalkError::Bad {
            field: "cadence".into(),
            message: e.to_string(),
        }
    })?;
    let stops = store
        .routes()?
        .into_iter()
        .find(|r| r.id == route)
        .map_or(0, |r| r.stops.len());
    for due in cadence.due_times(config.plant.tz, start, now) {
        if !rng.random_bool(0.8) {
            continue;
        }
        let late = rng.random_bool(0.1);
        let t0 = due
            + Duration::minutes(if late {
                rng.random_range(300..1500)
            } else {
                rng.random_range(0..90)
            });
        if t0 + Duration::minutes(60) > now {
            continue;
        }
        let mut w = Walker {
            store: &mut *store,
            cfg: config,
            who: leader,
            now: t0,
        };
        let id = w.start(route)?;
        for n in 0..stops {
            w.now = t0 + Duration::minutes(12 * (n as i64 + 1));
            if rng.random_bool(0.1) {
                w.skip(id, n, skips[rng.random_range(0..skips.len())])?;
                continue;
            }
            let observations: Vec<ObservationDraft> = (0..rng.random_range(0..3))
                .map(|_| ObservationDraft {
                    text: seen[rng.random_range(0..seen.len())].into(),
                    raise: rng.random_bool(0.2),
                    owner: String::new(),
                    due: String::new(),
                })
                .collect();
            let answers = vec![
                if rng.random_bool(0.8) {
                    "Yes"
                } else {
                    "Mostly: see the observations"
                }
                .to_string(),
                "Nothing new since the last visit".to_string(),
            ];
            w.visit(id, n, &answers, &observations)?;
        }
        w.now = t0 + Duration::minutes(12 * (stops as i64 + 1));
        w.end(id)?;
        // What the walk raised, done since when it is old enough.
        let walk = w.store.walk(id)?;
        for a in walk
            .iter()
            .flat_map(|w| w.stops.iter())
            .flat_map(|s| s.observations.iter())
            .filter_map(|o| o.action)
        {
            let done_at = t0 + Duration::days(rng.random_range(3..12));
            if done_at < now - Duration::days(2) && rng.random_bool(0.85) {
                crate::actions::Actions {
                    store: &mut *w.store,
                    cfg: config,
                    who: leader,
                    now: done_at,
                }
                .resolve(a, "done, checked on the next walk")?;
            }
        }
    }
    Ok(())
}

/// Three A3s of the demo plant: one on the worst bad actor whose countermeasures worked (its
/// follow-up met), one on the next in Do, and one started from an action, in Plan. Written once.
fn demo_a3s(
    store: &mut crate::store::Store,
    config: &crate::config::Config,
    engine: &crate::metrics::Engine,
    now: DateTime<Utc>,
) -> Result<(), crate::metrics::MetricsError> {
    use crate::a3::{A3Error, A3s, Edit, Origin, Sections, Start, Subject, TargetDraft};
    use crate::actions::{Actions, Draft};
    if !store.a3s()?.is_empty() {
        return Ok(());
    }
    let tz = config.plant.tz;
    let today = now.with_timezone(&tz).date_naive();
    let at = |back: i64, h: u32| {
        local_to_utc(
            tz,
            (today - Duration::days(back))
                .and_hms_opt(h, 0, 0)
                .expect("a time of day"),
        )
    };
    let known = |a: &str| {
        engine
            .assets(&crate::metrics::Scope::plant(), None, Some(1), Some(a))
            .is_ok_and(|r| !r.assets.assets.is_empty())
    };
    let leaders = DemoLeaders::of(config);
    let owner = |area: &str| {
        leaders
            .supervisor(area)
            .unwrap_or("area supervisor")
            .to_string()
    };
    let area_of = |asset: &str| match &asset[..3] {
        "PAC" => "Packaging",
        "PRO" => "Processing",
        _ => "Utilities",
    };
    let board_of = |area: &str| {
        if config.crews.iter().any(|c| c.area.as_deref() == Some(area)) {
            format!("area:{area}")
        } else {
            "plant".to_string()
        }
    };
    let result = (|| -> Result<(), A3Error> {
        // 1. The worst bad actor: the seal of its filler valves, fixed 70 days ago; met.
        let (asset, _) = BAD_ACTORS[0];
        if known(asset) {
            let area = area_of(asset);
            let who = owner(area);
            let started = FIXED_DAYS_AGO + 40;
            let current = engine
                .current_condition(Subject::Asset(asset), Some(today - Duration::days(started)))
                .ok();
            // The target: a quarter of the breakdowns it had when the A3 started.
            let target = current
                .as_ref()
                .and_then(|c| c.figures.iter().find(|f| f.key == "reactive_count"))
                .and_then(|f| f.value)
                .map_or(2.0, |v| (v / 4.0).round().max(2.0))
                .to_string();
            let mut w = A3s {
                store: &mut *store,
                cfg: config,
                who: &who,
                now: at(started, 10),
            };
            let id = w.start(
                &Start {
                    board: board_of(area),
                    title: format!("Filler 2 ({asset}) stops several times a week"),
                    owner: who.clone(),
                    coach: "plant manager".into(),
                    background: "Filler 2 is the bottleneck of line 2. Its breakdowns top the plant's bad-actor chart by reactive hours, and every stop costs a batch changeover.".into(),
                    origin: Origin::Asset { asset: asset.into() },
                    asset: Some(asset.into()),
                },
                current,
            )?;
            let edit = |stage: &str, act: &str| {
                Edit {
                title: format!("Filler 2 ({asset}) stops several times a week"),
                owner: who.clone(),
                coach: "plant manager".into(),
                stage: stage.into(),
                sections: Sections {
                    background: "Filler 2 is the bottleneck of line 2. Its breakdowns top the plant's bad-actor chart by reactive hours, and every stop costs a batch changeover.".into(),
                    problem: "Filler 2 broke down several times a week over the last months, mostly on worn carousel bearings (code BRG-WEAR), against one or two a month for the other fillers.".into(),
                    whys: vec![
                        "The carousel jams and the filler stops.".into(),
                        "Its bearings wear out in weeks instead of years.".into(),
                        "They run dry: the automatic lubricator's lines are blocked.".into(),
                        "Nobody checks the lubricator: it is on no PM.".into(),
                        "The filler's lube points were never entered in the CMMS when it was commissioned.".into(),
                    ],
                    causes: [
                        ("material".to_string(), "grease hardens in the lines in the cold store draught".to_string()),
                        ("method".to_string(), "lubrication points missing from the PM plan".to_string()),
                        ("machine".to_string(), "lubricator lines routed past the carousel guard, kinked".to_string()),
                    ]
                    .into(),
                    root_cause: "Filler 2's lubrication points were never put into the PM plan, so the blocked lubricator went unnoticed and the bearings ran dry.".into(),
                    plan: "Clean and reroute the lubricator lines and replace the carousel bearings in two weekend shutdowns; enter the 14 lube points in the weekly PM route; re-measure breakdowns over the 28 days after.".into(),
                    act: act.into(),
                },
                target: Some(TargetDraft {
                    metric: "reactive_count".into(),
                    asset: asset.into(),
                    scope: "plant".into(),
                    op: "at_most".into(),
                    value: target.clone(),
                    by: (today - Duration::days(20)).to_string(),
                    window_days: "28".into(),
                }),
                in_place_on: String::new(),
            }
            };
            w.now = at(started - 2, 15);
            w.edit(id, &edit("plan", ""), &known)?;
            let cm = [
                (
                    "Reroute the lubricator lines and replace the carousel bearings (weekend 1)",
                    FIXED_DAYS_AGO + 2,
                ),
                (
                    "Enter filler 2's 14 lube points in the weekly PM route (weekend 2)",
                    FIXED_DAYS_AGO,
                ),
            ];
            for (title, done_back) in cm {
                w.now = at(started - 6, 11);
                let action = w.add_countermeasure(
                    id,
                    &Draft {
                        title: title.into(),
                        owner: who.clone(),
                        due: (today - Duration::days(done_back)).to_string(),
                        orders: String::new(),
                    },
                )?;
                Actions {
                    store: &mut *w.store,
                    cfg: config,
                    who: &who,
                    now: at(done_back, 16),
                }
                .resolve(action, "done in the shutdown")?;
            }
            w.now = at(FIXED_DAYS_AGO - 30, 9);
            w.edit(id, &edit("act", "Met: breakdowns of filler 2 fell to the fleet's rate. Commissioning now has a step that enters lube points in the CMMS; fillers 1, 3 and 4 were checked the same way."), &known)?;
        }
        // 2. The next bad actor: a pump, countermeasures under way.
        let (asset, _) = BAD_ACTORS[1];
        if known(asset) {
            let area = area_of(asset);
            let who = owner(area);
            let current = engine
                .current_condition(Subject::Asset(asset), Some(today - Duration::days(18)))
                .ok();
            let mut w = A3s {
                store: &mut *store,
                cfg: config,
                who: &who,
                now: at(18, 9),
            };
            let id = w.start(
                &Start {
                    board: board_of(area),
                    title: format!("CIP pump 7 ({asset}) bearing failures"),
                    owner: who.clone(),
                    coach: "reliability engineer".into(),
                    background: "Second on the bad-actor chart: the CIP supply pump fails on bearings every few weeks.".into(),
                    origin: Origin::Asset { asset: asset.into() },
                    asset: Some(asset.into()),
                },
                current,
            )?;
            w.now = at(16, 14);
            w.edit(
                id,
                &Edit {
                    title: format!("CIP pump 7 ({asset}) bearing failures"),
                    owner: who.clone(),
                    coach: "reliability engineer".into(),
                    stage: "plan".into(),
                    sections: Sections {
                        background: "Second on the bad-actor chart: the CIP supply pump fails on bearings every few weeks.".into(),
                        problem: "Bearing failures on pump 7 every 2 to 3 weeks; MTBF well under the fleet's.".into(),
                        whys: vec!["The bearings run hot.".into(), "The pump and motor are out of line after every seal change.".into()],
                        root_cause: "No laser alignment after seal changes.".into(),
                        plan: "Laser-align after every seal change; vibration route weekly for 8 weeks.".into(),
                        ..Sections::default()
                    },
                    target: Some(TargetDraft {
                        metric: "mtbf_hours".into(),
                        asset: asset.into(),
                        scope: "plant".into(),
                        op: "at_least".into(),
                        value: "300".into(),
                        by: (today + Duration::days(60)).to_string(),
                        window_days: "28".into(),
                    }),
                    in_place_on: String::new(),
                },
                &known,
            )?;
            w.now = at(15, 10);
            let a1 = w.add_countermeasure(
                id,
                &Draft {
                    title: "Laser-align pump 7 and its motor".into(),
                    owner: who.clone(),
                    due: (today - Duration::days(8)).to_string(),
                    orders: String::new(),
                },
            )?;
            w.add_countermeasure(
                id,
                &Draft {
                    title: "Add alignment to the seal change job plan".into(),
                    owner: who.clone(),
                    due: (today + Duration::days(7)).to_string(),
                    orders: String::new(),
                },
            )?;
            Actions {
                store: &mut *w.store,
                cfg: config,
                who: &who,
                now: at(9, 15),
            }
            .resolve(a1, "aligned within 0.05 mm")?;
        }
        // 3. From an action of a crew's board, in Plan.
        let action = first_open_crew_action(store)?;
        if let Some(a) = action {
            let who = "team leader".to_string();
            let mut w = A3s {
                store: &mut *store,
                cfg: config,
                who: &who,
                now: at(3, 8),
            };
            let board = crate::metrics::Scope::from_key(&a.board).unwrap_or_default();
            let current = engine
                .current_condition(Subject::Board(&board), Some(today - Duration::days(3)))
                .ok();
            w.start(
                &Start {
                    board: a.board.clone(),
                    title: a.title.clone(),
                    owner: who.clone(),
                    coach: String::new(),
                    background: format!(
                        "Raised as action #{} at the huddle; it keeps coming back.",
                        a.id
                    ),
                    origin: Origin::Action { action: a.id },
                    asset: None,
                },
                current,
            )?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(()),
        Err(A3Error::Store(e)) => Err(e.into()),
        Err(e) => {
            tracing::warn!("demo A3s: {e}");
            Ok(())
        }
    }
}

/// The demo plant's breakthrough objective: reactive work down to 15 % in a year that began four
/// months ago, deployed to the areas (one agreed, one proposed, one returned with a comment),
/// a gap note on its first red month, and last month's review. Written once.
fn demo_hoshin(
    store: &mut crate::store::Store,
    config: &crate::config::Config,
    engine: &crate::metrics::Engine,
    now: DateTime<Utc>,
) -> Result<(), crate::metrics::MetricsError> {
    use crate::hoshin::{Cell, Draft, Hoshin, HoshinError, ReviewItem, children, judge, month_key};
    if !store.objectives()?.is_empty() {
        return Ok(());
    }
    let tz = config.plant.tz;
    let today = now.with_timezone(&tz).date_naive();
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
        .expect("a month's first day")
        - chrono::Months::new(4);
    let result = (|| -> Result<(), HoshinError> {
        let c = crate::hoshin::check(
            config,
            &Draft {
                title: "Reactive work below 15 % of hours".into(),
                owner: "plant manager".into(),
                board: "plant".into(),
                kpi: "reactive_pct".into(),
                start: month_key(first),
                horizon: month_key(first + chrono::Months::new(11)),
                target: "15".into(),
            },
        )?;
        let at = |back: i64| now - Duration::days(back);
        let baseline_date = c.start - Duration::days(1);
        let value = |board: &str| {
            engine
                .month_end_values(
                    "reactive_pct",
                    &crate::metrics::Scope::from_key(board).unwrap_or_default(),
                    &[baseline_date],
                )
                .ok()
                .and_then(|v| v.into_iter().next().flatten())
        };
        let mut h = Hoshin {
            store: &mut *store,
            cfg: config,
            who: "plant manager",
            now: at(125),
        };
        let id = h.create(&c, value("plant"), baseline_date)?;
        let areas = children(config, "plant");
        let baselines = areas.iter().map(|b| (b.clone(), value(b))).collect();
        h.now = at(118);
        let kids = h.deploy(id, &areas, &baselines)?;
        let leaders = DemoLeaders::of(config);
        let plan = [("14", true), ("16", false), ("17", false)];
        for ((kid, board), (target, agree)) in kids.iter().zip(&areas).zip(plan) {
            let area = board.trim_start_matches("area:");
            let who = leaders
                .supervisor(area)
                .unwrap_or("area supervisor")
                .to_string();
            let mut k = Hoshin {
                store: &mut *h.store,
                cfg: config,
                who: &who,
                now: at(110),
            };
            k.propose(*kid, &who, target, &[])?;
            k.who = "plant manager";
            if agree {
                k.now = at(104);
                k.decide(*kid, true, "agreed at the monthly review", &[], true)?;
            } else if target == "17" {
                k.now = at(104);
                k.decide(*kid, false, "17 % leaves the plant short of 15 %: show what the chiller replacement brings, then propose again", &[], true)?;
            }
        }
        // The first red month of the objective or a deployed one gets its gap note.
        let band = crate::hoshin::band(config, "reactive_pct");
        let a3 = h.store.a3s()?.first().map(|a| a.id);
        for oid in std::iter::once(id).chain(kids.iter().copied()) {
            let o = h
                .store
                .objective(oid)?
                .ok_or(HoshinError::NoSuchObjective(oid))?;
            let ended: Vec<NaiveDate> = crate::hoshin::months(o.body.start, o.body.horizon)
                .into_iter()
                .filter(|m| *m < today)
                .collect();
            let scope = crate::metrics::Scope::from_key(&o.board).unwrap_or_default();
            let actual = engine
                .month_end_values("reactive_pct", &scope, &ended)
                .unwrap_or_default();
            let red = ended.iter().zip(&actual).find(|(m, a)| {
                o.planned(**m)
                    .is_some_and(|p| judge("reactive_pct", band, **m, p, **a, today) == Cell::Red)
            });
            if let Some((m, _)) = red {
                h.now = (crate::metrics::end_of_day(tz, *m) + Duration::days(3)).min(now);
                h.gap(
                    oid,
                    &month_key(*m),
                    "a burst of breakdowns on the area's bad actors ate the planned hours",
                    "A3s on the worst bad actors; their PMs brought forward and checked at the weekly review",
                    None,
                    a3,
                )?;
                break;
            }
        }
        let last_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
            .expect("a month's first day")
            - Duration::days(1);
        h.now = now.min(crate::metrics::end_of_day(tz, last_month) + Duration::days(2));
        h.review(&crate::store::ReviewWrite {
            board: "plant".into(),
            month: month_key(last_month),
            held_on: (last_month + Duration::days(2)).min(today),
            attendees: "plant manager, area supervisors, reliability engineer".into(),
            items: [(id, ReviewItem { status: "at risk".into(), note: "Packaging on plan; Processing waits for the pump's countermeasures; Utilities to propose again".into() })].into(),
        })?;
        Ok(())
    })();
    match result {
        Ok(()) => Ok(()),
        Err(HoshinError::Store(e)) => Err(e.into()),
        Err(e) => {
            tracing::warn!("demo objective: {e}");
            Ok(())
        }
    }
}

/// The oldest open action of a crew's board, if any.
fn first_open_crew_action(
    store: &mut crate::store::Store,
) -> Result<Option<crate::store::Action>, crate::store::StoreError> {
    Ok(store
        .actions(None, None)?
        .into_iter()
        .filter(|a| a.status != "done" && a.board.starts_with("crew:"))
        .min_by_key(|a| a.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(orders: u64) -> DemoParams {
        let until = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        DemoParams {
            seed: 7,
            days: 365,
            orders,
            until,
            tz: "Europe/Berlin".parse().unwrap(),
            now: until.and_hms_opt(23, 0, 0).unwrap().and_utc(),
        }
    }

    #[test]
    fn deterministic_for_a_seed_and_exact_in_count() {
        let a: Vec<WorkOrder> = orders(params(2000)).collect();
        let b: Vec<WorkOrder> = orders(params(2000)).collect();
        assert_eq!(a.len(), 2000);
        assert_eq!(a, b);
        let c: Vec<WorkOrder> = orders(DemoParams {
            seed: 8,
            ..params(2000)
        })
        .collect();
        assert_ne!(a, c);
    }

    #[test]
    fn looks_like_a_real_plant() {
        let all: Vec<WorkOrder> = orders(params(11_000)).collect();
        let assets: std::collections::HashSet<_> =
            all.iter().filter_map(|o| o.asset_id.as_deref()).collect();
        assert!(assets.len() >= 140, "{} assets", assets.len());
        for s in Status::ALL {
            assert!(all.iter().any(|o| o.status == *s), "no {s} order");
        }
        for k in Kind::ALL {
            assert!(all.iter().any(|o| o.kind == *k), "no {k} order");
        }
        let intervals: std::collections::BTreeSet<_> =
            all.iter().filter_map(|o| o.pm_interval_days).collect();
        assert!([7, 14, 30, 90].iter().all(|d| intervals.contains(d)));
        assert!(all.iter().any(|o| o.estimated_hours.is_none()));
        assert!(all.iter().any(|o| o.due_at.is_none()));
        let open = all
            .iter()
            .filter(|o| !matches!(o.status, Status::Completed | Status::Cancelled))
            .count();
        assert!((100..3000).contains(&open), "{open} open orders");
        assert!(
            all.windows(2)
                .all(|w| w[0].created_at <= w[1].created_at + Duration::days(1))
        );
        for o in &all {
            assert!(o.completed_at.is_none_or(|c| c >= o.created_at), "{o:?}");
            assert!(o.started_at.is_none_or(|s| s >= o.created_at), "{o:?}");
        }
    }
}
