//! `fabric:` blocks: Fabric settings keyed as in core.yaml and configtx.yaml, for the channel
//! (`topology.fabric`, with the `ordering_service` shorthands), for every peer of an
//! organization (`organizations[].fabric`) or for one peer (`organizations[].peers.NAME.fabric`),
//! as each real peer has its own core.yaml. Every value is checked against its key's kind and
//! bounds (fabric/config.rs `bounds`), and the settings a peer ends up with against the rules
//! Fabric enforces between keys (`conflicts`).

use super::*;
use crate::fabric::config::Conflict;
use crate::node::wire::PEER_PORT;
use crate::scenario::model::Settings;
use std::collections::BTreeMap;

/// One setting as written, parsed and checked.
struct Entry {
    key: &'static str,
    at: Location,
    value: Value,
}

/// Where a `fabric:` block is written, which decides the keys it may hold.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Channel,
    /// Every peer of an organization, whose peers are `peers`.
    Organization {
        peers: &'a [String],
    },
    /// Peer `name` of an organization whose peers are `peers`.
    Peer {
        name: &'a str,
        peers: &'a [String],
    },
}

impl Checker<'_> {
    /// The channel's settings: Fabric's defaults, then the `ordering_service` shorthands, then
    /// `topology.fabric`.
    pub(super) fn channel_fabric(
        &mut self,
        block: Option<&Spanned<FabricOverrides>>,
        ordering: &OrderingServiceFile,
    ) -> Option<FabricConfig> {
        let mut ok = true;
        let mut entries = Vec::new();
        // The shorthands first, so an explicit key can be reported as a conflict.
        let mut shorthands: Vec<(&str, &str)> = Vec::new();
        if let Some(timeout) = &ordering.batch_timeout {
            let key = "Orderer.BatchTimeout";
            match self.duration(timeout, "`batch_timeout`") {
                Some(d) => match self.checked(
                    key,
                    "batch_timeout",
                    &timeout.referenced,
                    Value::Duration(d),
                ) {
                    Some(entry) => entries.push(entry),
                    None => ok = false,
                },
                None => ok = false,
            }
            shorthands.push((key, "batch_timeout"));
        }
        if let Some(count) = &ordering.max_message_count {
            let key = "Orderer.BatchSize.MaxMessageCount";
            // A negative count fails the bounds like a zero one.
            let value = Value::Count(u64::try_from(count.value).unwrap_or(0));
            match self.checked(key, "max_message_count", &count.referenced, value) {
                Some(entry) => entries.push(entry),
                None => ok = false,
            }
            shorthands.push((key, "max_message_count"));
        }
        for (key, value) in block.map(|b| b.value.0.as_slice()).unwrap_or_default() {
            if let Some((_, shorthand)) = shorthands.iter().find(|(k, _)| *k == key.value) {
                self.error(
                    &key.referenced,
                    format!(
                        "`{}` is also set by `ordering_service.{shorthand}`",
                        key.value
                    ),
                    "each setting once",
                    format!(
                        "keep either `{}` or `ordering_service.{shorthand}`",
                        key.value
                    ),
                );
                ok = false;
                continue;
            }
            match self.entry(key, value, Scope::Channel) {
                Some(entry) => entries.push(entry),
                None => ok = false,
            }
        }
        let at = block.map(|b| b.referenced);
        let config = self.apply(&FabricConfig::default(), entries, at.as_ref());
        config.filter(|_| ok)
    }

    /// The settings of an organization's peers and of the peers that have their own, checked
    /// on top of the channel's `base`; `peers` are the organization's peer names.
    pub(super) fn organization_fabric(
        &mut self,
        base: &FabricConfig,
        org: &OrganizationFile,
        peers: &[String],
    ) -> Option<(Settings, BTreeMap<String, Settings>)> {
        let (org_config, org_settings) = match &org.fabric {
            None => (Some(base.clone()), Some(Vec::new())),
            Some(block) => match self.entries(block, Scope::Organization { peers }) {
                Some(entries) => {
                    let settings = settings(&entries);
                    let config = self.apply(base, entries, Some(&block.referenced));
                    (config, Some(settings))
                }
                None => (None, None),
            },
        };
        let mut ok = org_config.is_some();
        let org_config = org_config.unwrap_or_else(|| base.clone());
        let mut peer_fabric = BTreeMap::new();
        let own_blocks = org.peers.as_ref().map(|p| p.value.0.as_slice());
        for (name, peer) in own_blocks.unwrap_or_default() {
            if !peers.contains(&name.value) {
                self.error(
                    &name.referenced,
                    format!("`{}` is not a peer of {}", name.value, org.msp_id.value),
                    format!(
                        "a peer of the organization: {}",
                        one_of(peers.iter().map(String::as_str))
                    ),
                    did_you_mean(
                        &name.value,
                        peers.iter().map(String::as_str),
                        "peers are named peer<N>.<org>.<region>, N from 0 to peers_per_region - 1",
                    ),
                );
                ok = false;
                continue;
            }
            let Some(block) = &peer.fabric else { continue };
            let scope = Scope::Peer {
                name: &name.value,
                peers,
            };
            let checked = self.entries(block, scope).and_then(|entries| {
                let settings = settings(&entries);
                self.apply(&org_config, entries, Some(&block.referenced))
                    .map(|_| settings)
            });
            match checked {
                Some(settings) => {
                    peer_fabric.insert(name.value.clone(), settings);
                }
                None => ok = false,
            }
        }
        ok.then_some((org_settings?, peer_fabric))
    }

    fn entries(&mut self, block: &Spanned<FabricOverrides>, scope: Scope) -> Option<Vec<Entry>> {
        let mut ok = true;
        let mut entries = Vec::new();
        for (key, value) in &block.value.0 {
            match self.entry(key, value, scope) {
                Some(entry) => entries.push(entry),
                None => ok = false,
            }
        }
        ok.then_some(entries)
    }

    /// One `key: value` of a block written at `scope`, checked.
    fn entry(
        &mut self,
        key: &Spanned<String>,
        value: &Spanned<FabricValue>,
        scope: Scope,
    ) -> Option<Entry> {
        let Some(&(name, kind)) = config::KEYS.iter().find(|(k, _)| *k == key.value) else {
            self.error(
                &key.referenced,
                format!("unknown Fabric setting `{}`", key.value),
                "a key hadr simulates, written as in core.yaml or configtx.yaml (e.g. `peer.gossip.aliveExpirationTimeout`)",
                did_you_mean(
                    &key.value,
                    config::KEYS.iter().map(|(k, _)| *k),
                    "README.md lists the Fabric keys hadr knows",
                ),
            );
            return None;
        };
        if !matches!(scope, Scope::Channel) && !config::is_peer_key(name) {
            self.error(
                &key.referenced,
                format!("`{name}` is a setting of the channel's ordering service, not of a peer"),
                "a peer setting (a `peer.` key of core.yaml)",
                "write it under `topology.fabric`",
            );
            return None;
        }
        let parsed = match kind {
            ValueKind::Endpoint => self.external_endpoint(name, value, scope),
            ValueKind::Endpoints => self.bootstrap(name, value, scope),
            _ => {
                let parsed = fabric_value(kind, &value.value);
                if parsed.is_none() {
                    self.error(
                        &value.referenced,
                        format!("`{name}` cannot be {}", describe(&value.value)),
                        kind_expected(kind),
                        "use the value's form in Fabric's sample configuration",
                    );
                }
                parsed
            }
        }?;
        self.checked(name, name, &value.referenced, parsed)
    }

    /// `key: value` when the value lies within the key's bounds; reported otherwise, under
    /// the name it was `written` as.
    fn checked(
        &mut self,
        key: &'static str,
        written: &str,
        at: &Location,
        value: Value,
    ) -> Option<Entry> {
        let number = match &value {
            Value::Duration(d) => Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            Value::Count(n) => Some(*n),
            Value::Bool(_) | Value::Endpoints(_) => None,
        };
        if let Some(number) = number {
            let bounds = config::bounds(key);
            if number < bounds.min || number > bounds.max {
                let is_duration = matches!(value, Value::Duration(_));
                let show = |n: u64| {
                    if is_duration {
                        duration::format(Duration::from_millis(n))
                    } else {
                        n.to_string()
                    }
                };
                self.error(
                    at,
                    format!(
                        "`{written}` is {}, outside the values hadr takes",
                        show(number)
                    ),
                    format!("from {} to {}", show(bounds.min), show(bounds.max)),
                    bounds.why,
                );
                return None;
            }
        }
        Some(Entry {
            key,
            at: *at,
            value,
        })
    }

    /// peer.gossip.externalEndpoint: empty (not advertised to other organizations), or at a
    /// peer's own block its own endpoint.
    fn external_endpoint(
        &mut self,
        key: &str,
        value: &Spanned<FabricValue>,
        scope: Scope,
    ) -> Option<Value> {
        let own = match scope {
            Scope::Peer { name, .. } => Some(format!("{name}:{PEER_PORT}")),
            _ => None,
        };
        match &value.value {
            FabricValue::Text(text) if text.is_empty() => Some(Value::Bool(false)),
            FabricValue::Text(text) if Some(text) == own.as_ref() => Some(Value::Bool(true)),
            other => {
                let expected = match &own {
                    Some(own) => format!("`\"\"` (no external endpoint) or `{own}`"),
                    None => "`\"\"` (no external endpoint); a peer's own block may give its own endpoint".to_string(),
                };
                self.error(
                    &value.referenced,
                    format!("`{key}` cannot be {}", describe(other)),
                    expected,
                    "hadr's peers advertise their own endpoint (as IBP deploys them) unless it is set empty",
                );
                None
            }
        }
    }

    /// peer.gossip.bootstrap: peers of the same organization, `host:port` separated by spaces.
    fn bootstrap(
        &mut self,
        key: &str,
        value: &Spanned<FabricValue>,
        scope: Scope,
    ) -> Option<Value> {
        let peers = match scope {
            Scope::Organization { peers } | Scope::Peer { peers, .. } => peers,
            Scope::Channel => {
                self.error(
                    &value.referenced,
                    format!("`{key}` applies to the peers of one organization"),
                    "`peer.gossip.bootstrap` under `organizations[].fabric` or a peer's `fabric`",
                    "Fabric refuses a bootstrap peer of another organization (\"isn't in our organization, cannot be a bootstrap peer\")",
                );
                return None;
            }
        };
        let FabricValue::Text(text) = &value.value else {
            self.error(
                &value.referenced,
                format!("`{key}` cannot be {}", describe(&value.value)),
                kind_expected(ValueKind::Endpoints),
                "write the endpoints in one string, as core.yaml does",
            );
            return None;
        };
        let endpoints: Vec<String> = peers.iter().map(|p| format!("{p}:{PEER_PORT}")).collect();
        let mut list = Vec::new();
        for endpoint in text.split_whitespace() {
            if !endpoints.iter().any(|e| e == endpoint) {
                self.error(
                    &value.referenced,
                    format!("`{key}` names `{endpoint}`, which is no peer of this organization"),
                    format!(
                        "endpoints of the organization's peers: {}",
                        one_of(endpoints.iter().map(String::as_str))
                    ),
                    did_you_mean(
                        endpoint,
                        endpoints.iter().map(String::as_str),
                        "Fabric refuses a bootstrap peer of another organization",
                    ),
                );
                return None;
            }
            list.push(endpoint.to_string());
        }
        Some(Value::Endpoints(list))
    }

    /// `base` with `entries` set, or None when the result breaks a rule Fabric enforces that
    /// `base` did not (reported at the entry that brought it, else at the block).
    fn apply(
        &mut self,
        base: &FabricConfig,
        entries: Vec<Entry>,
        block_at: Option<&Location>,
    ) -> Option<FabricConfig> {
        let mut config = base.clone();
        let mut last_at: BTreeMap<&str, Location> = BTreeMap::new();
        for entry in entries {
            last_at.insert(entry.key, entry.at);
            config
                .set(entry.key, entry.value)
                .expect("a known key with a value of its kind");
        }
        let inherited = config::conflicts(base);
        let new: Vec<Conflict> = config::conflicts(&config)
            .into_iter()
            .filter(|c| !inherited.iter().any(|i| i.keys == c.keys))
            .collect();
        for conflict in &new {
            let at = conflict
                .keys
                .iter()
                .filter_map(|k| last_at.get(k))
                .max_by_key(|l| (l.line(), l.column()))
                .or(block_at)
                .copied();
            let diagnostic = self.source.diagnostic(
                at.as_ref(),
                conflict.message.clone(),
                "settings Fabric accepts together",
                conflict.hint,
            );
            self.problems.push(diagnostic);
        }
        new.is_empty().then_some(config)
    }
}

