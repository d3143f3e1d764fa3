//! A node's framed connections: accepted and dialled streams, each optionally bound to a
//! key (a gossip PKI-ID, a consenter ID, a deliver stream), with dialling in the background.
//! Everything a connection produces arrives on the [`LinkEvents`] the node's main loop
//! selects on, so the node's core is only ever touched by that loop.

use super::wire::Wire;
use crate::net::frame::{self, Connection, ConnectionEvent, ConnectionId, Keepalive};
use crate::net::{Accept, BoxIo, Net};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// What the main loop receives from its connections.
pub struct LinkEvents<K> {
    pub connections: mpsc::UnboundedReceiver<ConnectionEvent<Wire>>,
    /// A dial finished: the stream, or why it failed.
    pub dialed: mpsc::UnboundedReceiver<(K, io::Result<BoxIo>)>,
    /// A connection came in on the node's listener.
    pub accepted: mpsc::UnboundedReceiver<(BoxIo, String)>,
}

/// Chooses a connection's keepalive from its key (None: not bound to one).
type KeepaliveFor<K> = Box<dyn Fn(Option<&K>) -> Keepalive>;

pub struct Links<K> {
    net: Arc<dyn Net>,
    /// The keepalive of a connection, by its key when it has one (Fabric sets the peer's
    /// deliver streams to the ordering service apart from its other client connections).
    keepalive: KeepaliveFor<K>,
    next_id: ConnectionId,
    connections: BTreeMap<ConnectionId, (Connection<Wire>, Option<K>)>,
    by_key: BTreeMap<K, ConnectionId>,
    dialing: BTreeSet<K>,
    events: mpsc::UnboundedSender<ConnectionEvent<Wire>>,
    dialed: mpsc::UnboundedSender<(K, io::Result<BoxIo>)>,
    accepted: mpsc::UnboundedSender<(BoxIo, String)>,
}

