//! Gossip and block delivery cores driven together on a simulated network (net.rs), with
//! Fabric's default timers unless a test says otherwise.

mod net;
mod properties;
mod single;

use hadr::fabric::config::FabricConfig;
use hadr::fabric::crypto::SerializedIdentity;
use hadr::fabric::deliver_wire::Status;
use hadr::fabric::gossip::{backoff_delay, GossipError, GossipMessage, GossipNode, PeerSelf};
use net::{make_block, ms, s, two_org_topology, FakeCrypto, Net, PeerSpec, CHANNEL};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

fn defaults() -> FabricConfig {
    FabricConfig::default()
}

fn all_but(net: &Net, name: &str) -> BTreeSet<String> {
    net.names().into_iter().filter(|n| n != name).collect()
}

/// Every running peer lists exactly the other running peers.
pub fn converged(net: &Net) -> bool {
    let up = net.up_peers();
    up.iter().all(|name| {
        let expected: BTreeSet<String> = up.iter().filter(|n| *n != name).cloned().collect();
        net.membership(name) == expected
    })
}

fn orgs_of(net: &Net, names: &BTreeSet<String>) -> BTreeSet<String> {
    names.iter().map(|n| net.spec(n).msp_id.clone()).collect()
}

/// Two orgs, one peer per region each, with only the us-east peers as anchors.
fn single_anchor_topology(config: &FabricConfig) -> Vec<PeerSpec> {
    two_org_topology(config)
        .into_iter()
        .map(|mut p| {
            p.anchor = p.region == "us-east";
            p
        })
        .collect()
}

fn warmed_up(peers: Vec<PeerSpec>, seed: u64) -> Net {
    let mut net = Net::new(peers, &["us-east"], seed);
    net.run_until_true(ms(500), s(90), converged)
        .expect("membership converges");
    net
}

#[test]
fn membership_converges_and_every_peer_pulls_blocks_as_static_leader() {
    let mut net = warmed_up(two_org_topology(&defaults()), 1);
    net.start_workload(s(2));
    net.run_for(s(30));
    for name in net.names() {
        assert!(net.node(&name).is_leader(), "{name} is a static leader");
        assert_eq!(net.node(&name).election_leader(), None);
        assert!(
            net.height(&name) + 1 >= net.chain_height(),
            "{name} is behind"
        );
        assert_eq!(net.node(&name).membership_total_peers_known(), 5);
        // Heights advertised in state info reach the other peers.
        assert!(net.members(&name).iter().all(|m| m.ledger_height > 1));
    }
}

#[test]
fn crashed_peer_leaves_after_alive_expiration_and_returns_after_restart() {
    let config = defaults();
    let mut net = warmed_up(two_org_topology(&config), 2);
    net.run_for(s(60));
    let victim = "peer0.org1.us-west";
    let observers = all_but(&net, victim);
    let crashed_at = net.now;
    net.crash(victim);
    let victim_pki = net.pki_id(victim);
    // Per observer: when it last heard a newer alive message about the victim, and when
    // the victim left its view.
    let mut last_seen = BTreeMap::new();
    let mut left_at = BTreeMap::new();
    while left_at.len() < observers.len() && net.now < crashed_at + s(60) {
        for observer in &observers {
            if let Some(member) = net
                .node(observer)
                .known_members()
                .into_iter()
                .find(|m| m.pki_id == victim_pki && m.alive)
            {
                last_seen.insert(observer.clone(), member.last_seen);
            }
        }
        net.run_for(ms(100));
        for observer in &observers {
            if !left_at.contains_key(observer) && !net.membership(observer).contains(victim) {
                left_at.insert(observer.clone(), net.now);
            }
        }
    }
    let timeout = config.gossip.alive_expiration_timeout;
    let check_interval = timeout / 10;
    assert_eq!(left_at.len(), observers.len());
    for (observer, left) in &left_at {
        // Expiry counts from the last newer alive message the observer got about the victim.
        let silent = *left - last_seen[observer];
        assert!(
            silent > timeout && silent <= timeout + check_interval + ms(100),
            "{observer} dropped {victim} {silent:?} after last hearing of it"
        );
        // That is the victim's last heartbeat or, for an observer that missed it (or the
        // newer alive message inside the victim's last membership request), a membership
        // sync that carried it on, one hop per pullInterval at most.
        let hops = (observers.len() - 1) as u32;
        let after_crash = *left - crashed_at;
        assert!(
            after_crash > timeout
                && after_crash <= timeout + check_interval + config.gossip.pull_interval * hops,
            "{observer} dropped {victim} {after_crash:?} after the crash"
        );
    }

    net.run_for(s(60));
    let restarted_at = net.now;
    net.restart(victim);
    let back = net.run_until_true(ms(100), s(60), |net| {
        observers.iter().all(|o| net.membership(o).contains(victim))
            && net.membership(victim) == observers
    });
    let back_after = back.expect("the restarted peer is seen again") - restarted_at;
    assert!(
        back_after <= config.gossip.reconnect_interval,
        "seen again after {back_after:?}"
    );
}

