//! The ordering service's wire types, shared by the ordering node (server), the peer's
//! delivery client and the console: a signed request to stream blocks from a position on,
//! answered by blocks and, when the stream ends, one status; and the broadcast answer.
//!
//! Fabric sends a signed `common.Envelope` carrying an `orderer.SeekInfo`; the peer's
//! delivery client always asks for `Specified(height)` to `Specified(MaxUint64)` with
//! `BLOCK_UNTIL_READY` (F internal/pkg/peer/blocksprovider/blocksprovider.go,
//! createSeekInfo), and the console asks for `Newest` to find the latest config block, so
//! hadr keeps the start position and the signature.

use super::crypto::{verify, Certificate, SerializedIdentity, SigningIdentity};
use super::types::{encode, Block};
use serde::{Deserialize, Serialize};

/// Fabric's `common.Status`, the subset the broadcast and deliver services answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Success,
    BadRequest,
    Forbidden,
    NotFound,
    ServiceUnavailable,
}

impl Status {
    /// The numeric code as Fabric's protobuf enum has it (HTTP-like).
    pub fn code(self) -> u16 {
        match self {
            Status::Success => 200,
            Status::BadRequest => 400,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::ServiceUnavailable => 503,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Status::Success => "SUCCESS",
            Status::BadRequest => "BAD_REQUEST",
            Status::Forbidden => "FORBIDDEN",
            Status::NotFound => "NOT_FOUND",
            Status::ServiceUnavailable => "SERVICE_UNAVAILABLE",
        };
        f.write_str(name)
    }
}

/// Fabric's orderer.BroadcastResponse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastResponse {
    pub status: Status,
    pub info: String,
}

/// Where a deliver stream starts (orderer.SeekPosition).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeekPosition {
    /// The newest block written when the request arrives.
    Newest,
    Specified(u64),
}

/// A request to stream the channel's blocks from `start` on, without end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverRequest {
    pub channel_id: String,
    pub start: SeekPosition,
    pub requester: SerializedIdentity,
    /// The requester's signature over [`DeliverRequest::signed_bytes`].
    pub signature: Vec<u8>,
}

impl DeliverRequest {
    /// A request from block `start` on, signed by `requester`.
    pub fn signed(channel_id: &str, start: u64, requester: &SigningIdentity) -> DeliverRequest {
        Self::signed_at(channel_id, SeekPosition::Specified(start), requester)
    }

    /// A request from `start` on, signed by `requester`.
    pub fn signed_at(
        channel_id: &str,
        start: SeekPosition,
        requester: &SigningIdentity,
    ) -> DeliverRequest {
        let identity = requester.serialized();
        let signature = requester.sign(&Self::bytes_to_sign(channel_id, start, &identity));
        DeliverRequest {
            channel_id: channel_id.to_string(),
            start,
            requester: identity,
            signature,
        }
    }

    /// A request by `requester`, signed with `sign` (for callers that sign through a service,
    /// like the peer's gossip core).
    pub fn signed_with(
        channel_id: &str,
        start: u64,
        requester: SerializedIdentity,
        sign: impl FnOnce(&[u8]) -> Vec<u8>,
    ) -> DeliverRequest {
        let start = SeekPosition::Specified(start);
        let signature = sign(&Self::bytes_to_sign(channel_id, start, &requester));
        DeliverRequest {
            channel_id: channel_id.to_string(),
            start,
            requester,
            signature,
        }
    }

    /// What the requester signs: channel, start and its own identity (Fabric signs the
    /// envelope payload, which carries the channel header, the seek info and the creator).
    pub fn signed_bytes(&self) -> Vec<u8> {
        Self::bytes_to_sign(&self.channel_id, self.start, &self.requester)
    }

    fn bytes_to_sign(
        channel_id: &str,
        start: SeekPosition,
        requester: &SerializedIdentity,
    ) -> Vec<u8> {
        encode(&(channel_id, start, requester))
    }

    /// The signature is the requester's (whether the requester may read the channel is the
    /// ordering node's policy check).
    pub fn signature_is_valid(&self) -> bool {
        Certificate::from_der(&self.requester.certificate_der).is_ok_and(|certificate| {
            verify(
                &certificate.public_key,
                &self.signed_bytes(),
                &self.signature,
            )
        })
    }
}

/// One message of a deliver stream: blocks in order, then a final status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliverResponse {
    Block(Block),
    Status(Status),
}
