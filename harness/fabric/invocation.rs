//! What a proposal asks a peer to run: a chaincode, a function and string arguments, as
//! Fabric's ChaincodeInvocationSpec carries them. [`Invocation`] is the typed form; clients
//! turn it into a proposal with [`Invocation::to_parts`] and the endorser reads it back with
//! [`Invocation::parse`], so the argument layout is defined once.
//!
//! System chaincodes and their functions are Fabric's (F core/scc/cscc/configure.go,
//! core/scc/qscc/query.go, core/chaincode/lifecycle/scc.go). Binary arguments (the genesis
//! block of JoinChain) travel base64-encoded because hadr's arguments are strings.

use super::endorsement_policy::EndorsementPolicy;
use super::lifecycle::ChaincodeDefinition;
use super::types::{decode, encode, Block};
use base64::Engine;
use thiserror::Error;

/// The configuration system chaincode: joins channels, lists them.
pub const CSCC: &str = "cscc";
/// The query system chaincode: chain info and blocks.
pub const QSCC: &str = "qscc";
/// The chaincode lifecycle (Fabric 2.x `_lifecycle`).
pub const LIFECYCLE: &str = "_lifecycle";

#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("invalid invocation of {chaincode}.{function}: {reason}")]
pub struct InvocationError {
    pub chaincode: String,
    pub function: String,
    pub reason: String,
}

