//! Answers cached per data version, and a gate on heavy computations.
//!
//! The data changes only when an import, a sync or a demo load lands (the engine reloads), so
//! the answer to a read is the same until then: the JSON API's metrics, the orders list, the
//! trends and the data-quality page, and their CSV downloads, are kept in a bounded cache keyed
//! by the path and the query with its parameters sorted, each with the load it was computed
//! over. Identical requests that find nothing kept wait for one computation.
//!
//! An answer over older data (the engine reloaded since), or about "now" and older than
//! `[board] cache_seconds`, is computed again by the first request that finds it so, which
//! waits for it; requests that come while it computes get the kept answer at once instead of
//! queueing behind it. A person who imports and then looks gets the new answer; under a wall of
//! polling screens, a reload never makes them all wait. An answer is forgotten at twice
//! `cache_seconds`, so none is served older than that.
//!
//! Every other request that is not a GET counts as a write (`AppState::wrote`), as does a
//! job's run, which ends the sharing of the boards' small reads.
//!
//! What is not in the cache passes the gate: at most as many heavy computations at once as the
//! machine has cores (each holds a few hundred MB of intermediates on a million orders); the
//! rest wait in a bounded queue, and past it the answer is `503 Service Unavailable` with
//! `Retry-After`, at once, instead of a time-out.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::AppState;

/// The reads whose answers are cached: a function of the data and the query only.
pub const CACHED: &[&str] = &[
    "/api/v1/kpis",
    "/api/v1/trend",
    "/api/v1/orders",
    "/api/v1/pull",
    "/api/v1/quality",
    "/orders",
    "/orders.csv",
    "/trends",
    "/trends.csv",
    "/quality",
    "/assets",
    "/assets/health",
    "/assets/pareto",
    "/api/v1/assets",
    "/api/v1/assets/pareto",
];

/// Bytes the cache may hold, counting each entry as at least [`ENTRY_FLOOR`] bytes: at most
/// `CAPACITY / ENTRY_FLOOR` entries, whatever their size.
const CAPACITY: u64 = 96 << 20;
const ENTRY_FLOOR: u32 = 8 << 10;
/// An answer larger than this (a CSV of every order) is served but not kept.
const MAX_ENTRY: usize = 16 << 20;
/// Requests that may wait for the gate per core before the server answers 503.
const QUEUE_PER_CORE: usize = 32;
/// What `Retry-After` says, in seconds.
const RETRY_AFTER: &str = "2";

/// A response as kept: status, the headers that describe the body, the body.
#[derive(Clone)]
pub struct Answer {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

impl Answer {
    async fn of(resp: Response) -> Answer {
        let (parts, body) = resp.into_parts();
        let keep = [
            header::CONTENT_TYPE,
            header::CONTENT_DISPOSITION,
            header::RETRY_AFTER,
        ];
        let headers = keep
            .iter()
            .filter_map(|h| parts.headers.get(h).map(|v| (h.clone(), v.clone())))
            .collect();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        Answer {
            status: parts.status,
            headers,
            body,
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut resp = Response::new(Body::from(self.body));
        *resp.status_mut() = self.status;
        resp.headers_mut().extend(self.headers);
        resp
    }
}

/// An answer that is not kept: an error, a 503, or one too large. Those waiting for the same
/// computation get it too.
#[derive(Clone)]
pub struct Uncached(Answer);

/// The path and the normalized query.
type Key = (String, String);

/// An answer as kept: the load of the data it was computed over, and when.
#[derive(Clone)]
struct Kept {
    version: i64,
    at: Instant,
    answer: Answer,
}

impl Kept {
    /// An answer just computed over the load `version`.
    fn now(version: i64, answer: Answer) -> Kept {
        Kept {
            version,
            at: Instant::now(),
            answer,
        }
    }
}

/// The cache of answers and the gate of computations.
pub struct Answers {
    cache: moka::future::Cache<Key, Kept>,
    /// Answers being computed again (new data, or older than `fresh`): the one request that
    /// computes waits for it, the others get the kept answer meanwhile.
    renewing: Mutex<HashSet<Key>>,
    fresh: Duration,
    gate: Gate,
}

impl Answers {
    /// Answers about "now" are computed again once older than `fresh`; an answer is forgotten
    /// once twice as old, so none is ever served older than that.
    pub fn new(fresh: Duration) -> Answers {
        Answers {
            cache: moka::future::Cache::builder()
                .max_capacity(CAPACITY)
                .weigher(|_k: &Key, k: &Kept| {
                    u32::try_from(k.answer.body.len())
                        .unwrap_or(u32::MAX)
                        .max(ENTRY_FLOOR)
                })
                .time_to_live(fresh * 2)
                .build(),
            renewing: Mutex::new(HashSet::new()),
            fresh,
            gate: Gate::new(),
        }
    }

    /// Forgets every answer: the data was replaced.
    pub fn clear(&self) {
        self.cache.invalidate_all();
    }

    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Answers kept and their bytes (for the log and the benchmark).
    pub fn size(&self) -> (u64, u64) {
        (self.cache.entry_count(), self.cache.weighted_size())
    }
}

/// A key being computed again, given back when dropped (also when the client gives up).
struct Renewing<'a> {
    set: &'a Mutex<HashSet<Key>>,
    key: Key,
}

impl<'a> Renewing<'a> {
    /// The right to compute `key` again; `None` when another request is at it.
    fn claim(set: &'a Mutex<HashSet<Key>>, key: &Key) -> Option<Renewing<'a>> {
        set.lock()
            .expect("lock")
            .insert(key.clone())
            .then(|| Renewing {
                set,
                key: key.clone(),
            })
    }
}

impl Drop for Renewing<'_> {
    fn drop(&mut self) {
        self.set.lock().expect("lock").remove(&self.key);
    }
}

/// At most one heavy computation per core; a bounded number waiting.
pub struct Gate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
}

