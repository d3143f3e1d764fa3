//! The simulated Fabric network: identities and MSPs, the CA, ledger, gossip, peers and the
//! Raft ordering service. Protocol logic takes time as a parameter and does no IO.

pub mod blocks;
pub mod broadcast;
pub mod ca;
pub mod chaincode;
pub mod config;
pub mod configtx;
pub mod crypto;
pub mod cryptogen;
pub mod deliver_wire;
pub mod endorsement_policy;
pub mod endorser;
pub mod gossip;
pub mod grpcweb;
pub mod invocation;
pub mod ledger;
pub mod lifecycle;
pub mod msp;
pub mod orderer;
pub mod peer_state;
pub mod policy;
pub mod state;
pub mod testnet;
pub mod txbuild;
pub mod types;
pub mod validator;
