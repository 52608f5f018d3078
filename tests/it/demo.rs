//! `gemba demo`: the store and the CSV agree, and the CSV round-trips through `import`.

use crate::support::{Sandbox, ok};

#[test]
fn demo_fills_the_store_and_is_repeatable() {
    let s = Sandbox::new();
    let out = ok(&s.gemba(&[
        "demo",
        "--seed",
        "3",
        "--days",
        "120",
        "--orders-per-day",
        "20",
        "--until",
        "2026-03-31",
    ]));
    // 120 days of history plus a 30-day lead-in, 20 a day.
    assert!(out.contains("3000 orders over 150 days"), "{out}");
    let first = s.orders();
    assert_eq!(first.len(), 3000);
    // Running it again replaces the demo source with the same data.
    ok(&s.gemba(&[
        "demo",
        "--seed",
        "3",
        "--days",
        "120",
        "--orders-per-day",
        "20",
        "--until",
        "2026-03-31",
    ]));
    assert_eq!(s.orders(), first);
}

#[test]
fn the_demo_csv_imports_to_the_same_orders_as_the_demo() {
    let a = Sandbox::new();
    ok(&a.gemba(&[
        "demo",
        "--seed",
        "5",
        "--days",
        "90",
        "--orders-per-day",
        "15",
        "--until",
        "2026-03-31",
    ]));
    let b = Sandbox::new();
    let csv = b.path("demo.csv");
    ok(&b.gemba(&[
        "demo",
        "--seed",
        "5",
        "--days",
        "90",
        "--csv",
        csv.to_str().unwrap(),
        "--orders",
        "1680",
        "--until",
        "2026-03-31",
    ]));
    let out = ok(&b.gemba(&[
        "import",
        csv.to_str().unwrap(),
        "--profile",
        "generic",
        "--source",
        "demo",
    ]));
    assert!(
        out.contains("read 1680, upserted 1680, rejected 0"),
        "{out}"
    );
    let orders = a.orders();
    assert_eq!(orders, b.orders(), "cost and failure codes included");
    // The demo plant's costs and failure codes: most orders cost something, repairs carry a
    // code, and a few codes are most of them (a Pareto-like spread).
    let costed = orders
        .iter()
        .filter(|o| o.cost.is_some_and(|c| c > 0.0))
        .count();
    assert!(costed * 2 > orders.len(), "{costed} of {}", orders.len());
    let mut codes: std::collections::BTreeMap<&str, usize> = Default::default();
    for o in &orders {
        if let Some(c) = &o.failure_code {
            assert!(o.kind.class() == gemba::model::Class::Reactive, "{}", o.id);
            *codes.entry(c).or_default() += 1;
        }
    }
    let mut counts: Vec<usize> = codes.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    assert!(counts.len() >= 10, "{codes:?}");
    let total: usize = counts.iter().sum();
    assert!(counts[..4].iter().sum::<usize>() * 2 > total, "{codes:?}");
}
