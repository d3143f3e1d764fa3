//! Serving HTTP/1.1 on a real, reachable socket, where clients may be careless or hostile.
//! `http::serve` trusts its clients (the simulation's nodes); this one
//!
//! - keeps accepting when the process runs out of file descriptors (EMFILE): it reports the
//!   first failure of a burst, closes the connection that has been idle longest to free a
//!   descriptor, or else backs off (up to a second) and tries again;
//! - drops a connection whose next request head has not arrived within `header_timeout`
//!   (idle keep-alive connections and slow headers; hyper's `header_read_timeout`);
//! - drops a connection whose reads or writes make no progress for `io_timeout` (a client
//!   that stops sending a body or stops reading its answer; Node's socket timeout, which
//!   athena sets to 120 s);
//! - tells the router each request's peer address (`ConnectInfo`).

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tower::ServiceExt;

/// Connection limits of a public server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerOptions {
    /// Time for a request head to arrive, counted from the connection's start or from the
    /// previous answer. Node 20's `headersTimeout`, which athena runs with: 60 s.
    pub header_timeout: Duration,
    /// A read or a write that makes no progress for this long ends the connection.
    /// athena's `http_timeout`: 120 s.
    pub io_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            header_timeout: Duration::from_secs(60),
            io_timeout: Duration::from_secs(120),
        }
    }
}

/// What the accept loop reports (once per burst of failures).
#[derive(Debug)]
pub enum ServerEvent {
    /// `accept` failed; the server keeps trying.
    AcceptFailed(io::Error),
    /// Accepting again after `failures` failed attempts, having closed `evicted` idle
    /// connections to make room.
    AcceptResumed { failures: u64, evicted: u64 },
}

/// Longest pause between two attempts while `accept` keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The open connections: how many requests each has in flight, and since when it idles.
#[derive(Default)]
struct Connections {
    next_id: u64,
    open: BTreeMap<u64, Connection>,
}

struct Connection {
    in_flight: usize,
    idle_since: Instant,
    close: Option<tokio::sync::oneshot::Sender<()>>,
}

type Registry = Arc<Mutex<Connections>>;

fn registry_lock(registry: &Registry) -> std::sync::MutexGuard<'_, Connections> {
    registry
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Closes the connection idle longest, if any; true when one was asked to close.
fn evict_idle(registry: &Registry) -> bool {
    let mut connections = registry_lock(registry);
    let oldest = connections
        .open
        .iter()
        .filter(|(_, c)| c.in_flight == 0 && c.close.is_some())
        .min_by_key(|(_, c)| c.idle_since)
        .map(|(id, _)| *id);
    let Some(id) = oldest else {
        return false;
    };
    let close = connections.open.get_mut(&id).and_then(|c| c.close.take());
    close.is_some_and(|close| close.send(()).is_ok())
}

/// Marks one request in flight on a connection until dropped.
struct Busy {
    registry: Registry,
    id: u64,
}

impl Busy {
    fn new(registry: &Registry, id: u64) -> Busy {
        if let Some(c) = registry_lock(registry).open.get_mut(&id) {
            c.in_flight += 1;
        }
        Busy {
            registry: registry.clone(),
            id,
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Some(c) = registry_lock(&self.registry).open.get_mut(&self.id) {
            c.in_flight = c.in_flight.saturating_sub(1);
            c.idle_since = Instant::now();
        }
    }
}

/// Ends a connection's registration when its task ends.
struct Registered {
    registry: Registry,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        registry_lock(&self.registry).open.remove(&self.id);
    }
}

/// A descriptor limit (EMFILE, ENFILE): freeing a descriptor lets `accept` succeed.
fn out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(23 | 24))
}

/// Failures about one connection that is already gone: try the next at once.
fn connection_gone(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Serves `router` on `listener` until `shutdown` completes; `report` hears about accept
/// failures. Open connections are left to finish on the runtime.
pub async fn serve_public(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
    report: impl Fn(ServerEvent),
) -> io::Result<()> {
    let registry: Registry = Arc::default();
    tokio::pin!(shutdown);
    // A burst lasts while accepting needs retries or evictions: it ends at the first
    // accept that follows an accept with no failure between them.
    let (mut failures, mut evicted) = (0u64, 0u64);
    let mut failed_since_accept = false;
    let mut backoff = Duration::from_millis(5);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                if failures > 0 && !failed_since_accept {
                    report(ServerEvent::AcceptResumed { failures, evicted });
                    (failures, evicted) = (0, 0);
                    backoff = Duration::from_millis(5);
                }
                failed_since_accept = false;
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(
                    stream,
                    peer,
                    router.clone(),
                    options,
                    registry.clone(),
                ));
            }
            Err(error) if connection_gone(&error) => continue,
            Err(error) => {
                let fd_limit = out_of_descriptors(&error);
                if failures == 0 {
                    report(ServerEvent::AcceptFailed(error));
                }
                failures += 1;
                failed_since_accept = true;
                if fd_limit && evict_idle(&registry) {
                    evicted += 1;
                    // Let the closed connection's task run and give its descriptor back.
                    tokio::task::yield_now().await;
                    continue;
                }
                tokio::select! {
                    _ = &mut shutdown => return Ok(()),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: axum::Router,
    options: ServerOptions,
    registry: Registry,
) {
    let (close, closed) = tokio::sync::oneshot::channel();
    let id = {
        let mut connections = registry_lock(&registry);
        let id = connections.next_id;
        connections.next_id += 1;
        connections.open.insert(
            id,
            Connection {
                in_flight: 0,
                idle_since: Instant::now(),
                close: Some(close),
            },
        );
        id
    };
    let _registered = Registered {
        registry: registry.clone(),
        id,
    };
    let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
    stream.set_read_timeout(Some(options.io_timeout));
    stream.set_write_timeout(Some(options.io_timeout));
    let service = tower::service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
        let busy = Busy::new(&registry, id);
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await;
            drop(busy);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    let serving = builder.serve_connection(
        TokioIo::new(Box::pin(stream)),
        hyper_util::service::TowerToHyperService::new(service),
    );
    // A connection that breaks is the client's problem; an evicted one just ends.
    tokio::select! {
        _ = serving => {}
        _ = closed => {}
    }
}