#[test]
fn restarted_non_anchor_peer_is_found_by_the_others_reconnecting_to_dead_members() {
    let config = defaults();
    let mut net = warmed_up(single_anchor_topology(&config), 3);
    let victim = "peer0.org2.ca-central";
    let observers = all_but(&net, victim);
    net.crash(victim);
    net.run_for(s(60));
    assert!(observers
        .iter()
        .all(|o| !net.membership(o).contains(victim)));
    let restarted_at = net.now;
    net.restart(victim);
    let back = net
        .run_until_true(ms(100), s(90), |net| {
            observers.iter().all(|o| net.membership(o).contains(victim))
        })
        .expect("seen again")
        - restarted_at;
    // Its anchor (peer0.org2.us-east) learns it at once; the rest within a reconnect round
    // and a state info exchange.
    assert!(
        back <= config.gossip.reconnect_interval + config.gossip.publish_state_info_interval * 2,
        "seen again after {back:?}"
    );
}

#[test]
fn dead_peers_are_purged_after_500s_but_anchors_are_kept() {
    let config = defaults();
    let ttl = config.gossip.alive_expiration_timeout * config.gossip.msg_expiration_factor;
    assert_eq!(ttl, s(500));
    let mut net = warmed_up(single_anchor_topology(&config), 4);
    net.run_for(s(30));
    let anchor = "peer0.org1.us-east";
    let other = "peer0.org1.us-west";
    let crashed_at = net.now;
    net.crash(anchor);
    net.crash(other);
    let survivors: Vec<String> = net.up_peers();
    net.run_until(crashed_at + ttl - s(10));
    for survivor in &survivors {
        let known = net.known(survivor);
        assert!(
            known.contains(anchor) && known.contains(other),
            "{survivor}: {known:?}"
        );
        assert!(!net.membership(survivor).contains(other));
    }
    net.run_until(crashed_at + ttl + s(15));
    for survivor in &survivors {
        let known = net.known(survivor);
        assert!(known.contains(anchor), "{survivor} purged the anchor");
        assert!(!known.contains(other), "{survivor} still knows {other}");
    }
    // Purged stays purged; the anchor stays known and probed.
    net.run_until(crashed_at + ttl * 3);
    for survivor in &survivors {
        let known = net.known(survivor);
        assert!(
            known.contains(anchor) && !known.contains(other),
            "{survivor}: {known:?}"
        );
    }
}

/// Takes `failed_region` off the network, then crashes `peer` for `down_for` and restarts
/// it, still during the outage.
fn restart_during_outage(
    peers: Vec<PeerSpec>,
    seed: u64,
    failed_region: &str,
    peer: &str,
    down_for: Duration,
) -> Net {
    let mut net = warmed_up(peers, seed);
    net.region_down(failed_region);
    net.run_for(s(10));
    net.crash(peer);
    net.run_for(down_for);
    net.restart(peer);
    net
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|n| n.to_string()).collect()
}

#[test]
fn with_every_peer_an_anchor_a_restarted_peer_learns_the_other_orgs_survivors() {
    let restarted = "peer0.org1.ca-central";
    // Down long enough for everyone to have purged it.
    let mut net = restart_during_outage(
        two_org_topology(&defaults()),
        5,
        "us-west",
        restarted,
        s(600),
    );
    let expected = names(&[
        "peer0.org1.us-east",
        "peer0.org2.us-east",
        "peer0.org2.ca-central",
    ]);
    let learned = net.run_until_true(ms(500), s(60), |net| net.membership(restarted) == expected);
    assert!(learned.is_some(), "{:?}", net.membership(restarted));
}

