//! Unary calls over framed connections, as a gRPC client channel makes them: a request
//! carries an id its reply repeats; a connection per endpoint, dialled on first use and
//! dialled again after it closes. Used by the client application (to its gateway peer) and
//! by a peer's Gateway (to other peers' endorsers and to ordering nodes).

use super::links::{LinkEvents, Links};
use super::wire::Wire;
use crate::net::frame::{ConnectionEvent, Keepalive};
use crate::net::Net;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Why a call got no reply: what a gRPC client sees as UNAVAILABLE or DEADLINE_EXCEEDED.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The connection failed or closed before the reply.
    Unavailable(String),
    /// No reply within the call's deadline.
    DeadlineExceeded(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Unavailable(why) | CallError::DeadlineExceeded(why) => f.write_str(why),
        }
    }
}

struct Calls {
    links: Links<String>,
    next_request: u64,
    /// Requests waiting for a reply: id -> (endpoint, where to answer: the reply, or why the
    /// connection failed).
    pending: BTreeMap<u64, (String, oneshot::Sender<Result<Wire, String>>)>,
    /// Requests waiting for a dial to finish, by endpoint.
    waiting_dial: BTreeMap<String, Vec<Wire>>,
    dial_timeout: Duration,
}

/// A client of other nodes' services.
pub struct Rpc {
    calls: Rc<RefCell<Calls>>,
}

impl Rpc {
    /// Starts the client on the current LocalSet. `keepalive` applies to its connections
    /// (the Gateway's have none: Fabric dials them without keepalive options).
    pub fn new(net: Arc<dyn Net>, keepalive: Keepalive, dial_timeout: Duration) -> Rpc {
        let (links, events) = Links::new(net, move |_| keepalive);
        let calls = Rc::new(RefCell::new(Calls {
            links,
            next_request: 0,
            pending: BTreeMap::new(),
            waiting_dial: BTreeMap::new(),
            dial_timeout,
        }));
        tokio::task::spawn_local(pump(calls.clone(), events));
        Rpc { calls }
    }

    /// Sends the request `make(id)` to `endpoint` (host:port) and waits for its reply
    /// within `timeout`.
    pub async fn call(
        &self,
        endpoint: &str,
        timeout: Duration,
        make: impl FnOnce(u64) -> Wire,
    ) -> Result<Wire, CallError> {
        let answer = {
            let mut calls = self.calls.borrow_mut();
            let id = calls.next_request;
            calls.next_request += 1;
            let (reply, answer) = oneshot::channel();
            calls.pending.insert(id, (endpoint.to_string(), reply));
            calls.send(endpoint, make(id));
            answer
        };
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(Ok(reply))) => Ok(reply),
            Ok(Ok(Err(why))) => Err(CallError::Unavailable(format!("{endpoint}: {why}"))),
            Ok(Err(_)) => Err(CallError::Unavailable(format!(
                "{endpoint}: connection lost"
            ))),
            Err(_) => Err(CallError::DeadlineExceeded(format!(
                "{endpoint}: no answer within {timeout:?}"
            ))),
        }
    }

    /// Closes the connection to `endpoint` (the Gateway's removeEndorser): the next call
    /// dials again.
    pub fn disconnect(&self, endpoint: &str) {
        let mut calls = self.calls.borrow_mut();
        calls.links.close(&endpoint.to_string());
        calls.drop_endpoint(endpoint, "connection lost");
    }
}

impl Calls {
    fn send(&mut self, endpoint: &str, message: Wire) {
        if self.links.send_to(&endpoint.to_string(), &message) {
            return;
        }
        self.waiting_dial
            .entry(endpoint.to_string())
            .or_default()
            .push(message);
        if let Some((host, port)) = endpoint
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse().ok()?)))
        {
            let timeout = self.dial_timeout;
            self.links.dial(endpoint.to_string(), host, port, timeout);
        }
    }

    /// Fails every request to `endpoint` (the connection or the dial is gone) with `why`.
    fn drop_endpoint(&mut self, endpoint: &str, why: &str) {
        self.waiting_dial.remove(endpoint);
        let failed: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, (to, _))| to == endpoint)
            .map(|(id, _)| *id)
            .collect();
        for id in failed {
            if let Some((_, answer)) = self.pending.remove(&id) {
                let _ = answer.send(Err(why.to_string()));
            }
        }
    }
}

/// Moves connection events into replies.
async fn pump(calls: Rc<RefCell<Calls>>, mut events: LinkEvents<String>) {
    loop {
        tokio::select! {
            biased;
            Some(event) = events.connections.recv() => {
                let mut calls = calls.borrow_mut();
                match event {
                    ConnectionEvent::Message(_, reply) => {
                        if let Some(id) = reply_id(&reply) {
                            if let Some((_, answer)) = calls.pending.remove(&id) {
                                let _ = answer.send(Ok(reply));
                            }
                        }
                    }
                    ConnectionEvent::Closed(id, _) => {
                        if let Some(endpoint) = calls.links.closed(id) {
                            calls.drop_endpoint(&endpoint, "connection lost");
                        }
                    }
                }
            }
            Some((endpoint, result)) = events.dialed.recv() => {
                let mut calls = calls.borrow_mut();
                let label = endpoint.clone();
                // What grpc-go reports for a dial a live host refused (its process is gone).
                let why = match &result {
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                        "connection refused".to_string()
                    }
                    Err(e) => e.to_string(),
                    Ok(_) => String::new(),
                };
                match calls.links.dial_finished(endpoint.clone(), result, label) {
                    Some(connection) => {
                        for message in calls.waiting_dial.remove(&endpoint).unwrap_or_default() {
                            calls.links.send(connection, &message);
                        }
                    }
                    None => calls.drop_endpoint(&endpoint, &why),
                }
            }
            // A client listens on nothing.
            Some(_) = events.accepted.recv() => {}
            else => return,
        }
    }
}

fn reply_id(reply: &Wire) -> Option<u64> {
    match reply {
        Wire::EndorseReply { id, .. }
        | Wire::CommitStatusReply { id, .. }
        | Wire::DiscoverReply { id, .. }
        | Wire::BroadcastReply { id, .. }
        | Wire::GatewayEndorseReply { id, .. }
        | Wire::GatewaySubmitReply { id, .. }
        | Wire::GatewayEvaluateReply { id, .. } => Some(*id),
        _ => None,
    }
}
