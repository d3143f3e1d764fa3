//! Nodes driven by hand, message by message: what a node refuses.

use crate::net::{channel_config, FakeCrypto, PeerSpec, TestLedger};
use hadr::fabric::config::FabricConfig;
use hadr::fabric::crypto::SerializedIdentity;
use hadr::fabric::gossip::{
    AliveMessage, ConnEstablish, GossipError, GossipMessage, GossipNode, MessageCryptoService,
    Output, PeerSelf, PeerTime, PkiId, SignedAlive,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::time::Duration;

const ORGS: [&str; 2] = ["Org1MSP", "Org2MSP"];
const NOW: Duration = Duration::from_secs(1);

fn crypto(identity: &SerializedIdentity) -> FakeCrypto {
    FakeCrypto::new(identity.clone(), &ORGS)
}

/// `spec`'s node, joined to a channel whose anchors are `specs`' anchors.
fn started(spec: &PeerSpec, specs: &[PeerSpec]) -> GossipNode {
    let mut node = GossipNode::new(
        &spec.config,
        PeerSelf {
            identity: spec.identity(),
            endpoint: spec.endpoint(),
            external_endpoint: if spec.external {
                spec.endpoint()
            } else {
                String::new()
            },
            bootstrap_peers: Vec::new(),
        },
        Box::new(crypto(&spec.identity())),
        ChaCha8Rng::seed_from_u64(1),
        Duration::ZERO,
    )
    .unwrap();
    node.join_channel(Duration::ZERO, &channel_config(specs, &[]), 1)
        .unwrap();
    node
}

fn outputs(node: &mut GossipNode) -> Vec<Output> {
    std::iter::from_fn(|| node.poll_output()).collect()
}

/// org1's anchor A, org1's B (anchor too), org2's C without external endpoint.
fn specs() -> Vec<PeerSpec> {
    let config = FabricConfig::default();
    let mut c = PeerSpec::new(0, 2, "us-west", &config);
    c.external = false;
    c.anchor = false;
    vec![
        PeerSpec::new(0, 1, "us-east", &config),
        PeerSpec::new(1, 1, "us-east", &config),
        c,
    ]
}

/// B's membership request to its anchor A, as B sends it after the handshake.
fn membership_request_of_b(a: &GossipNode, b: &mut GossipNode, a_endpoint: &str) -> GossipMessage {
    outputs(b);
    b.handle_conn_establish(NOW, Some(a_endpoint), &a.conn_establish())
        .unwrap();
    outputs(b)
        .into_iter()
        .find_map(|o| match o {
            Output::Send { to, message, .. } if to == a.pki_id() => Some(message),
            _ => None,
        })
        .expect("a membership request to the anchor")
}

#[test]
fn handshakes_must_be_signed_by_a_valid_identity_other_than_ours() {
    let specs = specs();
    let mut a = started(&specs[0], &specs);
    let b = started(&specs[1], &specs);
    let good = b.conn_establish();
    assert_eq!(a.handle_conn_establish(NOW, None, &good), Ok(b.pki_id()));
    let mut forged = good.clone();
    forged.signature[0] ^= 1;
    assert!(matches!(
        a.handle_conn_establish(NOW, None, &forged),
        Err(GossipError::IdentityRefused(_))
    ));
    let outsider = SerializedIdentity {
        msp_id: "Org9MSP".into(),
        certificate_der: b"cert:outsider".to_vec(),
    };
    let from_outsider = ConnEstablish {
        signature: crypto(&outsider).sign(&ConnEstablish::signed_bytes(&outsider)),
        identity: outsider,
    };
    assert!(a.handle_conn_establish(NOW, None, &from_outsider).is_err());
    let ourselves = a.conn_establish();
    assert!(a.handle_conn_establish(NOW, None, &ourselves).is_err());
}

#[test]
fn a_membership_request_is_answered_only_when_it_comes_from_the_peer_it_describes() {
    let specs = specs();
    let mut a = started(&specs[0], &specs);
    let mut b = started(&specs[1], &specs);
    let c = started(&specs[2], &specs);
    let request = membership_request_of_b(&a, &mut b, &specs[0].endpoint());
    let ledger = TestLedger::default();
    a.handle_conn_establish(NOW, None, &b.conn_establish())
        .unwrap();
    a.handle_conn_establish(NOW, None, &c.conn_establish())
        .unwrap();
    outputs(&mut a);
    // Relayed by C: ignored.
    a.handle_message(NOW, c.pki_id(), request.clone(), &ledger);
    assert!(outputs(&mut a).is_empty());
    assert!(a.known_members().is_empty());
    // From B itself: B is learned and answered with A's view, A included.
    a.handle_message(NOW, b.pki_id(), request, &ledger);
    let answer = outputs(&mut a).into_iter().find_map(|o| match o {
        Output::Send {
            to,
            message: GossipMessage::MembershipResponse { alive, nonce, .. },
            ..
        } if to == b.pki_id() => Some((alive, nonce)),
        _ => None,
    });
    let (alive, nonce) = answer.expect("a membership response");
    assert_ne!(nonce, 0, "the anchor request asks for an acknowledgement");
    assert!(alive.iter().any(|m| m.alive.pki_id == a.pki_id()));
    assert_eq!(a.known_members()[0].pki_id, b.pki_id());
}

#[test]
fn an_alive_message_with_a_bad_signature_is_ignored() {
    let specs = specs();
    let mut a = started(&specs[0], &specs);
    let mut b = started(&specs[1], &specs);
    let GossipMessage::MembershipRequest {
        self_information, ..
    } = membership_request_of_b(&a, &mut b, &specs[0].endpoint())
    else {
        panic!("not a membership request");
    };
    let ledger = TestLedger::default();
    a.handle_conn_establish(NOW, None, &b.conn_establish())
        .unwrap();
    let mut forged = (*self_information).clone();
    forged.signature[0] ^= 1;
    a.handle_message(
        NOW,
        b.pki_id(),
        GossipMessage::Alive(Arc::new(forged)),
        &ledger,
    );
    assert!(a.known_members().is_empty());
    let mut bad_secret = (*self_information).clone();
    if let Some(secret) = bad_secret.secret.as_mut() {
        secret.internal_endpoint = "elsewhere:7051".into();
    }
    a.handle_message(
        NOW,
        b.pki_id(),
        GossipMessage::Alive(Arc::new(bad_secret)),
        &ledger,
    );
    assert!(a.known_members().is_empty());
    a.handle_message(
        NOW,
        b.pki_id(),
        GossipMessage::Alive(self_information),
        &ledger,
    );
    assert_eq!(a.known_members().len(), 1);
    assert_eq!(a.known_members()[0].internal_endpoint, specs[1].endpoint());
}

/// C's alive message, signed by C, with or without an external endpoint.
fn alive_of_c(spec: &PeerSpec, external_endpoint: &str) -> Arc<SignedAlive> {
    let identity = spec.identity();
    let alive = AliveMessage {
        pki_id: PkiId::of(&identity),
        external_endpoint: external_endpoint.to_string(),
        identity: Some(identity.clone()),
        timestamp: PeerTime {
            inc_num: 1,
            seq_num: 1,
        },
    };
    Arc::new(SignedAlive {
        signature: crypto(&identity).sign(&alive.signed_bytes()),
        alive,
        secret: None,
    })
}

#[test]
fn a_foreign_peer_without_external_endpoint_gets_no_membership_and_is_disconnected() {
    let specs = specs();
    let mut a = started(&specs[0], &specs);
    let c = started(&specs[2], &specs);
    let ledger = TestLedger::default();
    a.handle_conn_establish(NOW, None, &c.conn_establish())
        .unwrap();
    outputs(&mut a);
    let request = GossipMessage::MembershipRequest {
        self_information: alive_of_c(&specs[2], ""),
        nonce: 0,
    };
    a.handle_message(NOW, c.pki_id(), request, &ledger);
    assert_eq!(
        outputs(&mut a),
        vec![Output::CloseConnection { pki_id: c.pki_id() }]
    );
    // With an external endpoint it is answered, without A's internal endpoint.
    let request = GossipMessage::MembershipRequest {
        self_information: alive_of_c(&specs[2], "peer0.org2.us-west:7051"),
        nonce: 0,
    };
    a.handle_message(NOW, c.pki_id(), request, &ledger);
    let alive = outputs(&mut a).into_iter().find_map(|o| match o {
        Output::Send {
            message: GossipMessage::MembershipResponse { alive, .. },
            ..
        } => Some(alive),
        _ => None,
    });
    let alive = alive.expect("answered");
    assert!(alive.iter().all(|m| m.secret.is_none()));
}
