use super::driver::Cluster;
use super::support::{fixture, CHANNEL};
use crate::fabric::config::FabricConfig;
use crate::fabric::deliver_wire::{DeliverRequest, DeliverResponse, Status};
use crate::fabric::orderer::{BroadcastOutcome, BroadcastResponse, ClusterMessage, DeliverPoll};
use crate::fabric::types::{decode, encode, Envelope};
use proptest::prelude::*;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn success() -> BroadcastOutcome {
    BroadcastOutcome::Done(BroadcastResponse {
        status: Status::Success,
        info: String::new(),
    })
}

fn status_of(outcome: &BroadcastOutcome) -> Status {
    match outcome {
        BroadcastOutcome::Done(response) => response.status,
        BroadcastOutcome::Queued(_) => panic!("unexpectedly queued"),
    }
}

/// Runs until one leader is known to every live node and serves requests.
fn settle(cluster: &mut Cluster) -> u64 {
    cluster
        .run_until(secs(60), |c| {
            let leaders = c.leaders();
            leaders.len() == 1
                && c.ids()
                    .iter()
                    .filter(|&&id| c.is_up(id))
                    .all(|&id| c.node(id).leader() == Some(leaders[0]))
        })
        .expect("a leader is elected");
    // The new leader serves once its log is applied (one round trip).
    cluster.run_for(ms(500));
    cluster.leaders()[0]
}

/// A one-node cluster, elected, after `count` transactions were broadcast to it at once.
fn single_node_after_broadcasts(seed: u64, max_message_count: u32, count: u64) -> Cluster {
    let mut cluster = Cluster::new(1, seed, max_message_count);
    settle(&mut cluster);
    for nonce in 0..count {
        assert_eq!(
            cluster.broadcast(1, fixture().transaction(nonce, 100)),
            success()
        );
    }
    cluster
}

fn followers(cluster: &Cluster, leader: u64) -> Vec<u64> {
    cluster
        .ids()
        .into_iter()
        .filter(|&id| id != leader)
        .collect()
}

/// Envelopes in block `number` of node `id`.
fn block_size(cluster: &Cluster, id: u64, number: u64) -> usize {
    cluster.disk(id).block(number).expect("written").data.len()
}

/// Broadcasts one transaction every `every`, round-robin over the live nodes, for
/// `duration`; returns how many were answered SUCCESS.
fn load(cluster: &mut Cluster, duration: Duration, every: Duration, nonce: &mut u64) -> usize {
    let end = cluster.now + duration;
    let mut accepted = 0;
    while cluster.now < end {
        let live: Vec<u64> = cluster
            .ids()
            .into_iter()
            .filter(|&id| cluster.is_up(id))
            .collect();
        if !live.is_empty() {
            let target = live[(*nonce as usize) % live.len()];
            *nonce += 1;
            if cluster.broadcast(target, fixture().transaction(*nonce, 200)) == success() {
                accepted += 1;
            }
        }
        cluster.run_for(every);
    }
    accepted
}

#[test]
fn a_single_node_cuts_a_block_when_the_batch_timeout_expires() {
    let mut cluster = Cluster::new(1, 1, 500);
    let elected = cluster.run_until(secs(30), |c| c.leaders() == [1]).unwrap();
    // node.go: the campaigner of a new channel campaigns every 2 x HeartbeatTick ticks
    // (the first tick comes within one TickInterval).
    assert!(elected > ms(500) && elected <= secs(1), "{elected:?}");
    cluster.run_for(secs(1));
    let start = cluster.now;
    for nonce in 0..3 {
        assert_eq!(
            cluster.broadcast(1, fixture().transaction(nonce, 100)),
            success()
        );
        cluster.run_for(ms(100));
    }
    let written = cluster
        .run_until(secs(10), |c| c.node(1).height() == 2)
        .unwrap();
    assert_eq!(
        written - start,
        secs(2),
        "BatchTimeout runs from the first envelope"
    );
    assert_eq!(block_size(&cluster, 1, 1), 3);
    assert_eq!(cluster.node(1).metrics().committed_block_number, 1);
}