fn settings(entries: &[Entry]) -> Settings {
    entries.iter().map(|e| (e.key, e.value.clone())).collect()
}

fn fabric_value(kind: ValueKind, value: &FabricValue) -> Option<Value> {
    match (kind, value) {
        (ValueKind::Duration, FabricValue::Text(text)) => {
            duration::parse(text).ok().map(Value::Duration)
        }
        (ValueKind::Count | ValueKind::Bytes, FabricValue::Integer(n)) => {
            u64::try_from(*n).ok().map(Value::Count)
        }
        (ValueKind::Bytes, FabricValue::Text(text)) => config::parse_bytes(text).map(Value::Count),
        (ValueKind::Bool, FabricValue::Bool(b)) => Some(Value::Bool(*b)),
        _ => None,
    }
}

fn kind_expected(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Duration => duration::EXPECTED,
        ValueKind::Count => "a whole number of zero or more",
        ValueKind::Bytes => "a byte size: a number of bytes, or with a unit like `10 MB`, `512 KB`",
        ValueKind::Bool => "`true` or `false`",
        ValueKind::Endpoint => "`\"\"` or the peer's own `host:port`",
        ValueKind::Endpoints => "`host:port` entries separated by spaces, in one string",
    }
}

fn describe(value: &FabricValue) -> String {
    match value {
        FabricValue::Bool(b) => format!("`{b}`"),
        FabricValue::Integer(n) => format!("`{n}`"),
        FabricValue::Number(x) => format!("`{x}`"),
        FabricValue::Text(t) if t.is_empty() => "`\"\"`".to_string(),
        FabricValue::Text(t) => format!("`{t}`"),
    }
}
