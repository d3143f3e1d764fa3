//! Leader election among the peers of one organization on one channel
//! (gossip/election/election.go), as an explicit state machine of its run loop:
//!
//! - Startup: wait until the membership view stops changing between two samples
//!   (membershipSampleInterval), startupGracePeriod passes, or a leader declares itself.
//! - No leader heard of: propose, wait leaderElectionDuration (cut short by a declaration);
//!   become leader unless a declaration arrived or a proposer has a lower PKI-ID.
//! - Leader: declare every leaderAliveThreshold/2 (cut short by another declaration); step
//!   down when a peer with a lower PKI-ID declares.
//! - Follower: forget proposals, wait leaderAliveThreshold; no declaration during it starts an
//!   election.
//! - Yield (delivery gave up): stop leading and stay out of elections until a leader is seen
//!   or leaderAliveThreshold x 6 passes.
//!
//! Several leaders can coexist in a partition; after it heals the higher PKI-IDs step down on
//! hearing the lowest one's declaration.

use super::message::PkiId;
use crate::fabric::config::ElectionConfig;
use std::collections::BTreeSet;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Stabilizing {
        end: Duration,
        view_size: usize,
        next_sample: Duration,
    },
    /// Proposed; collecting other proposals until `until`.
    Proposed {
        until: Duration,
    },
    /// Declared; next declaration at `until`.
    Leading {
        until: Duration,
    },
    Following {
        until: Duration,
    },
}

/// What the election asks of the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ElectionAction {
    /// Gossip a leadership message to the organization's channel peers.
    Send {
        is_declaration: bool,
    },
    BecameLeader,
    StoppedBeingLeader,
}

#[derive(Debug)]
pub(crate) struct Election {
    me: PkiId,
    config: ElectionConfig,
    phase: Phase,
    is_leader: bool,
    leader_exists: bool,
    yielding_until: Option<Duration>,
    proposals: BTreeSet<PkiId>,
}

impl Election {
    /// `view_size`: the number of own-org channel peers now.
    pub fn new(now: Duration, me: PkiId, config: ElectionConfig, view_size: usize) -> Election {
        Election {
            me,
            phase: Phase::Stabilizing {
                end: now + config.startup_grace_period,
                view_size,
                next_sample: now + config.membership_sample_interval,
            },
            config,
            is_leader: false,
            leader_exists: false,
            yielding_until: None,
            proposals: BTreeSet::new(),
        }
    }

    pub fn is_leader(&self) -> bool {
        self.is_leader
    }

    pub fn deadline(&self) -> Duration {
        match self.phase {
            Phase::Stabilizing { next_sample, .. } => next_sample,
            Phase::Proposed { until } | Phase::Leading { until } | Phase::Following { until } => {
                until
            }
        }
    }

    fn yielding(&self, now: Duration) -> bool {
        self.yielding_until.is_some_and(|until| now < until)
    }

    /// `view_size`: the number of own-org channel peers now (sampled while stabilizing).
    pub fn handle_timeout(&mut self, now: Duration, view_size: usize) -> Vec<ElectionAction> {
        let mut actions = Vec::new();
        if self.deadline() > now {
            return actions;
        }
        match self.phase {
            Phase::Stabilizing {
                end,
                view_size: previous,
                next_sample,
            } => {
                if view_size == previous || now > end || self.leader_exists {
                    self.run(now, &mut actions);
                } else {
                    self.phase = Phase::Stabilizing {
                        end,
                        view_size,
                        next_sample: next_sample + self.config.membership_sample_interval,
                    };
                }
            }
            Phase::Proposed { .. } => self.end_election(now, &mut actions),
            Phase::Leading { .. } | Phase::Following { .. } => self.run(now, &mut actions),
        }
        actions
    }

    /// A proposal or declaration from `sender`, which must be an alive own-org channel peer.
    pub fn handle_message(
        &mut self,
        now: Duration,
        sender: PkiId,
        is_declaration: bool,
        sender_alive: bool,
    ) -> Vec<ElectionAction> {
        let mut actions = Vec::new();
        if !sender_alive {
            return actions;
        }
        if !is_declaration {
            self.proposals.insert(sender);
            return actions;
        }
        self.leader_exists = true;
        if sender < self.me && self.is_leader {
            self.stop_being_leader(&mut actions);
        }
        // A declaration interrupts the waits of an election and of a leader.
        match self.phase {
            Phase::Proposed { .. } => self.end_election(now, &mut actions),
            Phase::Leading { .. } => self.run(now, &mut actions),
            Phase::Stabilizing { .. } | Phase::Following { .. } => {}
        }
        actions
    }