#[test]
fn a_single_node_cuts_a_block_at_max_message_count() {
    let mut cluster = single_node_after_broadcasts(1, 10, 25);
    assert_eq!(cluster.node(1).height(), 3, "two full blocks at once");
    assert_eq!(
        (block_size(&cluster, 1, 1), block_size(&cluster, 1, 2)),
        (10, 10)
    );
    let start = cluster.now;
    let written = cluster
        .run_until(secs(10), |c| c.node(1).height() == 4)
        .unwrap();
    assert_eq!(written - start, secs(2));
    assert_eq!(block_size(&cluster, 1, 3), 5);
}

#[test]
fn a_config_update_gets_a_block_of_its_own() {
    let mut cluster = Cluster::new(1, 2, 500);
    settle(&mut cluster);
    let f = fixture();
    cluster.broadcast(1, f.transaction(1, 100));
    cluster.broadcast(1, f.transaction(2, 100));
    assert_eq!(
        cluster.broadcast(1, f.anchor_peer_update(0, &f.org1_admin)),
        success()
    );
    // The config envelope cuts the pending batch, then goes alone.
    assert_eq!(cluster.node(1).height(), 3);
    assert_eq!(block_size(&cluster, 1, 1), 2);
    assert_eq!(block_size(&cluster, 1, 2), 1);
    let config_block = cluster.disk(1).block(2).unwrap();
    assert_eq!(config_block.metadata.last_config, 2);
    assert_eq!(cluster.disk(1).block(1).unwrap().metadata.last_config, 0);
    cluster.broadcast(1, f.transaction(3, 100));
    cluster
        .run_until(secs(5), |c| c.node(1).height() == 4)
        .unwrap();
    assert_eq!(cluster.disk(1).block(3).unwrap().metadata.last_config, 2);

    // The config moved to sequence 1: an update computed against 0 is stale.
    let stale = cluster.broadcast(1, f.anchor_peer_update(0, &f.org1_admin));
    assert_eq!(status_of(&stale), Status::BadRequest);
    // Signed by a member but not by Org1's admin: Fabric's configtx validator refuses the
    // update, which broadcast classifies as BAD_REQUEST (only the Writers check is FORBIDDEN).
    let unauthorised = cluster.broadcast(1, f.anchor_peer_update(1, &f.client));
    assert_eq!(status_of(&unauthorised), Status::BadRequest);
    // A CONFIG envelope cannot be broadcast directly.
    let config_envelope: Envelope = decode(&config_block.data[0]).unwrap();
    assert_eq!(
        status_of(&cluster.broadcast(1, config_envelope)),
        Status::BadRequest
    );
}

#[test]
fn broadcast_refuses_bad_envelopes() {
    let mut cluster = Cluster::new(1, 3, 500);
    settle(&mut cluster);
    let f = fixture();
    let mut tampered = f.transaction(1, 100);
    tampered.signature[10] ^= 1;
    assert_eq!(
        status_of(&cluster.broadcast(1, tampered)),
        Status::Forbidden
    );
    let mut outsider = f.transaction(2, 100);
    outsider.signature = f.outsider.sign(&outsider.payload);
    assert_eq!(
        status_of(&cluster.broadcast(1, outsider)),
        Status::Forbidden
    );
    let garbage = Envelope {
        payload: vec![1, 2, 3],
        signature: Vec::new(),
    };
    assert_eq!(
        status_of(&cluster.broadcast(1, garbage)),
        Status::BadRequest
    );
    let too_large = f.transaction(3, cluster.options.absolute_max_bytes as usize);
    let BroadcastOutcome::Done(response) = cluster.broadcast(1, too_large) else {
        panic!("answered at once")
    };
    assert_eq!(response.status, Status::BadRequest);
    assert!(
        response.info.contains("exceeds maximum allowed"),
        "{}",
        response.info
    );
    assert_eq!(cluster.node(1).height(), 1);
}

