//! The asset-transfer contract every application chaincode in hadr runs, with the semantics
//! of fabric-samples' asset-transfer-basic (chaincode-go/chaincode/smartcontract.go):
//! assets are JSON objects with their fields in alphabetical order (the sample's rule for
//! deterministic JSON across languages), keyed by ID; errors become status 500 responses
//! with the contract's message, as fabric-contract-api-go returns them. One addition: an
//! asset may carry `Notes` (omitted when empty, so the sample's assets are byte for byte
//! the sample's), which a workload's `payload_bytes` fills to size its transactions.

use super::invocation::AssetCall;
use super::state::TxSimulator;
use super::types::Response;
use serde::{Deserialize, Serialize};

/// shim.OK and shim.ERROR.
pub const STATUS_OK: u32 = 200;
pub const STATUS_ERROR: u32 = 500;

/// An asset as the sample stores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    #[serde(rename = "AppraisedValue")]
    pub appraised_value: i64,
    #[serde(rename = "Color")]
    pub color: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Notes", default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    #[serde(rename = "Owner")]
    pub owner: String,
    #[serde(rename = "Size")]
    pub size: i64,
}

impl Asset {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an asset always serializes")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Asset, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}

pub fn success(payload: Vec<u8>) -> Response {
    Response {
        status: STATUS_OK,
        message: String::new(),
        payload,
    }
}

pub fn error(message: impl Into<String>) -> Response {
    Response {
        status: STATUS_ERROR,
        message: message.into(),
        payload: Vec::new(),
    }
}

/// Runs `call` against the simulator's state snapshot.
pub fn execute(call: &AssetCall, simulator: &mut TxSimulator<'_>) -> Response {
    match run(call, simulator) {
        Ok(payload) => success(payload),
        Err(message) => error(message),
    }
}

fn run(call: &AssetCall, simulator: &mut TxSimulator<'_>) -> Result<Vec<u8>, String> {
    match call {
        AssetCall::CreateAsset {
            id,
            color,
            size,
            owner,
            appraised_value,
            notes,
        } => {
            if simulator.get_state(id).is_some() {
                return Err(format!("the asset {id} already exists"));
            }
            let asset = Asset {
                appraised_value: *appraised_value,
                color: color.clone(),
                id: id.clone(),
                owner: owner.clone(),
                notes: notes.clone(),
                size: *size,
            };
            simulator.put_state(id, asset.to_json());
            Ok(Vec::new())
        }
        AssetCall::ReadAsset { id } => Ok(read_asset(simulator, id)?.to_json()),
        AssetCall::TransferAsset { id, new_owner } => {
            let mut asset = read_asset(simulator, id)?;
            let old_owner = std::mem::replace(&mut asset.owner, new_owner.clone());
            simulator.put_state(id, asset.to_json());
            Ok(old_owner.into_bytes())
        }
        AssetCall::AssetExists { id } => {
            Ok(simulator.get_state(id).is_some().to_string().into_bytes())
        }
    }
}

fn read_asset(simulator: &mut TxSimulator<'_>, id: &str) -> Result<Asset, String> {
    let bytes = simulator
        .get_state(id)
        .ok_or_else(|| format!("the asset {id} does not exist"))?;
    Asset::from_json(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::state::WorldState;
    use crate::fabric::types::Version;

    fn create(id: &str) -> AssetCall {
        crate::fabric::testnet::create_asset(id, "Tomoko")
    }

    fn run_on(
        state: &WorldState,
        call: &AssetCall,
    ) -> (Response, crate::fabric::types::ReadWriteSet) {
        let mut simulator = TxSimulator::new(state, "assets");
        let response = execute(call, &mut simulator);
        (response, simulator.into_results())
    }

    fn commit(
        state: &mut WorldState,
        rwset: crate::fabric::types::ReadWriteSet,
        block_number: u64,
    ) {
        state.apply(
            "assets",
            rwset.writes,
            Version {
                block_number,
                tx_number: 0,
            },
        );
    }

    #[test]
    fn create_writes_sample_json_and_refuses_existing_assets() {
        let mut state = WorldState::default();
        let (response, rwset) = run_on(&state, &create("asset1"));
        assert_eq!(response.status, STATUS_OK);
        assert_eq!(rwset.reads, vec![("asset1".into(), None)]);
        assert_eq!(
            String::from_utf8(rwset.writes[0].1.clone().unwrap()).unwrap(),
            r#"{"AppraisedValue":300,"Color":"blue","ID":"asset1","Owner":"Tomoko","Size":5}"#
        );
        commit(&mut state, rwset, 1);
        let (response, rwset) = run_on(&state, &create("asset1"));
        assert_eq!(response.status, STATUS_ERROR);
        assert_eq!(response.message, "the asset asset1 already exists");
        assert!(rwset.writes.is_empty());
    }

    #[test]
    fn transfer_reads_modifies_writes_and_returns_the_old_owner() {
        let mut state = WorldState::default();
        let (_, rwset) = run_on(&state, &create("asset1"));
        commit(&mut state, rwset, 1);
        let transfer = AssetCall::TransferAsset {
            id: "asset1".into(),
            new_owner: "Brad".into(),
        };
        let (response, rwset) = run_on(&state, &transfer);
        assert_eq!(response.payload, b"Tomoko");
        assert_eq!(
            rwset.reads,
            vec![(
                "asset1".into(),
                Some(Version {
                    block_number: 1,
                    tx_number: 0
                })
            )]
        );
        commit(&mut state, rwset, 2);
        let (response, _) = run_on(
            &state,
            &AssetCall::ReadAsset {
                id: "asset1".into(),
            },
        );
        assert_eq!(Asset::from_json(&response.payload).unwrap().owner, "Brad");
        let (response, _) = run_on(
            &state,
            &AssetCall::AssetExists {
                id: "asset1".into(),
            },
        );
        assert_eq!(response.payload, b"true");
        let (response, _) = run_on(&state, &AssetCall::AssetExists { id: "nope".into() });
        assert_eq!(response.payload, b"false");
        let missing = AssetCall::TransferAsset {
            id: "nope".into(),
            new_owner: "Brad".into(),
        };
        let (response, _) = run_on(&state, &missing);
        assert_eq!(response.status, STATUS_ERROR);
        assert_eq!(response.message, "the asset nope does not exist");
    }
}
