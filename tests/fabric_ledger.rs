//! The peer-side data plane end to end through the library API: a two-organization channel
//! from deterministic identities, transactions endorsed on both organizations, ordered into
//! signed blocks and committed on every peer; and the ways Fabric refuses bad transactions,
//! blocks and requests.

use hadr::fabric::blocks::sign_block;
use hadr::fabric::broadcast::BroadcastError;
use hadr::fabric::chaincode::Asset;
use hadr::fabric::invocation::{AssetCall, Invocation};
use hadr::fabric::ledger::{CommitError, CommitSummary};
use hadr::fabric::peer_state::PeerError;
use hadr::fabric::testnet::{create_asset, Signer, TestNetwork, CHAINCODE, CHANNEL_ID};
use hadr::fabric::types::{decode, encode, Endorsement, Endpoint, Envelope, ValidationCode};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

fn create(id: &str, owner: &str) -> AssetCall {
    create_asset(id, owner)
}

fn transfer(id: &str, new_owner: &str) -> AssetCall {
    AssetCall::TransferAsset {
        id: id.into(),
        new_owner: new_owner.into(),
    }
}

fn codes(summary: &CommitSummary) -> Vec<ValidationCode> {
    summary.transactions.iter().map(|tx| tx.code).collect()
}

/// Commits on every peer and checks they agree; returns the first peer's summary.
fn commit(network: &mut TestNetwork, envelopes: Vec<Vec<u8>>) -> CommitSummary {
    let summaries = network
        .order_and_commit(envelopes)
        .expect("the block commits");
    assert!(summaries.windows(2).all(|pair| pair[0] == pair[1]));
    summaries.into_iter().next().unwrap()
}

fn owner(network: &mut TestNetwork, peer: usize, id: &str) -> String {
    let invocation = Invocation::Chaincode {
        name: CHAINCODE.into(),
        call: AssetCall::ReadAsset { id: id.into() },
    };
    let proposal = network.propose_as(Signer::Client(0), CHANNEL_ID, &invocation);
    let response = network.peers[peer].process_proposal(&proposal.signed);
    Asset::from_json(&response.response.payload).unwrap().owner
}

#[test]
fn two_peers_of_two_orgs_commit_the_same_chain_and_state() {
    let run = |seed| {
        let mut network = TestNetwork::new(seed, 2, 1);
        let mut envelopes = Vec::new();
        for i in 0..10 {
            envelopes.push(
                network
                    .asset_transaction(i % 2, create(&format!("asset{i}"), "Tomoko"))
                    .0,
            );
        }
        assert_eq!(
            codes(&commit(&mut network, envelopes)),
            vec![ValidationCode::Valid; 10]
        );
        let moves = (0..10)
            .map(|i| {
                network
                    .asset_transaction(1 - i % 2, transfer(&format!("asset{i}"), "Brad"))
                    .0
            })
            .collect();
        assert_eq!(
            codes(&commit(&mut network, moves)),
            vec![ValidationCode::Valid; 10]
        );
        assert_eq!(owner(&mut network, 1, "asset7"), "Brad");
        let ledgers: Vec<_> = network
            .peers
            .iter()
            .map(|p| p.ledger(CHANNEL_ID).unwrap())
            .collect();
        assert_eq!(ledgers[0].chain_info(), ledgers[1].chain_info());
        assert_eq!(ledgers[0].state(), ledgers[1].state());
        assert_eq!(ledgers[0].state().key_count(CHAINCODE), 10);
        ledgers[0].chain_info()
    };
    // Same seed, same identities, transactions and block hashes.
    assert_eq!(run(7), run(7));
    assert_ne!(run(7).current_block_hash, run(8).current_block_hash);
}

#[test]
fn a_forged_endorsement_or_a_missing_org_fails_the_endorsement_policy() {
    let mut network = TestNetwork::new(11, 2, 1);
    let invocation = Invocation::Chaincode {
        name: CHAINCODE.into(),
        call: create("asset1", "Tomoko"),
    };
    let proposal = network.propose_as(Signer::Client(0), CHANNEL_ID, &invocation);
    let org1_only = network.endorse(&proposal, &[0]);
    let missing_org = network.envelope(Signer::Client(0), &proposal, &org1_only);

    // Org1's peer signs an endorsement claiming to be Org2's peer.
    let proposal = network.propose_as(Signer::Client(0), CHANNEL_ID, &invocation);
    let mut responses = network.endorse(&proposal, &[0, 1]);
    let payload = responses[1].payload.clone();
    let claimed = network.peers[1].identity().serialized();
    responses[1].endorsement = Some(Endorsement {
        signature: network.peers[0]
            .identity()
            .sign(&Endorsement::signed_bytes(&payload, &claimed)),
        endorser: claimed,
    });
    let forged = network.envelope(Signer::Client(0), &proposal, &responses);

    let summary = commit(&mut network, vec![missing_org, forged]);
    assert_eq!(
        codes(&summary),
        vec![ValidationCode::EndorsementPolicyFailure; 2]
    );
    assert_eq!(
        network.peers[0]
            .ledger(CHANNEL_ID)
            .unwrap()
            .state()
            .key_count(CHAINCODE),
        0
    );
}

