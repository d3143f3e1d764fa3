//! The grpc-web endpoint of peers and ordering nodes (the component's `grpcwp_url`): how
//! the console reaches nodes from the browser (research/console-api.md; Fabric's
//! peer.Endorser/ProcessProposal and orderer.AtomicBroadcast/Broadcast and Deliver, whose
//! gRPC method paths these are). hadr carries postcard instead of protobuf: every body is
//! `fabric::types::encode` of the message, with content type `application/x-postcard`.
//!
//! - Peer: `POST {grpcwp_url}/protos.Endorser/ProcessProposal`, body `SignedProposal`,
//!   answer `ProposalResponse` (HTTP 200 even when the proposal failed: the status is in
//!   the response, as in gRPC).
//! - Ordering node: `POST {grpcwp_url}/orderer.AtomicBroadcast/Broadcast`, body `Envelope`,
//!   answer `BroadcastResponse` (Fabric's common.Status codes: 200 SUCCESS, 400
//!   BAD_REQUEST, 403 FORBIDDEN, 503 SERVICE_UNAVAILABLE ...).
//! - Ordering node: `POST {grpcwp_url}/orderer.AtomicBroadcast/Deliver`, body
//!   `DeliverRequest`, answer the one `Block` at the requested position with HTTP 200, or
//!   another HTTP status with a `BroadcastResponse` saying why (404 NOT_FOUND for a block
//!   not written yet, 403 FORBIDDEN for a requester who is not a channel reader).

pub const CONTENT_TYPE: &str = "application/x-postcard";
pub const PROCESS_PROPOSAL_PATH: &str = "/protos.Endorser/ProcessProposal";
pub const BROADCAST_PATH: &str = "/orderer.AtomicBroadcast/Broadcast";
pub const DELIVER_PATH: &str = "/orderer.AtomicBroadcast/Deliver";

pub use super::deliver_wire::{BroadcastResponse, DeliverRequest, SeekPosition};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::crypto::{CaKeys, KeyPair, NodeOu, SigningIdentity};
    use rand::SeedableRng;

    #[test]
    fn deliver_requests_are_signed_by_their_requester() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut ca = CaKeys::new_root("ca", "Org1", &mut rng).unwrap();
        let key = KeyPair::generate(&mut rng);
        let certificate = ca.issue("admin", "Org1", NodeOu::Admin, &key, &[]).unwrap();
        let signer = SigningIdentity {
            msp_id: "Org1MSP".into(),
            certificate,
            key,
        };
        let request = DeliverRequest::signed_at("channel1", SeekPosition::Specified(0), &signer);
        let decoded: DeliverRequest =
            crate::fabric::types::decode(&crate::fabric::types::encode(&request)).unwrap();
        assert!(decoded.signature_is_valid());
        let mut forged = decoded;
        forged.start = SeekPosition::Newest;
        assert!(!forged.signature_is_valid());
    }
}
