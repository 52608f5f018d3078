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
    assert_eq!(a.orders(), b.orders());
}