#[test]
fn with_a_single_anchor_per_org_in_the_failed_region_a_peer_restarted_during_the_outage_is_cut_off()
{
    let survivors = [
        "peer0.org1.us-west",
        "peer0.org2.us-west",
        "peer0.org2.ca-central",
    ];
    let restarted = "peer0.org1.ca-central";
    let mut net = restart_during_outage(
        single_anchor_topology(&defaults()),
        6,
        "us-east",
        restarted,
        s(600),
    );
    net.run_for(s(300));
    // No anchor to reach and nobody remembers it: it knows no peer at all, so none of the
    // other organization (IBM: "cross-organization gossip is no longer possible").
    assert!(
        net.known(restarted).is_empty(),
        "{:?}",
        net.known(restarted)
    );
    // The peers that stayed up keep each other, across organizations.
    for survivor in survivors {
        let others: BTreeSet<String> = names(&survivors)
            .into_iter()
            .filter(|n| n != survivor)
            .collect();
        assert_eq!(net.membership(survivor), others, "{survivor}");
        let own = &net.spec(survivor).msp_id;
        assert!(orgs_of(&net, &others).iter().any(|org| org != own));
    }
    // The procedure's remedy: make the surviving peers anchors; the config update reaches
    // the cut-off peer with its ledger (here: delivered directly) and it learns everyone.
    net.update_anchors(&["peer0.org1.us-west", "peer0.org2.us-west"]);
    let joined = net.run_until_true(ms(500), s(60), |net| {
        net.membership(restarted) == names(&survivors)
    });
    assert!(joined.is_some(), "{:?}", net.membership(restarted));
}

#[test]
fn a_peer_restarted_before_being_purged_is_found_again_through_the_others_dead_list() {
    // Fabric's behaviour the single-anchor case depends on: survivors keep probing a dead
    // member until they purge it, so a quick restart reconnects across organizations.
    let restarted = "peer0.org1.ca-central";
    let mut net = restart_during_outage(
        single_anchor_topology(&defaults()),
        7,
        "us-east",
        restarted,
        s(60),
    );
    let expected = names(&[
        "peer0.org1.us-west",
        "peer0.org2.us-west",
        "peer0.org2.ca-central",
    ]);
    let found = net.run_until_true(ms(500), s(60), |net| net.membership(restarted) == expected);
    assert!(found.is_some(), "{:?}", net.membership(restarted));
}

#[test]
fn another_orgs_alive_messages_never_reach_a_peer_without_external_endpoint() {
    let config = defaults();
    let mut internal = PeerSpec::new(1, 1, "us-east", &config);
    internal.external = false;
    internal.anchor = false;
    let peers = vec![
        PeerSpec::new(0, 1, "us-east", &config),
        internal,
        PeerSpec::new(0, 2, "us-west", &config),
    ];
    let [public, internal, foreign] = [0, 1, 2].map(|i| peers[i].name.clone());
    let mut net = Net::new(peers, &["us-east"], 8);
    net.run_for(s(300));
    let internal_index = net.index(&internal);
    let foreign_pki = net.pki_id(&foreign);
    assert!(!net
        .trace
        .alive_seen
        .contains(&(internal_index, foreign_pki)));
    assert_eq!(net.membership(&internal), BTreeSet::from([public.clone()]));
    assert_eq!(net.membership(&foreign), BTreeSet::from([public.clone()]));
    assert_eq!(
        net.membership(&public),
        BTreeSet::from([internal.clone(), foreign.clone()])
    );
    // The internal endpoint is only given to the own org.
    let seen_by_foreign = net.members(&foreign);
    assert_eq!(
        seen_by_foreign[0].endpoint,
        seen_by_foreign[0].external_endpoint
    );
}

/// One static leader per org (us-east), the others take blocks from gossip only.
fn leader_and_followers(config: &FabricConfig, follower: &FabricConfig) -> Vec<PeerSpec> {
    two_org_topology(config)
        .into_iter()
        .map(|mut p| {
            if p.region != "us-east" {
                p.config = follower.clone();
            }
            p
        })
        .collect()
}

fn follower_config(state_transfer: bool) -> FabricConfig {
    let mut config = defaults();
    config.gossip.org_leader = false;
    config.state_transfer.enabled = state_transfer;
    config
}

#[test]
fn blocks_reach_every_peer_of_the_org_by_gossip_and_never_cross_orgs() {
    let mut net = warmed_up(
        leader_and_followers(&defaults(), &follower_config(false)),
        9,
    );
    net.start_workload(s(2));
    net.run_for(s(60));
    net.stop_workload();
    net.run_for(s(10));
    let height = net.chain_height();
    assert!(height > 25);
    for name in net.names() {
        assert_eq!(net.height(&name), height, "{name}");
    }
    assert!(net.leaders().iter().all(|l| l.contains("us-east")));
    assert!(!net.trace.block_flows.is_empty());
    for (sender, receiver, kind) in &net.trace.block_flows {
        assert_eq!(
            sender, receiver,
            "{kind} crossed from {sender} to {receiver}"
        );
    }
}

