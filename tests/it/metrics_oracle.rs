//! An independent, deliberately naive implementation of docs/metrics.md (loops over orders,
//! no polars, no code shared with the engine), compared with the engine on the demo plant and on
//! arbitrary orders; plus the invariants every scope must keep.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use gemba::config::{Config, PmGrace};
use gemba::demo::{self, DemoParams};
use gemba::metrics::frame::frame_from_orders;
use gemba::metrics::{Engine, Metrics, Scope, TREND_METRICS};
use gemba::model::{Criticality, Kind, Priority, Status, WorkOrder};
use proptest::prelude::*;

const DAY: f64 = 86_400_000.0;

fn local_midnight(tz: Tz, d: NaiveDate) -> DateTime<Utc> {
    tz.from_local_datetime(&d.and_time(NaiveTime::MIN))
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// metrics.md, read literally.
fn oracle(
    orders: &[WorkOrder],
    cfg: &Config,
    as_of: NaiveDate,
    w: i64,
    scope: &Scope,
) -> Vec<(&'static str, Option<f64>)> {
    let tz = cfg.plant.tz;
    let t = local_midnight(tz, as_of + Duration::days(1));
    let ws = t - Duration::days(w);
    let in_scope = |o: &&WorkOrder| {
        scope
            .site
            .as_ref()
            .is_none_or(|s| o.site.as_ref() == Some(s))
            && scope
                .area
                .as_ref()
                .is_none_or(|a| o.area.as_ref() == Some(a))
            && scope
                .crew
                .as_ref()
                .is_none_or(|c| o.crew.as_ref() == Some(c))
    };
    let completion = |o: &WorkOrder| -> Option<DateTime<Utc>> {
        if o.completed_at.is_some() {
            o.completed_at
        } else if o.status == Status::Completed {
            o.updated_at
        } else {
            None
        }
    };
    // Cancelled orders, and completed ones with no date at all, count nowhere.
    let live: Vec<&WorkOrder> = orders
        .iter()
        .filter(in_scope)
        .filter(|o| o.status != Status::Cancelled)
        .filter(|o| !(o.status == Status::Completed && completion(o).is_none()))
        .collect();
    let estimate = |o: &WorkOrder| match o.estimated_hours {
        Some(h) if h > 0.0 => h,
        _ => cfg.defaults.estimate_for(o.kind),
    };
    let effective = |o: &WorkOrder| match o.actual_hours {
        Some(h) if h > 0.0 => h,
        _ => estimate(o),
    };
    let in_window = |x: DateTime<Utc>| x >= ws && x < t;
    let open: Vec<&&WorkOrder> = live
        .iter()
        .filter(|o| o.created_at < t && completion(o).is_none_or(|c| c >= t))
        .collect();
    let done: Vec<&&WorkOrder> = live
        .iter()
        .filter(|o| completion(o).is_some_and(in_window))
        .collect();
    let backlog: f64 = open.iter().map(|o| estimate(o)).sum();
    let capacity: Option<f64> = {
        let crews: Vec<_> = cfg
            .crews
            .iter()
            .filter(|c| scope.crew.as_ref().is_none_or(|n| *n == c.name))
            .filter(|c| {
                scope
                    .site
                    .as_ref()
                    .is_none_or(|s| c.site.as_ref() == Some(s))
            })
            .filter(|c| {
                scope
                    .area
                    .as_ref()
                    .is_none_or(|a| c.area.as_ref() == Some(a))
            })
            .collect();
        if crews.is_empty() {
            None
        } else {
            Some(
                crews
                    .iter()
                    .map(|c| c.technicians * c.hours_per_week - c.indirect_hours_per_week)
                    .sum(),
            )
        }
    };
    let div = |a: f64, b: f64| if b == 0.0 { None } else { Some(a / b) };
    let pct = |a: usize, b: usize| {
        if b == 0 {
            None
        } else {
            Some(a as f64 / b as f64 * 100.0)
        }
    };
    let reactive = |o: &WorkOrder| matches!(o.kind, Kind::Emergency | Kind::Corrective);
    let planned = |o: &WorkOrder| {
        matches!(
            o.kind,
            Kind::PlannedCorrective | Kind::Preventive | Kind::Predictive | Kind::Project
        )
    };
    let r_hours: f64 = done
        .iter()
        .filter(|o| reactive(o))
        .map(|o| effective(o))
        .sum();
    let p_hours: f64 = done
        .iter()
        .filter(|o| planned(o))
        .map(|o| effective(o))
        .sum();
    let cost = |o: &WorkOrder| o.cost.unwrap_or(0.0);
    let r_cost: f64 = done.iter().filter(|o| reactive(o)).map(|o| cost(o)).sum();
    let p_cost: f64 = done.iter().filter(|o| planned(o)).map(|o| cost(o)).sum();
    let r_n = done.iter().filter(|o| reactive(o)).count();
    let p_n = done.iter().filter(|o| planned(o)).count();
    let created = live.iter().filter(|o| in_window(o.created_at)).count();
    let with_due: Vec<_> = done.iter().filter(|o| o.due_at.is_some()).collect();
    let grace = |o: &WorkOrder| match cfg.metrics.pm_grace {
        PmGrace::None => Duration::zero(),
        PmGrace::OneDay => Duration::days(1),
        PmGrace::TwentyPct => o
            .pm_interval_days
            .map(|d| {
                Duration::milliseconds((d as f64 * 0.2 * DAY).round() as i64)
                    .min(Duration::days(28))
            })
            .unwrap_or_default(),
    };
    let pm: Vec<_> = live
        .iter()
        .filter(|o| matches!(o.kind, Kind::Preventive | Kind::Predictive))
        .filter_map(|o| o.due_at.map(|d| (o, d + grace(o))))
        .filter(|(_, deadline)| in_window(*deadline))
        .collect();
    let week_end = |s: DateTime<Utc>| {
        let day = s.with_timezone(&tz).date_naive();
        let monday = day - Duration::days(day.weekday().num_days_from_monday() as i64);
        local_midnight(tz, monday + Duration::days(7))
    };
    let sched: Vec<_> = live
        .iter()
        .filter_map(|o| o.scheduled_start.map(|s| (o, week_end(s))))
        .filter(|(_, deadline)| in_window(*deadline))
        .collect();
    let repairs: Vec<f64> = done
        .iter()
        .filter(|o| reactive(o))
        .filter_map(|o| {
            o.downtime_hours.or_else(|| {
                o.started_at
                    .map(|s| (completion(o).unwrap() - s).num_milliseconds() as f64 / 3_600_000.0)
            })
        })
        .collect();
    let age = |o: &WorkOrder| (t - o.created_at).num_milliseconds() as f64 / DAY;
    let bucket = |lo: f64, hi: f64| {
        open.iter()
            .filter(|o| age(o).floor() >= lo && age(o).floor() <= hi)
            .count() as f64
    };
    vec![
        ("open_count", Some(open.len() as f64)),
        ("backlog_hours", Some(backlog)),
        ("capacity_hours_per_week", capacity),
        ("backlog_weeks", capacity.and_then(|c| div(backlog, c))),
        (
            "overdue_count",
            Some(
                open.iter()
                    .filter(|o| o.due_at.is_some_and(|d| d < t))
                    .count() as f64,
            ),
        ),
        ("age_0_7", Some(bucket(0.0, 7.0))),
        ("age_8_30", Some(bucket(8.0, 30.0))),
        ("age_31_90", Some(bucket(31.0, 90.0))),
        ("age_91", Some(bucket(91.0, f64::INFINITY))),
        (
            "mean_age_days",
            div(open.iter().map(|o| age(o)).sum(), open.len() as f64),
        ),
        ("created_count", Some(created as f64)),
        ("completed_count", Some(done.len() as f64)),
        ("completion_ratio", div(done.len() as f64, created as f64)),
        (
            "on_time_pct",
            pct(
                with_due
                    .iter()
                    .filter(|o| completion(o).unwrap() <= o.due_at.unwrap())
                    .count(),
                with_due.len(),
            ),
        ),
        ("reactive_hours", Some(r_hours)),
        ("planned_hours", Some(p_hours)),
        (
            "reactive_pct",
            div(r_hours, r_hours + p_hours).map(|r| r * 100.0),
        ),
        ("reactive_count_pct", pct(r_n, r_n + p_n)),
        ("reactive_to_planned_ratio", div(r_hours, p_hours)),
        (
            "emergency_pct",
            pct(
                done.iter().filter(|o| o.kind == Kind::Emergency).count(),
                r_n + p_n,
            ),
        ),
        (
            "pm_compliance_pct",
            pct(
                pm.iter()
                    .filter(|(o, dl)| completion(o).is_some_and(|c| c <= *dl))
                    .count(),
                pm.len(),
            ),
        ),
        (
            "schedule_compliance_pct",
            pct(
                sched
                    .iter()
                    .filter(|(o, dl)| completion(o).is_some_and(|c| c < *dl))
                    .count(),
                sched.len(),
            ),
        ),
        (
            "mttr_hours",
            div(repairs.iter().sum(), repairs.len() as f64),
        ),
        ("reactive_cost", Some(r_cost)),
        ("planned_cost", Some(p_cost)),
        (
            "reactive_cost_pct",
            div(r_cost, r_cost + p_cost).map(|r| r * 100.0),
        ),
    ]
}

fn engine_value(m: &Metrics, key: &str) -> Option<f64> {
    match key {
        "age_0_7" => Some(m.age_buckets.d0_7 as f64),
        "age_8_30" => Some(m.age_buckets.d8_30 as f64),
        "age_31_90" => Some(m.age_buckets.d31_90 as f64),
        "age_91" => Some(m.age_buckets.d91 as f64),
        k => m.get(k),
    }
}

fn agree(m: &Metrics, expected: &[(&str, Option<f64>)], what: &str) -> Result<(), String> {
    for (key, want) in expected {
        let got = engine_value(m, key);
        let same = match (got, want) {
            (None, None) => true,
            (Some(a), Some(b)) => (a - b).abs() <= 1e-6 * b.abs().max(1.0),
            _ => false,
        };
        if !same {
            return Err(format!("{what}: {key}: engine {got:?}, oracle {want:?}"));
        }
    }
    Ok(())
}

fn demo_config(grace: &str) -> Config {
    let text = gemba::config::DEFAULT_CONFIG
        .replace("pm_grace = \"none\"", &format!("pm_grace = \"{grace}\""));
    Config::parse(&text, "demo").unwrap()
}

#[test]
fn the_engine_agrees_with_the_oracle_on_the_demo_plant() {
    for grace in ["none", "1d", "20pct"] {
        let cfg = demo_config(grace);
        let until = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        let orders: Vec<WorkOrder> = demo::orders(DemoParams {
            seed: 11,
            days: 365,
            orders: 12_000,
            until,
            tz: cfg.plant.tz,
            now: local_midnight(cfg.plant.tz, until + Duration::days(1)),
        })
        .collect();
        let engine = Engine::from_frame(frame_from_orders(orders.clone(), &cfg).unwrap(), &cfg);
        let scopes = [
            Scope::plant(),
            Scope::crew("Utilities"),
            Scope {
                area: Some("Packaging".into()),
                ..Scope::default()
            },
            Scope {
                site: Some("Riverside".into()),
                crew: Some("Process E&I".into()),
                area: None,
            },
        ];
        for as_of in ["2025-06-01", "2025-12-31", "2026-03-29", "2026-03-31"] {
            let as_of: NaiveDate = as_of.parse().unwrap();
            for w in [7, 28, 90] {
                for scope in &scopes {
                    let m = engine.metrics(Some(as_of), Some(w as u32), scope).unwrap();
                    agree(
                        &m,
                        &oracle(&orders, &cfg, as_of, w, scope),
                        &format!("{grace} {as_of} w={w} {}", scope.key()),
                    )
                    .unwrap();
                }
            }
        }
        // Every scope of the daily snapshot, from the one pass the snapshot uses.
        let as_of: NaiveDate = "2026-03-31".parse().unwrap();
        let all = engine.snapshot_scopes().unwrap();
        assert!(all.len() >= 8, "{all:?}");
        let together = engine.metrics_of_scopes(Some(as_of), None, &all).unwrap();
        for (scope, m) in all.iter().zip(&together) {
            let w = cfg.metrics.window_days as i64;
            agree(m, &oracle(&orders, &cfg, as_of, w, scope), &scope.key()).unwrap();
        }
    }
}

#[test]
fn a_trend_point_equals_the_metrics_of_its_date() {
    let cfg = demo_config("none");
    let until = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    let orders: Vec<WorkOrder> = demo::orders(DemoParams {
        seed: 2,
        days: 200,
        orders: 4000,
        until,
        tz: cfg.plant.tz,
        now: Utc::now(),
    })
    .collect();
    let engine = Engine::from_frame(frame_from_orders(orders, &cfg).unwrap(), &cfg);
    let keys: Vec<String> = TREND_METRICS.iter().map(|s| s.to_string()).collect();
    let from = NaiveDate::from_ymd_opt(2025, 10, 1).unwrap();
    let scope = Scope::crew("Utilities");
    let t = engine
        .trend(&keys, from, until, "1mo".parse().unwrap(), None, &scope)
        .unwrap();
    assert_eq!(t.points.len(), 6);
    trend_matches_points(&engine, &t, None, &scope).unwrap();
    let weekly = engine
        .trend(
            &keys,
            from,
            until,
            "7d".parse().unwrap(),
            Some(14),
            &Scope::plant(),
        )
        .unwrap();
    assert_eq!(weekly.points.len(), 26, "1 Oct 2025 to 25 Mar 2026");
    trend_matches_points(&engine, &weekly, Some(14), &Scope::plant()).unwrap();
}

/// Each point of a trend equals the metrics of its date (computed one date at a time), to 1e-9
/// relative: the trend sums the same contributions in another order.
fn trend_matches_points(
    engine: &Engine,
    t: &gemba::metrics::Trend,
    window: Option<u32>,
    scope: &Scope,
) -> Result<(), String> {
    for p in &t.points {
        let m = engine.metrics(Some(p.as_of), window, scope).unwrap();
        for (k, v) in t.metrics.iter().zip(&p.values) {
            let want = m.get(k);
            let same = match (*v, want) {
                (None, None) => true,
                (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                _ => false,
            };
            if !same {
                return Err(format!(
                    "{} {} {k}: trend {v:?}, point {want:?}",
                    scope.key(),
                    p.as_of
                ));
            }
        }
    }
    Ok(())
}

fn arb_order(i: usize) -> impl Strategy<Value = WorkOrder> {
    let base = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    // Times on a 6-hour grid (Chicago midnight is 06:00 UTC), so ties are common: done exactly at
    // due, created exactly at the window's start or at T.
    let time = move || {
        (0i64..360).prop_map(move |q| DateTime::from_timestamp(base + q * 6 * 3600, 0).unwrap())
    };
    let hours = || proptest::option::of(prop_oneof![Just(0.0), 0.5f64..20.0]);
    (
        (
            prop::sample::select(Kind::ALL.to_vec()),
            prop::sample::select(Status::ALL.to_vec()),
            1i64..=5,
            proptest::option::of(1i64..=10),
        ),
        (
            prop::sample::select(vec!["A", "B", "C"]),
            prop::sample::select(vec!["North", "South"]),
        ),
        (
            time(),
            proptest::option::of(time()),
            proptest::option::of(time()),
            proptest::option::of(time()),
            proptest::option::of(time()),
            proptest::option::of(time()),
        ),
        (
            hours(),
            hours(),
            hours(),
            proptest::option::of(prop_oneof![Just(0.0), 1.0f64..5000.0]),
            proptest::option::of(prop::sample::select(vec![7u32, 30, 90, 365])),
        ),
    )
        .prop_map(
            move |(
                (kind, status, pr, crit),
                (crew, area),
                (created, due, sched, started, completed, updated),
                (est, act, down, cost, interval),
            )| WorkOrder {
                source: "p".into(),
                id: format!("{i}"),
                title: "t".into(),
                kind,
                status,
                priority: Priority::new(pr).unwrap(),
                site: Some("S".into()),
                area: Some(area.into()),
                crew: Some(crew.into()),
                assignee: None,
                asset_id: None,
                asset_name: None,
                asset_criticality: crit.map(|c| Criticality::new(c).unwrap()),
                created_at: created,
                due_at: due,
                scheduled_start: sched,
                started_at: started,
                completed_at: completed,
                updated_at: updated,
                estimated_hours: est,
                actual_hours: act,
                downtime_hours: down,
                pm_interval_days: interval,
                cost,
                failure_code: None,
            },
        )
}

fn arb_orders() -> impl Strategy<Value = Vec<WorkOrder>> {
    (1usize..60).prop_flat_map(|n| (0..n).map(arb_order).collect::<Vec<_>>())
}

fn prop_config() -> Config {
    let text = "[plant]\nname = \"P\"\ntimezone = \"America/Chicago\"\n[metrics]\npm_grace = \"20pct\"\n\
        [[crews]]\nname = \"A\"\nsite = \"S\"\narea = \"North\"\ntechnicians = 3\nhours_per_week = 40\nindirect_hours_per_week = 10\n\
        [[crews]]\nname = \"B\"\nsite = \"S\"\narea = \"South\"\ntechnicians = 2\nhours_per_week = 38\n\
        [[crews]]\nname = \"C\"\nsite = \"S\"\narea = \"South\"\ntechnicians = 0\nhours_per_week = 40\n";
    Config::parse(text, "prop").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn engine_equals_oracle_on_arbitrary_orders(orders in arb_orders(), day in 0i64..100, w in 1i64..60) {
        let cfg = prop_config();
        let engine = Engine::from_frame(frame_from_orders(orders.clone(), &cfg).unwrap(), &cfg);
        let as_of = NaiveDate::from_ymd_opt(2025, 12, 20).unwrap() + Duration::days(day);
        let scopes = [
            Scope::plant(),
            Scope::crew("B"),
            Scope { area: Some("South".into()), ..Scope::default() },
            Scope { site: Some("S".into()), ..Scope::default() },
            Scope { site: Some("S".into()), area: Some("North".into()), crew: Some("A".into()) },
        ];
        // One scope at a time, and all of them from one pass (what the daily snapshot uses).
        let together = engine.metrics_of_scopes(Some(as_of), Some(w as u32), &scopes).unwrap();
        for (scope, m_all) in scopes.iter().zip(&together) {
            let expected = oracle(&orders, &cfg, as_of, w, scope);
            let m = engine.metrics(Some(as_of), Some(w as u32), scope).unwrap();
            let r = agree(&m, &expected, &scope.key());
            prop_assert!(r.is_ok(), "{}", r.unwrap_err());
            let r = agree(m_all, &expected, &format!("{} (all scopes in one pass)", scope.key()));
            prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        }
    }

    #[test]
    fn trend_points_equal_the_metrics_of_their_dates(orders in arb_orders(), start in 0i64..60, every in 1u32..10, w in 1u32..40) {
        // Times on a 6-hour grid and daily points: events fall exactly on points and window edges.
        let cfg = prop_config();
        let engine = Engine::from_frame(frame_from_orders(orders, &cfg).unwrap(), &cfg);
        let keys: Vec<String> = TREND_METRICS.iter().map(|s| s.to_string()).collect();
        let from = NaiveDate::from_ymd_opt(2025, 12, 20).unwrap() + Duration::days(start);
        let to = from + Duration::days(45);
        for scope in [Scope::plant(), Scope::crew("B"), Scope { area: Some("South".into()), ..Scope::default() }] {
            let t = engine.trend(&keys, from, to, format!("{every}d").parse().unwrap(), Some(w), &scope).unwrap();
            let r = trend_matches_points(&engine, &t, Some(w), &scope);
            prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        }
    }

    #[test]
    fn scopes_never_exceed_the_plant_and_crews_add_up(orders in arb_orders(), day in 0i64..100) {
        let cfg = prop_config();
        let engine = Engine::from_frame(frame_from_orders(orders, &cfg).unwrap(), &cfg);
        let as_of = NaiveDate::from_ymd_opt(2025, 12, 20).unwrap() + Duration::days(day);
        let k = engine.kpis(Some(as_of), None, &Scope::plant()).unwrap();
        let p = &k.metrics;
        let a = &p.age_buckets;
        prop_assert_eq!(a.d0_7 + a.d8_30 + a.d31_90 + a.d91, p.open_count);
        let counts = |m: &Metrics| [m.open_count, m.overdue_count, m.created_count, m.completed_count];
        let hours = |m: &Metrics| [m.backlog_hours, m.reactive_hours, m.planned_hours];
        let mut sum_counts = [0u64; 4];
        let mut sum_hours = [0f64; 3];
        for c in &k.by_crew {
            let m = &c.metrics;
            let ab = &m.age_buckets;
            prop_assert_eq!(ab.d0_7 + ab.d8_30 + ab.d31_90 + ab.d91, m.open_count);
            for (i, v) in counts(m).iter().enumerate() {
                prop_assert!(*v <= counts(p)[i]);
                sum_counts[i] += v;
            }
            for (i, v) in hours(m).iter().enumerate() {
                prop_assert!(*v <= hours(p)[i] + 1e-9);
                sum_hours[i] += v;
            }
        }
        // Every generated order has a crew of the config.
        prop_assert_eq!(sum_counts, counts(p));
        for (s, h) in sum_hours.iter().zip(hours(p)) {
            prop_assert!((s - h).abs() <= 1e-6 * h.max(1.0));
        }
        let area = engine.metrics(Some(as_of), None, &Scope { area: Some("South".into()), ..Scope::default() }).unwrap();
        for (i, v) in counts(&area).iter().enumerate() {
            prop_assert!(*v <= counts(p)[i]);
        }
        // Crew C has no technicians: its weeks are null, never infinite.
        prop_assert_eq!(k.by_crew[2].metrics.backlog_weeks, None);
    }
}
