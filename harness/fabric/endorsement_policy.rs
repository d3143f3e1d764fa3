//! Chaincode endorsement policies, as a chaincode definition carries them: the channel's
//! `/Channel/Application/Endorsement` (an ImplicitMeta rule, MAJORITY by default, over each
//! application organization's Endorsement policy `OR('<org>.peer')`), or a signature policy
//! written in Fabric's language (F common/policydsl/policyparser.go):
//!
//! - `AND(a, ...)`, `OR(a, ...)`, `OutOf(n, a, ...)` (also `and`/`AND`, `or`/`OR`,
//!   `outof`/`OUTOF`), nested to any depth; `OutOf` needs at least one rule and
//!   `0 <= n <= rules + 1`;
//! - a principal `'<MSP ID>.<role>'` in single or double quotes, role one of `member`,
//!   `admin`, `client`, `peer`, `orderer` (lowercase).
//!
//! Evaluation follows cauthdsl (F common/cauthdsl/cauthdsl.go): identities are checked once
//! each (duplicates dropped), and each identity satisfies at most one principal. The
//! Gateway plans endorsements from [`EndorsementPolicy::layouts`]: every minimal way to meet
//! the policy as a count of peers per organization (F discovery/endorsement: principal sets).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The rule of an ImplicitMeta policy (F common/policies/implicitmeta.go).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImplicitRule {
    Any,
    All,
    /// More than half: N/2 + 1.
    Majority,
}

impl ImplicitRule {
    /// How many of `n` sub-policies must hold.
    pub fn threshold(self, n: usize) -> usize {
        match self {
            ImplicitRule::Any => 1.min(n),
            ImplicitRule::All => n,
            ImplicitRule::Majority => n / 2 + 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    Member,
    Admin,
    Client,
    Peer,
    Orderer,
}

/// A signature policy: principals and thresholds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignaturePolicy {
    SignedBy {
        msp_id: String,
        role: Role,
    },
    OutOf {
        n: usize,
        rules: Vec<SignaturePolicy>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum EndorsementPolicy {
    /// `/Channel/Application/Endorsement` with this rule over the application organizations.
    ChannelConfig(ImplicitRule),
    Signature(SignaturePolicy),
}

// Written as text (report.json, history): `MAJORITY Endorsement`, `OutOf(1, 'Org1MSP.peer')`.
impl From<EndorsementPolicy> for String {
    fn from(policy: EndorsementPolicy) -> String {
        policy.to_string()
    }
}

impl TryFrom<String> for EndorsementPolicy {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        EndorsementPolicy::parse(text.trim_end_matches(" Endorsement"))
    }
}

impl Default for EndorsementPolicy {
    /// Fabric v2's default for a chaincode definition without a policy.
    fn default() -> Self {
        EndorsementPolicy::ChannelConfig(ImplicitRule::Majority)
    }
}

/// An endorsing identity as the policy sees it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Signer {
    pub msp_id: String,
    /// Roles the identity holds (a peer is also a member).
    pub roles: BTreeSet<Role>,
    /// Tells identities apart (the certificate's DER).
    pub id: Vec<u8>,
}

/// How many endorsing peers each organization must provide: one way to meet a policy.
pub type Layout = BTreeMap<String, usize>;

/// Combinations enumerated at most, as discovery caps them (F common/policies/inquire).
const COMBINATIONS_MAX: usize = 10_000;

impl EndorsementPolicy {
    /// Parses `MAJORITY`, `ANY`, `ALL` (the channel's Endorsement policy with that rule) or a
    /// signature policy.
    pub fn parse(text: &str) -> Result<EndorsementPolicy, String> {
        match text.trim() {
            "MAJORITY" => Ok(EndorsementPolicy::ChannelConfig(ImplicitRule::Majority)),
            "ANY" => Ok(EndorsementPolicy::ChannelConfig(ImplicitRule::Any)),
            "ALL" => Ok(EndorsementPolicy::ChannelConfig(ImplicitRule::All)),
            other => Parser::new(other)
                .policy()
                .map(EndorsementPolicy::Signature),
        }
    }

