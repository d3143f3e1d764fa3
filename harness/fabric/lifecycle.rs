//! The Fabric 2.x chaincode lifecycle (`_lifecycle`, F core/chaincode/lifecycle): install on
//! each peer, each organization approves a definition (name, version, sequence), then one
//! organization commits it once a majority approved; the chaincode can be invoked on a
//! channel only after its definition is committed there and on a peer only if installed.
//!
//! hadr follows this path rather than Fabric 1.x `lscc` instantiate: the simulated network
//! is Fabric v2.5, where `lscc` is gone for new channels, and the procedure's "instantiate"
//! step maps to approve + commit in the 2.x console.
//!
//! State, in the `_lifecycle` namespace of the channel's world state:
//! - `namespaces/<name>`: the committed definition (Fabric: `namespaces/fields/<name>/...`).
//! - `approvals/<name>/<msp_id>`: the latest definition the organization approved. Fabric
//!   keeps approvals in each organization's implicit private collection and only hashes on
//!   the channel; hadr keeps them in public state, which changes who can read them, not the
//!   rules.
//!
//! Rules kept from Fabric: the sequence of a new definition is the committed one plus one;
//! approving needs the local MSP's Admins (F core/aclmgmt/defaultaclprovider.go); an
//! approval transaction is endorsed by the approving organization's peer (its implicit
//! collection's endorsement policy); a commit transaction by a majority of organizations
//! (/Channel/Application/LifecycleEndorsement = MAJORITY Endorsement), each endorsing peer
//! refusing unless its own organization approved (scc.go CommitChaincodeDefinition). The
//! endorser also refuses a commit that fewer than a majority approved, what
//! CheckCommitReadiness would show, so a doomed commit fails at endorsement.

use super::endorsement_policy::EndorsementPolicy;
use super::policy::{majority, EndorsementRequirement};
use super::state::{TxSimulator, WorldState};
use super::types::{decode, encode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChaincodeDefinition {
    pub name: String,
    pub version: String,
    pub sequence: u64,
    /// Its endorsement policy (the channel's MAJORITY Endorsement unless the definition
    /// names one, as `peer lifecycle chaincode approveformyorg --signature-policy` does).
    pub endorsement_policy: EndorsementPolicy,
}

const DEFINITION_PREFIX: &str = "namespaces/";
const APPROVAL_PREFIX: &str = "approvals/";

fn definition_key(name: &str) -> String {
    format!("{DEFINITION_PREFIX}{name}")
}

fn approval_key(name: &str, msp_id: &str) -> String {
    format!("{APPROVAL_PREFIX}{name}/{msp_id}")
}

/// The committed definition of chaincode `name` on the channel.
pub fn committed_definition(state: &WorldState, name: &str) -> Option<ChaincodeDefinition> {
    let value = state.get(super::invocation::LIFECYCLE, &definition_key(name))?;
    decode(&value.value).ok()
}

fn read_definition(simulator: &mut TxSimulator<'_>, name: &str) -> Option<ChaincodeDefinition> {
    simulator
        .get_state(&definition_key(name))
        .and_then(|bytes| decode(bytes).ok())
}

fn check_next_sequence(
    simulator: &mut TxSimulator<'_>,
    definition: &ChaincodeDefinition,
) -> Result<(), String> {
    let current = read_definition(simulator, &definition.name).map_or(0, |d| d.sequence);
    if definition.sequence != current + 1 {
        return Err(format!(
            "requested sequence is {}, but new definition must be sequence {}",
            definition.sequence,
            current + 1
        ));
    }
    Ok(())
}

/// ApproveChaincodeDefinitionForMyOrg, simulated on a peer of `msp_id`.
///
/// Like Fabric, an organization may also approve the committed definition at the current
/// sequence (lifecycle.go ApproveChaincodeDefinitionForOrg): how an organization that joins
/// the channel after the commit agrees to the chaincode its peers will endorse.
pub fn approve(
    simulator: &mut TxSimulator<'_>,
    msp_id: &str,
    definition: &ChaincodeDefinition,
) -> Result<(), String> {
    let committed = read_definition(simulator, &definition.name);
    if committed.as_ref().map(|d| d.sequence) == Some(definition.sequence) {
        if committed.as_ref() != Some(definition) {
            return Err(format!(
                "attempted to redefine the current committed sequence ({}) for namespace {} with different parameters",
                definition.sequence, definition.name
            ));
        }
    } else {
        check_next_sequence(simulator, definition)?;
    }
    simulator.put_state(&approval_key(&definition.name, msp_id), encode(definition));
    Ok(())
}

/// CommitChaincodeDefinition, simulated on a peer of `msp_id`.
pub fn commit<'o>(
    simulator: &mut TxSimulator<'_>,
    msp_id: &str,
    application_orgs: impl ExactSizeIterator<Item = &'o String>,
    definition: &ChaincodeDefinition,
) -> Result<(), String> {
    check_next_sequence(simulator, definition)?;
    let organizations = application_orgs.len();
    let mut approved_by = BTreeSet::new();
    for org in application_orgs {
        let approval = simulator
            .get_state(&approval_key(&definition.name, org))
            .and_then(|bytes| decode::<ChaincodeDefinition>(bytes).ok());
        if approval.as_ref() == Some(definition) {
            approved_by.insert(org.as_str());
        }
    }
    if !approved_by.contains(msp_id) {
        return Err(format!(
            "chaincode definition not agreed to by this org ({msp_id})"
        ));
    }
    let required = majority(organizations);
    if approved_by.len() < required {
        return Err(format!(
            "chaincode definition approved by {approved_by:?}: {required} of {organizations} organizations must approve"
        ));
    }
    simulator.put_state(&definition_key(&definition.name), encode(definition));
    Ok(())
}