#[test]
fn three_nodes_write_identical_blocks_each_signed_by_itself() {
    let mut cluster = Cluster::new(3, 4, 500);
    settle(&mut cluster);
    let mut nonce = 0;
    let accepted = load(&mut cluster, secs(30), ms(50), &mut nonce);
    assert_eq!(accepted, 600);
    // The last batch waits for its BatchTimeout.
    cluster.run_for(secs(3));
    cluster
        .run_until(secs(10), |c| {
            c.ids()
                .iter()
                .all(|&id| c.node(id).height() == c.node(1).height())
        })
        .unwrap();
    cluster.assert_consistent();
    let height = cluster.node(1).height();
    assert!(
        height >= 15,
        "about one block per BatchTimeout, got {height}"
    );
    let total: usize = (1..height).map(|n| block_size(&cluster, 1, n)).sum();
    assert_eq!(
        total, 600,
        "every accepted envelope is ordered exactly once"
    );
    for id in cluster.ids() {
        let block = cluster.disk(id).block(height - 1).unwrap();
        let signer = &block.metadata.signatures[0].signer;
        assert_eq!(signer, &fixture().orderers[id as usize - 1].serialized());
    }
}

#[test]
fn a_follower_forwards_broadcasts_to_the_leader() {
    let mut cluster = Cluster::new(3, 5, 500);
    let leader = settle(&mut cluster);
    let follower = followers(&cluster, leader)[0];
    let sent_before = cluster.sent.len();
    assert_eq!(
        cluster.broadcast(follower, fixture().transaction(1, 100)),
        success()
    );
    let forwarded = cluster.sent[sent_before..]
        .iter()
        .filter(|(_, from, to, message)| {
            *from == follower && *to == leader && matches!(message, ClusterMessage::Submit(_))
        })
        .count();
    assert_eq!(forwarded, 1);
    cluster
        .run_until(secs(5), |c| {
            c.ids().iter().all(|&id| c.node(id).height() == 2)
        })
        .unwrap();
    cluster.assert_consistent();
}

#[test]
fn broadcast_without_a_leader_is_service_unavailable() {
    let mut cluster = Cluster::new(3, 6, 500);
    let BroadcastOutcome::Done(response) = cluster.broadcast(1, fixture().transaction(1, 100))
    else {
        panic!("answered at once")
    };
    assert_eq!(response.status, Status::ServiceUnavailable);
    assert_eq!(response.info, "no Raft leader");
    assert_eq!(cluster.node(1).metrics().proposal_failures, 1);
}

/// Time from killing the leader until the remaining nodes agree on a new one.
fn election_after_leader_crash(seed: u64) -> Duration {
    let mut cluster = Cluster::new(3, seed, 500);
    let leader = settle(&mut cluster);
    cluster.run_for(secs(3));
    let crashed_at = cluster.now;
    cluster.crash(leader);
    let survivors = followers(&cluster, leader);
    let elected = cluster
        .run_until(secs(60), |c| {
            let known: Vec<Option<u64>> = survivors.iter().map(|&id| c.node(id).leader()).collect();
            known[0].is_some() && known[0] != Some(leader) && known.iter().all(|k| *k == known[0])
        })
        .expect("a new leader");
    // Ordering goes on with the new leader.
    let new_leader = cluster.node(survivors[0]).leader().unwrap();
    let height = cluster.node(new_leader).height();
    cluster.run_for(secs(1));
    assert_eq!(
        cluster.broadcast(survivors[1], fixture().transaction(seed, 100)),
        success()
    );
    cluster
        .run_until(secs(5), |c| {
            survivors
                .iter()
                .all(|&id| c.node(id).height() == height + 1)
        })
        .expect("ordering continues");
    elapsed_ms(elected - crashed_at)
}

fn elapsed_ms(duration: Duration) -> Duration {
    Duration::from_millis(duration.as_millis() as u64)
}