#[test]
fn a_short_gap_is_filled_by_pull() {
    let mut net = warmed_up(
        leader_and_followers(&defaults(), &follower_config(false)),
        10,
    );
    net.start_workload(s(2));
    net.run_for(s(20));
    // Cut the follower off for 8 s (about 4 blocks), then stop cutting blocks: only pull
    // can bring the missed ones.
    net.partition("us-west", "us-east");
    net.partition("us-west", "ca-central");
    net.run_for(s(8));
    net.heal();
    net.stop_workload();
    let follower = "peer0.org1.us-west";
    let behind = net.chain_height() - net.height(follower);
    assert!(behind >= 3, "missed {behind}");
    let pulls_before = net
        .trace
        .messages_by_kind
        .get("data_update")
        .copied()
        .unwrap_or(0);
    let caught_up = net.run_until_true(ms(500), s(30), |net| {
        net.height(follower) == net.chain_height()
    });
    assert!(
        caught_up.is_some(),
        "{} of {}",
        net.height(follower),
        net.chain_height()
    );
    assert!(net.trace.messages_by_kind["data_update"] > pulls_before);
}

fn fall_behind(state_transfer: bool, seed: u64) -> (Net, &'static str) {
    let mut net = warmed_up(
        leader_and_followers(&defaults(), &follower_config(state_transfer)),
        seed,
    );
    net.start_workload(s(2));
    net.run_for(s(20));
    net.region_down("us-west");
    net.run_for(s(120));
    net.region_up("us-west");
    let follower = "peer0.org1.us-west";
    assert!(net.chain_height() - net.height(follower) > 50);
    net.run_for(s(300));
    (net, follower)
}

#[test]
fn a_follower_behind_the_pull_window_never_catches_up_without_state_transfer() {
    // FAB-18378: new blocks are too far ahead for the payload buffer, missed ones are out of
    // every peer's pull window.
    let (net, follower) = fall_behind(false, 11);
    assert!(
        net.membership(follower).len() >= 4,
        "gossip itself recovered"
    );
    assert!(
        net.chain_height() - net.height(follower) > 150,
        "{} of {}",
        net.height(follower),
        net.chain_height()
    );
}

#[test]
fn state_transfer_brings_a_far_behind_follower_up_to_date() {
    let (net, follower) = fall_behind(true, 11);
    assert!(net.chain_height() - net.height(follower) <= 1);
}

#[test]
fn delivery_retries_follow_100ms_times_1_2_to_the_n_minus_1() {
    let config = defaults();
    let peers = vec![PeerSpec::new(0, 1, "us-east", &config)];
    // A refusing orderer in the same region: each failure is known 2 ms after the connect.
    let mut net = Net::build(peers, &["us-east"], 12);
    net.orderer_down(0, true);
    net.start_all();
    net.run_for(s(20));
    let connects: Vec<Duration> = net.trace.orderer_connects.iter().map(|c| c.0).collect();
    assert!(connects.len() > 12);
    for (n, pair) in connects.windows(2).take(12).enumerate() {
        let expected =
            ms(2) + backoff_delay(n as u32 + 1, config.delivery.reconnect_backoff_threshold);
        assert_eq!(pair[1] - pair[0], expected, "retry {}", n + 1);
    }
}

#[test]
fn an_unanswered_connect_times_out_after_conn_timeout_then_backs_off() {
    let config = defaults();
    let peers = vec![PeerSpec::new(0, 1, "us-east", &config)];
    let mut net = Net::build(peers, &["us-east", "us-west"], 13);
    net.orderer_down(0, false);
    net.orderer_down(1, false);
    net.start_all();
    net.run_for(s(40));
    let connects = &net.trace.orderer_connects;
    for (n, pair) in connects.windows(2).take(5).enumerate() {
        let expected = config.delivery.conn_timeout
            + backoff_delay(n as u32 + 1, config.delivery.reconnect_backoff_threshold);
        assert_eq!(pair[1].0 - pair[0].0, expected);
    }
    // Each attempt picks a random endpoint: both get tried.
    let endpoints: BTreeSet<&str> = connects.iter().map(|c| c.2.as_str()).collect();
    assert_eq!(endpoints.len(), 2);
}

fn election_config() -> FabricConfig {
    let mut config = defaults();
    config.gossip.org_leader = false;
    config.gossip.use_leader_election = true;
    config
}

