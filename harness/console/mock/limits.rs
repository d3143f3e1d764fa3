//! Athena's rate limits (app.js 322-364, express-rate-limit 3.4.0) and the lockout after
//! repeated authentication failures (libs/lockout.js). Both key a client by its IP address
//! and `User-Agent`, and both live in memory, bounded: rate counters are dropped every
//! window, and failures older than the lockout window are pruned.

use super::{json, MockConsole};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// How hard a console throttles its clients. The defaults are a stock athena's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// athena `max_req_per_min`: requests a client may send per minute to paths outside
    /// `/ak/` with methods other than GET; GETs may send 16 times as many. 0: unlimited.
    pub max_req_per_min: u32,
    /// athena `max_req_per_min_ak`: the same for `/ak/` paths; GETs may send 4 times as
    /// many. 0: unlimited.
    pub max_req_per_min_ak: u32,
    /// athena `lockout_limit`: this many 401/403 answers within two minutes lock a
    /// client out (402) until fewer are that young. 0: never.
    pub lockout_limit: u32,
    /// athena `max_components`: an import is refused once more than this many CAs, peers
    /// and orderers are stored.
    pub max_components: usize,
}

impl Limits {
    /// A stock console: 25 requests a minute each way, locked out at 5 failures
    /// (default_settings_doc.json), 75 components (settings.js).
    pub const ATHENA: Limits = Limits {
        max_req_per_min: 25,
        max_req_per_min_ak: 25,
        lockout_limit: 5,
        max_components: 75,
    };

    /// Athena's limits without the rate limiter: for a console driven by a program at
    /// machine speed (the simulation's runbook), whose scenarios judge the nodes.
    pub const UNTHROTTLED: Limits = Limits {
        max_req_per_min: 0,
        max_req_per_min_ak: 0,
        ..Limits::ATHENA
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::ATHENA
    }
}

const WINDOW_MS: u64 = 60_000;
/// lockout.js `reset_window_ms`.
const LOCKOUT_WINDOW_MS: u64 = 120_000;
/// Clients whose failures are kept before the oldest are pruned (memory stays bounded
/// however many User-Agents a client makes up).
const MAX_TRACKED_CLIENTS: usize = 10_000;

/// The four limiters of app.js 325-328.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Limiter {
    SessionLow,
    SessionHigh,
    AkLow,
    AkHigh,
}

impl Limiter {
    /// app.js 331-364: GETs and a few busy POST routes get the high limit.
    fn of(method: &Method, path: &str) -> Limiter {
        let busy = ["/grpcwp/", "/configtxlator/"]
            .iter()
            .any(|p| path.starts_with(p))
            || ["/proxy", "/components/status"].iter().any(|route| {
                ["/api/v1", "/api/v2", "/api/v3"]
                    .iter()
                    .any(|v| path.starts_with(&format!("{v}{route}")))
            });
        let high = method == Method::GET || busy;
        match (path.starts_with("/ak/"), high) {
            (true, true) => Limiter::AkHigh,
            (true, false) => Limiter::AkLow,
            (false, true) => Limiter::SessionHigh,
            (false, false) => Limiter::SessionLow,
        }
    }

    fn max(self, limits: &Limits) -> u32 {
        match self {
            Limiter::SessionLow => limits.max_req_per_min,
            Limiter::SessionHigh => limits.max_req_per_min.saturating_mul(16),
            Limiter::AkLow => limits.max_req_per_min_ak,
            Limiter::AkHigh => limits.max_req_per_min_ak.saturating_mul(4),
        }
    }

    fn message(self) -> &'static str {
        match self {
            Limiter::SessionLow => "[Session Requests] exceeded the low volume rate limit",
            Limiter::SessionHigh => "[Session Requests] exceeded the high volume rate limit",
            Limiter::AkLow => "[AK Requests] exceeded the low volume rate limit",
            Limiter::AkHigh => "[AK Requests] exceeded the high volume rate limit",
        }
    }
}

/// A console's counters.
pub(super) struct Throttle {
    limits: Limits,
    inner: Mutex<Counters>,
}

struct Counters {
    /// express-rate-limit's MemoryStore: one fixed window for every client.
    window_end_ms: u64,
    hits: HashMap<(Limiter, String), u32>,
    /// Failure times per client, newest last.
    failures: HashMap<String, Vec<u64>>,
}

impl Throttle {
    pub(super) fn new(limits: Limits, now_ms: u64) -> Throttle {
        Throttle {
            limits,
            inner: Mutex::new(Counters {
                window_end_ms: now_ms + WINDOW_MS,
                hits: HashMap::new(),
                failures: HashMap::new(),
            }),
        }
    }

    fn counters(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.inner.lock().expect("console limits")
    }
}

/// lockout.js `make_key`: the client's address and browser.
fn client_key(request: &Request) -> String {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_default();
    let agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("undefined");
    format!("{ip}{agent}")
}

