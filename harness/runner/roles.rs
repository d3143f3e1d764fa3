//! Role targets (`node_crash: raft_leader`, `region_outage: gateway_peer`, ...): whom they
//! hit is decided when the fault starts, from what the harness observes there as an operator
//! would, on every substrate: the Raft leader from the ordering nodes' operations endpoints
//! (`consensus_etcdraft_is_leader`), the gateway peer from the client's own answers.

use super::observe::Observer;
use crate::checks::view::is_transaction;
use crate::history::{EventKind, History, OpPhase};
use crate::scenario::model::TargetRole;
use crate::substrate::world::{LocalFuture, World};
use std::rc::Rc;
use std::time::Duration;

/// How often a role is looked at again while no node holds it (an election under way).
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// The longest a fault waits for a holder of its role, if it lasts that long: Fabric's Raft
/// elects within a few election timeouts (10 ticks of 500 ms each), and a client answers
/// within its deadlines.
pub const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// Who holds a role now, if anyone observably does.
pub trait Holders {
    fn holder(&self, role: TargetRole) -> LocalFuture<'_, Option<String>>;
}

/// The holders as the world shows them: ordering nodes' metrics and the history.
pub struct Observed {
    pub world: Rc<dyn World>,
    pub observer: Rc<Observer>,
    /// The client whose gateway `gateway_peer` is: the workload's first.
    pub client: String,
}

impl Holders for Observed {
    fn holder(&self, role: TargetRole) -> LocalFuture<'_, Option<String>> {
        Box::pin(async move {
            match role {
                TargetRole::RaftLeader => {
                    // The samples go into the history too: the evidence of whom the fault hit.
                    let statuses = self.observer.orderer_round().await;
                    let mut leaders = statuses.into_iter().filter(|s| s.is_leader);
                    // Two that say they lead (a deposed leader not yet told) are no answer.
                    match (leaders.next(), leaders.next()) {
                        (Some(leader), None) => Some(leader.node),
                        _ => None,
                    }
                }
                TargetRole::GatewayPeer => {
                    let mut gateway = None;
                    self.world.read_history(&mut |history| {
                        gateway = last_committed_gateway(history, &self.client)
                    });
                    gateway
                }
            }
        })
    }
}

/// The gateway peer of `client`'s latest committed transaction.
fn last_committed_gateway(history: &History, client: &str) -> Option<String> {
    history
        .events
        .iter()
        .rev()
        .find_map(|event| match &event.kind {
            EventKind::Op(op)
                if op.phase == OpPhase::Ok && op.process == client && is_transaction(op) =>
            {
                op.node.clone()
            }
            _ => None,
        })
}

/// The holder of `role`, looked for at once and then every second until `until` (world
/// time); None when no node held it by then.
pub async fn wait_for_holder(
    holders: &dyn Holders,
    world: &dyn World,
    role: TargetRole,
    until: Duration,
) -> Option<String> {
    loop {
        if let Some(holder) = holders.holder(role).await {
            return Some(holder);
        }
        let now = world.clock().now();
        if now >= until {
            return None;
        }
        tokio::time::sleep(LOOK_EVERY.min(until - now)).await;
    }
}