#[test]
fn election_picks_the_lowest_pki_id_and_recovers_after_a_partition() {
    let config = election_config();
    let peers: Vec<PeerSpec> = net::REGIONS
        .iter()
        .map(|r| PeerSpec::new(0, 1, r, &config))
        .collect();
    let mut net = Net::new(peers, &["ca-central"], 14);
    net.start_workload(s(2));
    net.run_for(s(60));
    let mut by_id: Vec<String> = net.names();
    by_id.sort_by_key(|n| net.pki_id(n));
    assert_eq!(net.leaders(), vec![by_id[0].clone()]);
    assert_eq!(net.node(&by_id[0]).election_leader(), Some(true));
    assert_eq!(net.node(&by_id[1]).election_leader(), Some(false));
    let leader_region = net.spec(&by_id[0]).region.clone();
    for region in net::REGIONS.iter().filter(|r| **r != leader_region) {
        net.partition(&leader_region, region);
    }
    net.run_for(s(60));
    let mut leaders = net.leaders();
    leaders.sort_by_key(|n| net.pki_id(n));
    assert_eq!(leaders, vec![by_id[0].clone(), by_id[1].clone()]);
    net.heal();
    let single = net.run_until_true(s(1), s(90), |net| net.leaders() == vec![by_id[0].clone()]);
    assert!(single.is_some(), "{:?}", net.leaders());
    net.run_for(s(30));
    for name in net.names() {
        assert!(net.height(&name) + 1 >= net.chain_height(), "{name}");
    }
    // Leadership changes were reported as outputs.
    assert!(net.trace.leadership.iter().any(|(_, _, leader)| !leader));
}

#[test]
fn an_elected_leader_whose_delivery_keeps_failing_yields_to_a_peer_that_can_deliver() {
    let mut config = election_config();
    config.delivery.reconnect_total_time_threshold = s(60);
    let peers: Vec<PeerSpec> = ["us-east", "us-west"]
        .iter()
        .map(|r| PeerSpec::new(0, 1, r, &config))
        .collect();
    let mut net = Net::new(peers, &["ca-central"], 20);
    net.start_workload(s(2));
    net.run_for(s(60));
    let leader = net.leaders().pop().expect("a leader");
    let other = all_but(&net, &leader).pop_first().unwrap();
    // The leader loses the ordering service, not its peer.
    net.partition(&net.spec(&leader).region.clone(), "ca-central");
    let handed_over = net.run_until_true(s(1), s(600), |net| net.leaders() == vec![other.clone()]);
    assert!(handed_over.is_some(), "{:?}", net.leaders());
    // Blocks flow again, through the new leader and gossip.
    net.run_for(s(30));
    for name in net.names() {
        assert!(net.height(&name) + 1 >= net.chain_height(), "{name}");
    }
}

#[test]
fn bootstrap_peers_of_the_own_org_are_contacted_and_other_orgs_refused() {
    let config = defaults();
    let mut peers: Vec<PeerSpec> = vec![
        PeerSpec::new(0, 1, "us-east", &config),
        PeerSpec::new(1, 1, "us-east", &config),
        PeerSpec::new(0, 2, "us-east", &config),
    ];
    for peer in &mut peers {
        peer.anchor = false;
    }
    peers[1].bootstrap = vec![peers[0].endpoint(), peers[2].endpoint()];
    let names: Vec<String> = peers.iter().map(|p| p.name.clone()).collect();
    let mut net = Net::new(peers, &["us-east"], 21);
    net.run_for(s(120));
    assert_eq!(
        net.membership(&names[1]),
        BTreeSet::from([names[0].clone()])
    );
    assert_eq!(
        net.membership(&names[0]),
        BTreeSet::from([names[1].clone()])
    );
    assert!(net.membership(&names[2]).is_empty());
}