#[test]
fn two_transfers_of_one_asset_in_one_block_conflict() {
    let mut network = TestNetwork::new(12, 2, 1);
    let (created, _) = network.asset_transaction(0, create("asset1", "Tomoko"));
    commit(&mut network, vec![created]);
    let (to_brad, _) = network.asset_transaction(0, transfer("asset1", "Brad"));
    let (to_max, _) = network.asset_transaction(1, transfer("asset1", "Max"));
    let summary = commit(&mut network, vec![to_brad, to_max]);
    assert_eq!(
        codes(&summary),
        vec![ValidationCode::Valid, ValidationCode::MvccReadConflict]
    );
    assert_eq!(owner(&mut network, 0, "asset1"), "Brad");
    // Endorsed against the old state and ordered after the first transfer committed.
    let (stale, _) = network.asset_transaction(1, transfer("asset1", "Jin Soo"));
    let (first, _) = network.asset_transaction(0, transfer("asset1", "Adriana"));
    commit(&mut network, vec![first]);
    assert_eq!(
        codes(&commit(&mut network, vec![stale])),
        vec![ValidationCode::MvccReadConflict]
    );
}

#[test]
fn a_transaction_id_commits_once() {
    let mut network = TestNetwork::new(13, 2, 1);
    let (envelope, tx_id) = network.asset_transaction(0, create("asset1", "Tomoko"));
    let summary = commit(&mut network, vec![envelope.clone(), envelope.clone()]);
    assert_eq!(
        codes(&summary),
        vec![ValidationCode::Valid, ValidationCode::DuplicateTxid]
    );
    let summary = commit(&mut network, vec![envelope]);
    assert_eq!(codes(&summary), vec![ValidationCode::DuplicateTxid]);
    let location = network.peers[1]
        .ledger(CHANNEL_ID)
        .unwrap()
        .transaction(&tx_id)
        .copied()
        .unwrap();
    assert_eq!(
        (location.tx_number, location.code),
        (0, ValidationCode::Valid)
    );
}

#[test]
fn a_bad_creator_signature_is_flagged() {
    let mut network = TestNetwork::new(14, 2, 1);
    let (envelope, _) = network.asset_transaction(0, create("asset1", "Tomoko"));
    let mut envelope: Envelope = decode(&envelope).unwrap();
    envelope.signature = network.clients[1].sign(&envelope.payload);
    let summary = commit(&mut network, vec![encode(&envelope)]);
    assert_eq!(codes(&summary), vec![ValidationCode::BadCreatorSignature]);
}

#[test]
fn blocks_off_the_chain_or_not_signed_by_a_consenter_are_refused() {
    let mut network = TestNetwork::new(15, 2, 1);
    let (envelope, _) = network.asset_transaction(0, create("asset1", "Tomoko"));
    let block = network.orderer.cut(vec![envelope]);
    let mut wrong_previous = block.clone();
    wrong_previous.header.previous_hash = [9; 32];
    wrong_previous.metadata.signatures.clear();
    sign_block(&mut wrong_previous, &network.orderer.identity, 0);
    let mut forged = block.clone();
    forged.metadata.signatures.clear();
    sign_block(&mut forged, &network.orgs[0].admin, 0);
    let peer = &mut network.peers[0];
    let height = peer.ledger(CHANNEL_ID).unwrap().height();
    assert!(matches!(
        peer.commit(CHANNEL_ID, wrong_previous),
        Err(PeerError::Commit(CommitError::WrongPreviousHash { .. }))
    ));
    assert!(matches!(
        peer.commit(CHANNEL_ID, forged),
        Err(PeerError::Commit(CommitError::Signature(_)))
    ));
    assert_eq!(peer.ledger(CHANNEL_ID).unwrap().height(), height);
    assert!(matches!(
        peer.commit("other", block.clone()),
        Err(PeerError::NotJoined { .. })
    ));
    peer.commit(CHANNEL_ID, block).unwrap();
}

#[test]
fn a_join_by_a_non_admin_is_refused() {
    let mut network = TestNetwork::new(16, 2, 1);
    let join = Invocation::JoinChain {
        genesis_block: Box::new(network.genesis_block.clone()),
    };
    let proposal = network.propose_as(Signer::Client(0), "", &join);
    let response = network.peers[0].process_proposal(&proposal.signed);
    assert_eq!(response.response.status, 500);
    assert!(
        response.response.message.contains("admin"),
        "{}",
        response.response.message
    );
}