/// The rate limiter: counts every request (refused ones too) in a fixed one-minute window
/// and answers 429 past the limit, with express-rate-limit's headers.
pub(super) async fn rate_limit(
    State(console): State<Arc<MockConsole>>,
    request: Request,
    next: Next,
) -> Response {
    let limiter = Limiter::of(request.method(), request.uri().path());
    let max = limiter.max(&console.limits.limits);
    if max == 0 {
        return next.run(request).await;
    }
    let now = console.clock.unix_ms();
    let key = client_key(&request);
    let (current, reset_ms) = {
        let mut counters = console.limits.counters();
        if now >= counters.window_end_ms {
            counters.hits.clear();
            let behind = (now - counters.window_end_ms) / WINDOW_MS + 1;
            counters.window_end_ms += behind * WINDOW_MS;
        }
        let hits = counters.hits.entry((limiter, key)).or_insert(0);
        *hits = hits.saturating_add(1);
        (*hits, counters.window_end_ms)
    };
    let headers = [
        ("x-ratelimit-limit", max.to_string()),
        (
            "x-ratelimit-remaining",
            max.saturating_sub(current).to_string(),
        ),
        ("x-ratelimit-reset", reset_ms.div_ceil(1000).to_string()),
    ];
    let mut response = if current > max {
        let mut body = serde_json::json!({
            "error": format!("{} - too many requests, try again later", limiter.message()),
            "rate_limit": format!("{max}/min"),
        });
        if request.uri().path().starts_with("/ak/") {
            body["tips"] = serde_json::json!([
                "monitor the header \"X-RateLimit-Remaining\" for your current rate",
                "check the header \"X-RateLimit-Reset\" for when to resume",
            ]);
        }
        let mut refused = json(StatusCode::TOO_MANY_REQUESTS, &body);
        refused
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(WINDOW_MS / 1000));
        refused
    } else {
        next.run(request).await
    };
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// The lockout: a client with `lockout_limit` authentication failures in the last two
/// minutes gets 402 (and each refusal counts as one more failure); any answer below 400
/// clears its count. Healthchecks are not tracked, and failures on the status route do
/// not count (lockout.js `track_api`).
pub(super) async fn lockout(
    State(console): State<Arc<MockConsole>>,
    request: Request,
    next: Next,
) -> Response {
    let limit = console.limits.limits.lockout_limit as usize;
    if limit == 0 {
        return next.run(request).await;
    }
    let now = console.clock.unix_ms();
    let key = client_key(&request);
    let path = request.uri().path().to_string();
    let failed_before = {
        let mut counters = console.limits.counters();
        match counters.failures.get_mut(&key) {
            Some(times) => {
                prune(times, now, limit);
                if times.len() >= limit {
                    times.push(now);
                    Some(times.len() - 1)
                } else {
                    None
                }
            }
            None => None,
        }
    };
    if let Some(failures) = failed_before {
        return json(
            StatusCode::PAYMENT_REQUIRED,
            &serde_json::json!({
                "error": format!(
                    "too many auth failures. client is locked out. try again in {}",
                    super::friendly_ms(LOCKOUT_WINDOW_MS as i64)
                ),
                "failures": failures,
            }),
        );
    }
    let response = next.run(request).await;
    if path.ends_with("/healthcheck") {
        return response;
    }
    let status = response.status();
    let mut counters = console.limits.counters();
    if matches!(status.as_u16(), 401 | 403)
        && !path.contains("/api/v3/logs")
        && !path.contains("/api/v3/components/status")
    {
        if counters.failures.len() >= MAX_TRACKED_CLIENTS && !counters.failures.contains_key(&key) {
            counters.failures.retain(|_, times| {
                prune(times, now, limit);
                !times.is_empty()
            });
        }
        if counters.failures.len() < MAX_TRACKED_CLIENTS || counters.failures.contains_key(&key) {
            counters.failures.entry(key).or_default().push(now);
        }
    } else if status.as_u16() < 400 {
        counters.failures.remove(&key);
    }
    response
}

/// lockout.js `prune_failures`: only failures younger than the window count, and at most
/// four times the limit are kept.
fn prune(times: &mut Vec<u64>, now: u64, limit: usize) {
    times.retain(|t| now.saturating_sub(*t) <= LOCKOUT_WINDOW_MS);
    let keep = limit.saturating_mul(4);
    if times.len() > keep {
        times.drain(..times.len() - keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_sorted_into_athenas_four_limiters() {
        assert_eq!(
            Limiter::of(&Method::GET, "/ak/api/v3/components"),
            Limiter::AkHigh
        );
        assert_eq!(
            Limiter::of(&Method::POST, "/ak/api/v3/components"),
            Limiter::AkLow
        );
        // The busy-route exceptions are anchored at /api, so the /ak/ status route is low.
        assert_eq!(
            Limiter::of(&Method::POST, "/ak/api/v3/components/status"),
            Limiter::AkLow
        );
        assert_eq!(
            Limiter::of(&Method::POST, "/api/v3/components/status"),
            Limiter::SessionHigh
        );
        assert_eq!(Limiter::of(&Method::PUT, "/caproxy/x"), Limiter::SessionLow);
        assert_eq!(Limiter::of(&Method::HEAD, "/ak/api/v3/x"), Limiter::AkLow);
        assert_eq!(Limiter::AkHigh.max(&Limits::ATHENA), 100);
        assert_eq!(Limiter::SessionHigh.max(&Limits::ATHENA), 400);
    }

    #[test]
    fn pruning_keeps_young_failures_and_at_most_four_times_the_limit() {
        let mut times: Vec<u64> = (0..30).map(|i| 1_000_000 + i).collect();
        times.insert(0, 1);
        prune(&mut times, 1_000_100, 5);
        assert_eq!(times.len(), 20);
        assert_eq!(*times.last().unwrap(), 1_000_029);
    }
}