#[test]
fn org_leader_with_leader_election_is_refused() {
    let mut config = election_config();
    config.gossip.org_leader = true;
    let identity = SerializedIdentity {
        msp_id: "Org1MSP".into(),
        certificate_der: b"cert:peer0".to_vec(),
    };
    let peer = PeerSelf {
        identity: identity.clone(),
        endpoint: "peer0.org1.us-east:7051".into(),
        external_endpoint: String::new(),
        bootstrap_peers: Vec::new(),
    };
    let node = GossipNode::new(
        &config,
        peer.clone(),
        Box::new(FakeCrypto::new(identity.clone(), &["Org1MSP"])),
        ChaCha8Rng::seed_from_u64(0),
        Duration::ZERO,
    );
    assert_eq!(node.err(), Some(GossipError::LeaderConfigConflict));
    // Each alone is fine; a bad endpoint is not.
    assert!(GossipNode::new(
        &election_config(),
        peer.clone(),
        Box::new(FakeCrypto::new(identity.clone(), &["Org1MSP"])),
        ChaCha8Rng::seed_from_u64(0),
        Duration::ZERO,
    )
    .is_ok());
    let bad = PeerSelf {
        endpoint: "peer0".into(),
        ..peer
    };
    let node = GossipNode::new(
        &defaults(),
        bad,
        Box::new(FakeCrypto::new(identity, &["Org1MSP"])),
        ChaCha8Rng::seed_from_u64(0),
        Duration::ZERO,
    );
    assert!(matches!(node.err(), Some(GossipError::BadEndpoint(_))));
}

#[test]
fn a_forged_block_is_neither_committed_nor_forwarded() {
    let mut net = warmed_up(
        leader_and_followers(&defaults(), &follower_config(false)),
        15,
    );
    let mut forged = (*make_block(1, None, 3)).clone();
    forged.metadata.signatures.clear();
    let pushes = net.trace.messages_by_kind.get("data").copied().unwrap_or(0);
    net.inject(
        "peer0.org1.us-east",
        "peer0.org1.us-west",
        GossipMessage::DataMessage {
            channel_id: CHANNEL.into(),
            block: forged.into(),
        },
    );
    net.run_for(s(10));
    assert_eq!(net.height("peer0.org1.us-west"), 1);
    // Only the injected message was delivered: it was not forwarded.
    assert_eq!(net.trace.messages_by_kind["data"], pushes + 1);
}

#[test]
fn pull_and_state_requests_are_answered_only_within_the_rules() {
    let mut net = warmed_up(
        leader_and_followers(&defaults(), &follower_config(false)),
        18,
    );
    net.start_workload(s(2));
    net.run_for(s(20));
    net.stop_workload();
    let digests = |net: &Net, from: &str, to: &str| {
        let key = (from.to_string(), to.to_string(), "data_digest");
        net.trace.block_flows.contains(&key)
    };
    assert!(digests(&net, "Org1MSP", "Org1MSP"));
    // A hello from another organization gets no digest.
    net.inject(
        "peer0.org2.us-east",
        "peer0.org1.us-east",
        GossipMessage::PullHello {
            channel_id: CHANNEL.into(),
            nonce: 7,
        },
    );
    net.run_for(s(2));
    assert!(!digests(&net, "Org1MSP", "Org2MSP"));
    // State requests: at most batchSize blocks past the start.
    let responses = |net: &Net| net.trace.messages_by_kind.get("state_response").copied();
    let request = |start, end| GossipMessage::StateRequest {
        channel_id: CHANNEL.into(),
        nonce: 9,
        start,
        end,
    };
    let batch = u64::from(defaults().state_transfer.batch_size);
    net.inject(
        "peer0.org1.us-west",
        "peer0.org1.us-east",
        request(0, batch + 1),
    );
    net.inject("peer0.org1.us-west", "peer0.org1.us-east", request(5, 4));
    net.run_for(s(2));
    assert_eq!(responses(&net), None);
    net.inject(
        "peer0.org1.us-west",
        "peer0.org1.us-east",
        request(0, batch),
    );
    net.run_for(s(2));
    assert_eq!(responses(&net), Some(1));
}

#[test]
fn an_orderer_status_ends_the_stream_and_the_peer_reconnects_after_backoff() {
    let config = defaults();
    let mut net = Net::new(
        vec![PeerSpec::new(0, 1, "us-east", &config)],
        &["us-east"],
        19,
    );
    net.start_workload(s(2));
    net.run_for(s(10));
    let before = net.trace.orderer_connects.len();
    let ended_at = net.now;
    net.orderer_status(0, Status::ServiceUnavailable);
    net.run_for(s(10));
    let reconnects = &net.trace.orderer_connects[before..];
    assert_eq!(reconnects.len(), 1);
    // The status arrives 1 ms later; the first retry waits 100 ms.
    assert_eq!(reconnects[0].0 - ended_at, ms(101));
    assert!(net.height("peer0.org1.us-east") + 1 >= net.chain_height());
}

