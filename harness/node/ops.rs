//! The operations endpoint every Fabric node runs (operations.listenAddress, 9443 on peers,
//! 8443 on orderers): `GET /healthz` and Prometheus `GET /metrics` with Fabric's metric
//! names, so the harness observes simulated nodes exactly as it would observe real ones.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabel {
    pub channel: String,
}

fn channel(name: &str) -> ChannelLabel {
    ChannelLabel {
        channel: name.to_string(),
    }
}

/// A peer's metrics (Fabric: ledger/, gossip/metrics/metrics.go).
pub struct PeerMetrics {
    registry: Registry,
    ledger_blockchain_height: Family<ChannelLabel, Gauge>,
    gossip_state_height: Family<ChannelLabel, Gauge>,
    gossip_membership_total_peers_known: Family<ChannelLabel, Gauge>,
    gossip_leader_election_leader: Family<ChannelLabel, Gauge>,
}

impl Default for PeerMetrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let ledger_blockchain_height = Family::<ChannelLabel, Gauge>::default();
        let gossip_state_height = Family::<ChannelLabel, Gauge>::default();
        let gossip_membership_total_peers_known = Family::<ChannelLabel, Gauge>::default();
        let gossip_leader_election_leader = Family::<ChannelLabel, Gauge>::default();
        registry.register(
            "ledger_blockchain_height",
            "Height of the chain in blocks.",
            ledger_blockchain_height.clone(),
        );
        registry.register(
            "gossip_state_height",
            "Current ledger height",
            gossip_state_height.clone(),
        );
        registry.register(
            "gossip_membership_total_peers_known",
            "Total known peers",
            gossip_membership_total_peers_known.clone(),
        );
        registry.register(
            "gossip_leader_election_leader",
            "Peer is leader (1) or follower (0)",
            gossip_leader_election_leader.clone(),
        );
        PeerMetrics {
            registry,
            ledger_blockchain_height,
            gossip_state_height,
            gossip_membership_total_peers_known,
            gossip_leader_election_leader,
        }
    }
}

impl PeerMetrics {
    pub fn set_height(&self, channel_name: &str, height: u64) {
        let label = channel(channel_name);
        self.ledger_blockchain_height
            .get_or_create(&label)
            .set(height as i64);
        self.gossip_state_height
            .get_or_create(&label)
            .set(height as i64);
    }

    pub fn set_peers_known(&self, channel_name: &str, known: usize) {
        self.gossip_membership_total_peers_known
            .get_or_create(&channel(channel_name))
            .set(known as i64);
    }

    pub fn set_leader(&self, channel_name: &str, leader: bool) {
        self.gossip_leader_election_leader
            .get_or_create(&channel(channel_name))
            .set(i64::from(leader));
    }

    pub fn render(&self) -> String {
        render(&self.registry)
    }
}

/// An ordering node's metrics (Fabric: orderer/consensus/etcdraft/metrics.go).
pub struct OrdererMetrics {
    registry: Registry,
    is_leader: Family<ChannelLabel, Gauge>,
    active_nodes: Family<ChannelLabel, Gauge>,
    cluster_size: Family<ChannelLabel, Gauge>,
    leader_changes: Family<ChannelLabel, Gauge>,
    committed_block_number: Family<ChannelLabel, Gauge>,
}

/// What an ordering node reports about one channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RaftStatus {
    pub is_leader: bool,
    pub active_nodes: u64,
    pub cluster_size: u64,
    pub leader_changes: u64,
    pub committed_block_number: u64,
}

impl Default for OrdererMetrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let family = || Family::<ChannelLabel, Gauge>::default();
        let (is_leader, active_nodes, cluster_size, leader_changes, committed_block_number) =
            (family(), family(), family(), family(), family());
        for (name, help, metric) in [
            (
                "consensus_etcdraft_is_leader",
                "The leadership status of the current node: 1 if it is the leader else 0.",
                &is_leader,
            ),
            (
                "consensus_etcdraft_active_nodes",
                "Number of active nodes in this channel.",
                &active_nodes,
            ),
            (
                "consensus_etcdraft_cluster_size",
                "Number of nodes in this channel.",
                &cluster_size,
            ),
            (
                "consensus_etcdraft_leader_changes",
                "The number of leader changes since process start.",
                &leader_changes,
            ),
            (
                "consensus_etcdraft_committed_block_number",
                "The block number of the latest block committed.",
                &committed_block_number,
            ),
        ] {
            registry.register(name, help, metric.clone());
        }
        OrdererMetrics {
            registry,
            is_leader,
            active_nodes,
            cluster_size,
            leader_changes,
            committed_block_number,
        }
    }
}