/// The right to compute, held until dropped.
pub struct Pass {
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Gate {
    fn new() -> Gate {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Gate::with(cores, cores * QUEUE_PER_CORE)
    }

    fn with(permits: usize, queue: usize) -> Gate {
        Gate {
            permits: Arc::new(Semaphore::new(permits)),
            waiting: AtomicUsize::new(0),
            queue,
        }
    }

    /// Waits for a free core, or refuses at once when the queue is full.
    pub async fn enter(&self) -> Result<Pass, Busy> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Ok(Pass { _permit: p });
        }
        // Counted as waiting until this returns or is dropped (a client that gave up).
        let waiting = Waiting(&self.waiting);
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            return Err(Busy);
        }
        let permit = self.permits.clone().acquire_owned().await;
        drop(waiting);
        permit.map(|p| Pass { _permit: p }).map_err(|_| Busy)
    }
}

/// One place in the queue, given back when dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The gate's queue is full.
#[derive(Debug, Clone, Copy)]
pub struct Busy;

impl IntoResponse for Busy {
    fn into_response(self) -> Response {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, RETRY_AFTER)],
            "the server is busy computing other answers; try again in a moment",
        )
            .into_response()
    }
}

/// The query with its parameters in a fixed order, so `a=1&b=2` and `b=2&a=1` are one answer.
pub fn normalize(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    // A stable sort keeps repeated keys (metric=a&metric=b) in the order given.
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The middleware: cached reads from the cache, their misses and every other heavy read through
/// the gate.
pub async fn answer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if req.method() != Method::GET && req.method() != Method::HEAD {
        // A write: what the boards read per request may have changed.
        let resp = next.run(req).await;
        state.wrote();
        return resp;
    }
    let refused = path.starts_with("/api/")
        && req
            .uri()
            .query()
            .and_then(super::openapi::blank_parameter)
            .is_some();
    if req.method() != Method::GET || !CACHED.contains(&path.as_str()) || refused {
        return next.run(req).await;
    }
    let version = state.loaded().version;
    let key = (path, normalize(req.uri().query().unwrap_or("")));
    let answers = state.answers();
    if let Some(kept) = answers.cache.get(&key).await {
        if kept.version >= version && kept.at.elapsed() < answers.fresh {
            return kept.answer.into_response();
        }
        // Over older data, or about "now" for long enough: this request computes it again,
        // and those that come while it does get the kept answer instead of waiting with it.
        let Some(_renewing) = Renewing::claim(&answers.renewing, &key) else {
            return kept.answer.into_response();
        };
        return match compute(&state, req, next).await {
            Ok(answer) => {
                let kept = Kept::now(version, answer);
                answers.cache.insert(key, kept.clone()).await;
                kept.answer.into_response()
            }
            Err(Uncached(a)) => a.into_response(),
        };
    }
    // Nothing kept: identical requests wait for one computation.
    let computing = state.clone();
    let computed = answers
        .cache
        .try_get_with(key, async move {
            let answer = compute(&computing, req, next).await?;
            Ok::<_, Uncached>(Kept::now(version, answer))
        })
        .await;
    match computed {
        Ok(k) => k.answer.into_response(),
        Err(e) => e.0.clone().into_response(),
    }
}

/// Computes an answer through the gate; an error, a 503 or one too large is not kept.
async fn compute(state: &AppState, req: Request, next: Next) -> Result<Answer, Uncached> {
    let _pass = match state.answers().gate().enter().await {
        Ok(p) => p,
        Err(busy) => return Err(Uncached(Answer::of(busy.into_response()).await)),
    };
    let a = Answer::of(next.run(req).await).await;
    if a.status != StatusCode::OK || a.body.len() > MAX_ENTRY {
        return Err(Uncached(a));
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_one_key_whatever_their_order() {
        assert_eq!(
            normalize("crew=Utilities&as_of=2026-03-01"),
            normalize("as_of=2026-03-01&crew=Utilities")
        );
        assert_eq!(normalize("crew=&as_of=2026-03-01"), "as_of=2026-03-01");
        // Repeated keys keep their order; encoding is canonical.
        assert_eq!(
            normalize("metric=b&metric=a&crew=Packaging%20E%26I"),
            "crew=Packaging+E%26I&metric=b&metric=a"
        );
    }

    #[tokio::test]
    async fn the_gate_lets_one_per_core_through_and_refuses_past_its_queue() {
        let gate = Arc::new(Gate::with(1, 1));
        let first = gate.enter().await.unwrap();
        // One may wait; the next is refused at once.
        let waiting = {
            let g = gate.clone();
            tokio::spawn(async move { g.enter().await.map(|_| ()) })
        };
        while gate.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert!(gate.enter().await.is_err(), "the queue is full");
        assert_eq!(
            gate.waiting.load(Ordering::SeqCst),
            1,
            "a refusal leaves no trace"
        );
        drop(first);
        waiting
            .await
            .unwrap()
            .expect("the waiting one gets through");
        assert!(gate.enter().await.is_ok(), "free again");
        // A request that gives up while it waits gives its place back.
        let held = gate.enter().await.unwrap();
        let gave_up = {
            let g = gate.clone();
            tokio::spawn(async move { g.enter().await.map(|_| ()) })
        };
        while gate.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        gave_up.abort();
        let _ = gave_up.await;
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 0);
        drop(held);
    }
}