impl<K: Ord + Clone + 'static> Links<K> {
    pub fn new(
        net: Arc<dyn Net>,
        keepalive: impl Fn(Option<&K>) -> Keepalive + 'static,
    ) -> (Links<K>, LinkEvents<K>) {
        let (events, connections) = mpsc::unbounded_channel();
        let (dialed_tx, dialed) = mpsc::unbounded_channel();
        let (accepted_tx, accepted) = mpsc::unbounded_channel();
        (
            Links {
                net,
                keepalive: Box::new(keepalive),
                next_id: 0,
                connections: BTreeMap::new(),
                by_key: BTreeMap::new(),
                dialing: BTreeSet::new(),
                events,
                dialed: dialed_tx,
                accepted: accepted_tx,
            },
            LinkEvents {
                connections,
                dialed,
                accepted,
            },
        )
    }

    /// Accepts connections on `listener` for as long as the node runs.
    pub fn listen(&self, mut listener: Box<dyn Accept>) {
        let accepted = self.accepted.clone();
        tokio::task::spawn_local(async move {
            while let Ok((stream, address)) = listener.accept().await {
                if accepted.send((stream, address.to_string())).is_err() {
                    return;
                }
            }
        });
    }

    /// Starts framing `stream`; bound to `key` when given (replacing an older connection).
    pub fn adopt(&mut self, stream: BoxIo, peer: String, key: Option<K>) -> ConnectionId {
        let id = self.next_id;
        self.next_id += 1;
        let keepalive = (self.keepalive)(key.as_ref());
        let connection = frame::spawn(id, peer, stream, keepalive, self.events.clone());
        self.connections.insert(id, (connection, None));
        if let Some(key) = key {
            self.bind(id, key);
        }
        id
    }

    /// Binds connection `id` to `key`; an older connection with that key is closed.
    pub fn bind(&mut self, id: ConnectionId, key: K) {
        if let Some(old) = self.by_key.insert(key.clone(), id) {
            if old != id {
                if let Some((connection, _)) = self.connections.remove(&old) {
                    connection.close();
                }
            }
        }
        if let Some(entry) = self.connections.get_mut(&id) {
            entry.1 = Some(key);
        }
    }

    /// Dials `host:port` in the background unless `key` is connected or being dialled; the
    /// result arrives on [`LinkEvents::dialed`]. Returns whether a dial started.
    pub fn dial(&mut self, key: K, host: &str, port: u16, timeout: Duration) -> bool {
        if self.by_key.contains_key(&key) || !self.dialing.insert(key.clone()) {
            return false;
        }
        let net = self.net.clone();
        let dialed = self.dialed.clone();
        let host = host.to_string();
        tokio::task::spawn_local(async move {
            let result = match tokio::time::timeout(timeout, net.dial("tcp", &host, port)).await {
                Ok(result) => result,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("dial {host}:{port} timed out"),
                )),
            };
            let _ = dialed.send((key, result));
        });
        true
    }

    /// A dial of `key` finished: adopts the stream bound to `key`, or forgets the attempt.
    pub fn dial_finished(
        &mut self,
        key: K,
        result: io::Result<BoxIo>,
        peer: String,
    ) -> Option<ConnectionId> {
        self.dialing.remove(&key);
        result
            .ok()
            .map(|stream| self.adopt(stream, peer, Some(key)))
    }

    pub fn is_dialing(&self, key: &K) -> bool {
        self.dialing.contains(key)
    }

    pub fn send(&self, id: ConnectionId, message: &Wire) -> bool {
        self.connections
            .get(&id)
            .is_some_and(|(connection, _)| connection.send(message))
    }

    pub fn send_encoded(&self, id: ConnectionId, bytes: bytes::Bytes) -> bool {
        self.connections
            .get(&id)
            .is_some_and(|(connection, _)| connection.send_encoded(bytes))
    }

    pub fn id_of(&self, key: &K) -> Option<ConnectionId> {
        self.by_key.get(key).copied()
    }

    pub fn key_of(&self, id: ConnectionId) -> Option<&K> {
        self.connections.get(&id).and_then(|(_, key)| key.as_ref())
    }

    pub fn send_to(&self, key: &K, message: &Wire) -> bool {
        self.id_of(key).is_some_and(|id| self.send(id, message))
    }

    /// Sends on `key`'s open connection with a report of the write (frame.rs
    /// `send_reported`); None without an open connection.
    pub fn send_reported_to(&self, key: &K, message: &Wire) -> Option<oneshot::Receiver<()>> {
        let (connection, _) = self.connections.get(&self.id_of(key)?)?;
        connection
            .is_open()
            .then(|| connection.send_reported(message))
    }

    /// Forgets a connection that reported its close; returns its key.
    pub fn closed(&mut self, id: ConnectionId) -> Option<K> {
        let (_, key) = self.connections.remove(&id)?;
        let key = key?;
        if self.by_key.get(&key) == Some(&id) {
            self.by_key.remove(&key);
        }
        Some(key)
    }

    /// Closes the connection bound to `key`, if any.
    pub fn close(&mut self, key: &K) {
        if let Some(id) = self.by_key.remove(key) {
            if let Some((connection, _)) = self.connections.remove(&id) {
                connection.close();
            }
        }
    }

    /// Closes connection `id`.
    pub fn close_id(&mut self, id: ConnectionId) {
        if let Some((connection, key)) = self.connections.remove(&id) {
            connection.close();
            if let Some(key) = key {
                if self.by_key.get(&key) == Some(&id) {
                    self.by_key.remove(&key);
                }
            }
        }
    }
}

/// One request on a fresh connection to `host:port` and its first reply, within `timeout`
/// (how the harness asks a node something once, e.g. a discovery query).
pub async fn call_once(
    net: &Arc<dyn Net>,
    host: &str,
    port: u16,
    message: &Wire,
    keepalive: Keepalive,
    timeout: Duration,
) -> Result<Wire, String> {
    let exchange = async {
        let stream = net
            .dial("tcp", host, port)
            .await
            .map_err(|e| format!("{host}:{port}: {e}"))?;
        let (events, mut inbox) = mpsc::unbounded_channel();
        let connection = frame::spawn::<Wire>(0, host.to_string(), stream, keepalive, events);
        connection.send(message);
        let reply = match inbox.recv().await {
            Some(ConnectionEvent::Message(_, reply)) => Ok(reply),
            Some(ConnectionEvent::Closed(_, why)) => Err(format!("{host}:{port}: {why}")),
            None => Err(format!("{host}:{port}: connection lost")),
        };
        connection.close();
        reply
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("{host}:{port}: no answer within {timeout:?}")))
}