#[test]
fn an_anchor_peer_update_needs_the_admin_of_the_org() {
    let mut network = TestNetwork::new(17, 2, 1);
    let anchors = vec![Endpoint {
        host: "peer0.org1.us-east".into(),
        port: 7051,
    }];
    let wrong =
        network.anchor_peers_update(Signer::Admin(1), CHANNEL_ID, "Org1MSP", anchors.clone(), 0);
    let now = network.now;
    let error = network
        .orderer
        .order_config_update(&wrong, now)
        .unwrap_err();
    assert!(matches!(error, BroadcastError::Config(_)), "{error}");

    let right = network.anchor_peers_update(Signer::Admin(0), CHANNEL_ID, "Org1MSP", anchors, 0);
    let block = network.orderer.order_config_update(&right, now).unwrap();
    for summary in network.commit_everywhere(&block).unwrap() {
        assert!(summary.config_updated);
    }
    let config = network.peers[1].ledger(CHANNEL_ID).unwrap().config();
    assert_eq!(
        config.application["Org1MSP"].anchor_peers[0].host,
        "peer0.org1.us-east"
    );
    // Replaying the same update is stale now.
    assert!(network.orderer.order_config_update(&right, now).is_err());
}

#[derive(Clone, Debug)]
enum Op {
    Create { asset: u8, org: usize },
    Transfer { asset: u8, org: usize, owner: u8 },
    Resubmit { index: usize },
    Cut,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..5u8, 0..2usize).prop_map(|(asset, org)| Op::Create { asset, org }),
        (0..5u8, 0..2usize, 0..3u8).prop_map(|(asset, org, owner)| Op::Transfer {
            asset,
            org,
            owner
        }),
        (0..64usize).prop_map(|index| Op::Resubmit { index }),
        Just(Op::Cut),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random interleavings of creates, transfers and resubmissions, cut into random blocks:
    /// every peer ends with the same chain and state, no transaction ID is valid twice, and
    /// the state is what applying the valid transactions in order gives.
    #[test]
    fn random_workloads_commit_each_transaction_once_and_keep_peers_equal(ops in prop::collection::vec(op(), 1..40)) {
        let mut network = TestNetwork::new(99, 2, 2);
        let mut submitted: Vec<Vec<u8>> = Vec::new();
        let mut calls: HashMap<String, AssetCall> = HashMap::new();
        let mut pending = Vec::new();
        let mut summaries = Vec::new();
        for op in ops.into_iter().chain([Op::Cut]) {
            let (org, call) = match op {
                Op::Create { asset, org } => (org, create(&format!("asset{asset}"), "owner0")),
                Op::Transfer { asset, org, owner } => (org, transfer(&format!("asset{asset}"), &format!("owner{owner}"))),
                Op::Resubmit { index } => {
                    if let Some(envelope) = submitted.get(index % submitted.len().max(1)) {
                        pending.push(envelope.clone());
                    }
                    continue;
                }
                Op::Cut => {
                    if !pending.is_empty() {
                        summaries.push(commit(&mut network, std::mem::take(&mut pending)));
                    }
                    continue;
                }
            };
            let invocation = Invocation::Chaincode { name: CHAINCODE.into(), call: call.clone() };
            let proposal = network.propose_as(Signer::Client(org), CHANNEL_ID, &invocation);
            let peers = [org * 2, (1 - org) * 2 + 1];
            let responses = network.endorse(&proposal, &peers);
            if responses.iter().any(|r| r.response.status != 200) {
                continue; // The client sees the chaincode error and does not submit.
            }
            let envelope = network.envelope(Signer::Client(org), &proposal, &responses);
            calls.insert(proposal.tx_id().to_string(), call);
            submitted.push(envelope.clone());
            pending.push(envelope);
        }

        let mut valid = HashSet::new();
        let mut model: BTreeMap<String, String> = BTreeMap::new();
        for summary in &summaries {
            for tx in summary.transactions.iter().filter(|tx| tx.code == ValidationCode::Valid) {
                let tx_id = tx.tx_id.clone().unwrap();
                prop_assert!(valid.insert(tx_id.clone()), "{} valid twice", tx_id);
                match &calls[&tx_id] {
                    AssetCall::CreateAsset { id, owner, .. } => {
                        prop_assert!(model.insert(id.clone(), owner.clone()).is_none());
                    }
                    AssetCall::TransferAsset { id, new_owner } => {
                        prop_assert!(model.insert(id.clone(), new_owner.clone()).is_some());
                    }
                    other => prop_assert!(false, "unexpected call {:?}", other),
                }
            }
        }
        let first = network.peers[0].ledger(CHANNEL_ID).unwrap();
        for peer in &network.peers[1..] {
            let ledger = peer.ledger(CHANNEL_ID).unwrap();
            prop_assert_eq!(ledger.chain_info(), first.chain_info());
            prop_assert_eq!(ledger.state(), first.state());
        }
        prop_assert_eq!(first.state().key_count(CHAINCODE), model.len());
        for (id, expected_owner) in &model {
            let stored = first.state().get(CHAINCODE, id).unwrap();
            prop_assert_eq!(&Asset::from_json(&stored.value).unwrap().owner, expected_owner);
        }
    }
}