impl OrdererMetrics {
    pub fn set(&self, channel_name: &str, status: RaftStatus) {
        let label = channel(channel_name);
        self.is_leader
            .get_or_create(&label)
            .set(i64::from(status.is_leader));
        self.active_nodes
            .get_or_create(&label)
            .set(status.active_nodes as i64);
        self.cluster_size
            .get_or_create(&label)
            .set(status.cluster_size as i64);
        self.leader_changes
            .get_or_create(&label)
            .set(status.leader_changes as i64);
        self.committed_block_number
            .get_or_create(&label)
            .set(status.committed_block_number as i64);
    }

    pub fn render(&self) -> String {
        render(&self.registry)
    }
}

fn render(registry: &Registry) -> String {
    let mut text = String::new();
    encode(&mut text, registry).expect("writing to a String does not fail");
    text
}

/// A `/healthz` answer, as Fabric's healthz handler writes it.
pub fn healthz_body(time_rfc3339: &str, failed_checks: &[(String, String)]) -> (u16, String) {
    if failed_checks.is_empty() {
        (
            200,
            serde_json::json!({"status": "OK", "time": time_rfc3339}).to_string(),
        )
    } else {
        let checks: Vec<_> = failed_checks
            .iter()
            .map(
                |(component, reason)| serde_json::json!({"component": component, "reason": reason}),
            )
            .collect();
        (
            503,
            serde_json::json!({"status": "Service Unavailable", "time": time_rfc3339, "failed_checks": checks})
                .to_string(),
        )
    }
}

/// Reads one labelled gauge from Prometheus text, as a scraper would.
pub fn scrape_gauge(text: &str, metric: &str, channel_name: &str) -> Option<f64> {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).ok()?;
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && s.labels.get("channel") == Some(channel_name))
        .and_then(|s| match s.value {
            prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => Some(v),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_metrics_use_fabric_names_and_scrape_back() {
        let metrics = PeerMetrics::default();
        metrics.set_height("channel1", 42);
        metrics.set_peers_known("channel1", 5);
        metrics.set_leader("channel1", true);
        let text = metrics.render();
        assert!(
            text.contains("# TYPE ledger_blockchain_height gauge"),
            "{text}"
        );
        assert_eq!(
            scrape_gauge(&text, "ledger_blockchain_height", "channel1"),
            Some(42.0)
        );
        assert_eq!(
            scrape_gauge(&text, "gossip_membership_total_peers_known", "channel1"),
            Some(5.0)
        );
        assert_eq!(
            scrape_gauge(&text, "gossip_leader_election_leader", "channel1"),
            Some(1.0)
        );
        assert_eq!(
            scrape_gauge(&text, "ledger_blockchain_height", "other"),
            None
        );
    }

    #[test]
    fn orderer_metrics_render_raft_status() {
        let metrics = OrdererMetrics::default();
        metrics.set(
            "channel1",
            RaftStatus {
                is_leader: true,
                active_nodes: 3,
                cluster_size: 3,
                leader_changes: 2,
                committed_block_number: 17,
            },
        );
        let text = metrics.render();
        assert_eq!(
            scrape_gauge(&text, "consensus_etcdraft_is_leader", "channel1"),
            Some(1.0)
        );
        assert_eq!(
            scrape_gauge(
                &text,
                "consensus_etcdraft_committed_block_number",
                "channel1"
            ),
            Some(17.0)
        );
    }

    #[test]
    fn healthz_reports_failed_checks_with_503() {
        assert_eq!(healthz_body("t", &[]).0, 200);
        let (status, body) = healthz_body("t", &[("ledger".into(), "disk full".into())]);
        assert_eq!(status, 503);
        assert!(body.contains("Service Unavailable") && body.contains("disk full"));
    }
}