    /// The organizations the policy names (all of `application_orgs` for a channel rule).
    pub fn organizations<'a>(&'a self, application_orgs: &'a [String]) -> BTreeSet<&'a str> {
        match self {
            EndorsementPolicy::ChannelConfig(_) => {
                application_orgs.iter().map(String::as_str).collect()
            }
            EndorsementPolicy::Signature(policy) => {
                let mut orgs = BTreeSet::new();
                policy.collect_orgs(&mut orgs);
                orgs
            }
        }
    }

    /// Whether `signers` satisfy the policy on a channel of `application_orgs`.
    pub fn is_satisfied(&self, signers: &[Signer], application_orgs: &[String]) -> bool {
        let mut unique: Vec<&Signer> = Vec::new();
        for signer in signers {
            if !unique
                .iter()
                .any(|s| s.id == signer.id && s.msp_id == signer.msp_id)
            {
                unique.push(signer);
            }
        }
        match self {
            EndorsementPolicy::ChannelConfig(rule) => {
                let endorsing: BTreeSet<&str> = unique
                    .iter()
                    .filter(|s| s.roles.contains(&Role::Peer))
                    .map(|s| s.msp_id.as_str())
                    .filter(|org| application_orgs.iter().any(|a| a == org))
                    .collect();
                endorsing.len() >= rule.threshold(application_orgs.len())
            }
            EndorsementPolicy::Signature(policy) => {
                let mut used = vec![false; unique.len()];
                policy.evaluate(&unique, &mut used)
            }
        }
    }

    /// Every minimal way to meet the policy as peers per organization, smallest first. An
    /// endorsing peer holds the `peer` and `member` roles only, so principals of other roles
    /// cannot be met by endorsements and give no layout.
    pub fn layouts(&self, application_orgs: &[String]) -> Vec<Layout> {
        let sets = match self {
            EndorsementPolicy::ChannelConfig(rule) => {
                let threshold = rule.threshold(application_orgs.len());
                combinations(application_orgs.len(), threshold)
                    .into_iter()
                    .map(|picked| {
                        picked
                            .into_iter()
                            .map(|i| (application_orgs[i].clone(), 1))
                            .collect()
                    })
                    .collect()
            }
            EndorsementPolicy::Signature(policy) => policy.principal_sets(),
        };
        // Keep the minimal ones: a layout that needs more of every org than another is
        // never what the Gateway picks.
        let mut layouts: Vec<Layout> = Vec::new();
        for set in sets {
            if !layouts.contains(&set) {
                layouts.push(set);
            }
        }
        let minimal: Vec<Layout> = layouts
            .iter()
            .filter(|l| !layouts.iter().any(|other| other != *l && covers(l, other)))
            .cloned()
            .collect();
        let mut minimal = minimal;
        minimal.sort_by_key(|l| {
            (
                l.values().sum::<usize>(),
                l.clone().into_iter().collect::<Vec<_>>(),
            )
        });
        minimal
    }
}

/// Whether `big` needs at least what `small` needs from every org.
fn covers(big: &Layout, small: &Layout) -> bool {
    small
        .iter()
        .all(|(org, n)| big.get(org).is_some_and(|m| m >= n))
}

impl SignaturePolicy {
    fn collect_orgs<'a>(&'a self, orgs: &mut BTreeSet<&'a str>) {
        match self {
            SignaturePolicy::SignedBy { msp_id, .. } => {
                orgs.insert(msp_id);
            }
            SignaturePolicy::OutOf { rules, .. } => {
                for rule in rules {
                    rule.collect_orgs(orgs);
                }
            }
        }
    }

    /// cauthdsl: each identity satisfies at most one principal, greedily in order.
    fn evaluate(&self, signers: &[&Signer], used: &mut [bool]) -> bool {
        match self {
            SignaturePolicy::SignedBy { msp_id, role } => {
                let found = signers
                    .iter()
                    .enumerate()
                    .find(|(i, s)| !used[*i] && s.msp_id == *msp_id && satisfies(s, *role));
                match found {
                    Some((i, _)) => {
                        used[i] = true;
                        true
                    }
                    None => false,
                }
            }
            SignaturePolicy::OutOf { n, rules } => {
                let mut satisfied = 0;
                for rule in rules {
                    // A failed branch must not keep identities it claimed.
                    let mut trial = used.to_vec();
                    if rule.evaluate(signers, &mut trial) {
                        used.copy_from_slice(&trial);
                        satisfied += 1;
                    }
                }
                satisfied >= *n
            }
        }
    }