    /// Delivery from the ordering service gave up: relinquish leadership for a while.
    pub fn yield_leadership(&mut self, now: Duration) -> Vec<ElectionAction> {
        let mut actions = Vec::new();
        if !self.is_leader || self.yielding(now) {
            return actions;
        }
        self.yielding_until = Some(now + self.config.leader_alive_threshold * 6);
        self.stop_being_leader(&mut actions);
        self.leader_exists = false;
        actions
    }

    /// The top of the run loop.
    fn run(&mut self, now: Duration, actions: &mut Vec<ElectionAction>) {
        if !self.leader_exists && !self.yielding(now) {
            actions.push(ElectionAction::Send {
                is_declaration: false,
            });
            self.phase = Phase::Proposed {
                until: now + self.config.leader_election_duration,
            };
            return;
        }
        self.after_election(now, actions);
    }

    fn end_election(&mut self, now: Duration, actions: &mut Vec<ElectionAction>) {
        let lower_proposer = self.proposals.iter().any(|p| *p < self.me);
        if !self.leader_exists && !self.yielding(now) && !lower_proposer {
            self.is_leader = true;
            actions.push(ElectionAction::BecameLeader);
            self.leader_exists = true;
        }
        self.after_election(now, actions);
    }

    fn after_election(&mut self, now: Duration, actions: &mut Vec<ElectionAction>) {
        if self.leader_exists && self.yielding(now) {
            self.yielding_until = None;
        }
        if self.is_leader {
            actions.push(ElectionAction::Send {
                is_declaration: true,
            });
            self.phase = Phase::Leading {
                until: now + self.config.leader_alive_threshold / 2,
            };
        } else {
            self.proposals.clear();
            self.leader_exists = false;
            self.phase = Phase::Following {
                until: now + self.config.leader_alive_threshold,
            };
        }
    }

    fn stop_being_leader(&mut self, actions: &mut Vec<ElectionAction>) {
        self.is_leader = false;
        actions.push(ElectionAction::StoppedBeingLeader);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::config::FabricConfig;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn election(id: u8) -> Election {
        Election::new(S(0), PkiId([id; 32]), FabricConfig::default().election, 2)
    }

    #[test]
    fn lone_peer_becomes_leader_after_stabilizing_and_election() {
        let mut e = election(5);
        // The view is stable at the first sample (1 s): propose.
        let actions = e.handle_timeout(S(1), 2);
        assert_eq!(
            actions,
            vec![ElectionAction::Send {
                is_declaration: false
            }]
        );
        assert_eq!(e.deadline(), S(6));
        let actions = e.handle_timeout(S(6), 2);
        assert_eq!(
            actions,
            vec![
                ElectionAction::BecameLeader,
                ElectionAction::Send {
                    is_declaration: true
                }
            ]
        );
        assert!(e.is_leader());
        // Declarations every leaderAliveThreshold / 2.
        assert_eq!(e.deadline(), S(11));
    }

    #[test]
    fn lower_proposer_wins_and_higher_leader_steps_down() {
        let mut e = election(5);
        e.handle_timeout(S(1), 2);
        e.handle_message(S(2), PkiId([3; 32]), false, true);
        let actions = e.handle_timeout(S(6), 2);
        assert!(!actions.contains(&ElectionAction::BecameLeader));
        assert!(!e.is_leader());
        assert_eq!(e.deadline(), S(16));

        let mut leader = election(5);
        leader.handle_timeout(S(1), 2);
        leader.handle_timeout(S(6), 2);
        assert!(leader.is_leader());
        // A higher declaration does not depose it; a lower one does.
        leader.handle_message(S(7), PkiId([9; 32]), true, true);
        assert!(leader.is_leader());
        let actions = leader.handle_message(S(8), PkiId([1; 32]), true, true);
        assert!(actions.contains(&ElectionAction::StoppedBeingLeader));
        assert!(!leader.is_leader());
    }

    #[test]
    fn messages_from_unknown_senders_are_ignored_and_yield_blocks_elections() {
        let mut e = election(5);
        e.handle_timeout(S(1), 2);
        e.handle_message(S(2), PkiId([1; 32]), true, false);
        e.handle_timeout(S(6), 2);
        assert!(e.is_leader());
        let actions = e.yield_leadership(S(7));
        assert_eq!(actions, vec![ElectionAction::StoppedBeingLeader]);
        // While yielding it neither proposes nor declares.
        let actions = e.handle_timeout(S(11), 2);
        assert!(actions.is_empty());
        assert!(!e.is_leader());
        // After 60 s it takes part again.
        let mut t = S(11);
        let mut proposed = false;
        while t < S(100) {
            t = e.deadline();
            proposed |= e.handle_timeout(t, 2).contains(&ElectionAction::Send {
                is_declaration: false,
            });
        }
        assert!(proposed);
    }
}