/// Who must endorse a `_lifecycle` transaction with these writes.
pub fn endorsement_requirements<'w>(
    written_keys: impl Iterator<Item = &'w str>,
) -> BTreeSet<EndorsementRequirement> {
    written_keys
        .map(|key| {
            match key
                .strip_prefix(APPROVAL_PREFIX)
                .and_then(|rest| rest.rsplit_once('/'))
            {
                Some((_, msp_id)) => EndorsementRequirement::Org(msp_id.to_string()),
                None => EndorsementRequirement::Majority,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::invocation::LIFECYCLE;
    use crate::fabric::types::{ReadWriteSet, Version};

    fn definition(sequence: u64) -> ChaincodeDefinition {
        ChaincodeDefinition {
            name: "assets".into(),
            version: "1.0".into(),
            sequence,
            endorsement_policy: EndorsementPolicy::default(),
        }
    }

    fn apply(state: &mut WorldState, results: ReadWriteSet, block_number: u64) {
        let writes = results.writes;
        state.apply(
            LIFECYCLE,
            writes,
            Version {
                block_number,
                tx_number: 0,
            },
        );
    }

    fn orgs(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("Org{i}MSP")).collect()
    }

    #[test]
    fn commit_needs_own_and_majority_approval_and_the_next_sequence() {
        let mut state = WorldState::default();
        let three = orgs(3);
        let mut simulator = TxSimulator::new(&state, LIFECYCLE);
        assert!(approve(&mut simulator, "Org1MSP", &definition(2)).is_err());
        assert!(approve(&mut simulator, "Org1MSP", &definition(1)).is_ok());
        let results = simulator.into_results();
        apply(&mut state, results, 1);

        // Org1 alone is not a majority of three; Org2 has not approved.
        let mut simulator = TxSimulator::new(&state, LIFECYCLE);
        let error = commit(&mut simulator, "Org1MSP", three.iter(), &definition(1)).unwrap_err();
        assert!(error.contains("2 of 3"), "{error}");
        let error = commit(&mut simulator, "Org2MSP", three.iter(), &definition(1)).unwrap_err();
        assert!(error.contains("not agreed to by this org"), "{error}");

        let mut simulator = TxSimulator::new(&state, LIFECYCLE);
        approve(&mut simulator, "Org2MSP", &definition(1)).unwrap();
        let results = simulator.into_results();
        apply(&mut state, results, 2);
        let mut simulator = TxSimulator::new(&state, LIFECYCLE);
        commit(&mut simulator, "Org2MSP", three.iter(), &definition(1)).unwrap();
        let results = simulator.into_results();
        // The commit read every organization's approval, so MVCC catches a late change.
        assert_eq!(results.reads.len(), 4);
        apply(&mut state, results, 3);
        assert_eq!(committed_definition(&state, "assets"), Some(definition(1)));
        assert_eq!(committed_definition(&state, "other"), None);

        // A different version approved by Org1 does not count for this one.
        let mut simulator = TxSimulator::new(&state, LIFECYCLE);
        let mut v2 = definition(2);
        v2.version = "2.0".into();
        approve(&mut simulator, "Org1MSP", &definition(2)).unwrap();
        let results = simulator.into_results();
        apply(&mut state, results, 4);
        let mut simulator = TxSimulator::new(&state, LIFECYCLE);
        assert!(commit(&mut simulator, "Org1MSP", three.iter(), &v2).is_err());
    }

    #[test]
    fn a_late_organization_approves_the_committed_definition_but_nothing_else() {
        let mut state = WorldState::default();
        let mut simulator = TxSimulator::new(&state, LIFECYCLE);
        approve(&mut simulator, "Org1MSP", &definition(1)).unwrap();
        let results = simulator.into_results();
        apply(&mut state, results, 1);
        let mut simulator = TxSimulator::new(&state, LIFECYCLE);
        commit(&mut simulator, "Org1MSP", orgs(1).iter(), &definition(1)).unwrap();
        let results = simulator.into_results();
        apply(&mut state, results, 2);

        let mut simulator = TxSimulator::new(&state, LIFECYCLE);
        approve(&mut simulator, "Org2MSP", &definition(1)).unwrap();
        let mut other = definition(1);
        other.version = "2.0".into();
        let error = approve(&mut simulator, "Org2MSP", &other).unwrap_err();
        assert!(
            error.contains("redefine the current committed sequence"),
            "{error}"
        );
        // Committing the same sequence again is still refused.
        let error = commit(&mut simulator, "Org2MSP", orgs(2).iter(), &definition(1)).unwrap_err();
        assert!(error.contains("must be sequence 2"), "{error}");
    }

    #[test]
    fn approvals_need_their_org_and_definitions_a_majority() {
        let keys = [approval_key("assets", "Org2MSP"), definition_key("assets")];
        let requirements = endorsement_requirements(keys.iter().map(String::as_str));
        assert_eq!(
            requirements.into_iter().collect::<Vec<_>>(),
            vec![
                EndorsementRequirement::Majority,
                EndorsementRequirement::Org("Org2MSP".into())
            ]
        );
    }
}