#[test]
fn killing_the_leader_elects_a_new_one_within_two_election_timeouts() {
    let options = FabricConfig::default().ordering;
    let election_timeout = options.tick_interval * options.election_tick;
    let mut times: Vec<Duration> = (0..12).map(election_after_leader_crash).collect();
    times.sort();
    println!(
        "election after leader crash over {} seeds: min {:?}, median {:?}, max {:?}",
        times.len(),
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
    // Followers time out after [ElectionTick, 2 x ElectionTick) ticks without a
    // heartbeat, then pre-vote and vote: a few round trips.
    assert!(
        times[0] >= election_timeout - options.tick_interval,
        "{times:?}"
    );
    assert!(
        times[times.len() - 1] < 2 * election_timeout + secs(1),
        "{times:?}"
    );
}

#[test]
fn a_minority_partition_stops_cutting_and_the_majority_goes_on() {
    let mut cluster = Cluster::new(3, 8, 500);
    let old_leader = settle(&mut cluster);
    let majority = followers(&cluster, old_leader);
    let mut nonce = 0;
    load(&mut cluster, secs(5), ms(100), &mut nonce);
    let parted_at = cluster.now;
    let height_before = cluster.node(old_leader).height();
    cluster.partition(&[&[old_leader], &majority]);
    load(&mut cluster, secs(30), ms(100), &mut nonce);
    assert_eq!(
        cluster.written_since(old_leader, parted_at),
        0,
        "the minority writes nothing"
    );
    assert_eq!(cluster.node(old_leader).height(), height_before);
    assert!(
        !cluster.node(old_leader).is_leader(),
        "CheckQuorum deposes the isolated leader"
    );
    assert!(cluster.node(old_leader).is_errored());
    for &id in &majority {
        assert!(
            cluster.written_since(id, parted_at) >= 5,
            "the majority goes on"
        );
    }
    assert_eq!(
        status_of(&cluster.broadcast(old_leader, fixture().transaction(9999, 100))),
        Status::ServiceUnavailable
    );
    cluster.heal();
    cluster
        .run_until(secs(30), |c| {
            c.node(old_leader).height() == c.node(majority[0]).height()
        })
        .expect("the old leader catches up");
    cluster.assert_consistent();
}

#[test]
fn losing_quorum_stops_blocks_entirely() {
    let mut cluster = Cluster::new(3, 9, 500);
    let leader = settle(&mut cluster);
    let mut nonce = 0;
    load(&mut cluster, secs(5), ms(100), &mut nonce);
    // Keep the leader, kill both followers: the leader cannot commit any more.
    for id in followers(&cluster, leader) {
        cluster.crash(id);
    }
    let lost_at = cluster.now;
    load(&mut cluster, secs(30), ms(100), &mut nonce);
    assert_eq!(cluster.written_since(leader, lost_at), 0);
    assert!(!cluster.node(leader).is_leader());
    assert_eq!(cluster.node(leader).leader(), None);
    assert_eq!(
        status_of(&cluster.broadcast(leader, fixture().transaction(9999, 100))),
        Status::ServiceUnavailable
    );
    assert!(!cluster.node(leader).metrics().is_leader);
}

#[test]
fn a_restarted_node_catches_up_from_its_disk_and_the_leaders_log() {
    let mut cluster = Cluster::new(3, 10, 500);
    let leader = settle(&mut cluster);
    let follower = followers(&cluster, leader)[0];
    let mut nonce = 0;
    load(&mut cluster, secs(10), ms(100), &mut nonce);
    cluster.run_for(secs(3));
    let height_at_crash = cluster.node(follower).height();
    assert!(height_at_crash > 3);
    cluster.crash(follower);
    load(&mut cluster, secs(20), ms(100), &mut nonce);
    cluster.start(follower);
    assert_eq!(
        cluster.node(follower).height(),
        height_at_crash,
        "blocks survive on disk"
    );
    cluster
        .run_until(secs(10), |c| {
            c.node(follower).height() == c.node(leader).height()
        })
        .expect("the follower catches up");
    // The leader restarts too: a new leader is elected and everything stays consistent.
    cluster.crash(leader);
    cluster.run_for(secs(2));
    cluster.start(leader);
    let new_leader = settle(&mut cluster);
    load(&mut cluster, secs(10), ms(100), &mut nonce);
    cluster
        .run_until(secs(10), |c| {
            c.ids()
                .iter()
                .all(|&id| c.node(id).height() == c.node(new_leader).height())
        })
        .expect("all nodes converge");
    cluster.assert_consistent();
}

/// A run with elections (two leader crashes) and load; returns what must be reproducible.
#[allow(clippy::type_complexity)]
fn reproducible_run(seed: u64) -> (Vec<(Duration, u64, Option<u64>)>, Vec<[u8; 32]>) {
    let mut cluster = Cluster::new(3, seed, 500);
    let mut nonce = 0;
    for _ in 0..2 {
        let leader = settle(&mut cluster);
        load(&mut cluster, secs(10), ms(100), &mut nonce);
        cluster.crash(leader);
        load(&mut cluster, secs(15), ms(100), &mut nonce);
        cluster.start(leader);
    }
    settle(&mut cluster);
    cluster.run_for(secs(5));
    cluster.assert_consistent();
    let hashes = cluster.hashes(1);
    (cluster.leader_history, hashes)
}

#[test]
fn the_same_seed_gives_the_same_leader_history_and_blocks() {
    let first = reproducible_run(11);
    let leaders: std::collections::BTreeSet<u64> =
        first.0.iter().filter_map(|(_, _, l)| *l).collect();
    assert!(
        leaders.len() >= 2,
        "the run elects several leaders: {:?}",
        first.0
    );
    assert_eq!(first, reproducible_run(11));
}

#[test]
fn deliver_streams_from_a_start_number_and_waits_for_new_blocks() {
    let mut cluster = single_node_after_broadcasts(12, 2, 4);
    assert_eq!(cluster.node(1).height(), 3);
    let request = DeliverRequest::signed(CHANNEL, 1, &fixture().client);
    let mut cursor = cluster.node(1).deliver(request).expect("a member may read");
    let node = cluster.node(1);
    for expected in 1..3 {
        match node.deliver_poll(&mut cursor) {
            DeliverPoll::Block(block) => assert_eq!(block.number(), expected),
            other => panic!("expected block {expected}, got {other:?}"),
        }
    }
    assert_eq!(node.deliver_poll(&mut cursor), DeliverPoll::Wait);
    cluster.broadcast(1, fixture().transaction(10, 100));
    cluster
        .run_until(secs(5), |c| c.node(1).height() == 4)
        .unwrap();
    match cluster.node(1).deliver_poll(&mut cursor) {
        DeliverPoll::Block(block) => assert_eq!(block.number(), 3),
        other => panic!("expected block 3, got {other:?}"),
    }
    // A start beyond the height waits.
    let ahead = DeliverRequest::signed(CHANNEL, 10, &fixture().client);
    let mut cursor = cluster.node(1).deliver(ahead).unwrap();
    assert_eq!(cluster.node(1).deliver_poll(&mut cursor), DeliverPoll::Wait);
    assert_eq!(cursor.next_block(), 10);
}

#[test]
fn deliver_refuses_unsigned_non_member_and_unknown_channel_requests() {
    let mut cluster = Cluster::new(1, 13, 500);
    settle(&mut cluster);
    let f = fixture();
    let node = cluster.node(1);
    let mut unsigned = DeliverRequest::signed(CHANNEL, 0, &f.client);
    unsigned.signature.clear();
    assert_eq!(node.deliver(unsigned).unwrap_err(), Status::Forbidden);
    let mut forged = DeliverRequest::signed(CHANNEL, 0, &f.client);
    forged.start = crate::fabric::deliver_wire::SeekPosition::Specified(1);
    assert_eq!(node.deliver(forged).unwrap_err(), Status::Forbidden);
    let outsider = DeliverRequest::signed(CHANNEL, 0, &f.outsider);
    assert_eq!(node.deliver(outsider).unwrap_err(), Status::Forbidden);
    let elsewhere = DeliverRequest::signed("other", 0, &f.client);
    assert_eq!(node.deliver(elsewhere).unwrap_err(), Status::NotFound);
    // Orderer identities are channel members too.
    assert!(node
        .deliver(DeliverRequest::signed(CHANNEL, 0, &f.orderers[0]))
        .is_ok());
}

#[test]
fn deliver_is_unavailable_on_a_node_without_leader() {
    let mut cluster = Cluster::new(3, 14, 500);
    let request = DeliverRequest::signed(CHANNEL, 0, &fixture().client);
    assert_eq!(
        cluster.node(1).deliver(request.clone()).unwrap_err(),
        Status::ServiceUnavailable
    );
    let leader = settle(&mut cluster);
    let follower = followers(&cluster, leader)[0];
    let mut cursor = cluster
        .node(follower)
        .deliver(request)
        .expect("a leader is known");
    assert!(matches!(
        cluster.node(follower).deliver_poll(&mut cursor),
        DeliverPoll::Block(_)
    ));
    for id in cluster.ids() {
        if id != follower {
            cluster.crash(id);
        }
    }
    cluster
        .run_until(secs(30), |c| c.node(follower).is_errored())
        .expect("the lone follower campaigns");
    assert_eq!(
        cluster.node(follower).deliver_poll(&mut cursor),
        DeliverPoll::End(Status::ServiceUnavailable)
    );
}

#[test]
fn a_leader_at_max_inflight_blocks_queues_broadcasts_and_answers_later() {
    let mut options = FabricConfig::default().ordering;
    options.max_inflight_blocks = 1;
    let mut cluster = Cluster::with_options(3, 15, 1, options);
    cluster.latency = ms(50);
    let leader = settle(&mut cluster);
    assert_eq!(
        cluster.broadcast(leader, fixture().transaction(1, 100)),
        success()
    );
    let BroadcastOutcome::Queued(ticket) = cluster.broadcast(leader, fixture().transaction(2, 100))
    else {
        panic!("one block in flight: the leader pauses")
    };
    cluster
        .run_until(secs(2), |c| c.responses.contains_key(&(leader, ticket)))
        .unwrap();
    assert_eq!(cluster.responses[&(leader, ticket)].status, Status::Success);
    cluster
        .run_until(secs(2), |c| c.node(leader).height() == 3)
        .unwrap();
}

#[test]
fn metrics_follow_leadership_and_active_nodes() {
    let mut cluster = Cluster::new(3, 16, 500);
    let leader = settle(&mut cluster);
    let mut nonce = 0;
    load(&mut cluster, secs(10), ms(200), &mut nonce);
    let metrics = cluster.node(leader).metrics();
    assert!(metrics.is_leader);
    assert_eq!(metrics.cluster_size, 3);
    assert_eq!(metrics.active_nodes, 3);
    assert_eq!(
        metrics.committed_block_number,
        cluster.node(leader).height() - 1
    );
    for id in followers(&cluster, leader) {
        let metrics = cluster.node(id).metrics();
        assert!(!metrics.is_leader);
        assert_eq!(metrics.leader_changes, 1, "0 -> leader");
        assert_eq!(
            metrics.active_nodes, 3,
            "from the leader's cluster metadata"
        );
    }
    let follower = followers(&cluster, leader)[0];
    cluster.crash(follower);
    cluster
        .run_until(secs(30), |c| c.node(leader).metrics().active_nodes == 2)
        .expect("the leader notices the dead follower");
}

#[test]
fn wire_types_round_trip() {
    let mut cluster = Cluster::new(3, 17, 500);
    settle(&mut cluster);
    cluster.broadcast(1, fixture().transaction(1, 100));
    for (_, _, _, message) in &cluster.sent {
        assert_eq!(
            &decode::<ClusterMessage>(&encode(message)).unwrap(),
            message
        );
    }
    assert!(cluster
        .sent
        .iter()
        .any(|(_, _, _, message)| matches!(message, ClusterMessage::Submit(_))));
    let block = (*cluster.disk(1).block(0).unwrap()).clone();
    for response in [
        DeliverResponse::Block(block),
        DeliverResponse::Status(Status::NotFound),
    ] {
        assert_eq!(
            decode::<DeliverResponse>(&encode(&response)).unwrap(),
            response
        );
    }
    let request = DeliverRequest::signed(CHANNEL, 5, &fixture().client);
    assert_eq!(
        decode::<DeliverRequest>(&encode(&request)).unwrap(),
        request
    );
    assert_eq!(Status::ServiceUnavailable.code(), 503);
    assert_eq!(Status::Forbidden.to_string(), "FORBIDDEN");
}

#[test]
fn a_restart_applies_the_latest_config_block() {
    let mut cluster = Cluster::new(1, 18, 500);
    settle(&mut cluster);
    let f = fixture();
    cluster.broadcast(1, f.anchor_peer_update(0, &f.org1_admin));
    assert_eq!(cluster.node(1).height(), 2);
    cluster.crash(1);
    cluster.start(1);
    settle(&mut cluster);
    // The restarted node's support was built with the genesis config; the node applied
    // block 1's config, so an update against sequence 1 is accepted.
    assert_eq!(
        cluster.broadcast(1, f.anchor_peer_update(1, &f.org1_admin)),
        success()
    );
    assert_eq!(cluster.node(1).height(), 3);
    assert_eq!(cluster.disk(1).last_config(), 2);
}

#[derive(Clone, Debug)]
enum Fault {
    Crash(u64),
    Restart(u64),
    Isolate(u64),
    Heal,
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        (1..=3u64).prop_map(Fault::Crash),
        (1..=3u64).prop_map(Fault::Restart),
        (1..=3u64).prop_map(Fault::Isolate),
        Just(Fault::Heal),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Under any schedule of crashes, restarts and partitions, no two nodes ever write
    /// different blocks at the same number, and once everything heals all converge.
    #[test]
    fn no_two_nodes_write_different_blocks_at_the_same_number(
        seed in 0..1000u64,
        faults in proptest::collection::vec((fault(), 1..20u64), 1..8),
    ) {
        let mut cluster = Cluster::new(3, seed, 20);
        let mut nonce = 0;
        for (fault, seconds) in faults {
            match fault {
                Fault::Crash(id) => cluster.crash(id),
                Fault::Restart(id) if !cluster.is_up(id) => cluster.start(id),
                Fault::Restart(_) => {}
                Fault::Isolate(id) => {
                    let others: Vec<u64> = cluster.ids().into_iter().filter(|&o| o != id).collect();
                    cluster.partition(&[&[id], &others]);
                }
                Fault::Heal => cluster.heal(),
            }
            load(&mut cluster, secs(seconds), ms(200), &mut nonce);
            cluster.assert_consistent();
        }
        cluster.heal();
        for id in cluster.ids() {
            if !cluster.is_up(id) {
                cluster.start(id);
            }
        }
        settle(&mut cluster);
        load(&mut cluster, secs(5), ms(200), &mut nonce);
        let converged = cluster.run_until(secs(30), |c| {
            c.ids().iter().all(|&id| c.node(id).height() == c.node(1).height())
        });
        prop_assert!(converged.is_some(), "nodes converge after healing");
        cluster.assert_consistent();
    }
}

#[test]
fn three_hundred_blocks_of_forty_envelopes_in_ten_simulated_minutes() {
    let wall = std::time::Instant::now();
    let mut cluster = Cluster::new(3, 19, 500);
    settle(&mut cluster);
    let mut nonce = 0;
    // 20 tx/s of about 3 KB: 40 envelopes per 2 s BatchTimeout.
    let end = cluster.now + secs(600);
    while cluster.now < end {
        let target = 1 + nonce % 3;
        nonce += 1;
        cluster.broadcast(target, fixture().transaction(nonce, 3000));
        cluster.run_for(ms(50));
    }
    cluster.run_for(secs(5));
    cluster.assert_consistent();
    let height = cluster.node(1).height();
    let envelopes: usize = (1..height).map(|n| block_size(&cluster, 1, n)).sum();
    println!(
        "{} blocks, {envelopes} envelopes, {} cluster messages, wall time {:?}",
        height - 1,
        cluster.sent.len(),
        wall.elapsed()
    );
    assert_eq!(envelopes as u64, nonce);
    assert!((290..=310).contains(&(height - 1)), "{height}");
}

#[test]
fn the_support_config_follows_config_blocks_on_every_node() {
    let mut cluster = Cluster::new(3, 20, 500);
    let leader = settle(&mut cluster);
    let f = fixture();
    let follower = followers(&cluster, leader)[0];
    assert_eq!(
        cluster.broadcast(follower, f.anchor_peer_update(0, &f.org1_admin)),
        success()
    );
    cluster
        .run_until(secs(5), |c| {
            c.ids().iter().all(|&id| c.node(id).height() == 2)
        })
        .unwrap();
    for id in cluster.ids() {
        let node = cluster.node(id);
        assert_eq!(node.channel_config().sequence, 1);
        assert_eq!(
            node.channel_config().application["Org1MSP"]
                .anchor_peers
                .len(),
            1
        );
    }
}
