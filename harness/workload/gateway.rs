//! How the Fabric Gateway picks endorsing peers (Fabric docs/source/gateway.md,
//! internal/pkg/gateway/registry.go): for each organization the endorsement policy needs,
//! the peer with the highest ledger height; when an endorsement fails, the next best peer
//! of that organization, until every peer was tried once. A failed peer stays in the list
//! until discovery stops reporting it (about aliveExpirationTimeout later), so the client
//! keeps its own set of peers that failed it recently.

use std::collections::{BTreeMap, BTreeSet};

/// A peer as discovery reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveredPeer {
    /// host:port of the peer's endpoint.
    pub endpoint: String,
    pub msp_id: String,
    pub ledger_height: u64,
}

/// Peers of `msp_id` in the order the Gateway tries them: highest height first, then by
/// endpoint so that equal heights give the same order on every run; peers in `failed` go
/// last.
pub fn candidates<'a>(
    peers: &'a [DiscoveredPeer],
    msp_id: &str,
    failed: &BTreeSet<String>,
) -> Vec<&'a DiscoveredPeer> {
    let mut list: Vec<_> = peers.iter().filter(|p| p.msp_id == msp_id).collect();
    list.sort_by(|a, b| {
        failed
            .contains(&a.endpoint)
            .cmp(&failed.contains(&b.endpoint))
            .then(b.ledger_height.cmp(&a.ledger_height))
            .then(a.endpoint.cmp(&b.endpoint))
    });
    list
}

/// The first choice per required organization; None when an organization has no peer.
pub fn endorsement_plan<'a>(
    peers: &'a [DiscoveredPeer],
    required_orgs: &[String],
    failed: &BTreeSet<String>,
) -> Option<BTreeMap<String, &'a DiscoveredPeer>> {
    required_orgs
        .iter()
        .map(|org| {
            candidates(peers, org, failed)
                .first()
                .map(|p| (org.clone(), *p))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(endpoint: &str, msp_id: &str, ledger_height: u64) -> DiscoveredPeer {
        DiscoveredPeer {
            endpoint: endpoint.into(),
            msp_id: msp_id.into(),
            ledger_height,
        }
    }

    #[test]
    fn highest_height_first_failed_last_ties_by_name() {
        let peers = vec![
            peer("p1.org1", "Org1MSP", 10),
            peer("p0.org1", "Org1MSP", 12),
            peer("p2.org1", "Org1MSP", 12),
            peer("p0.org2", "Org2MSP", 3),
        ];
        let order = |failed: &BTreeSet<String>| {
            candidates(&peers, "Org1MSP", failed)
                .iter()
                .map(|p| p.endpoint.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(order(&BTreeSet::new()), ["p0.org1", "p2.org1", "p1.org1"]);
        let failed = BTreeSet::from(["p0.org1".to_string()]);
        assert_eq!(order(&failed), ["p2.org1", "p1.org1", "p0.org1"]);
        let orgs = vec!["Org1MSP".to_string(), "Org2MSP".to_string()];
        let plan = endorsement_plan(&peers, &orgs, &failed).unwrap();
        assert_eq!(plan["Org2MSP"].endpoint, "p0.org2");
        let missing = vec!["Org3MSP".to_string()];
        assert!(endorsement_plan(&peers, &missing, &failed).is_none());
    }
}