    /// The ways to satisfy the policy, as peers per organization (peer-endorsable
    /// principals only), at most COMBINATIONS_MAX.
    fn principal_sets(&self) -> Vec<Layout> {
        match self {
            SignaturePolicy::SignedBy { msp_id, role } => {
                if matches!(role, Role::Peer | Role::Member) {
                    vec![Layout::from([(msp_id.clone(), 1)])]
                } else {
                    Vec::new()
                }
            }
            SignaturePolicy::OutOf { n, rules } => {
                if *n == 0 {
                    return vec![Layout::new()];
                }
                let children: Vec<Vec<Layout>> =
                    rules.iter().map(SignaturePolicy::principal_sets).collect();
                let mut sets = Vec::new();
                for picked in combinations(rules.len(), *n) {
                    let mut partial = vec![Layout::new()];
                    for i in picked {
                        let mut next = Vec::new();
                        for base in &partial {
                            for option in &children[i] {
                                let mut merged = base.clone();
                                for (org, count) in option {
                                    *merged.entry(org.clone()).or_default() += count;
                                }
                                next.push(merged);
                                if next.len() >= COMBINATIONS_MAX {
                                    break;
                                }
                            }
                        }
                        partial = next;
                    }
                    sets.extend(partial);
                    if sets.len() >= COMBINATIONS_MAX {
                        break;
                    }
                }
                sets
            }
        }
    }
}

fn satisfies(signer: &Signer, role: Role) -> bool {
    match role {
        // msp/mspimpl.go: member is any valid certificate of the MSP.
        Role::Member => true,
        role => signer.roles.contains(&role),
    }
}

/// The `k`-element subsets of `0..n`, in lexicographic order, at most COMBINATIONS_MAX.
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    if k > n {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut current: Vec<usize> = (0..k).collect();
    loop {
        out.push(current.clone());
        if out.len() >= COMBINATIONS_MAX {
            return out;
        }
        // The rightmost index that can still move.
        let Some(i) = (0..k).rev().find(|&i| current[i] < n - k + i) else {
            return out;
        };
        current[i] += 1;
        for j in i + 1..k {
            current[j] = current[j - 1] + 1;
        }
    }
}

impl fmt::Display for EndorsementPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndorsementPolicy::ChannelConfig(rule) => write!(
                f,
                "{} Endorsement",
                match rule {
                    ImplicitRule::Any => "ANY",
                    ImplicitRule::All => "ALL",
                    ImplicitRule::Majority => "MAJORITY",
                }
            ),
            EndorsementPolicy::Signature(policy) => write!(f, "{policy}"),
        }
    }
}

impl fmt::Display for SignaturePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignaturePolicy::SignedBy { msp_id, role } => {
                let role = format!("{role:?}").to_lowercase();
                write!(f, "'{msp_id}.{role}'")
            }
            SignaturePolicy::OutOf { n, rules } => {
                let rules: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
                write!(f, "OutOf({n}, {})", rules.join(", "))
            }
        }
    }
}

/// A recursive-descent reader of the policy language; errors name the character offset.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