#[test]
fn same_seed_same_run() {
    let run = |seed| {
        let mut net = Net::new(two_org_topology(&defaults()), &["us-east"], seed);
        net.jitter_max = ms(20);
        net.loss_probability = 0.01;
        net.start_workload(s(2));
        net.run_for(s(60));
        net.crash("peer0.org2.us-west");
        net.run_for(s(60));
        net.trace.digest.clone()
    };
    assert_eq!(run(21), run(21));
    assert_ne!(run(21), run(22));
}

#[test]
fn a_dead_member_learned_from_a_membership_response_is_never_purged() {
    // Fabric purges a member when the last alive message received *directly* from it
    // expires; a peer that only heard of a dead member through a membership response holds
    // no such message and keeps it, probing it every reconnectInterval, until it restarts.
    let config = defaults();
    let ttl = config.gossip.alive_expiration_timeout * config.gossip.msg_expiration_factor;
    let mut net = warmed_up(two_org_topology(&config), 17);
    let gone = "peer0.org2.us-west";
    let late = "peer0.org1.ca-central";
    net.crash(gone);
    net.run_for(s(60));
    net.crash(late);
    net.restart(late);
    net.run_for(s(30));
    assert!(net.known(late).contains(gone));
    net.run_for(ttl * 2);
    assert!(
        net.known(late).contains(gone),
        "the late joiner keeps the dead member"
    );
    assert!(!net.membership(late).contains(gone));
}

#[test]
fn six_peers_ten_minutes_twenty_tx_per_second_is_cheap() {
    let started = std::time::Instant::now();
    let mut net = warmed_up(
        leader_and_followers(&defaults(), &follower_config(false)),
        16,
    );
    net.start_workload(s(2));
    net.run_for(s(600));
    net.stop_workload();
    net.run_for(s(10));
    let wall = started.elapsed();
    let height = net.chain_height();
    assert!(height >= 300);
    for name in net.names() {
        assert_eq!(net.height(&name), height, "{name}");
    }
    eprintln!(
        "6 peers, {} s simulated, {height} blocks of 40 tx: {} messages in {wall:?}",
        net.now.as_secs(),
        net.trace.messages_delivered
    );
    assert!(wall < s(60), "took {wall:?}");
}

/// gossip_impl.go discoverySecurityAdapter: after publishCertPeriod an alive message carries
/// no certificate, so one from a peer whose identity the receiver never got is dropped
/// ("Don't have certificate for"); the same peer's message with its certificate is accepted.
#[test]
fn an_alive_message_without_a_certificate_from_an_unknown_peer_is_dropped() {
    use hadr::fabric::gossip::{AliveMessage, PeerTime, PkiId, SignedAlive};
    use std::sync::Arc;
    let mut net = warmed_up(two_org_topology(&defaults()), 4);
    let (from, to) = ("peer0.org1.us-east", "peer0.org1.us-west");
    let ghost = SerializedIdentity {
        msp_id: "Org1MSP".to_string(),
        certificate_der: b"cert:ghost".to_vec(),
    };
    let alive = |seq_num, identity: Option<SerializedIdentity>| {
        let alive = AliveMessage {
            pki_id: PkiId::of(&ghost),
            external_endpoint: "ghost.org1.us-east:7051".to_string(),
            identity,
            timestamp: PeerTime {
                inc_num: 1,
                seq_num,
            },
        };
        let signature = net::fake_signature(&ghost.certificate_der, &alive.signed_bytes());
        GossipMessage::Alive(Arc::new(SignedAlive {
            alive,
            signature,
            secret: None,
        }))
    };
    let knows_ghost = |net: &Net| {
        net.node(to)
            .known_members()
            .iter()
            .any(|m| m.pki_id == PkiId::of(&ghost))
    };
    net.inject(from, to, alive(1, None));
    net.run_for(s(1));
    assert!(!knows_ghost(&net), "learned a peer it cannot verify");
    net.inject(from, to, alive(2, Some(ghost.clone())));
    net.run_for(s(1));
    assert!(knows_ghost(&net));
}

/// certstore.go: identities spread by pull. With certificates never in alive messages
/// (publishCertPeriod 1 ms) and only the us-east peers as anchors, a non-anchor peer meets
/// only the anchors by handshake; it still comes to know every peer, because the identity pull
/// brings the identities its membership needs.
#[test]
fn without_certificates_in_alive_messages_membership_converges_by_identity_pull() {
    let mut config = defaults();
    config.gossip.publish_cert_period = ms(1);
    let mut net = Net::new(single_anchor_topology(&config), &["us-east"], 5);
    net.run_until_true(ms(500), s(120), converged)
        .expect("membership converges");
    let pulled = |kind| net.trace.messages_by_kind.get(kind).copied().unwrap_or(0);
    assert!(pulled("identity_digest") > 0 && pulled("identity_update") > 0);
}

