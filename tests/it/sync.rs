//! `gemba sync` against a mock of each CMMS (tests/it/mock_cmms.rs), through the real binary:
//! three pages and more, a 429 with the vendor's advice, a 500 and a timeout mid-sync, UpKeep's
//! expired session; then an incremental sync that must ask only for what changed. Secrets are
//! grepped for in everything the binary printed and stored.

use std::time::Duration;

use axum::http::header::HeaderValue;
use axum::response::Response;
use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use crate::mock_cmms::{
    Fault, Logged, MockServer, MockState, Order, Rec, Req, Vendor, json, status,
};
use crate::support::{Sandbox, fails, ok, stderr, stdout};

const BASE_MS: i64 = 1_756_684_800_000; // 2025-09-01T00:00:00Z
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Records in the first sync: three full pages of three.
const N: i64 = 9;

fn created(i: i64) -> i64 {
    BASE_MS + i * DAY
}
fn updated(i: i64) -> i64 {
    BASE_MS + 30 * DAY + i * HOUR
}
fn utc(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).unwrap()
}
fn iso(ms: i64) -> String {
    utc(ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
fn plain(ms: i64) -> String {
    utc(ms).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// One vendor's case: its mock, its vocabulary, and what its incremental request looks like.
struct Case {
    name: &'static str,
    /// Appended to the mock's address for the connector's url.
    base: &'static str,
    env: &'static [(&'static str, &'static str)],
    extra_config: &'static str,
    vendor: Vendor,
    /// The vendor's record `i` with codes from the tables below.
    make: fn(i: i64, status: &str, kind: &str, prio: &str, updated_ms: i64) -> Value,
    id: fn(i: i64) -> String,
    statuses: &'static [(&'static str, &'static str)],
    kinds: &'static [(&'static str, &'static str)],
    prios: &'static [(&'static str, u8)],
    /// Record whose source marks it deleted/archived: stored as cancelled.
    cancelled: Option<i64>,
    faults: &'static [(u32, Fault)],
    /// Does a listing request of the incremental sync ask for changes since `since_ms`?
    asks_since: fn(&Logged, since_ms: i64) -> bool,
}

const FAULTS: &[(u32, Fault)] = &[
    (2, Fault::Throttle),
    (3, Fault::ServerError),
    (4, Fault::Slow(Duration::from_millis(2500))),
];

const UPKEEP_FAULTS: &[(u32, Fault)] = &[
    (2, Fault::Throttle),
    (3, Fault::ServerError),
    (4, Fault::Slow(Duration::from_millis(2500))),
    (6, Fault::Expire),
];

fn record(case: &Case, i: i64, shift: usize, updated_ms: i64) -> Rec {
    let i_ = i as usize + shift;
    let (s, _) = case.statuses[i_ % case.statuses.len()];
    let (k, _) = case.kinds[i as usize % case.kinds.len()];
    let (p, _) = case.prios[i as usize % case.prios.len()];
    Rec {
        id: i,
        updated_ms,
        json: (case.make)(i, s, k, p, updated_ms),
    }
}

/// Runs a vendor case through full and incremental syncs; returns its sandbox for more checks.
fn run_case(case: Case) -> Sandbox {
    let sb = Sandbox::new();
    let records: Vec<Rec> = (1..=N).map(|i| record(&case, i, 0, updated(i))).collect();
    let mock = MockServer::start(
        Vendor {
            is_listing: case.vendor.is_listing,
            handle: case.vendor.handle,
            throttle: case.vendor.throttle,
        },
        records,
    );
    for (n, f) in case.faults {
        mock.fault(*n, *f);
    }
    std::fs::create_dir_all(sb.path("config")).unwrap();
    std::fs::write(
        sb.path("config/gemba.toml"),
        format!(
            "[plant]\nname = \"Test plant\"\ntimezone = \"UTC\"\n\n[connectors.{}]\nurl = \"{}{}\"\npage_size = 3\ntimeout_seconds = 1\n{}\n",
            case.name, mock.url, case.base, case.extra_config
        ),
    )
    .unwrap();
    let config = sb.path("config/gemba.toml").display().to_string();
    let mut env: Vec<(&str, &str)> = case.env.to_vec();
    env.push(("GEMBA_CONFIG", &config));
    env.push(("GEMBA_LOG", "info"));

    // First sync: everything, through the faults.
    let first = sb.gemba_env(&["sync", case.name], &env);
    let out1 = ok(&first);
    assert!(
        out1.contains(&format!("{}: everything", case.name)),
        "{out1}"
    );
    assert!(
        out1.contains("rate-limit wait"),
        "the 429 was not reported: {out1}"
    );
    let orders = sb.orders();
    let mut ids: Vec<String> = orders.iter().map(|o| o.id.clone()).collect();
    ids.sort();
    let mut want: Vec<String> = (1..=N).map(case.id).collect();
    want.sort();
    assert_eq!(
        ids, want,
        "{}: the exact set of orders, no loss, no duplicate",
        case.name
    );
    for i in 1..=N {
        let o = orders.iter().find(|o| o.id == (case.id)(i)).unwrap();
        let status = if case.cancelled == Some(i) {
            "cancelled"
        } else {
            case.statuses[i as usize % case.statuses.len()].1
        };
        assert_eq!(o.source, case.name);
        assert_eq!(o.status.as_str(), status, "{} order {i} status", case.name);
        assert_eq!(
            o.kind.as_str(),
            case.kinds[i as usize % case.kinds.len()].1,
            "{} order {i} kind",
            case.name
        );
        assert_eq!(
            o.priority.get(),
            case.prios[i as usize % case.prios.len()].1,
            "{} order {i} priority",
            case.name
        );
        assert_eq!(
            o.created_at,
            utc(created(i)),
            "{} order {i} created_at",
            case.name
        );
        assert_eq!(
            o.updated_at,
            Some(utc(updated(i))),
            "{} order {i} updated_at",
            case.name
        );
    }
    let st = &mock.state;
    if case.faults.contains(&(6, Fault::Expire)) {
        assert_eq!(
            st.logins.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "the expired session was renewed once"
        );
    }
    let before = st.listing_log().len();
    let served_before = st.served.load(std::sync::atomic::Ordering::SeqCst);

    // The source changes: order 2 moves on a status, order 10 is new.
    {
        let mut recs = st.records.lock().unwrap();
        recs.retain(|r| r.id != 2);
        recs.push(record(&case, 2, 1, updated(N) + HOUR));
        recs.push(record(&case, N + 1, 0, updated(N) + 2 * HOUR));
    }
    let second = sb.gemba_env(&["sync", case.name], &env);
    let out2 = ok(&second);
    let since = utc(updated(N)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(out2.contains(&format!("changes since {since}")), "{out2}");
    let asked = &st.listing_log()[before..];
    assert!(!asked.is_empty());
    for l in asked {
        assert!(
            (case.asks_since)(l, updated(N)),
            "{}: incremental request without the watermark: {} {} {}",
            case.name,
            l.path,
            l.query,
            l.body
        );
    }
    let served = st.served.load(std::sync::atomic::Ordering::SeqCst) - served_before;
    let limit = if case.name == "maintainx" { 6 } else { 3 };
    assert!(
        served <= limit,
        "{}: the incremental sync was sent {served} records",
        case.name
    );
    let orders = sb.orders();
    assert_eq!(orders.len() as i64, N + 1, "{}", case.name);
    let two = orders.iter().find(|o| o.id == (case.id)(2)).unwrap();
    let want_two = case.statuses[3 % case.statuses.len()].1;
    assert_eq!(
        two.status.as_str(),
        want_two,
        "{}: the changed order is updated",
        case.name
    );

    // No secret anywhere: output, logs, stored runs.
    let mut seen = format!("{out1}{}{out2}{}", stderr(&first), stderr(&second));
    for r in sb.store().runs(50).unwrap() {
        seen.push_str(&format!("{:?}", r));
    }
    for (k, v) in case.env {
        assert!(!seen.contains(v), "{}: secret {k} leaked", case.name);
    }
    sb
}

fn basic(user: &str, pwd: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pwd}"))
}

fn page_of(v: &[Rec], offset: usize, size: usize) -> &[Rec] {
    let end = (offset + size).min(v.len());
    if offset >= v.len() {
        &[]
    } else {
        &v[offset..end]
    }
}

fn with_headers(mut r: Response, headers: &[(&'static str, String)]) -> Response {
    for (k, v) in headers {
        r.headers_mut()
            .insert(*k, HeaderValue::from_str(v).unwrap());
    }
    r
}

fn plain_429(headers: &[(&'static str, String)]) -> Response {
    with_headers(status(429, "Too Many Requests"), headers)
}

fn null_or(s: &str) -> Value {
    if s == "null" {
        Value::Null
    } else {
        Value::String(s.into())
    }
}

// ---------------------------------------------------------------- MaintainX

#[test]
fn maintainx() {
    fn handle(st: &MockState, r: &Req) -> Response {
        if r.header("authorization").as_deref() != Some("Bearer mx-key-123") {
            return with_headers(status(401, r#"{"error":"Unauthorized"}"#), &[]);
        }
        assert_eq!(r.uri.path(), "/v1/workorders");
        let limit: usize = r.param("limit").unwrap().parse().unwrap();
        let offset: usize = r
            .param("cursor")
            .map(|c| c.trim_start_matches('c').parse().unwrap())
            .unwrap_or(0);
        let order = if r.param("sort").as_deref() == Some("-updatedAt") {
            Order::UpdatedDesc
        } else {
            Order::Id
        };
        let all = st.select(None, false, order);
        let page = page_of(&all, offset, limit);
        let next = (offset + limit < all.len()).then(|| format!("c{}", offset + limit));
        json(json!({"workOrders": st.serve(page), "nextCursor": next, "nextPageUrl": null}))
    }
    run_case(Case {
        name: "maintainx",
        base: "/v1",
        env: &[("MAINTAINX_API_KEY", "mx-key-123")],
        extra_config: "",
        vendor: Vendor {
            is_listing: |r| r.uri.path().ends_with("/workorders"),
            handle,
            throttle: || {
                plain_429(&[
                    ("X-Rate-Limit-Limit", "100".into()),
                    ("X-Rate-Limit-Remaining", "0".into()),
                    ("X-Rate-Limit-Reset", "1".into()),
                ])
            },
        },
        make: |i, s, k, p, u| {
            json!({"id": i, "sequentialId": i, "title": format!("Order {i}"), "status": s, "priority": p, "type": null_or(k),
                   "createdAt": iso(created(i)), "updatedAt": iso(u), "dueDate": iso(created(i) + 7 * DAY), "completedAt": null,
                   "assignees": [{"type": "TEAM", "id": 12}], "asset": {"id": 100 + i, "name": format!("Pump {i}")}, "estimatedTime": 5400})
        },
        id: |i| i.to_string(),
        statuses: &[
            ("OPEN", "approved"),
            ("IN_PROGRESS", "in_progress"),
            ("ON_HOLD", "on_hold"),
            ("DONE", "completed"),
            ("CANCELED", "cancelled"),
        ],
        kinds: &[
            ("PREVENTIVE", "preventive"),
            ("REACTIVE", "corrective"),
            ("null", "other"),
        ],
        prios: &[("HIGH", 1), ("MEDIUM", 3), ("LOW", 4), ("NONE", 5)],
        cancelled: None,
        faults: FAULTS,
        // No filter in this API: newest changes first, and the sync stops at the watermark.
        asks_since: |l, _| l.query.contains("sort=-updatedAt"),
    });
}

// ---------------------------------------------------------------- UpKeep

#[test]
fn upkeep() {
    fn handle(st: &MockState, r: &Req) -> Response {
        if r.uri.path() == "/api/v2/auth" {
            let b = r.json();
            if b["email"] != "planner@example.com" || b["password"] != "uk-pass-456" {
                return status(401, r#"{"success":false}"#);
            }
            let n = st.logins.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let token = format!("session-token-{n}");
            *st.token.lock().unwrap() = Some(token.clone());
            return json(
                json!({"success": true, "result": {"sessionToken": token, "expiresAt": "2030-01-01T00:00:00.000Z"}}),
            );
        }
        let valid = st.token.lock().unwrap().clone();
        if valid.is_none() || r.header("session-token") != valid {
            return status(401, r#"{"success":false,"message":"Session expired"}"#);
        }
        let limit: usize = r.param("limit").unwrap().parse().unwrap();
        let offset: usize = r.param("offset").unwrap().parse().unwrap();
        let since = r
            .param("updatedAtGreaterThan")
            .map(|s| s.parse::<i64>().unwrap());
        let all = st.select(since, true, Order::Id);
        if offset >= all.len() && offset > 0 {
            return status(404, r#"{"success":false,"message":"Not found"}"#);
        }
        json(json!({"success": true, "results": st.serve(page_of(&all, offset, limit))}))
    }
    run_case(Case {
        name: "upkeep",
        base: "/api/v2",
        env: &[
            ("UPKEEP_EMAIL", "planner@example.com"),
            ("UPKEEP_PASSWORD", "uk-pass-456"),
        ],
        extra_config: "",
        vendor: Vendor {
            is_listing: |r| r.uri.path().ends_with("/work-orders"),
            handle,
            throttle: || plain_429(&[("Retry-After", "1".into())]),
        },
        make: |i, s, k, p, u| {
            json!({"id": format!("wo{i}"), "workOrderNo": i, "title": format!("Order {i}"), "status": s, "priority": p.parse::<i64>().unwrap(),
                   "category": k, "asset": format!("A{i}"), "location": "Hall 1", "assignedToUser": "u1",
                   "createdAt": iso(created(i)), "updatedAt": iso(u), "dueDate": iso(created(i) + 7 * DAY), "dateCompleted": null, "time": 1.5})
        },
        id: |i| format!("wo{i}"),
        statuses: &[
            ("open", "approved"),
            ("onHold", "on_hold"),
            ("inProgress", "in_progress"),
            ("complete", "completed"),
        ],
        kinds: &[
            ("Preventative", "preventive"),
            ("Electrical", "corrective"),
            ("Emergency", "emergency"),
        ],
        prios: &[("3", 1), ("2", 2), ("1", 3), ("0", 4)],
        cancelled: None,
        // The fifth listing request finds its session expired: one new login, then on.
        faults: UPKEEP_FAULTS,
        asks_since: |l, since| l.query.contains(&format!("updatedAtGreaterThan={since}")),
    });
}

// ---------------------------------------------------------------- Limble

#[test]
fn limble() {
    fn handle(st: &MockState, r: &Req) -> Response {
        if r.header("authorization")
            != Some(format!("Basic {}", basic("limble-id", "limble-secret-789")))
        {
            return status(401, "unauthorized");
        }
        match r.uri.path() {
            "/v2/statuses" => {
                return json(
                    json!([{"statusID": 0, "name": "Open"}, {"statusID": 1, "name": "In Progress"}, {"statusID": 2, "name": "On Hold"}, {"statusID": 3, "name": "Complete"}]),
                );
            }
            "/v2/priorities" => {
                return json(
                    json!([{"priorityID": 10, "name": "Urgent"}, {"priorityID": 11, "name": "High"}, {"priorityID": 12, "name": "Medium"}, {"priorityID": 13, "name": "Low"}]),
                );
            }
            _ => {}
        }
        let limit: usize = r.param("limit").unwrap().parse().unwrap();
        let page: usize = r.param("page").unwrap().parse().unwrap();
        let start = r.param("start");
        let all = st.select(
            start.as_ref().map(|s| s.parse::<i64>().unwrap() * 1000),
            false,
            Order::Id,
        );
        let body = st.serve(page_of(&all, (page - 1) * limit, limit));
        let next = format!(
            "/v2/tasks?limit={limit}&page={}{}",
            page + 1,
            start.map(|s| format!("&start={s}")).unwrap_or_default()
        );
        // Limble names a next page even after the last one; that page is empty.
        with_headers(json(Value::Array(body)), &[("Next-Page", next)])
    }
    run_case(Case {
        name: "limble",
        base: "",
        env: &[
            ("LIMBLE_CLIENT_ID", "limble-id"),
            ("LIMBLE_CLIENT_SECRET", "limble-secret-789"),
        ],
        extra_config: "",
        vendor: Vendor {
            is_listing: |r| r.uri.path() == "/v2/tasks",
            handle,
            throttle: || {
                plain_429(&[
                    ("X-RateLimit-Limit", "360".into()),
                    ("X-RateLimit-Remaining", "0".into()),
                    (
                        "X-RateLimit-Reset",
                        (Utc::now().timestamp() + 1).to_string(),
                    ),
                ])
            },
        },
        make: |i, s, k, p, u| {
            let (status_id, done) = s.split_once(':').unwrap();
            json!({"taskID": i, "name": format!("Task {i}"), "type": k.parse::<i64>().unwrap(), "status": done.parse::<i64>().unwrap(),
                   "statusID": status_id.parse::<i64>().unwrap(), "priorityID": p.parse::<i64>().unwrap(), "userID": 3, "teamID": 5,
                   "assetID": 100 + i, "locationID": 7, "template": false,
                   "createdDate": created(i) / 1000, "startDate": 0, "due": if i % 2 == 0 { 0 } else { (created(i) + 7 * DAY) / 1000 },
                   "dateCompleted": 0, "lastEdited": u / 1000, "estimatedTime": 90, "downtime": 1800})
        },
        id: |i| i.to_string(),
        statuses: &[
            ("0:0", "approved"),
            ("1:0", "in_progress"),
            ("2:0", "on_hold"),
            ("3:1", "completed"),
        ],
        kinds: &[
            ("1", "preventive"),
            ("2", "corrective"),
            ("4", "planned_corrective"),
        ],
        prios: &[("10", 1), ("11", 2), ("12", 3), ("13", 4)],
        cancelled: None,
        faults: FAULTS,
        asks_since: |l, since| l.query.contains(&format!("start={}", since / 1000)),
    });
}

// ---------------------------------------------------------------- Fiix

#[test]
fn fiix() {
    fn handle(st: &MockState, r: &Req) -> Response {
        use hmac::Mac;
        let unsigned = format!("{}{}", r.host, r.uri);
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"fiix-secret-abc").unwrap();
        mac.update(unsigned.as_bytes());
        let want = hex::encode(mac.finalize().into_bytes());
        if r.header("authorization").as_deref() != Some(want.as_str())
            || r.param("accessKey").as_deref() != Some("fiix-access")
            || r.param("appKey").as_deref() != Some("fiix-app")
            || r.param("timestamp").is_none()
        {
            return json(json!({"error": {"code": 401, "message": "Invalid signature"}}));
        }
        let b = r.json();
        let lookup = |rows: Value| json(json!({"objects": rows, "totalObjects": 4}));
        match b["className"].as_str().unwrap() {
            "WorkOrderStatus" => {
                return lookup(
                    json!([{"id": 1, "strName": "Requested"}, {"id": 2, "strName": "Work In Progress"}, {"id": 3, "strName": "On Hold"}, {"id": 4, "strName": "Closed"}]),
                );
            }
            "Priority" => {
                return lookup(
                    json!([{"id": 1, "strName": "Highest"}, {"id": 2, "strName": "High"}, {"id": 3, "strName": "Medium"}, {"id": 4, "strName": "Low"}]),
                );
            }
            "MaintenanceType" => {
                return lookup(
                    json!([{"id": 1, "strName": "Preventive"}, {"id": 2, "strName": "Corrective"}, {"id": 3, "strName": "Emergency"}]),
                );
            }
            _ => {}
        }
        let since = b["filters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["ql"] == "dtmDateLastModified >= ?")
            .map(|f| {
                chrono::NaiveDateTime::parse_from_str(
                    f["parameters"][0].as_str().unwrap(),
                    "%Y-%m-%d %H:%M:%S",
                )
                .unwrap()
                .and_utc()
                .timestamp_millis()
            });
        let all = st.select(since, false, Order::Id);
        let start = b["startIndex"].as_u64().unwrap() as usize;
        let max = b["maxObjects"].as_u64().unwrap() as usize;
        json(json!({"objects": st.serve(page_of(&all, start, max)), "totalObjects": all.len()}))
    }
    run_case(Case {
        name: "fiix",
        base: "",
        env: &[
            ("FIIX_ACCESS_KEY", "fiix-access"),
            ("FIIX_APP_KEY", "fiix-app"),
            ("FIIX_SECRET_KEY", "fiix-secret-abc"),
        ],
        extra_config: "",
        vendor: Vendor {
            is_listing: |r| r.json()["className"] == "WorkOrder",
            handle,
            throttle: || {
                json(
                    json!({"error": {"code": 429, "message": "Too many requests", "clientAutoRetryWaitAdvisoryMs": 300}}),
                )
            },
        },
        make: |i, s, k, p, u| {
            json!({"id": i, "strCode": format!("WO-{i}"), "strDescription": format!("Order {i}"), "intWorkOrderStatusID": s.parse::<i64>().unwrap(),
                   "intPriorityID": p.parse::<i64>().unwrap(), "intMaintenanceTypeID": k.parse::<i64>().unwrap(), "strAssetIds": format!("A{i}"),
                   "strAssignedUsers": "jdoe", "dtmDateCreated": plain(created(i)), "dtmSuggestedCompletionDate": plain(created(i) + 7 * DAY),
                   "dtmDateCompleted": null, "dtmDateLastModified": plain(u)})
        },
        id: |i| i.to_string(),
        statuses: &[
            ("1", "requested"),
            ("2", "in_progress"),
            ("3", "on_hold"),
            ("4", "completed"),
        ],
        kinds: &[("1", "preventive"), ("2", "corrective"), ("3", "emergency")],
        prios: &[("1", 1), ("2", 2), ("3", 3), ("4", 4)],
        cancelled: None,
        faults: FAULTS,
        asks_since: |l, since| {
            let b: Value = serde_json::from_str(&l.body).unwrap();
            b["filters"][0]["parameters"][0] == plain(since)
        },
    });
}

// ---------------------------------------------------------------- Maximo

fn maximo_handle(st: &MockState, r: &Req) -> Response {
    if r.header("maxauth") != Some(basic("maxadmin", "mx-pwd-321")) {
        return status(
            401,
            r#"{"Error":{"message":"BMXAA7901E - You cannot log in at this time."}}"#,
        );
    }
    let size: usize = r.param("oslc.pageSize").unwrap().parse().unwrap();
    let pageno: usize = r.param("pageno").map(|p| p.parse().unwrap()).unwrap_or(1);
    let since = r.param("oslc.where").map(|w| {
        let t = w
            .strip_prefix("changedate>=\"")
            .unwrap()
            .strip_suffix('"')
            .unwrap();
        DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis()
    });
    let order = if r.param("oslc.orderBy").as_deref() == Some("+changedate") {
        Order::UpdatedAsc
    } else {
        Order::Id
    };
    let all = st.select(since, false, order);
    let members = st.serve(page_of(&all, (pageno - 1) * size, size));
    let mut info = json!({"totalCount": all.len()});
    if pageno * size < all.len() {
        info["nextPage"] = json!({"href": r.with_param("pageno", &(pageno + 1).to_string())});
    }
    json(json!({"member": members, "responseInfo": info}))
}

fn maximo_case() -> Case {
    Case {
        name: "maximo",
        base: "/maximo",
        env: &[
            ("MAXIMO_USER", "maxadmin"),
            ("MAXIMO_PASSWORD", "mx-pwd-321"),
        ],
        extra_config: "",
        vendor: Vendor {
            is_listing: |r| r.uri.path().ends_with("/oslc/os/mxwo"),
            handle: maximo_handle,
            throttle: || plain_429(&[("Retry-After", "1".into())]),
        },
        make: |i, s, k, p, u| {
            let local = |ms: i64| {
                utc(ms)
                    .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
                    .to_rfc3339()
            };
            json!({"wonum": format!("WO{i}"), "workorderid": i, "description": format!("Order {i}"), "status": s, "worktype": k,
                   "wopriority": p.parse::<i64>().unwrap(), "assetnum": format!("P-{i}"), "location": "BR430", "siteid": "BEDFORD",
                   "persongroup": "MECH", "reportdate": local(created(i)), "targcompdate": local(created(i) + 7 * DAY),
                   "changedate": local(u), "estdur": 1.5, "actlabhrs": 0.0, "acttotalcost": 120.5 + i as f64, "failurecode": "PUMPS"})
        },
        id: |i| format!("WO{i}"),
        statuses: &[
            ("WAPPR", "requested"),
            ("APPR", "approved"),
            ("INPRG", "in_progress"),
            ("COMP", "completed"),
            ("CAN", "cancelled"),
        ],
        kinds: &[
            ("PM", "preventive"),
            ("CM", "corrective"),
            ("EM", "emergency"),
        ],
        prios: &[("1", 1), ("2", 2), ("3", 3), ("4", 4)],
        cancelled: None,
        faults: FAULTS,
        asks_since: |l, since| {
            let q: Vec<(String, String)> = form_urlencoded::parse(l.query.as_bytes())
                .into_owned()
                .collect();
            q.contains(&(
                "oslc.where".into(),
                format!("changedate>=\"{}\"", iso(since)),
            ))
        },
    }
}

#[test]
fn maximo() {
    let sb = run_case(maximo_case());
    // Cost and failure code come through the manifest's mapping.
    for o in sb.orders() {
        let i: f64 = o.id.trim_start_matches("WO").parse().unwrap();
        assert_eq!(
            (o.cost, o.failure_code.as_deref()),
            (Some(120.5 + i), Some("PUMPS")),
            "{}",
            o.id
        );
    }
}

// ---------------------------------------------------------------- SAP S/4HANA PM

#[test]
fn sap_pm() {
    fn handle(st: &MockState, r: &Req) -> Response {
        if r.header("authorization") != Some(format!("Basic {}", basic("PMUSER", "sap-pwd-654")))
            || r.header("sap-client").as_deref() != Some("100")
        {
            return status(401, "Logon failed");
        }
        assert!(
            r.uri
                .path()
                .ends_with("API_MAINTENANCEORDER;v=0002/MaintenanceOrder"),
            "{}",
            r.uri.path()
        );
        let skip: usize = r
            .param("$skiptoken")
            .map(|s| s.parse().unwrap())
            .unwrap_or(0);
        let since = r.param("$filter").map(|f| {
            let t = f
                .strip_prefix("LastChangeDateTime ge datetimeoffset'")
                .unwrap()
                .strip_suffix('\'')
                .unwrap();
            DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis()
        });
        let order = if r.param("$orderby").as_deref() == Some("LastChangeDateTime") {
            Order::UpdatedAsc
        } else {
            Order::Id
        };
        let all = st.select(since, false, order);
        let results = st.serve(page_of(&all, skip, 3));
        let mut d = json!({"results": results});
        if skip + 3 < all.len() {
            d["__next"] = json!(r.with_param("$skiptoken", &(skip + 3).to_string()));
        }
        json(json!({"d": d}))
    }
    run_case(Case {
        name: "sap-pm",
        base: "/sap/opu/odata/sap/API_MAINTENANCEORDER;v=0002",
        env: &[("SAP_USER", "PMUSER"), ("SAP_PASSWORD", "sap-pwd-654")],
        extra_config: "vars = { client = \"100\" }",
        vendor: Vendor {
            is_listing: |r| r.uri.path().ends_with("/MaintenanceOrder"),
            handle,
            throttle: || plain_429(&[("Retry-After", "1".into())]),
        },
        make: |i, s, k, p, u| {
            let d = |ms: i64| format!("/Date({ms}+0000)/");
            json!({"MaintenanceOrder": format!("4000{i:03}"), "MaintenanceOrderDesc": format!("Order {i}"), "MaintenanceOrderType": k,
                   "MaintPriority": p, "SystemStatusText": s, "MaintenancePlanningPlant": "1010", "MainWorkCenter": "MECH",
                   "Equipment": format!("1000{i}"), "FunctionalLocation": "1010-PUMPS", "CreationDate": format!("/Date({})/", created(i)),
                   "MaintOrdBasicStartDateTime": d(created(i) + DAY), "MaintOrdBasicEndDateTime": d(created(i) + 7 * DAY),
                   "LastChangeDateTime": d(u)})
        },
        id: |i| format!("4000{i:03}"),
        statuses: &[
            ("CRTD", "requested"),
            ("REL", "ready"),
            ("REL PCNF", "in_progress"),
            ("REL CNF TECO", "completed"),
            ("CRTD DLFL", "cancelled"),
        ],
        kinds: &[
            ("PM01", "corrective"),
            ("PM02", "preventive"),
            ("PM03", "planned_corrective"),
        ],
        prios: &[("1", 1), ("2", 2), ("3", 3), ("4", 4)],
        cancelled: None,
        faults: FAULTS,
        asks_since: |l, since| {
            let q: Vec<(String, String)> = form_urlencoded::parse(l.query.as_bytes())
                .into_owned()
                .collect();
            let t = utc(since).format("%Y-%m-%dT%H:%M:%SZ");
            q.contains(&(
                "$filter".into(),
                format!("LastChangeDateTime ge datetimeoffset'{t}'"),
            ))
        },
    });
}

// ---------------------------------------------------------------- Atlas CMMS

#[test]
fn atlas() {
    fn handle(st: &MockState, r: &Req) -> Response {
        if r.method != axum::http::Method::POST {
            return status(405, "search is a POST");
        }
        if r.header("x-api-key").as_deref() != Some("atlas-key-987") {
            return status(401, r#"{"error":"Unauthorized"}"#);
        }
        let b = r.json();
        let since = b["filterFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == "updatedAt" && f["operation"] == "ge")
            .map(|f| {
                DateTime::parse_from_rfc3339(f["value"].as_str().unwrap())
                    .unwrap()
                    .timestamp_millis()
            });
        let all = st.select(since, false, Order::Id);
        let (num, size) = (
            b["pageNum"].as_u64().unwrap() as usize,
            b["pageSize"].as_u64().unwrap() as usize,
        );
        let total_pages = all.len().div_ceil(size);
        let content = st.serve(page_of(&all, num * size, size));
        json(
            json!({"content": content, "totalPages": total_pages, "totalElements": all.len(), "last": num + 1 >= total_pages, "number": num, "size": size}),
        )
    }
    run_case(Case {
        name: "atlas",
        base: "/api",
        env: &[("ATLAS_API_KEY", "atlas-key-987")],
        extra_config: "",
        vendor: Vendor {
            is_listing: |r| r.uri.path().ends_with("/work-orders/search"),
            handle,
            throttle: || {
                status(
                    429,
                    r#"{"error": "Rate limit exceeded", "message": "Too many requests"}"#,
                )
            },
        },
        make: |i, s, k, p, u| {
            json!({"id": i, "customId": format!("WO{i:05}"), "title": format!("Order {i}"), "status": s, "priority": p,
                   "parentPreventiveMaintenance": if k == "pm" { json!({"id": 40, "name": "Weekly lube"}) } else { Value::Null },
                   "asset": {"id": 100 + i, "name": format!("Conveyor {i}")}, "location": {"name": "Hall 2"}, "team": {"name": "Mechanics"},
                   "createdAt": iso(created(i)), "updatedAt": iso(u), "dueDate": iso(created(i) + 7 * DAY), "completedOn": null,
                   "estimatedDuration": 2, "archived": i == 5})
        },
        id: |i| i.to_string(),
        statuses: &[
            ("OPEN", "approved"),
            ("IN_PROGRESS", "in_progress"),
            ("ON_HOLD", "on_hold"),
            ("COMPLETE", "completed"),
        ],
        kinds: &[("pm", "preventive"), ("-", "corrective")],
        prios: &[("HIGH", 1), ("MEDIUM", 3), ("LOW", 4), ("NONE", 5)],
        cancelled: Some(5),
        faults: FAULTS,
        asks_since: |l, since| {
            let b: Value = serde_json::from_str(&l.body).unwrap();
            b["filterFields"][0]
                == json!({"field": "updatedAt", "operation": "ge", "value": iso(since)})
        },
    });
}

// ---------------------------------------------------------------- Odoo

#[test]
fn odoo() {
    fn handle(st: &MockState, r: &Req) -> Response {
        let b = r.json();
        let p = &b["params"];
        let args = p["args"].as_array().unwrap();
        if p["service"] == "common" && p["method"] == "login" {
            let ok = args == &vec![json!("plant"), json!("planner"), json!("odoo-pwd-111")];
            return json(
                json!({"jsonrpc": "2.0", "id": b["id"], "result": if ok { json!(7) } else { json!(false) }}),
            );
        }
        if args[0] != "plant"
            || args[1] != 7
            || args[2] != "odoo-pwd-111"
            || args[3] != "maintenance.request"
            || args[4] != "search_read"
        {
            return json(
                json!({"jsonrpc": "2.0", "id": b["id"], "error": {"code": 100, "message": "Odoo Session Expired", "data": {"message": "Access Denied"}}}),
            );
        }
        let domain = args[5][0].as_array().unwrap();
        assert!(
            domain.contains(&json!(["active", "in", [true, false]])),
            "archived requests are asked for"
        );
        let since = domain
            .iter()
            .find(|c| c[0] == "write_date" && c[1] == ">=")
            .map(|c| {
                chrono::NaiveDateTime::parse_from_str(c[2].as_str().unwrap(), "%Y-%m-%d %H:%M:%S")
                    .unwrap()
                    .and_utc()
                    .timestamp_millis()
            });
        let kw = &args[6];
        let all = st.select(since, false, Order::Id);
        let page = page_of(
            &all,
            kw["offset"].as_u64().unwrap() as usize,
            kw["limit"].as_u64().unwrap() as usize,
        );
        json(json!({"jsonrpc": "2.0", "id": b["id"], "result": st.serve(page)}))
    }
    run_case(Case {
        name: "odoo",
        base: "",
        env: &[("ODOO_LOGIN", "planner"), ("ODOO_PASSWORD", "odoo-pwd-111")],
        extra_config: "vars = { database = \"plant\" }",
        vendor: Vendor {
            is_listing: |r| r.json()["params"]["method"] == "execute_kw",
            handle,
            throttle: || plain_429(&[("Retry-After", "1".into())]),
        },
        make: |i, s, k, p, u| {
            let (sid, sname) = s.split_once(':').unwrap();
            json!({"id": i, "name": format!("Request {i}"), "request_date": utc(created(i)).format("%Y-%m-%d").to_string(),
                   "create_date": plain(created(i)), "schedule_date": if i % 2 == 0 { json!(false) } else { json!(plain(created(i) + DAY)) },
                   "close_date": false, "stage_id": [sid.parse::<i64>().unwrap(), sname], "priority": p, "maintenance_type": k,
                   "equipment_id": if i % 3 == 0 { json!(false) } else { json!([100 + i, format!("Press {i}")]) },
                   "maintenance_team_id": [1, "Internal Maintenance"], "user_id": false, "duration": 2.0,
                   "write_date": plain(u), "active": i != 5})
        },
        id: |i| i.to_string(),
        statuses: &[
            ("1:New Request", "requested"),
            ("2:In Progress", "in_progress"),
            ("3:Repaired", "completed"),
            ("4:Scrap", "cancelled"),
        ],
        kinds: &[("corrective", "corrective"), ("preventive", "preventive")],
        prios: &[("3", 1), ("2", 2), ("1", 3), ("0", 4)],
        cancelled: Some(5),
        faults: FAULTS,
        asks_since: |l, since| {
            let b: Value = serde_json::from_str(&l.body).unwrap();
            b["params"]["args"][5][0]
                .as_array()
                .unwrap()
                .contains(&json!(["write_date", ">=", plain(since)]))
        },
    });
}

// ---------------------------------------------------------------- failures and config

/// A sync that fails for good keeps the pages it committed, records the run with the error (no
/// secret in it, though the server echoed the credentials), and the next sync resumes.
#[test]
fn a_failed_sync_keeps_its_pages_and_the_next_one_resumes() {
    let case = maximo_case();
    let sb = Sandbox::new();
    let records: Vec<Rec> = (1..=N).map(|i| record(&case, i, 0, updated(i))).collect();
    let mock = MockServer::start(case.vendor, records);
    for n in 2..=10 {
        mock.fault(n, Fault::ServerError);
    }
    std::fs::create_dir_all(sb.path("config")).unwrap();
    std::fs::write(
        sb.path("config/gemba.toml"),
        format!("[plant]\nname = \"T\"\n[connectors.maximo]\nurl = \"{}/maximo\"\npage_size = 3\nmax_attempts = 2\n", mock.url),
    )
    .unwrap();
    let config = sb.path("config/gemba.toml").display().to_string();
    let env = [
        ("MAXIMO_USER", "maxadmin"),
        ("MAXIMO_PASSWORD", "mx-pwd-321"),
        ("GEMBA_CONFIG", config.as_str()),
    ];
    let failed = sb.gemba_env(&["sync"], &env);
    let err = fails(&failed);
    assert!(
        err.contains("sync failed after 1 page(s), 3 order(s) committed and kept"),
        "{err}"
    );
    assert!(
        err.contains("HTTP 500") && err.contains("gave up after 2 attempts"),
        "{err}"
    );
    assert_eq!(sb.orders().len(), 3);
    let run = sb.store().runs(1).unwrap().remove(0);
    assert_eq!(run.outcome, "failed");
    assert_eq!(run.counts.upserted, 3);
    let stored_error = run.error.unwrap();
    assert!(stored_error.contains("HTTP 500"), "{stored_error}");
    let maxauth = basic("maxadmin", "mx-pwd-321");
    for text in [err.as_str(), stored_error.as_str(), &stdout(&failed)] {
        assert!(
            !text.contains(&maxauth) && !text.contains("mx-pwd-321"),
            "a secret leaked: {text}"
        );
    }
    assert!(
        stored_error.contains("maxauth=***"),
        "the echoed credentials are masked: {stored_error}"
    );
    // Maximo lists by change date, so page 1 moved the watermark: the next sync starts there.
    mock.state.faults.lock().unwrap().clear();
    let before = mock.state.listing_log().len();
    let out = ok(&sb.gemba_env(&["sync", "maximo"], &env));
    assert!(
        out.contains(&format!(
            "changes since {}",
            utc(updated(3)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )),
        "{out}"
    );
    assert!((case.asks_since)(
        &mock.state.listing_log()[before],
        updated(3)
    ));
    assert_eq!(sb.orders().len(), N as usize);
    // --full asks for everything again, --dry-run writes nothing.
    let before = mock.state.listing_log().len();
    let out = ok(&sb.gemba_env(&["sync", "--full", "--dry-run"], &env));
    assert!(
        out.contains("dry run: maximo: everything")
            && out.contains("9 order(s) mapped, none written"),
        "{out}"
    );
    assert!(
        !mock.state.listing_log()[before]
            .query
            .contains("oslc.where")
    );
    assert_eq!(
        sb.store().runs(10).unwrap().len(),
        2,
        "a dry run stores no run"
    );
}

/// A manifest in config/connectors/ is used without recompiling; `gemba connectors` lists it
/// with the variables it needs; a missing variable is named before any request.
#[test]
fn a_manifest_from_config_works_without_recompiling() {
    fn handle(st: &MockState, r: &Req) -> Response {
        if r.header("x-token").as_deref() != Some("acme-token-555") {
            return status(403, "forbidden");
        }
        let page: usize = r.param("p").unwrap().parse().unwrap();
        let all = st.select(None, false, Order::Id);
        json(json!({"data": {"jobs": st.serve(page_of(&all, page * 4, 4))}}))
    }
    let sb = Sandbox::new();
    // Six jobs that map, and a seventh in a state the manifest does not know.
    let recs = (1..=7)
        .map(|i| Rec {
            id: i,
            updated_ms: updated(i),
            json: json!({"no": format!("J{i}"), "what": format!("Job {i}"), "state": if i == 7 { "lost" } else if i % 2 == 0 { "done" } else { "new" }, "opened": plain(created(i)), "urgent": i == 1}),
        })
        .collect();
    let mock = MockServer::start(
        Vendor {
            is_listing: |_| true,
            handle,
            throttle: || status(429, ""),
        },
        recs,
    );
    std::fs::create_dir_all(sb.path("config/connectors")).unwrap();
    std::fs::write(
        sb.path("config/connectors/acme.toml"),
        r#"
name = "acme"
description = "ACME in-house job tracker"
page_size = 4
rate_limit = { requests = 1, per_seconds = 1 }
[auth]
type = "header"
name = "x-token"
value_env = "ACME_TOKEN"
[request]
path = "/jobs"
query = { p = "{page}", n = "{page_size}" }
records = "data.jobs"
[paging]
type = "page"
[fields]
id = "no"
title = "what"
status = { from = "state", map = { new = "requested", done = "completed" } }
kind = { value = "corrective" }
priority = { from = "urgent", map = { "true" = 1, "false" = 3 } }
created_at = "opened"
"#,
    )
    .unwrap();
    std::fs::write(
        sb.path("config/gemba.toml"),
        format!(
            "[plant]\nname = \"T\"\n[connectors.acme]\nurl = \"{}\"\n",
            mock.url
        ),
    )
    .unwrap();
    let config = sb.path("config/gemba.toml").display().to_string();
    let listed = ok(&sb.gemba_env(&["connectors"], &[("GEMBA_CONFIG", &config)]));
    assert!(
        listed.contains("acme")
            && listed.contains("ACME_TOKEN")
            && listed.contains("NOT SET: ACME_TOKEN"),
        "{listed}"
    );
    let refused = fails(&sb.gemba_env(
        &["sync", "acme"],
        &[("GEMBA_CONFIG", &config), ("ACME_TOKEN", "wrong-token")],
    ));
    assert!(
        refused.contains("HTTP 403")
            && refused.contains("refused the credentials")
            && !refused.contains("wrong-token"),
        "{refused}"
    );
    mock.state.log.lock().unwrap().clear();
    let missing = fails(&sb.gemba_env(&["sync", "acme"], &[("GEMBA_CONFIG", &config)]));
    assert!(
        missing.contains("set ACME_TOKEN in the environment"),
        "{missing}"
    );
    assert!(
        mock.state.log.lock().unwrap().is_empty(),
        "nothing is sent without credentials"
    );
    let started = std::time::Instant::now();
    let out = ok(&sb.gemba_env(
        &["sync", "acme"],
        &[("GEMBA_CONFIG", &config), ("ACME_TOKEN", "acme-token-555")],
    ));
    assert!(out.contains("2 page(s), 6 order(s) upserted"), "{out}");
    // The manifest allows one request a second: the second page waited for its turn.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the client-side rate was not kept: {:?}",
        started.elapsed()
    );
    let orders = sb.orders();
    assert_eq!(orders.len(), 6);
    let j1 = orders.iter().find(|o| o.id == "J1").unwrap();
    assert_eq!(
        (j1.source.as_str(), j1.priority.get(), j1.status.as_str()),
        ("acme", 1, "requested")
    );
    let runs = ok(&sb.gemba_env(&["imports"], &[("GEMBA_CONFIG", &config)]));
    assert!(runs.contains("sync") && runs.contains("acme"), "{runs}");
    let run = sb.store().runs(1).unwrap().remove(0);
    assert_eq!(run.counts.rejected, 1);
    let rejected = sb.store().rejections(run.id).unwrap();
    assert_eq!(
        rejected.len(),
        1,
        "the rejected record is stored with the run"
    );
    assert_eq!(
        (
            rejected[0].line,
            rejected[0].field.as_str(),
            rejected[0].value.as_str()
        ),
        (7, "status", "lost")
    );
}

/// A `sync = "maximo"` job inside `gemba serve` runs on its per-second schedule against the mock,
/// its runs are listed at /api/v1/imports, and the board warns when the CMMS starts failing.
#[tokio::test]
async fn a_scheduled_sync_job_runs_inside_serve() {
    let case = maximo_case();
    let sb = Sandbox::new();
    let records: Vec<Rec> = (1..=N).map(|i| record(&case, i, 0, updated(i))).collect();
    let mock = MockServer::start(case.vendor, records);
    std::fs::write(
        sb.path("gemba.toml"),
        format!(
            "[plant]\nname = \"T\"\n[connectors.maximo]\nurl = \"{}/maximo\"\npage_size = 3\nmax_attempts = 1\n\n[[schedules]]\nname = \"cmms\"\ncron = \"*/2 * * * * *\"\nsync = \"maximo\"\n",
            mock.url
        ),
    )
    .unwrap();
    let cfg = sb.path("gemba.toml").display().to_string();
    let listed = ok(&sb.gemba_env(&["--config", &cfg, "schedules"], &[]));
    assert!(
        listed.contains("cmms") && listed.contains("sync maximo"),
        "{listed}"
    );
    let server = crate::server::Server::start_with_env(
        &sb,
        &["--config", &cfg],
        &[
            ("MAXIMO_USER", "maxadmin"),
            ("MAXIMO_PASSWORD", "mx-pwd-321"),
        ],
    );
    crate::schedules::wait_for("the scheduled sync to store the orders", 30, || {
        sb.orders().len() == N as usize
    });
    let imports: Value = server.json("/api/v1/imports").await;
    let first = &imports
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "sync")
        .expect("a sync run is listed")["source"];
    assert_eq!(first, "maximo");
    // The CMMS goes down: the next runs fail and the board says so.
    for n in 1..=1000 {
        mock.fault(n, Fault::ServerError);
    }
    let until = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let board = server.text("/").await;
        if board.contains("scheduled import `cmms` failed") {
            assert!(!board.contains("mx-pwd-321"));
            break;
        }
        assert!(std::time::Instant::now() < until, "no warning on the board");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The same tests with the store on PostgreSQL (a database of their own on `GEMBA_TEST_PG`).
mod on_postgres {
    use crate::support::on_postgres;

    #[test]
    fn maintainx() {
        on_postgres(super::maintainx);
    }

    #[test]
    fn upkeep() {
        on_postgres(super::upkeep);
    }

    #[test]
    fn limble() {
        on_postgres(super::limble);
    }

    #[test]
    fn fiix() {
        on_postgres(super::fiix);
    }

    #[test]
    fn maximo() {
        on_postgres(super::maximo);
    }

    #[test]
    fn sap_pm() {
        on_postgres(super::sap_pm);
    }

    #[test]
    fn atlas() {
        on_postgres(super::atlas);
    }

    #[test]
    fn odoo() {
        on_postgres(super::odoo);
    }

    #[test]
    fn a_failed_sync_keeps_its_pages_and_the_next_one_resumes() {
        on_postgres(super::a_failed_sync_keeps_its_pages_and_the_next_one_resumes);
    }

    #[test]
    fn a_manifest_from_config_works_without_recompiling() {
        on_postgres(super::a_manifest_from_config_works_without_recompiling);
    }

    #[test]
    fn a_scheduled_sync_job_runs_inside_serve() {
        on_postgres(super::a_scheduled_sync_job_runs_inside_serve);
    }
}