/// A call of the asset-transfer contract (fabric-samples asset-transfer-basic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssetCall {
    CreateAsset {
        id: String,
        color: String,
        size: i64,
        owner: String,
        appraised_value: i64,
        /// hadr's one addition to the sample's asset, for a workload's transaction size:
        /// passed as a sixth argument only when not empty.
        notes: String,
    },
    ReadAsset {
        id: String,
    },
    TransferAsset {
        id: String,
        new_owner: String,
    },
    AssetExists {
        id: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invocation {
    /// An application chaincode; every chaincode hadr runs is the asset-transfer contract.
    Chaincode { name: String, call: AssetCall },
    /// cscc JoinChain: join the channel the genesis block starts. Local MSP admins only.
    JoinChain { genesis_block: Box<Block> },
    /// cscc GetChannels: the channels this peer has joined.
    GetChannels,
    /// qscc GetChainInfo: height and tip hashes, as `peer channel getinfo` prints them.
    GetChainInfo { channel_id: String },
    /// qscc GetBlockByNumber.
    GetBlockByNumber { channel_id: String, number: u64 },
    /// _lifecycle InstallChaincode (a package is its name and version). Local admins only.
    InstallChaincode { name: String, version: String },
    /// _lifecycle QueryInstalledChaincodes. Local admins only.
    QueryInstalledChaincodes,
    /// _lifecycle ApproveChaincodeDefinitionForMyOrg. Local admins only; endorsed by the
    /// approving organization's peer.
    ApproveChaincodeDefinitionForMyOrg(ChaincodeDefinition),
    /// _lifecycle CommitChaincodeDefinition. Channel writers; endorsed by a majority.
    CommitChaincodeDefinition(ChaincodeDefinition),
    /// _lifecycle QueryChaincodeDefinition: the committed definition of a chaincode.
    QueryChaincodeDefinition { name: String },
}

impl Invocation {
    /// The chaincode, function and arguments a proposal carries.
    pub fn to_parts(&self) -> (String, String, Vec<String>) {
        let (chaincode, function, args): (&str, &str, Vec<String>) = match self {
            Invocation::Chaincode { name, call } => {
                let (function, args) = match call {
                    AssetCall::CreateAsset {
                        id,
                        color,
                        size,
                        owner,
                        appraised_value,
                        notes,
                    } => {
                        let mut args = vec![
                            id.clone(),
                            color.clone(),
                            size.to_string(),
                            owner.clone(),
                            appraised_value.to_string(),
                        ];
                        if !notes.is_empty() {
                            args.push(notes.clone());
                        }
                        ("CreateAsset", args)
                    }
                    AssetCall::ReadAsset { id } => ("ReadAsset", vec![id.clone()]),
                    AssetCall::TransferAsset { id, new_owner } => {
                        ("TransferAsset", vec![id.clone(), new_owner.clone()])
                    }
                    AssetCall::AssetExists { id } => ("AssetExists", vec![id.clone()]),
                };
                return (name.clone(), function.to_string(), args);
            }
            Invocation::JoinChain { genesis_block } => (
                CSCC,
                "JoinChain",
                vec![base64::engine::general_purpose::STANDARD.encode(encode(genesis_block))],
            ),
            Invocation::GetChannels => (CSCC, "GetChannels", vec![]),
            Invocation::GetChainInfo { channel_id } => {
                (QSCC, "GetChainInfo", vec![channel_id.clone()])
            }
            Invocation::GetBlockByNumber { channel_id, number } => (
                QSCC,
                "GetBlockByNumber",
                vec![channel_id.clone(), number.to_string()],
            ),
            Invocation::InstallChaincode { name, version } => (
                LIFECYCLE,
                "InstallChaincode",
                vec![name.clone(), version.clone()],
            ),
            Invocation::QueryInstalledChaincodes => (LIFECYCLE, "QueryInstalledChaincodes", vec![]),
            Invocation::ApproveChaincodeDefinitionForMyOrg(definition) => (
                LIFECYCLE,
                "ApproveChaincodeDefinitionForMyOrg",
                definition_args(definition),
            ),
            Invocation::CommitChaincodeDefinition(definition) => (
                LIFECYCLE,
                "CommitChaincodeDefinition",
                definition_args(definition),
            ),
            Invocation::QueryChaincodeDefinition { name } => {
                (LIFECYCLE, "QueryChaincodeDefinition", vec![name.clone()])
            }
        };
        (chaincode.to_string(), function.to_string(), args)
    }

    /// Reads an invocation back from a proposal's chaincode, function and arguments.
    pub fn parse(
        chaincode: &str,
        function: &str,
        args: &[String],
    ) -> Result<Invocation, InvocationError> {
        let fail = |reason: &str| InvocationError {
            chaincode: chaincode.to_string(),
            function: function.to_string(),
            reason: reason.to_string(),
        };
        let number = |text: &str, what: &str| {
            text.parse::<i64>().map_err(|_| {
                fail(&format!(
                    "{what}: cannot convert passed value {text} to int"
                ))
            })
        };
        let invocation = match (chaincode, function, args) {
            (CSCC, "JoinChain", [block]) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(block)
                    .map_err(|_| fail("the genesis block is not base64"))?;
                let genesis_block =
                    decode(&bytes).map_err(|_| fail("the genesis block cannot be decoded"))?;
                Invocation::JoinChain {
                    genesis_block: Box::new(genesis_block),
                }
            }
            (CSCC, "GetChannels", []) => Invocation::GetChannels,
            (QSCC, "GetChainInfo", [channel_id]) => Invocation::GetChainInfo {
                channel_id: channel_id.clone(),
            },
            (QSCC, "GetBlockByNumber", [channel_id, number]) => Invocation::GetBlockByNumber {
                channel_id: channel_id.clone(),
                number: number
                    .parse()
                    .map_err(|_| fail("the block number is not a number"))?,
            },
            (LIFECYCLE, "InstallChaincode", [name, version]) => Invocation::InstallChaincode {
                name: name.clone(),
                version: version.clone(),
            },
            (LIFECYCLE, "QueryInstalledChaincodes", []) => Invocation::QueryInstalledChaincodes,
            (LIFECYCLE, "ApproveChaincodeDefinitionForMyOrg", args) => {
                Invocation::ApproveChaincodeDefinitionForMyOrg(
                    parse_definition(args).map_err(|r| fail(&r))?,
                )
            }
            (LIFECYCLE, "CommitChaincodeDefinition", args) => {
                Invocation::CommitChaincodeDefinition(parse_definition(args).map_err(|r| fail(&r))?)
            }
            (LIFECYCLE, "QueryChaincodeDefinition", [name]) => {
                Invocation::QueryChaincodeDefinition { name: name.clone() }
            }
            (CSCC | QSCC | LIFECYCLE, _, _) => {
                return Err(fail("unknown function or wrong number of arguments"))
            }
            (name, function, args) => {
                let call = match (function, args) {
                    ("CreateAsset", [id, color, size, owner, value, notes @ ..])
                        if notes.len() <= 1 =>
                    {
                        AssetCall::CreateAsset {
                            id: id.clone(),
                            color: color.clone(),
                            size: number(size, "size")?,
                            owner: owner.clone(),
                            appraised_value: number(value, "appraisedValue")?,
                            notes: notes.first().cloned().unwrap_or_default(),
                        }
                    }
                    ("ReadAsset", [id]) => AssetCall::ReadAsset { id: id.clone() },
                    ("TransferAsset", [id, new_owner]) => AssetCall::TransferAsset {
                        id: id.clone(),
                        new_owner: new_owner.clone(),
                    },
                    ("AssetExists", [id]) => AssetCall::AssetExists { id: id.clone() },
                    _ => return Err(fail("unknown function or wrong number of arguments")),
                };
                Invocation::Chaincode {
                    name: name.to_string(),
                    call,
                }
            }
        };
        Ok(invocation)
    }
}

