//! The scenario file format as written: serde types that mirror the YAML one to one, with the
//! source position of every value that validation may have to point at. Unknown keys are
//! refused here; everything else (references, ranges, durations) is checked in validate.rs,
//! which turns these types into the model.

use super::latency::LatencySpec;
use super::model::{
    AnchorPeers, ChaosKind, Failover, FirstLeader, Limit, OutageMode, Runbook, TargetRole,
};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::fmt;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    // `name`, `topology` and `workload` are required; validation reports their absence for
    // the file as a whole (serde-saphyr has no good position for a missing top-level key).
    pub name: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub seed: Option<u64>,
    pub topology: Option<Spanned<TopologyFile>>,
    pub procedure: Option<ProcedureFile>,
    pub workload: Option<Spanned<WorkloadFile>>,
    #[serde(default)]
    pub faults: Vec<Spanned<FaultFile>>,
    #[serde(default)]
    pub expect: Vec<Spanned<ExpectationFile>>,
    pub simulation: Option<SimulationFile>,
    /// How real substrates (`containers`, `kind`, `kubernetes`) shape their network.
    pub real_network: Option<RealNetworkFile>,
    /// What `hadr chaos` may do to the network (ignored by `hadr run`).
    pub chaos: Option<Spanned<ChaosFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyFile {
    pub latency: Spanned<LatencySpec>,
    pub intra_region_rtt: Option<Spanned<String>>,
    pub regions: Spanned<Vec<RegionFile>>,
    pub ordering_service: Spanned<OrderingServiceFile>,
    pub organizations: Spanned<Vec<Spanned<OrganizationFile>>>,
    pub channel: Option<ChannelFile>,
    pub fabric: Option<Spanned<FabricOverrides>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionFile {
    pub name: Spanned<String>,
    pub location: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderingServiceFile {
    pub msp_id: Option<Spanned<String>>,
    pub nodes: Spanned<Vec<Spanned<String>>>,
    pub batch_timeout: Option<Spanned<String>>,
    pub max_message_count: Option<Spanned<i64>>,
    pub first_leader: Option<FirstLeader>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationFile {
    pub msp_id: Spanned<String>,
    pub home: Spanned<String>,
    pub peers_per_region: Option<Spanned<i64>>,
    pub regions: Option<Spanned<Vec<Spanned<String>>>>,
    /// Peer settings (core.yaml keys) for every peer of the organization.
    pub fabric: Option<Spanned<FabricOverrides>>,
    /// Settings of single peers, by peer name.
    pub peers: Option<Spanned<Keyed<PeerFile>>>,
}

/// One peer's own settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerFile {
    pub fabric: Option<Spanned<FabricOverrides>>,
}

/// A mapping kept in file order with the position of every key (a name -> entry table).
#[derive(Debug)]
pub struct Keyed<T>(pub Vec<(Spanned<String>, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Keyed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for PairsVisitor<T> {
            type Value = Keyed<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping from names to entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    pairs.push((key, map.next_value()?));
                }
                Ok(Keyed(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor(std::marker::PhantomData))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelFile {
    pub name: Spanned<String>,
    pub chaincode: ChaincodeFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChaincodeFile {
    pub name: Spanned<String>,
    pub version: Spanned<String>,
    pub endorsement_policy: Option<Spanned<String>>,
}

/// `fabric:`: Fabric configuration keys and values, in file order, with their positions.
pub type FabricOverrides = Keyed<Spanned<FabricValue>>;

/// A value under `fabric:`; its kind is checked against the key's.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum FabricValue {
    Bool(bool),
    Integer(i64),
    Number(f64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureFile {
    pub runbook: Option<Runbook>,
    #[serde(default)]
    pub skip: Vec<Spanned<String>>,
    #[serde(default)]
    pub recreate: Vec<Spanned<String>>,
    pub import_all_peers_everywhere: Option<bool>,
    pub anchor_peers: Option<AnchorPeers>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadFile {
    pub rate_per_s: Spanned<f64>,
    pub duration: Spanned<String>,
    pub client_region: Option<Spanned<String>>,
    /// Several clients, one per region listed (instead of `client_region`).
    pub clients: Option<Spanned<Vec<Spanned<String>>>>,
    pub gateway: Option<GatewayFile>,
    pub evaluate_share: Option<Spanned<f64>>,
    pub key_space: Option<Spanned<u64>>,
    pub payload_bytes: Option<Spanned<u64>>,
    #[serde(default)]
    pub rate_changes: Vec<Spanned<RateChangeFile>>,
}

/// `{at: 2m, rate_per_s: 50, over: 30s}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateChangeFile {
    pub at: Spanned<String>,
    pub rate_per_s: Spanned<f64>,
    pub over: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayFile {
    pub peers: Option<Spanned<Vec<Spanned<String>>>>,
    pub failover: Option<Failover>,
    pub timeouts: Option<TimeoutsFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsFile {
    pub evaluate: Option<Spanned<String>>,
    pub endorse: Option<Spanned<String>>,
    pub submit: Option<Spanned<String>>,
    pub commit_status: Option<Spanned<String>>,
}

/// A fault: `at`, optionally `for`, and exactly one kind key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    pub at: Spanned<String>,
    #[serde(rename = "for")]
    pub lasts: Option<Spanned<String>>,
    pub region_outage: Option<Spanned<String>>,
    pub mode: Option<Spanned<OutageMode>>,
    pub partition: Option<Spanned<Vec<PartitionSide>>>,
    pub one_way_partition: Option<Spanned<OneWayFile>>,
    pub latency: Option<Spanned<LatencyFaultFile>>,
    pub node_crash: Option<Spanned<String>>,
}

/// One side of a partition: region names.
pub type PartitionSide = Spanned<Vec<Spanned<String>>>;

/// `one_way_partition: {from: [...], to: [...]}`: traffic from `from` to `to` is lost.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneWayFile {
    pub from: PartitionSide,
    pub to: PartitionSide,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyFaultFile {
    pub between: Spanned<Vec<Spanned<String>>>,
    pub rtt: Spanned<String>,
}

/// One `expect:` entry, a mapping with a single key naming the expectation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ExpectationFile {
    LedgerInSync {
        within: Spanned<String>,
    },
    NoLostTransactions {},
    TransactionsContinue {
        during_fault: Spanned<i64>,
        min_success_ratio: Spanned<f64>,
    },
    CrossOrgGossip {},
    ConsoleFailover {
        failed_region: Spanned<String>,
    },
    DocumentedLimit {
        limit: Limit,
    },
    CommitLatency {
        during_fault: Option<Spanned<i64>>,
        p99_below: Spanned<String>,
    },
    BlocksContinue {
        max_stall: Spanned<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationFile {
    pub tick: Option<Spanned<String>>,
    pub max_duration: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealNetworkFile {
    pub emulate_round_trips: Option<bool>,
}

/// `chaos:`: the nemesis of `hadr chaos`, what it may break and how.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChaosFile {
    pub kinds: Option<Spanned<Vec<ChaosKind>>>,
    pub modes: Option<Spanned<Vec<OutageMode>>>,
    pub faults: Option<Spanned<CountRangeFile>>,
    pub max_concurrent: Option<Spanned<i64>>,
    pub duration: Option<Spanned<DurationRangeFile>>,
    pub rtt: Option<Spanned<DurationRangeFile>>,
    pub regions: Option<Spanned<Vec<Spanned<String>>>>,
    pub nodes: Option<Spanned<Vec<Spanned<String>>>>,
    pub roles: Option<Spanned<Vec<TargetRole>>>,
    pub quiet: Option<Spanned<String>>,
    pub permanent: Option<Spanned<f64>>,
    pub shrink_runs: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountRangeFile {
    pub min: Option<Spanned<i64>>,
    pub max: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DurationRangeFile {
    pub min: Option<Spanned<String>>,
    pub max: Option<Spanned<String>>,
}
