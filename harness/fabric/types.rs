//! Fabric's data structures, shaped after its protobuf messages (common.Block,
//! common.Envelope, peer.Proposal, peer.ProposalResponse, rwset, common.Config) and encoded
//! with postcard instead of protobuf. Signatures and hashes are computed over these
//! encodings, so everything that Fabric signs or hashes is signed or hashed here too.
//!
//! Only data and its canonical encoding live here; validation is in the modules that
//! implement each role (ledger, orderer, gossip, msp).

use super::crypto::{sha256, SerializedIdentity};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeMap;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The canonical byte encoding used for signing, hashing and the wire.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("in-memory encoding does not fail")
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, postcard::Error> {
    postcard::from_bytes(bytes)
}

/// Byte fields as one byte string instead of a sequence of numbers. postcard writes both
/// the same way (a length, then the bytes), so the encoding is unchanged, but a byte string
/// is copied at once where a sequence goes byte by byte, which dominated decoding blocks.
/// Self-describing formats (JSON) still read and write a sequence.
pub(crate) mod byte_string {
    use serde::{de, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_byte_buf(ByteStringVisitor)
    }

    struct ByteStringVisitor;

    impl<'de> de::Visitor<'de> for ByteStringVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a byte string")
        }

        fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
            Ok(bytes.to_vec())
        }

        fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(bytes)
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(byte) = seq.next_element()? {
                bytes.push(byte);
            }
            Ok(bytes)
        }
    }
}

/// A list of byte strings (a block's envelopes), each as in [`byte_string`].
mod byte_strings {
    use serde::{ser::SerializeSeq, Deserialize, Deserializer, Serialize, Serializer};

    struct Borrowed<'a>(&'a [u8]);

    impl Serialize for Borrowed<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_bytes(self.0)
        }
    }

    struct Owned(Vec<u8>);

    impl<'de> Deserialize<'de> for Owned {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Owned, D::Error> {
            super::byte_string::deserialize(deserializer).map(Owned)
        }
    }

    pub fn serialize<S: Serializer>(list: &[Vec<u8>], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(list.len()))?;
        for bytes in list {
            seq.serialize_element(&Borrowed(bytes))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Vec<u8>>, D::Error> {
        let list: Vec<Owned> = Vec::deserialize(deserializer)?;
        Ok(list.into_iter().map(|Owned(bytes)| bytes).collect())
    }
}

// ---------------------------------------------------------------------------------------
// Blocks (common.Block)

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    pub number: u64,
    pub previous_hash: Hash,
    pub data_hash: Hash,
}

impl BlockHeader {
    /// The block hash: SHA-256 over number, previous hash and data hash, as Fabric hashes
    /// the header (protoutil.BlockHeaderHash).
    pub fn hash(&self) -> Hash {
        let mut bytes = Vec::with_capacity(8 + 32 + 32);
        bytes.extend_from_slice(&self.number.to_be_bytes());
        bytes.extend_from_slice(&self.previous_hash);
        bytes.extend_from_slice(&self.data_hash);
        sha256(&bytes)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub header: BlockHeader,
    /// Each entry is an encoded `Envelope`.
    #[serde(with = "byte_strings")]
    pub data: Vec<Vec<u8>>,
    pub metadata: BlockMetadata,
}

impl Block {
    /// SHA-256 over the concatenated envelopes (protoutil.BlockDataHash).
    pub fn compute_data_hash(data: &[Vec<u8>]) -> Hash {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        for envelope in data {
            context.update(envelope);
        }
        let mut hash = [0; 32];
        hash.copy_from_slice(context.finish().as_ref());
        hash
    }

    pub fn number(&self) -> u64 {
        self.header.number
    }

