//! `POST /components/status` (component_lib.js `bulk_component_status`, `get_status`):
//! the console asks each node itself, up to 32 at a time (`async.eachOfLimit(…, 32)`),
//! each request bounded by `timeout_ms` or athena's 3 s `http_status_timeout`, so an
//! answer about many unreachable nodes takes seconds, not seconds per node.

use super::request::Input;
use super::{error_message, json, Console, MockConsole};
use crate::console::api::{Component, ComponentStatus, ComponentType, STATUS_NOT_OK, STATUS_OK};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use futures_util::stream::{self, StreamExt};
use rand::Rng;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// athena's HTTP_STATUS_TIMEOUT default: status probes give up after 3 s.
pub const STATUS_TIMEOUT_MS: u64 = 3_000;

/// Probes in flight at once (athena's `eachOfLimit`).
const PARALLEL_PROBES: usize = 32;

/// The answer athena's `get_status` gets from one attempt: a status code (network errors
/// are 500, timeouts 504, as misc.js `retry_req` reports them).
async fn attempt(console: &MockConsole, url: &str, timeout: Duration) -> u16 {
    let Ok(request) = http::Request::get(url)
        .header(header::ACCEPT, "application/json")
        .body(Bytes::new())
    else {
        return 500;
    };
    match console.http.send(request, timeout).await {
        Ok(response) => response.status().as_u16(),
        Err(crate::net::http::HttpError::Timeout { .. }) => 504,
        Err(_) => 500,
    }
}

impl MockConsole {
    /// One component's status: two attempts, the second only after a 429 or a 500 and a
    /// short random pause (misc.js `calc_delay`), never after a timeout.
    async fn probe(&self, component: &Component, timeout_ms: u64) -> ComponentStatus {
        // component_lib.js build_status_url: CAs answer /cainfo, peers and orderers /healthz.
        let url = match component.component_type {
            ComponentType::Ca => component.api_url.as_ref().map(|u| format!("{u}/cainfo")),
            ComponentType::Peer | ComponentType::Orderer => component
                .operations_url
                .as_ref()
                .map(|u| format!("{u}/healthz")),
            ComponentType::Msp => None,
        };
        let Some(url) = url else {
            return ComponentStatus {
                status_url: None,
                status: Some(STATUS_NOT_OK.into()),
                error: None,
            };
        };
        let timeout = Duration::from_millis(timeout_ms);
        let mut code = attempt(self, &url, timeout).await;
        if matches!(code, 429 | 500) {
            let pause_ms = {
                let mut rng = self.rng.lock().expect("console rng");
                if code == 429 {
                    100 + rng.random_range(0..1000)
                } else {
                    500 + rng.random_range(0..1500)
                }
            };
            tokio::time::sleep(Duration::from_millis(pause_ms)).await;
            code = attempt(self, &url, timeout).await;
        }
        ComponentStatus {
            status_url: Some(url),
            status: Some(if code < 400 { STATUS_OK } else { STATUS_NOT_OK }.into()),
            error: None,
        }
    }
}

/// The probe timeout a request names (`timeout_ms`, numbers or numeric strings).
fn timeout_ms(options: &Value) -> u64 {
    let asked = options
        .get("timeout_ms")
        .map(crate::console::validate::js_number);
    match asked {
        Some(ms) if ms.is_finite() && ms >= 0.0 => ms as u64,
        _ => STATUS_TIMEOUT_MS,
    }
}

pub(super) async fn component_status(State(console): Console, Input(body): Input) -> Response {
    let Some(asked) = body
        .get("components")
        .and_then(Value::as_object)
        .filter(|c| !c.is_empty())
    else {
        return error_message(
            StatusCode::BAD_REQUEST,
            "missing or empty \"components\" field",
            None,
        );
    };
    let asked = asked.clone();
    let known = console.lock().components.clone();
    let probes = asked.into_iter().map(|(id, options)| {
        let component = known
            .get(&id)
            .filter(|c| c.component_type != ComponentType::Msp)
            .cloned();
        let console = &console;
        async move {
            let status = match component {
                Some(component) => console.probe(&component, timeout_ms(&options)).await,
                // Only CAs, peers and orderers have a status (get_all_runnable_components).
                None => ComponentStatus {
                    status_url: Some("?".into()),
                    status: None,
                    error: Some("unknown component id".into()),
                },
            };
            (id, status)
        }
    });
    let answer: BTreeMap<String, ComponentStatus> = stream::iter(probes)
        .buffer_unordered(PARALLEL_PROBES)
        .collect()
        .await;
    json(StatusCode::MULTI_STATUS, &answer)
}