/// Fabric integration/gossip: after the elected leader stops, another peer of the org is
/// elected, within leaderAliveThreshold (the others stop hearing it) plus
/// leaderElectionDuration (the proposal round) and a few alive rounds.
#[test]
fn after_the_elected_leader_stops_another_peer_is_elected() {
    let config = election_config();
    let peers: Vec<PeerSpec> = net::REGIONS
        .iter()
        .map(|r| PeerSpec::new(0, 1, r, &config))
        .collect();
    let mut net = Net::new(peers, &["ca-central"], 15);
    net.start_workload(s(2));
    net.run_for(s(60));
    let leader = net.leaders().pop().expect("a leader");
    net.crash(&leader);
    let stopped_at = net.now;
    let elected = net
        .run_until_true(ms(100), s(120), |net| {
            let leaders = net.leaders();
            leaders.len() == 1 && leaders[0] != leader
        })
        .expect("another peer is elected")
        - stopped_at;
    let bound = config.election.leader_alive_threshold
        + config.election.leader_election_duration
        + config.gossip.alive_time_interval * 2;
    assert!(
        elected <= bound,
        "elected after {elected:?}, bound {bound:?}"
    );
    // The new leader pulls blocks: the survivors keep up.
    net.run_for(s(20));
    for name in all_but(&net, &leader) {
        assert!(net.height(&name) + 1 >= net.chain_height(), "{name}");
    }
}

/// Fabric integration/gossip runs with shrunk timers: alive 1 s, expiration 2 s, reconnect
/// 2 s, msgExpirationFactor 2. A stopped peer is purged from the others' membership (alive
/// expiry, then the store's expiry after 2 x 2 s) and, once restarted, reappears in the view
/// of peers of its own org and of the other org within 3 x reconnectInterval.
#[test]
fn with_fabric_test_timers_purged_peers_reappear_within_three_reconnect_intervals() {
    let mut config = defaults();
    config.gossip.alive_time_interval = s(1);
    config.gossip.alive_expiration_timeout = s(2);
    config.gossip.reconnect_interval = s(2);
    config.gossip.msg_expiration_factor = 2;
    // Non-anchor victims: anchors are never purged (the AnchorPeerTracker).
    let peers: Vec<PeerSpec> = two_org_topology(&config)
        .into_iter()
        .map(|mut p| {
            p.anchor = p.region == "us-east";
            p
        })
        .collect();
    let mut net = warmed_up(peers, 16);
    for victim in ["peer0.org1.us-west", "peer0.org2.ca-central"] {
        let observers = all_but(&net, victim);
        net.crash(victim);
        net.run_until_true(ms(100), s(30), |net| {
            observers.iter().all(|o| !net.known(o).contains(victim))
        })
        .unwrap_or_else(|| panic!("{victim} is purged everywhere"));
        let restarted_at = net.now;
        net.restart(victim);
        let back = net
            .run_until_true(ms(100), s(30), |net| {
                observers.iter().all(|o| net.membership(o).contains(victim))
            })
            .unwrap_or_else(|| panic!("{victim} reappears"))
            - restarted_at;
        assert!(
            back <= config.gossip.reconnect_interval * 3,
            "{victim} reappeared after {back:?}"
        );
    }
}

/// FAB-18378 with leader election on: a follower restarted after missing more blocks than
/// any peer keeps for pull, with state transfer off, never catches up, while gossip itself
/// recovers.
#[test]
fn with_leader_election_and_no_state_transfer_a_far_behind_restarted_follower_never_catches_up() {
    let mut config = election_config();
    config.state_transfer.enabled = false;
    let peers: Vec<PeerSpec> = net::REGIONS
        .iter()
        .map(|r| PeerSpec::new(0, 1, r, &config))
        .collect();
    let mut net = Net::new(peers, &["us-east"], 17);
    net.start_workload(s(2));
    net.run_for(s(60));
    let leader = net.leaders().pop().expect("a leader");
    let follower = all_but(&net, &leader).pop_first().expect("a follower");
    net.crash(&follower);
    net.run_for(s(300));
    net.restart(&follower);
    net.run_for(s(300));
    assert!(
        net.membership(&follower).len() >= 2,
        "gossip itself recovered"
    );
    assert!(
        net.chain_height() - net.height(&follower) > 100,
        "{} of {}",
        net.height(&follower),
        net.chain_height()
    );
}
