//! A mock CMMS for the sync tests: an axum server on 127.0.0.1 that answers as one vendor's API
//! does (auth, paging, filters, reply shapes, rate-limit advice), with faults injected into
//! chosen listing requests and every request logged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// One record as the vendor's API returns it, with what the mock filters and sorts on.
#[derive(Clone, Debug)]
pub struct Rec {
    pub id: i64,
    pub updated_ms: i64,
    pub json: Value,
}

/// What goes wrong, on the listing request with that number (1-based).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    Throttle,
    ServerError,
    /// Answer only after this long (beyond the client's timeout).
    Slow(Duration),
    /// The session token stops being valid (UpKeep).
    Expire,
}

#[derive(Clone, Debug)]
pub struct Logged {
    pub path: String,
    pub query: String,
    pub body: String,
    pub listing: bool,
}

/// A parsed request, for a vendor's handler.
pub struct Req {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// `host:port` the client used (for next-page URLs and signatures).
    pub host: String,
}

impl Req {
    pub fn query(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    }
    pub fn param(&self, name: &str) -> Option<String> {
        self.query()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
    /// This request's absolute URL with query parameter `key` set to `value` (a next page).
    pub fn with_param(&self, key: &str, value: &str) -> String {
        let mut q: Vec<(String, String)> =
            self.query().into_iter().filter(|(k, _)| k != key).collect();
        q.push((key.into(), value.into()));
        let qs = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q)
            .finish();
        format!("http://{}{}?{qs}", self.host, self.uri.path())
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// How one vendor behaves.
pub struct Vendor {
    /// Is this request the work-order listing (where faults are injected)?
    pub is_listing: fn(&Req) -> bool,
    /// The vendor's answer to a request (auth checks included).
    pub handle: fn(&MockState, &Req) -> Response,
    /// The vendor's "too many requests".
    pub throttle: fn() -> Response,
}

pub struct MockState {
    pub records: Mutex<Vec<Rec>>,
    pub faults: Mutex<HashMap<u32, Fault>>,
    pub log: Mutex<Vec<Logged>>,
    pub listings: AtomicU32,
    /// Records returned by listing requests so far.
    pub served: AtomicU32,
    /// The valid session token (UpKeep), and how many logins there were.
    pub token: Mutex<Option<String>>,
    pub logins: AtomicU32,
    vendor: Vendor,
}

impl MockState {
    /// Records changed at or after `since` (strictly after with `strict`), in the given order.
    pub fn select(&self, since_ms: Option<i64>, strict: bool, order: Order) -> Vec<Rec> {
        let mut v: Vec<Rec> = self
            .records
            .lock()
            .unwrap()
            .iter()
            .filter(|r| match since_ms {
                None => true,
                Some(s) if strict => r.updated_ms > s,
                Some(s) => r.updated_ms >= s,
            })
            .cloned()
            .collect();
        match order {
            Order::Id => v.sort_by_key(|r| r.id),
            Order::UpdatedAsc => v.sort_by_key(|r| (r.updated_ms, r.id)),
            Order::UpdatedDesc => v.sort_by_key(|r| (std::cmp::Reverse(r.updated_ms), r.id)),
        }
        v
    }

    /// Counts the records a listing reply carries.
    pub fn serve(&self, page: &[Rec]) -> Vec<Value> {
        self.served.fetch_add(page.len() as u32, Ordering::SeqCst);
        page.iter().map(|r| r.json.clone()).collect()
    }

    /// Listing requests logged so far.
    pub fn listing_log(&self) -> Vec<Logged> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.listing)
            .cloned()
            .collect()
    }
}

#[derive(Clone, Copy)]
pub enum Order {
    Id,
    UpdatedAsc,
    UpdatedDesc,
}

pub struct MockServer {
    pub url: String,
    pub state: Arc<MockState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockServer {
    pub fn start(vendor: Vendor, records: Vec<Rec>) -> MockServer {
        let state = Arc::new(MockState {
            records: Mutex::new(records),
            faults: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            listings: AtomicU32::new(0),
            served: AtomicU32::new(0),
            token: Mutex::new(None),
            logins: AtomicU32::new(0),
            vendor,
        });
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        std_listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", std_listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let st = st.clone();
                        async move { answer(st, method, uri, headers, body).await }
                    },
                );
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        MockServer {
            url,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn fault(&self, listing: u32, f: Fault) {
        self.state.faults.lock().unwrap().insert(listing, f);
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn answer(
    st: Arc<MockState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let req = Req {
        method,
        uri,
        headers,
        body,
        host,
    };
    let listing = (st.vendor.is_listing)(&req);
    st.log.lock().unwrap().push(Logged {
        path: req.uri.path().to_string(),
        query: req.uri.query().unwrap_or("").to_string(),
        body: String::from_utf8_lossy(&req.body).into_owned(),
        listing,
    });
    if listing {
        let n = st.listings.fetch_add(1, Ordering::SeqCst) + 1;
        let fault = st.faults.lock().unwrap().get(&n).copied();
        match fault {
            Some(Fault::Throttle) => return (st.vendor.throttle)(),
            Some(Fault::ServerError) => {
                // A careless server that echoes the request: the client must not repeat it.
                let echoed: Vec<String> = req
                    .headers
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.to_str().unwrap_or("")))
                    .collect();
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "upstream database unavailable; request headers {}; {} {}",
                        echoed.join(" "),
                        req.uri,
                        String::from_utf8_lossy(&req.body)
                    ),
                )
                    .into_response();
            }
            Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
            Some(Fault::Expire) => {
                *st.token.lock().unwrap() = None;
            }
            None => {}
        }
    }
    (st.vendor.handle)(&st, &req)
}

pub fn json(v: Value) -> Response {
    axum::Json(v).into_response()
}

pub fn status(code: u16, body: &str) -> Response {
    (StatusCode::from_u16(code).unwrap(), body.to_string()).into_response()
}
