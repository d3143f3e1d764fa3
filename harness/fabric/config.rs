//! Fabric's tunables, with v2.5's defaults, addressable by the key paths of core.yaml
//! (peer), orderer.yaml and configtx.yaml (ordering), so that a scenario's `fabric:` block
//! can take values pasted from a real network's configuration.
//!
//! Every default names the key it mirrors; the values are those of
//! research/fabric-sampleconfig/ (hyperledger/fabric v2.5.16 sampleconfig) and
//! research/fabric-behaviour.md.

use crate::net::frame::Keepalive;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The complete set of Fabric settings the simulated nodes honour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FabricConfig {
    pub gossip: GossipConfig,
    pub election: ElectionConfig,
    pub state_transfer: StateTransferConfig,
    pub delivery: DeliveryConfig,
    pub keepalive: KeepaliveConfig,
    pub gateway: GatewayConfig,
    pub ordering: OrderingConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GossipConfig {
    /// peer.gossip.useLeaderElection
    pub use_leader_election: bool,
    /// peer.gossip.orgLeader (true since v2.2, FAB-16435)
    pub org_leader: bool,
    /// peer.gossip.membershipTrackerInterval
    pub membership_tracker_interval: Duration,
    /// peer.gossip.maxBlockCountToStore
    pub max_block_count_to_store: u32,
    /// peer.gossip.maxPropagationBurstLatency
    pub max_propagation_burst_latency: Duration,
    /// peer.gossip.maxPropagationBurstSize
    pub max_propagation_burst_size: u32,
    /// peer.gossip.propagateIterations
    pub propagate_iterations: u32,
    /// peer.gossip.propagatePeerNum
    pub propagate_peer_num: u32,
    /// peer.gossip.pullInterval
    pub pull_interval: Duration,
    /// peer.gossip.pullPeerNum
    pub pull_peer_num: u32,
    /// peer.gossip.requestStateInfoInterval
    pub request_state_info_interval: Duration,
    /// peer.gossip.publishStateInfoInterval
    pub publish_state_info_interval: Duration,
    /// peer.gossip.publishCertPeriod
    pub publish_cert_period: Duration,
    /// peer.gossip.dialTimeout
    pub dial_timeout: Duration,
    /// peer.gossip.connTimeout
    pub conn_timeout: Duration,
    /// peer.gossip.digestWaitTime
    pub digest_wait_time: Duration,
    /// peer.gossip.requestWaitTime
    pub request_wait_time: Duration,
    /// peer.gossip.responseWaitTime
    pub response_wait_time: Duration,
    /// peer.gossip.aliveTimeInterval
    pub alive_time_interval: Duration,
    /// peer.gossip.aliveExpirationTimeout
    pub alive_expiration_timeout: Duration,
    /// peer.gossip.reconnectInterval
    pub reconnect_interval: Duration,
    /// peer.gossip.maxConnectionAttempts
    pub max_connection_attempts: u32,
    /// peer.gossip.msgExpirationFactor
    pub msg_expiration_factor: u32,
    /// peer.gossip.externalEndpoint set to the peer's own address (as IBP and fabric-operator
    /// deploy peers), or empty: then the peer is never advertised to other organizations and
    /// discovery leaves it out (F discovery/support/gossip/support.go).
    pub external_endpoint: bool,
    /// peer.gossip.bootstrap: same-organization peers (host:port) to contact at start; IBP
    /// leaves it to the anchor peers (empty).
    pub bootstrap: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElectionConfig {
    /// peer.gossip.election.startupGracePeriod
    pub startup_grace_period: Duration,
    /// peer.gossip.election.membershipSampleInterval
    pub membership_sample_interval: Duration,
    /// peer.gossip.election.leaderAliveThreshold
    pub leader_alive_threshold: Duration,
    /// peer.gossip.election.leaderElectionDuration
    pub leader_election_duration: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateTransferConfig {
    /// peer.gossip.state.enabled (false by default since v2.2)
    pub enabled: bool,
    /// peer.gossip.state.checkInterval
    pub check_interval: Duration,
    /// peer.gossip.state.responseTimeout
    pub response_timeout: Duration,
    /// peer.gossip.state.batchSize
    pub batch_size: u32,
    /// peer.gossip.state.blockBufferSize
    pub block_buffer_size: u32,
    /// peer.gossip.state.maxRetries
    pub max_retries: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryConfig {
    /// peer.deliveryclient.blockGossipEnabled
    pub block_gossip_enabled: bool,
    /// peer.deliveryclient.reconnectTotalTimeThreshold
    pub reconnect_total_time_threshold: Duration,
    /// peer.deliveryclient.connTimeout
    pub conn_timeout: Duration,
    /// peer.deliveryclient.reConnectBackoffThreshold
    pub reconnect_backoff_threshold: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeepaliveConfig {
    /// peer.keepalive.client.interval
    pub client_interval: Duration,
    /// peer.keepalive.client.timeout
    pub client_timeout: Duration,
    /// peer.keepalive.deliveryClient.interval
    pub delivery_client_interval: Duration,
    /// peer.keepalive.deliveryClient.timeout
    pub delivery_client_timeout: Duration,
}

impl KeepaliveConfig {
    /// peer.keepalive.client: a node's client connections other than deliver streams.
    pub fn client(&self) -> Keepalive {
        Keepalive {
            interval: self.client_interval,
            timeout: self.client_timeout,
        }
    }

    /// peer.keepalive.deliveryClient: a peer's deliver streams to ordering nodes.
    pub fn delivery_client(&self) -> Keepalive {
        Keepalive {
            interval: self.delivery_client_interval,
            timeout: self.delivery_client_timeout,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GatewayConfig {
    /// peer.gateway.endorsementTimeout
    pub endorsement_timeout: Duration,
    /// peer.gateway.broadcastTimeout
    pub broadcast_timeout: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderingConfig {
    /// Orderer.BatchTimeout (configtx.yaml)
    pub batch_timeout: Duration,
    /// Orderer.BatchSize.MaxMessageCount
    pub max_message_count: u32,
    /// Orderer.BatchSize.AbsoluteMaxBytes (10 MB)
    pub absolute_max_bytes: u64,
    /// Orderer.BatchSize.PreferredMaxBytes (2 MB)
    pub preferred_max_bytes: u64,
    /// Orderer.EtcdRaft.Options.TickInterval
    pub tick_interval: Duration,
    /// Orderer.EtcdRaft.Options.ElectionTick
    pub election_tick: u32,
    /// Orderer.EtcdRaft.Options.HeartbeatTick
    pub heartbeat_tick: u32,
    /// Orderer.EtcdRaft.Options.MaxInflightBlocks
    pub max_inflight_blocks: u32,
    /// General.Cluster.RPCTimeout (orderer.yaml): how long a follower waits for its forward
    /// of a broadcast to the leader to be sent.
    pub rpc_timeout: Duration,
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
const fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

impl Default for FabricConfig {
    fn default() -> Self {
        FabricConfig {
            gossip: GossipConfig {
                use_leader_election: false,
                org_leader: true,
                membership_tracker_interval: s(5),
                max_block_count_to_store: 10,
                max_propagation_burst_latency: ms(10),
                max_propagation_burst_size: 10,
                propagate_iterations: 1,
                propagate_peer_num: 3,
                pull_interval: s(4),
                pull_peer_num: 3,
                request_state_info_interval: s(4),
                publish_state_info_interval: s(4),
                publish_cert_period: s(10),
                dial_timeout: s(3),
                conn_timeout: s(2),
                digest_wait_time: s(1),
                request_wait_time: ms(1500),
                response_wait_time: s(2),
                alive_time_interval: s(5),
                alive_expiration_timeout: s(25),
                reconnect_interval: s(25),
                max_connection_attempts: 120,
                msg_expiration_factor: 20,
                external_endpoint: true,
                bootstrap: Vec::new(),
            },
            election: ElectionConfig {
                startup_grace_period: s(15),
                membership_sample_interval: s(1),
                leader_alive_threshold: s(10),
                leader_election_duration: s(5),
            },
            state_transfer: StateTransferConfig {
                enabled: false,
                check_interval: s(10),
                response_timeout: s(3),
                batch_size: 10,
                block_buffer_size: 20,
                max_retries: 3,
            },
            delivery: DeliveryConfig {
                block_gossip_enabled: true,
                reconnect_total_time_threshold: s(3600),
                conn_timeout: s(3),
                reconnect_backoff_threshold: s(3600),
            },
            keepalive: KeepaliveConfig {
                client_interval: s(60),
                client_timeout: s(20),
                delivery_client_interval: s(60),
                delivery_client_timeout: s(20),
            },
            gateway: GatewayConfig {
                endorsement_timeout: s(30),
                broadcast_timeout: s(30),
            },
            ordering: OrderingConfig {
                batch_timeout: s(2),
                max_message_count: 500,
                absolute_max_bytes: 10 * 1024 * 1024,
                preferred_max_bytes: 2 * 1024 * 1024,
                tick_interval: ms(500),
                election_tick: 10,
                heartbeat_tick: 1,
                max_inflight_blocks: 5,
                // F orderer/common/localconfig/config.go: the code default; orderer.yaml
                // leaves it unset.
                rpc_timeout: s(7),
            },
        }
    }
}

/// The kind of value a configuration key takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Duration,
    Count,
    Bytes,
    Bool,
    /// peer.gossip.externalEndpoint: the peer's own `host:port`, or empty.
    Endpoint,
    /// peer.gossip.bootstrap: `host:port` entries separated by spaces.
    Endpoints,
}

/// A value for a key, already parsed by the scenario loader.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Duration(Duration),
    Count(u64),
    /// Also an externalEndpoint: whether it is set.
    Bool(bool),
    Endpoints(Vec<String>),
}

macro_rules! keys {
    ($( $key:literal => $kind:ident, $($field:ident).+ ; )*) => {
        /// Every key a scenario may override, in the order of the Fabric files.
        pub const KEYS: &[(&str, ValueKind)] = &[ $( ($key, ValueKind::$kind) ),* ];

        impl FabricConfig {
            /// Sets `key` (a core.yaml / orderer.yaml / configtx.yaml path) to `value`.
            /// The caller has checked the key exists and the value has the key's kind.
            pub fn set(&mut self, key: &str, value: Value) -> Result<(), String> {
                match key {
                    $( $key => assign(&mut self.$($field).+, value, $key), )*
                    _ => Err(format!("unknown Fabric setting `{key}`")),
                }
            }

            /// The current value of `key`, for reports and `--help` listings.
            pub fn get(&self, key: &str) -> Option<Value> {
                match key {
                    $( $key => Some(self.$($field).+.to_value()), )*
                    _ => None,
                }
            }
        }
    };
}

keys! {
    "peer.gossip.useLeaderElection" => Bool, gossip.use_leader_election;
    "peer.gossip.orgLeader" => Bool, gossip.org_leader;
    "peer.gossip.membershipTrackerInterval" => Duration, gossip.membership_tracker_interval;
    "peer.gossip.maxBlockCountToStore" => Count, gossip.max_block_count_to_store;
    "peer.gossip.maxPropagationBurstLatency" => Duration, gossip.max_propagation_burst_latency;
    "peer.gossip.maxPropagationBurstSize" => Count, gossip.max_propagation_burst_size;
    "peer.gossip.propagateIterations" => Count, gossip.propagate_iterations;
    "peer.gossip.propagatePeerNum" => Count, gossip.propagate_peer_num;
    "peer.gossip.pullInterval" => Duration, gossip.pull_interval;
    "peer.gossip.pullPeerNum" => Count, gossip.pull_peer_num;
    "peer.gossip.requestStateInfoInterval" => Duration, gossip.request_state_info_interval;
    "peer.gossip.publishStateInfoInterval" => Duration, gossip.publish_state_info_interval;
    "peer.gossip.publishCertPeriod" => Duration, gossip.publish_cert_period;
    "peer.gossip.dialTimeout" => Duration, gossip.dial_timeout;
    "peer.gossip.connTimeout" => Duration, gossip.conn_timeout;
    "peer.gossip.digestWaitTime" => Duration, gossip.digest_wait_time;
    "peer.gossip.requestWaitTime" => Duration, gossip.request_wait_time;
    "peer.gossip.responseWaitTime" => Duration, gossip.response_wait_time;
    "peer.gossip.aliveTimeInterval" => Duration, gossip.alive_time_interval;
    "peer.gossip.aliveExpirationTimeout" => Duration, gossip.alive_expiration_timeout;
    "peer.gossip.reconnectInterval" => Duration, gossip.reconnect_interval;
    "peer.gossip.maxConnectionAttempts" => Count, gossip.max_connection_attempts;
    "peer.gossip.msgExpirationFactor" => Count, gossip.msg_expiration_factor;
    "peer.gossip.externalEndpoint" => Endpoint, gossip.external_endpoint;
    "peer.gossip.bootstrap" => Endpoints, gossip.bootstrap;
    "peer.gossip.election.startupGracePeriod" => Duration, election.startup_grace_period;
    "peer.gossip.election.membershipSampleInterval" => Duration, election.membership_sample_interval;
    "peer.gossip.election.leaderAliveThreshold" => Duration, election.leader_alive_threshold;
    "peer.gossip.election.leaderElectionDuration" => Duration, election.leader_election_duration;
    "peer.gossip.state.enabled" => Bool, state_transfer.enabled;
    "peer.gossip.state.checkInterval" => Duration, state_transfer.check_interval;
    "peer.gossip.state.responseTimeout" => Duration, state_transfer.response_timeout;
    "peer.gossip.state.batchSize" => Count, state_transfer.batch_size;
    "peer.gossip.state.blockBufferSize" => Count, state_transfer.block_buffer_size;
    "peer.gossip.state.maxRetries" => Count, state_transfer.max_retries;
    "peer.keepalive.client.interval" => Duration, keepalive.client_interval;
    "peer.keepalive.client.timeout" => Duration, keepalive.client_timeout;
    "peer.keepalive.deliveryClient.interval" => Duration, keepalive.delivery_client_interval;
    "peer.keepalive.deliveryClient.timeout" => Duration, keepalive.delivery_client_timeout;
    "peer.gateway.endorsementTimeout" => Duration, gateway.endorsement_timeout;
    "peer.gateway.broadcastTimeout" => Duration, gateway.broadcast_timeout;
    "peer.deliveryclient.blockGossipEnabled" => Bool, delivery.block_gossip_enabled;
    "peer.deliveryclient.reconnectTotalTimeThreshold" => Duration, delivery.reconnect_total_time_threshold;
    "peer.deliveryclient.connTimeout" => Duration, delivery.conn_timeout;
    "peer.deliveryclient.reConnectBackoffThreshold" => Duration, delivery.reconnect_backoff_threshold;
    "Orderer.BatchTimeout" => Duration, ordering.batch_timeout;
    "Orderer.BatchSize.MaxMessageCount" => Count, ordering.max_message_count;
    "Orderer.BatchSize.AbsoluteMaxBytes" => Bytes, ordering.absolute_max_bytes;
    "Orderer.BatchSize.PreferredMaxBytes" => Bytes, ordering.preferred_max_bytes;
    "Orderer.EtcdRaft.Options.TickInterval" => Duration, ordering.tick_interval;
    "Orderer.EtcdRaft.Options.ElectionTick" => Count, ordering.election_tick;
    "Orderer.EtcdRaft.Options.HeartbeatTick" => Count, ordering.heartbeat_tick;
    "Orderer.EtcdRaft.Options.MaxInflightBlocks" => Count, ordering.max_inflight_blocks;
    "General.Cluster.RPCTimeout" => Duration, ordering.rpc_timeout;
}

/// The kind of value `key` takes, or None for a key hadr does not know.
pub fn kind_of(key: &str) -> Option<ValueKind> {
    KEYS.iter().find(|(k, _)| *k == key).map(|(_, kind)| *kind)
}

/// Reads a byte size the way Fabric reads configtx.yaml's (`10 MB`, `512KB`, `2m`, or a plain
/// number of bytes): units k, m, g with an optional `b`, powers of 1024, case-insensitive
/// (hyperledger/fabric common/viperutil/config_util.go, byteSizeDecodeHook).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let size: u64 = text[..digits].parse().ok()?;
    let unit = text[digits..].trim_start().to_ascii_lowercase();
    let shift = match unit.strip_suffix('b').unwrap_or(&unit) {
        "" if unit.is_empty() => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        _ => return None,
    };
    size.checked_mul(1 << shift)
}

trait ConfigValue: Sized {
    fn to_value(&self) -> Value;
    fn from_value(value: Value) -> Option<Self>;
}

impl ConfigValue for Duration {
    fn to_value(&self) -> Value {
        Value::Duration(*self)
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Duration(d) => Some(d),
            _ => None,
        }
    }
}

impl ConfigValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl ConfigValue for Vec<String> {
    fn to_value(&self) -> Value {
        Value::Endpoints(self.clone())
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Endpoints(list) => Some(list),
            _ => None,
        }
    }
}

impl ConfigValue for u32 {
    fn to_value(&self) -> Value {
        Value::Count(u64::from(*self))
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Count(n) => u32::try_from(n).ok(),
            _ => None,
        }
    }
}

impl ConfigValue for u64 {
    fn to_value(&self) -> Value {
        Value::Count(*self)
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Count(n) => Some(n),
            _ => None,
        }
    }
}

fn assign<T: ConfigValue>(slot: &mut T, value: Value, key: &str) -> Result<(), String> {
    let shown = format!("{value:?}");
    *slot = T::from_value(value).ok_or_else(|| format!("`{key}` cannot take {shown}"))?;
    Ok(())
}

/// Where a key applies: to every peer (core.yaml, per peer like a real peer's file) or to the
/// channel's ordering service (configtx.yaml, one value for the channel).
pub fn is_peer_key(key: &str) -> bool {
    key.starts_with("peer.")
}

/// The values hadr takes for a key. Fabric refuses some values itself (zero batch sizes and
/// Raft ticks: F common/channelconfig/orderer.go, orderer/consensus/etcdraft/util.go), reads
/// 0 as "use the built-in default" for most gossip timers (F gossip/util/misc.go
/// GetDurationOrDefault) or uses it literally where it stops the feature (state transfer,
/// gateway timeouts); hadr refuses all of these with Fabric's rule as the reason, and caps
/// values that would make the simulated network flood itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Smallest and largest value: milliseconds for durations, the number otherwise.
    pub min: u64,
    pub max: u64,
    /// Why the bounds are what they are (a hint for the user).
    pub why: &'static str,
}

/// The most nodes a simulated network has (see scenario::validate::MAX_NODES).
const NETWORK_NODES_MAX: u64 = 100;
/// Largest message a node accepts: Fabric's default maxRecvMsgSize.
const MESSAGE_BYTES_MAX: u64 = crate::net::frame::MAX_FRAME_BYTES as u64;
const DAYS_30_MS: u64 = 30 * 24 * 3600 * 1000;

/// The bounds of `key` (a key of [`KEYS`] whose kind is a duration, count or byte size).
pub fn bounds(key: &str) -> Bounds {
    const DEFAULT_FOR_ZERO: &str =
        "Fabric reads 0 as its built-in default; leave the key out to get Fabric's default";
    let b = |min, max, why| Bounds { min, max, why };
    match key {
        "peer.keepalive.client.interval" | "peer.keepalive.deliveryClient.interval" => b(
            10_000,
            DAYS_30_MS,
            "gRPC raises a client keepalive interval below 10s to 10s (grpc-go dialoptions.go)",
        ),
        "peer.keepalive.client.timeout" | "peer.keepalive.deliveryClient.timeout" => b(
            1,
            DAYS_30_MS,
            "gRPC reads a keepalive timeout of 0 as 20s; write 20s for that",
        ),
        "peer.gateway.endorsementTimeout" | "peer.gateway.broadcastTimeout" => b(
            1,
            DAYS_30_MS,
            "Fabric uses 0 literally: every endorsement or broadcast would time out at once",
        ),
        "peer.gossip.state.checkInterval" | "peer.gossip.state.responseTimeout" => b(
            1,
            DAYS_30_MS,
            "Fabric uses 0 literally: state transfer would spin or time out at once",
        ),
        "peer.gossip.state.batchSize" => b(1, 1_000, "Fabric asks for one block per request with 0; at most 1000 blocks a batch"),
        "peer.gossip.state.blockBufferSize" => b(1, 10_000, "a buffer of at least one block, at most 10000"),
        "peer.gossip.state.maxRetries" => b(0, 1_000, "at most 1000 retries"),
        "peer.gossip.maxBlockCountToStore" => b(1, 100_000, DEFAULT_FOR_ZERO),
        "peer.gossip.maxPropagationBurstSize" => b(1, 10_000, DEFAULT_FOR_ZERO),
        "peer.gossip.propagateIterations" => b(
            1,
            10,
            "each iteration pushes every block again; more than 10 floods the simulated network",
        ),
        "peer.gossip.propagatePeerNum" | "peer.gossip.pullPeerNum" => b(
            1,
            NETWORK_NODES_MAX,
            "0 means Fabric's default; more peers than the network has (at most 100) changes nothing",
        ),
        "peer.gossip.maxConnectionAttempts" => b(1, u64::from(u32::MAX), DEFAULT_FOR_ZERO),
        "peer.gossip.msgExpirationFactor" => b(1, 10_000, DEFAULT_FOR_ZERO),
        "Orderer.BatchSize.MaxMessageCount" => b(
            1,
            u64::from(u32::MAX),
            "Fabric refuses 0 (\"Attempted to set the batch size max message count to an invalid value: 0\") and counts in 32 bits",
        ),
        "Orderer.BatchSize.AbsoluteMaxBytes" | "Orderer.BatchSize.PreferredMaxBytes" => b(
            1,
            MESSAGE_BYTES_MAX,
            "Fabric refuses 0; a block larger than a node's largest message (100 MB) cannot be sent",
        ),
        "Orderer.EtcdRaft.Options.ElectionTick"
        | "Orderer.EtcdRaft.Options.HeartbeatTick"
        | "Orderer.EtcdRaft.Options.MaxInflightBlocks" => b(
            1,
            10_000,
            "Fabric refuses 0 (\"none of HeartbeatTick, ElectionTick and MaxInflightBlocks can be zero\")",
        ),
        "Orderer.EtcdRaft.Options.TickInterval" => {
            b(1, DAYS_30_MS, "Fabric refuses 0 (\"TickInterval cannot be zero\")")
        }
        "Orderer.BatchTimeout" => b(
            1,
            DAYS_30_MS,
            "Fabric refuses 0 (\"Attempted to set the batch timeout to a non-positive value\")",
        ),
        _ => match kind_of(key) {
            Some(ValueKind::Duration) => b(1, DAYS_30_MS, DEFAULT_FOR_ZERO),
            _ => b(0, u64::from(u32::MAX), "a 32-bit count"),
        },
    }
}

/// A rule between keys that Fabric enforces, broken by `config`: the keys involved and
/// Fabric's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub keys: [&'static str; 2],
    pub message: String,
    pub hint: &'static str,
}

/// The rules between keys that `config` breaks.
pub fn conflicts(config: &FabricConfig) -> Vec<Conflict> {
    let mut found = Vec::new();
    let ordering = &config.ordering;
    if ordering.election_tick <= ordering.heartbeat_tick {
        // F orderer/consensus/etcdraft/util.go VerifyConfigMetadata.
        found.push(Conflict {
            keys: [
                "Orderer.EtcdRaft.Options.ElectionTick",
                "Orderer.EtcdRaft.Options.HeartbeatTick",
            ],
            message: format!(
                "ElectionTick ({}) must be greater than HeartbeatTick ({})",
                ordering.election_tick, ordering.heartbeat_tick
            ),
            hint: "Fabric refuses this Raft configuration; its defaults are ElectionTick 10 and HeartbeatTick 1",
        });
    }
    if ordering.preferred_max_bytes > ordering.absolute_max_bytes {
        // F common/channelconfig/orderer.go validateBatchSize.
        found.push(Conflict {
            keys: [
                "Orderer.BatchSize.PreferredMaxBytes",
                "Orderer.BatchSize.AbsoluteMaxBytes",
            ],
            message: format!(
                "the batch size preferred max bytes ({}) is greater than the absolute max bytes ({})",
                ordering.preferred_max_bytes, ordering.absolute_max_bytes
            ),
            hint: "Fabric refuses this batch size; its defaults are 2 MB preferred and 10 MB absolute",
        });
    }
    if config.gossip.use_leader_election && config.gossip.org_leader {
        // F gossip/service/gossip_service.go InitializeChannel panics.
        found.push(Conflict {
            keys: ["peer.gossip.useLeaderElection", "peer.gossip.orgLeader"],
            message: "peer.gossip.useLeaderElection and peer.gossip.orgLeader are both true".to_string(),
            hint: "a Fabric peer panics with both (\"Setting both orgLeader and useLeaderElection to true isn't supported\"); with leader election, set `peer.gossip.orgLeader: false` too",
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_round_trips_through_set_and_get() {
        let mut config = FabricConfig::default();
        for (key, kind) in KEYS {
            let value = match kind {
                ValueKind::Duration => Value::Duration(Duration::from_millis(1234)),
                ValueKind::Count | ValueKind::Bytes => Value::Count(7),
                ValueKind::Bool | ValueKind::Endpoint => Value::Bool(false),
                ValueKind::Endpoints => Value::Endpoints(vec!["peer1.org1.us-east:7051".into()]),
            };
            config.set(key, value.clone()).unwrap();
            assert_eq!(config.get(key), Some(value), "{key}");
        }
    }

    #[test]
    fn byte_sizes_read_like_fabric() {
        assert_eq!(parse_bytes("10 MB"), Some(10 * 1024 * 1024));
        assert_eq!(parse_bytes("2mb"), Some(2 * 1024 * 1024));
        assert_eq!(parse_bytes("512K"), Some(512 * 1024));
        assert_eq!(parse_bytes("1g"), Some(1 << 30));
        assert_eq!(parse_bytes("4096"), Some(4096));
        assert_eq!(parse_bytes("b"), None);
        assert_eq!(parse_bytes("10 TB"), None);
        assert_eq!(parse_bytes("MB"), None);
    }

    /// The defaults above are Fabric's: compare every key with the sample configuration of
    /// hyperledger/fabric v2.5 in shared/research/fabric-sampleconfig/, when it is there.
    #[test]
    fn defaults_equal_fabrics_sample_configuration() {
        let Some(dir) = crate::test_support::find_shared("research/fabric-sampleconfig") else {
            println!(
                "skipped: shared/research/fabric-sampleconfig/ not found next to the repository"
            );
            return;
        };
        let read = |name: &str| -> serde_json::Value {
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let core = read("core.yaml");
        let configtx = read("configtx.yaml");
        let defaults = FabricConfig::default();
        // hadr's peers are deployed as IBP deploys them: an external endpoint, no bootstrap
        // list (the sample has an empty endpoint and bootstrap 127.0.0.1:7051).
        let deployed_as_ibp = ["peer.gossip.externalEndpoint", "peer.gossip.bootstrap"];
        // orderer.yaml leaves General.Cluster.RPCTimeout to the code default (7s, F
        // orderer/common/localconfig/config.go).
        let unset_in_samples = ["General.Cluster.RPCTimeout"];
        let skipped = |k: &str| deployed_as_ibp.contains(&k) || unset_in_samples.contains(&k);
        for (key, kind) in KEYS.iter().filter(|(k, _)| !skipped(k)) {
            let (file, name) = if key.starts_with("peer.") {
                (&core, "core.yaml")
            } else {
                (&configtx, "configtx.yaml")
            };
            let sample = key
                .split('.')
                .try_fold(file, |value, part| value.get(part))
                .unwrap_or_else(|| panic!("{key} is not in {name}"));
            let expected = match (kind, sample) {
                (ValueKind::Duration, serde_json::Value::String(text)) => Value::Duration(
                    crate::scenario::duration::parse(text).unwrap_or_else(|e| panic!("{key}: {e}")),
                ),
                (ValueKind::Bytes, serde_json::Value::String(text)) => {
                    Value::Count(parse_bytes(text).unwrap_or_else(|| panic!("{key}: {text}")))
                }
                (ValueKind::Count | ValueKind::Bytes, serde_json::Value::Number(n)) => {
                    Value::Count(n.as_u64().unwrap())
                }
                (ValueKind::Bool, serde_json::Value::Bool(b)) => Value::Bool(*b),
                (kind, other) => panic!("{key}: {other} is not a {kind:?}"),
            };
            assert_eq!(defaults.get(key), Some(expected), "{key} in {name}");
        }
    }

    #[test]
    fn unknown_key_and_wrong_kind_are_refused() {
        let mut config = FabricConfig::default();
        assert!(config.set("peer.gossip.nope", Value::Bool(true)).is_err());
        assert!(config
            .set("peer.gossip.aliveExpirationTimeout", Value::Bool(true))
            .is_err());
    }
}