fn definition_args(definition: &ChaincodeDefinition) -> Vec<String> {
    vec![
        definition.name.clone(),
        definition.version.clone(),
        definition.sequence.to_string(),
        definition.endorsement_policy.to_string(),
    ]
}

fn parse_definition(args: &[String]) -> Result<ChaincodeDefinition, String> {
    let (name, version, sequence, policy) = match args {
        [name, version, sequence] => (name, version, sequence, None),
        [name, version, sequence, policy] => (name, version, sequence, Some(policy)),
        _ => return Err("expected name, version, sequence and an optional policy".into()),
    };
    let endorsement_policy = match policy {
        None => EndorsementPolicy::default(),
        Some(text) => EndorsementPolicy::try_from(text.clone())?,
    };
    Ok(ChaincodeDefinition {
        name: name.clone(),
        version: version.clone(),
        sequence: sequence
            .parse()
            .map_err(|_| format!("sequence {sequence} is not a number"))?,
        endorsement_policy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::types::{BlockHeader, BlockMetadata};

    #[test]
    fn every_invocation_round_trips_through_proposal_parts() {
        let definition = ChaincodeDefinition {
            name: "assets".into(),
            version: "1.0".into(),
            sequence: 1,
            endorsement_policy: EndorsementPolicy::parse("OR('Org1MSP.peer', 'Org2MSP.peer')")
                .unwrap(),
        };
        let block = Block {
            header: BlockHeader {
                number: 0,
                previous_hash: [0; 32],
                data_hash: [1; 32],
            },
            data: vec![vec![1, 2, 3]],
            metadata: BlockMetadata::default(),
        };
        let asset = |call| Invocation::Chaincode {
            name: "assets".into(),
            call,
        };
        let all = [
            asset(AssetCall::CreateAsset {
                id: "a1".into(),
                color: "blue".into(),
                size: 5,
                owner: "Tomoko".into(),
                appraised_value: 300,
                notes: String::new(),
            }),
            asset(AssetCall::CreateAsset {
                id: "a2".into(),
                color: "red".into(),
                size: 3,
                owner: "Brad".into(),
                appraised_value: 100,
                notes: "a long description".into(),
            }),
            asset(AssetCall::ReadAsset { id: "a1".into() }),
            asset(AssetCall::TransferAsset {
                id: "a1".into(),
                new_owner: "Brad".into(),
            }),
            asset(AssetCall::AssetExists { id: "a1".into() }),
            Invocation::JoinChain {
                genesis_block: Box::new(block),
            },
            Invocation::GetChannels,
            Invocation::GetChainInfo {
                channel_id: "ch".into(),
            },
            Invocation::GetBlockByNumber {
                channel_id: "ch".into(),
                number: 7,
            },
            Invocation::InstallChaincode {
                name: "assets".into(),
                version: "1.0".into(),
            },
            Invocation::QueryInstalledChaincodes,
            Invocation::ApproveChaincodeDefinitionForMyOrg(definition.clone()),
            Invocation::CommitChaincodeDefinition(definition),
            Invocation::QueryChaincodeDefinition {
                name: "assets".into(),
            },
        ];
        for invocation in all {
            let (chaincode, function, args) = invocation.to_parts();
            assert_eq!(
                Invocation::parse(&chaincode, &function, &args).unwrap(),
                invocation
            );
        }
    }

    #[test]
    fn bad_arguments_are_errors() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let error = Invocation::parse("assets", "CreateAsset", &args(&["a", "b", "x", "o", "1"]))
            .unwrap_err();
        assert!(error.reason.contains("cannot convert passed value x"));
        assert!(Invocation::parse("assets", "Nope", &args(&[])).is_err());
        assert!(Invocation::parse("assets", "ReadAsset", &args(&[])).is_err());
        assert!(Invocation::parse(CSCC, "JoinChain", &args(&["%%%"])).is_err());
        assert!(Invocation::parse(QSCC, "GetBlockByNumber", &args(&["ch", "x"])).is_err());
        assert!(
            Invocation::parse(LIFECYCLE, "CommitChaincodeDefinition", &args(&["a", "1"])).is_err()
        );
        assert!(Invocation::parse(QSCC, "Unknown", &args(&[])).is_err());
    }
}