    pub fn hash(&self) -> Hash {
        self.header.hash()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMetadata {
    /// Signatures of the ordering node(s) that wrote the block (BlockMetadataIndex_SIGNATURES),
    /// each over `signed_bytes(header, last_config)`.
    pub signatures: Vec<MetadataSignature>,
    /// Number of the latest config block (carried in the signature metadata since v2.0).
    pub last_config: u64,
    /// Validation code per transaction, filled in by the committing peer
    /// (BlockMetadataIndex_TRANSACTIONS_FILTER); empty as the orderer sends it.
    pub transactions_filter: Vec<ValidationCode>,
}

impl BlockMetadata {
    /// What an ordering node signs for a block.
    pub fn signed_bytes(header: &BlockHeader, last_config: u64) -> Vec<u8> {
        encode(&(header, last_config))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataSignature {
    pub signer: SerializedIdentity,
    #[serde(with = "byte_string")]
    pub signature: Vec<u8>,
}

/// peer.TxValidationCode (the subset hadr's validator produces).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ValidationCode {
    Valid,
    BadPayload,
    BadCreatorSignature,
    BadProposalTxId,
    /// The endorsed response does not belong to the transaction's proposal.
    InvalidEndorserTransaction,
    DuplicateTxid,
    /// The chaincode is not defined (committed) on the channel.
    InvalidChaincode,
    EndorsementPolicyFailure,
    MvccReadConflict,
    InvalidConfigTransaction,
    InvalidOtherReason,
}

// ---------------------------------------------------------------------------------------
// Envelopes (common.Envelope, common.Payload)

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// An encoded `Payload`.
    #[serde(with = "byte_string")]
    pub payload: Vec<u8>,
    /// The creator's signature over `payload`.
    #[serde(with = "byte_string")]
    pub signature: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub header: Header,
    pub data: PayloadData,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub channel_id: String,
    /// hex(SHA-256(nonce || creator)), as protoutil.ComputeTxID.
    pub tx_id: String,
    pub header_type: HeaderType,
    /// Milliseconds of simulated time when the client created it.
    pub timestamp_ms: u64,
    pub creator: SerializedIdentity,
    #[serde(with = "byte_string")]
    pub nonce: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeaderType {
    EndorserTransaction,
    Config,
    ConfigUpdate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayloadData {
    Transaction(Transaction),
    /// A config block's single transaction: the full new config and the update behind it.
    Config(Box<ConfigEnvelope>),
    /// A signed request to change the channel config, sent to the ordering service.
    ConfigUpdate(ConfigUpdateEnvelope),
}

/// Computes a transaction ID the way Fabric does.
pub fn compute_tx_id(nonce: &[u8], creator: &SerializedIdentity) -> String {
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&encode(creator));
    hex::encode(sha256(&bytes))
}

// ---------------------------------------------------------------------------------------
// Endorser transactions (peer.Proposal, peer.ProposalResponse, peer.Transaction)

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedProposal {
    /// An encoded `Proposal`.
    #[serde(with = "byte_string")]
    pub proposal_bytes: Vec<u8>,
    #[serde(with = "byte_string")]
    pub signature: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub header: Header,
    pub chaincode: String,
    pub function: String,
    pub args: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalResponse {
    /// An encoded `ProposalResponsePayload`; what endorsers sign.
    /// Empty when the proposal failed.
    #[serde(with = "byte_string")]
    pub payload: Vec<u8>,
    /// None when the proposal failed, or for channel-less system calls, which Fabric does
    /// not endorse (F core/endorser/endorser.go).
    pub endorsement: Option<Endorsement>,
    pub response: Response,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalResponsePayload {
    pub proposal_hash: Hash,
    pub chaincode: String,
    pub results: ReadWriteSet,
    pub response: Response,
}

/// The chaincode's answer: 200 for success, 500 for an error, as shim.Success/Error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub status: u32,
    pub message: String,
    #[serde(with = "byte_string")]
    pub payload: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endorsement {
    pub endorser: SerializedIdentity,
    /// Signature over `payload || encode(endorser)`, as Fabric's endorser signs.
    #[serde(with = "byte_string")]
    pub signature: Vec<u8>,
}

impl Endorsement {
    pub fn signed_bytes(response_payload: &[u8], endorser: &SerializedIdentity) -> Vec<u8> {
        let mut bytes = response_payload.to_vec();
        bytes.extend_from_slice(&encode(endorser));
        bytes
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// The encoded `ProposalResponsePayload` every endorser signed.
    #[serde(with = "byte_string")]
    pub response_payload: Vec<u8>,
    pub endorsements: Vec<Endorsement>,
}

/// A version of a key: the block and transaction that last wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    pub block_number: u64,
    pub tx_number: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadWriteSet {
    /// Keys read and the version seen (None: the key did not exist).
    pub reads: Vec<(String, Option<Version>)>,
    /// Keys written; None deletes the key.
    pub writes: Vec<(String, Option<Vec<u8>>)>,
}

// ---------------------------------------------------------------------------------------
// Channel configuration (common.Config, simplified to what the procedure touches)

/// An organization's MSP as the channel config carries it (msp.FabricMSPConfig).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MspDefinition {
    pub msp_id: String,
    /// PEM root CA certificates of the organization's CA.
    pub root_certs: Vec<String>,
    pub intermediate_certs: Vec<String>,
    /// PEM certificates of explicit admins (with NodeOUs, OU=admin also makes an admin).
    pub admins: Vec<String>,
    /// PEM root certificates of the organization's TLS CA.
    pub tls_root_certs: Vec<String>,
    /// Fabric NodeOUs enabled: roles come from the certificate's OU.
    pub node_ous: bool,
}

/// host:port, as anchor peers and orderer endpoints are written in the channel config.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationOrg {
    pub msp: MspDefinition,
    pub anchor_peers: Vec<Endpoint>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdererSection {
    pub msp: MspDefinition,
    /// Where peers and clients reach the ordering nodes (OrdererEndpoints).
    pub endpoints: Vec<Endpoint>,
    /// The Raft consenters (etcdraft ConfigMetadata): cluster endpoints and node identities.
    pub consenters: Vec<Consenter>,
    pub batch_timeout_ms: u64,
    pub max_message_count: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consenter {
    pub endpoint: Endpoint,
    /// PEM certificate the node signs blocks and cluster messages with.
    pub identity_cert: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelConfig {
    pub channel_id: String,
    /// Incremented by every config update.
    pub sequence: u64,
    pub orderer: OrdererSection,
    /// Application organizations by MSP ID.
    pub application: BTreeMap<String, ApplicationOrg>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigEnvelope {
    pub config: ChannelConfig,
    /// The update that produced this config (None in the genesis block).
    pub last_update: Option<Box<Envelope>>,
}

/// A change to the channel config, signed by the admins its modification policy names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigUpdateEnvelope {
    /// An encoded `ConfigUpdate`.
    #[serde(with = "byte_string")]
    pub config_update: Vec<u8>,
    pub signatures: Vec<ConfigSignature>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigUpdate {
    pub channel_id: String,
    /// The config sequence the update was computed against (Fabric's read set version).
    pub base_sequence: u64,
    pub change: ConfigChange,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfigChange {
    /// Application/<org>/AnchorPeers; modification policy: that org's Admins.
    SetAnchorPeers {
        msp_id: String,
        anchor_peers: Vec<Endpoint>,
    },
    /// A new application organization; modification policy: the ordering org's Admins
    /// (the "add to consortium" step of the procedure, see orderer/).
    AddOrganization { org: ApplicationOrg },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigSignature {
    pub signer: SerializedIdentity,
    /// Signature over `config_update` bytes.
    #[serde(with = "byte_string")]
    pub signature: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_hash_covers_every_field() {
        let header = BlockHeader {
            number: 1,
            previous_hash: [1; 32],
            data_hash: [2; 32],
        };
        let base = header.hash();
        let mut other = header.clone();
        other.number = 2;
        assert_ne!(other.hash(), base);
        let mut other = header.clone();
        other.previous_hash[0] = 9;
        assert_ne!(other.hash(), base);
        let mut other = header;
        other.data_hash[31] = 9;
        assert_ne!(other.hash(), base);
    }

    #[test]
    fn byte_fields_encode_as_plain_sequences_would() {
        #[derive(Serialize)]
        struct Plain {
            data: Vec<Vec<u8>>,
            payload: Vec<u8>,
        }
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Fast {
            #[serde(with = "byte_strings")]
            data: Vec<Vec<u8>>,
            #[serde(with = "byte_string")]
            payload: Vec<u8>,
        }
        let data = vec![vec![1, 2, 255], vec![], vec![7; 300]];
        let payload = vec![0, 128, 255];
        let fast = Fast {
            data: data.clone(),
            payload: payload.clone(),
        };
        assert_eq!(encode(&fast), encode(&Plain { data, payload }));
        assert_eq!(decode::<Fast>(&encode(&fast)).unwrap(), fast);
        let json = serde_json::to_string(&fast).unwrap();
        assert!(json.starts_with(r#"{"data":[[1,2,255],[]"#), "{json}");
        assert_eq!(serde_json::from_str::<Fast>(&json).unwrap(), fast);
    }

    #[test]
    fn encoding_round_trips() {
        let rwset = ReadWriteSet {
            reads: vec![(
                "a".into(),
                Some(Version {
                    block_number: 1,
                    tx_number: 2,
                }),
            )],
            writes: vec![("a".into(), Some(b"v".to_vec())), ("b".into(), None)],
        };
        assert_eq!(decode::<ReadWriteSet>(&encode(&rwset)).unwrap(), rwset);
    }
}
