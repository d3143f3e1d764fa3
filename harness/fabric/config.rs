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
}

/// A value for a key, already parsed by the scenario loader.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Duration(Duration),
    Count(u64),
    Bool(bool),
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
    *slot = T::from_value(value).ok_or_else(|| format!("`{key}` cannot take {value:?}"))?;
    Ok(())
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
                ValueKind::Bool => Value::Bool(true),
            };
            config.set(key, value).unwrap();
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
        for (key, kind) in KEYS {
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
