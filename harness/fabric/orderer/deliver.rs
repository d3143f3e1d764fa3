//! The Deliver service of an ordering node: streams the node's own block store to a
//! reader of the channel (F common/deliver/deliver.go). Every ordering node serves it,
//! leader or not.
//!
//! Sans-IO: [`OrdererNode::deliver`] checks a request and returns a cursor; the shell
//! polls the cursor and sends what it yields, and polls again after
//! [`Output::BlockWritten`](super::Output) or
//! [`Output::RaftStateChanged`](super::Output) when it had to wait.

use super::node::OrdererNode;
use super::support::{ChannelSupport, SignedData};
use crate::fabric::deliver_wire::{DeliverRequest, SeekPosition, Status};
use crate::fabric::types::Block;
use std::sync::Arc;

/// Where a deliver stream stands.
#[derive(Clone, Debug)]
pub struct DeliverCursor {
    request: DeliverRequest,
    next: u64,
    /// Config sequence the Readers policy was last evaluated at (deliver's SessionAC
    /// evaluates again only when the config changed).
    evaluated_sequence: u64,
}

impl DeliverCursor {
    /// The number of the next block the stream sends.
    pub fn next_block(&self) -> u64 {
        self.next
    }
}

/// What a deliver stream does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliverPoll {
    /// Send this block.
    Block(Arc<Block>),
    /// The next block is not written yet; poll again after the node writes a block.
    Wait,
    /// Send this status and end the stream.
    End(Status),
}

impl<S: ChannelSupport> OrdererNode<S> {
    /// Opens a deliver stream, checked as deliver.go deliverBlocks does: NOT_FOUND for
    /// another channel, SERVICE_UNAVAILABLE while the node has no leader (errored),
    /// FORBIDDEN unless the signature is valid and the requester is a channel member.
    pub fn deliver(&self, request: DeliverRequest) -> Result<DeliverCursor, Status> {
        if request.channel_id != self.support.channel_id() {
            return Err(Status::NotFound);
        }
        if self.errored {
            return Err(Status::ServiceUnavailable);
        }
        self.evaluate_readers(&request)?;
        Ok(DeliverCursor {
            next: match request.start {
                SeekPosition::Specified(number) => number,
                SeekPosition::Newest => self.disk.height().saturating_sub(1),
            },
            evaluated_sequence: self.support.config().sequence,
            request,
        })
    }

    /// The next step of a deliver stream. A request beyond the height waits for the block.
    pub fn deliver_poll(&self, cursor: &mut DeliverCursor) -> DeliverPoll {
        if self.errored {
            return DeliverPoll::End(Status::ServiceUnavailable);
        }
        let Some(block) = self.disk.block(cursor.next) else {
            return DeliverPoll::Wait;
        };
        let sequence = self.support.config().sequence;
        if sequence != cursor.evaluated_sequence {
            if let Err(status) = self.evaluate_readers(&cursor.request) {
                return DeliverPoll::End(status);
            }
            cursor.evaluated_sequence = sequence;
        }
        cursor.next += 1;
        DeliverPoll::Block(block)
    }

    fn evaluate_readers(&self, request: &DeliverRequest) -> Result<(), Status> {
        let data = request.signed_bytes();
        self.support
            .evaluate_readers(SignedData {
                data: &data,
                identity: &request.requester,
                signature: &request.signature,
            })
            .map_err(|_| Status::Forbidden)
    }
}