/// Nesting deeper than this is refused (a hostile file must not overflow the stack).
const DEPTH_MAX: usize = 64;

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        Parser { text, at: 0 }
    }

    fn error(&self, what: &str) -> String {
        format!("{what} at character {} of the policy", self.at + 1)
    }

    fn skip_spaces(&mut self) {
        while self.text[self.at..].starts_with(char::is_whitespace) {
            self.at += self.text[self.at..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_spaces();
        if self.text[self.at..].starts_with(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn policy(&mut self) -> Result<SignaturePolicy, String> {
        let policy = self.rule(0)?;
        self.skip_spaces();
        if self.at != self.text.len() {
            return Err(self.error("unexpected text after the policy"));
        }
        Ok(policy)
    }

    fn rule(&mut self, depth: usize) -> Result<SignaturePolicy, String> {
        if depth > DEPTH_MAX {
            return Err(self.error("the policy nests too deeply"));
        }
        self.skip_spaces();
        if self.text[self.at..].starts_with(['\'', '"']) {
            return self.principal();
        }
        let word: String = self.text[self.at..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let gate = match word.as_str() {
            "AND" | "And" | "and" => Gate::And,
            "OR" | "Or" | "or" => Gate::Or,
            "OutOf" | "outof" | "OUTOF" => Gate::OutOf,
            "" => return Err(self.error("expected AND, OR, OutOf or a quoted principal")),
            other => {
                return Err(self.error(&format!(
                    "unknown gate `{other}` (AND, OR and OutOf, as written in Fabric's policy language)"
                )))
            }
        };
        self.at += word.len();
        if !self.eat('(') {
            return Err(self.error("expected `(`"));
        }
        let mut n = None;
        if gate == Gate::OutOf {
            n = Some(self.count()?);
            if !self.eat(',') {
                return Err(self.error("expected `,` after the count of OutOf"));
            }
        }
        let mut rules = Vec::new();
        loop {
            rules.push(self.rule(depth + 1)?);
            if self.eat(',') {
                continue;
            }
            if self.eat(')') {
                break;
            }
            return Err(self.error("expected `,` or `)`"));
        }
        let n = match gate {
            Gate::And => rules.len(),
            Gate::Or => 1,
            Gate::OutOf => {
                let n = n.expect("read above");
                if n > rules.len() + 1 {
                    return Err(self.error(&format!(
                        "OutOf({n}, ...) over {} rules: the count must be at most {}",
                        rules.len(),
                        rules.len() + 1
                    )));
                }
                n
            }
        };
        Ok(SignaturePolicy::OutOf { n, rules })
    }

    /// OutOf's count: a number, or a quoted number.
    fn count(&mut self) -> Result<usize, String> {
        self.skip_spaces();
        let quote = self.text[self.at..]
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"');
        if quote.is_some() {
            self.at += 1;
        }
        let digits: String = self.text[self.at..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        let n = digits
            .parse::<usize>()
            .map_err(|_| self.error("expected the count of OutOf"))?;
        self.at += digits.len();
        if quote.is_some() && !self.text[self.at..].starts_with(['\'', '"']) {
            return Err(self.error("unclosed quote"));
        }
        if quote.is_some() {
            self.at += 1;
        }
        Ok(n)
    }

    /// `'MSPID.role'`: the last `.` separates the role (MSP IDs may hold dots).
    fn principal(&mut self) -> Result<SignaturePolicy, String> {
        self.at += 1;
        let start = self.at;
        let Some(length) = self.text[start..].find(['\'', '"']) else {
            return Err(self.error("unclosed quote"));
        };
        let inner = &self.text[start..start + length];
        self.at = start + length + 1;
        let (msp_id, role) = inner
            .rsplit_once('.')
            .ok_or_else(|| format!("principal '{inner}' is not 'MSPID.role'"))?;
        let valid_msp = !msp_id.is_empty()
            && msp_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if !valid_msp {
            return Err(format!(
                "principal '{inner}': an MSP ID holds letters, digits, `.` and `-`"
            ));
        }
        let role = match role {
            "member" => Role::Member,
            "admin" => Role::Admin,
            "client" => Role::Client,
            "peer" => Role::Peer,
            "orderer" => Role::Orderer,
            other => {
                return Err(format!(
                    "principal '{inner}': unknown role `{other}` (member, admin, client, peer or orderer, lowercase)"
                ))
            }
        };
        Ok(SignaturePolicy::SignedBy {
            msp_id: msp_id.to_string(),
            role,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Gate {
    And,
    Or,
    OutOf,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orgs(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("Org{i}MSP")).collect()
    }

    fn peer(msp: &str, id: u8) -> Signer {
        Signer {
            msp_id: msp.into(),
            roles: BTreeSet::from([Role::Peer, Role::Member]),
            id: vec![id],
        }
    }

    fn layout(entries: &[(&str, usize)]) -> Layout {
        entries.iter().map(|(o, n)| (o.to_string(), *n)).collect()
    }

    #[test]
    fn the_language_reads_as_fabric_writes_it() {
        let p = EndorsementPolicy::parse("OR('Org1MSP.peer', \"Org2MSP.peer\")").unwrap();
        assert_eq!(p.to_string(), "OutOf(1, 'Org1MSP.peer', 'Org2MSP.peer')");
        let p = EndorsementPolicy::parse(
            "AND ('Org1MSP.member', OutOf('1', 'Org2MSP.peer', 'Org3MSP.peer'))",
        )
        .unwrap();
        assert_eq!(
            p.to_string(),
            "OutOf(2, 'Org1MSP.member', OutOf(1, 'Org2MSP.peer', 'Org3MSP.peer'))"
        );
        assert_eq!(
            EndorsementPolicy::parse("MAJORITY").unwrap(),
            EndorsementPolicy::default()
        );
        assert!(EndorsementPolicy::parse("'MSP.WITH.DOTS.member'").is_ok());
        for bad in [
            "OR(Org1MSP.peer)",
            "Or('Org1MSP.PEER')",
            "OutOf(3, 'Org1MSP.peer')",
            "AND('Org1MSP.peer'",
            "Outof(1, 'Org1MSP.peer')",
            "OR('Org_1MSP.peer')",
            "OR('Org1MSP.peer') trailing",
        ] {
            assert!(EndorsementPolicy::parse(bad).is_err(), "{bad}");
        }
        let deep = format!("{}'Org1MSP.peer'{}", "OR(".repeat(100), ")".repeat(100));
        assert!(EndorsementPolicy::parse(&deep)
            .unwrap_err()
            .contains("nests too deeply"));
    }

    #[test]
    fn implicit_rules_count_distinct_endorsing_orgs() {
        let all = orgs(3);
        let majority = EndorsementPolicy::default();
        assert!(!majority.is_satisfied(&[peer("Org1MSP", 1)], &all));
        assert!(!majority.is_satisfied(&[peer("Org1MSP", 1), peer("Org1MSP", 2)], &all));
        assert!(majority.is_satisfied(&[peer("Org1MSP", 1), peer("Org3MSP", 3)], &all));
        let any = EndorsementPolicy::ChannelConfig(ImplicitRule::Any);
        assert!(any.is_satisfied(&[peer("Org2MSP", 1)], &all));
        let every = EndorsementPolicy::ChannelConfig(ImplicitRule::All);
        assert!(!every.is_satisfied(&[peer("Org1MSP", 1), peer("Org2MSP", 2)], &all));
    }

    #[test]
    fn a_signature_policy_uses_each_identity_once() {
        let all = orgs(2);
        let two_of_org1 =
            EndorsementPolicy::parse("AND('Org1MSP.member', 'Org1MSP.member')").unwrap();
        assert!(!two_of_org1.is_satisfied(&[peer("Org1MSP", 1), peer("Org1MSP", 1)], &all));
        assert!(two_of_org1.is_satisfied(&[peer("Org1MSP", 1), peer("Org1MSP", 2)], &all));
        let admin = EndorsementPolicy::parse("OR('Org1MSP.admin')").unwrap();
        assert!(!admin.is_satisfied(&[peer("Org1MSP", 1)], &all));
        let or = EndorsementPolicy::parse("OR('Org1MSP.peer','Org2MSP.peer')").unwrap();
        assert!(or.is_satisfied(&[peer("Org2MSP", 9)], &all));
    }

    #[test]
    fn layouts_are_the_minimal_ways_to_meet_the_policy() {
        let all = orgs(3);
        assert_eq!(
            EndorsementPolicy::default().layouts(&all),
            [
                layout(&[("Org1MSP", 1), ("Org2MSP", 1)]),
                layout(&[("Org1MSP", 1), ("Org3MSP", 1)]),
                layout(&[("Org2MSP", 1), ("Org3MSP", 1)]),
            ]
        );
        let or = EndorsementPolicy::parse("OR('Org1MSP.peer','Org2MSP.peer')").unwrap();
        assert_eq!(
            or.layouts(&all),
            [layout(&[("Org1MSP", 1)]), layout(&[("Org2MSP", 1)])]
        );
        let nested =
            EndorsementPolicy::parse("AND('Org1MSP.peer', OR('Org1MSP.peer', 'Org2MSP.peer'))")
                .unwrap();
        assert_eq!(
            nested.layouts(&all),
            [
                layout(&[("Org1MSP", 1), ("Org2MSP", 1)]),
                layout(&[("Org1MSP", 2)])
            ]
        );
        assert!(EndorsementPolicy::parse("OR('Org1MSP.admin')")
            .unwrap()
            .layouts(&all)
            .is_empty());
    }
}
