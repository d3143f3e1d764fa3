//! The reproducer of a chaos failure: the base scenario file as its author wrote it (comments
//! included), with the shrunk schedule written out as its `faults:`, the run's seed, its
//! workload and simulation limits, and without `chaos:`. `hadr validate` accepts it and
//! `hadr run` replays the failure from it.

use crate::scenario::duration::format as human;
use crate::scenario::model::{ClientTimeouts, Failover, Fault, FaultKind, Scenario};
use crate::scenario::{self, ScenarioError};
use std::path::Path;

/// Top-level keys the reproducer writes from the scenario instead of copying.
const REWRITTEN: [&str; 5] = ["seed", "workload", "faults", "simulation", "chaos"];

/// The reproducer's text: `base_text` (the file `scenario` was drawn from) with `header`
/// comment lines on top and the rewritten keys. The result is checked by parsing it back: it
/// must give the same seed, workload and faults, or an error says what did not survive.
pub fn write(
    base_text: &str,
    scenario: &Scenario,
    header: &[String],
    path: &Path,
) -> Result<String, String> {
    let mut text: String = header.iter().map(|line| format!("# {line}\n")).collect();
    let mut written = Vec::new();
    for block in top_level_blocks(base_text) {
        match block.key.as_deref() {
            Some(key) if REWRITTEN.contains(&key) => {
                text.push_str(&block.leading);
                if let Some(rewritten) = rewrite(key, scenario) {
                    text.push_str(&rewritten);
                }
                written.push(key.to_string());
            }
            _ => {
                text.push_str(&block.leading);
                text.push_str(&block.body);
            }
        }
    }
    for key in REWRITTEN {
        if !written.iter().any(|k| k == key) {
            if let Some(rewritten) = rewrite(key, scenario) {
                text.push_str(&rewritten);
            }
        }
    }
    let parsed = scenario::parse(&text, path).map_err(|e: ScenarioError| e.to_string())?;
    let same = parsed.seed == scenario.seed
        && parsed.workload.duration == scenario.workload.duration
        && parsed.simulation.max_duration == scenario.simulation.max_duration
        && format!("{:?}", parsed.faults) == format!("{:?}", scenario.faults);
    if !same {
        return Err("the written scenario does not read back as the run's schedule".to_string());
    }
    Ok(text)
}

fn rewrite(key: &str, scenario: &Scenario) -> Option<String> {
    match key {
        "seed" => Some(format!("seed: {}\n", scenario.seed)),
        "workload" => Some(format!("workload: {}\n", workload(scenario))),
        "faults" if scenario.faults.is_empty() => Some("faults: []\n".to_string()),
        "faults" => Some(
            std::iter::once("faults:\n".to_string())
                .chain(
                    scenario
                        .faults
                        .iter()
                        .map(|f| format!("  - {}\n", fault(f))),
                )
                .collect(),
        ),
        "simulation" => Some(format!(
            "simulation: {{tick: {}, max_duration: {}}}\n",
            human(scenario.simulation.tick),
            human(scenario.simulation.max_duration)
        )),
        _ => None,
    }
}

fn workload(scenario: &Scenario) -> String {
    let workload = &scenario.workload;
    let mut fields = vec![
        format!("rate_per_s: {}", workload.rate_per_s),
        format!("duration: {}", human(workload.duration)),
    ];
    match workload.clients.as_slice() {
        [one] => fields.push(format!("client_region: {one}")),
        several => fields.push(format!("clients: [{}]", several.join(", "))),
    }
    let calls = &workload.calls;
    if calls.evaluate_share > 0.0 {
        fields.push(format!("evaluate_share: {}", calls.evaluate_share));
    }
    if let Some(keys) = calls.key_space {
        fields.push(format!("key_space: {keys}"));
    }
    if calls.payload_bytes > 0 {
        fields.push(format!("payload_bytes: {}", calls.payload_bytes));
    }
    // A shrunk workload may end before a change: it would be refused, and does nothing.
    let changes: Vec<String> = workload
        .rate_changes
        .iter()
        .filter(|c| c.at < workload.duration)
        .map(|c| {
            let over = if c.over.is_zero() {
                String::new()
            } else {
                format!(", over: {}", human(c.over))
            };
            format!(
                "{{at: {}, rate_per_s: {}{over}}}",
                human(c.at),
                c.rate_per_s
            )
        })
        .collect();
    if !changes.is_empty() {
        fields.push(format!("rate_changes: [{}]", changes.join(", ")));
    }
    let gateway = &workload.gateway;
    let mut gateway_fields = Vec::new();
    if !gateway.peers.is_empty() {
        gateway_fields.push(format!("peers: [{}]", gateway.peers.join(", ")));
    }
    if gateway.failover != Failover::None {
        gateway_fields.push("failover: next".to_string());
    }
    if gateway.timeouts != ClientTimeouts::default() {
        let t = &gateway.timeouts;
        gateway_fields.push(format!(
            "timeouts: {{evaluate: {}, endorse: {}, submit: {}, commit_status: {}}}",
            human(t.evaluate),
            human(t.endorse),
            human(t.submit),
            human(t.commit_status)
        ));
    }
    if !gateway_fields.is_empty() {
        fields.push(format!("gateway: {{{}}}", gateway_fields.join(", ")));
    }
    format!("{{{}}}", fields.join(", "))
}

/// One fault in the flow style of the shipped scenarios.
pub fn fault(fault: &Fault) -> String {
    let mut fields = vec![format!("at: {}", human(fault.at))];
    if let Some(lasts) = fault.duration {
        fields.push(format!("for: {}", human(lasts)));
    }
    let list = |names: &[String]| format!("[{}]", names.join(", "));
    match &fault.kind {
        FaultKind::RegionOutage { region, mode } => {
            fields.push(format!("region_outage: {region}, mode: {}", mode.name()))
        }
        FaultKind::Partition { sides } => fields.push(format!(
            "partition: [{}, {}]",
            list(&sides[0]),
            list(&sides[1])
        )),
        FaultKind::OneWayPartition { from, to } => fields.push(format!(
            "one_way_partition: {{from: {}, to: {}}}",
            list(from),
            list(to)
        )),
        FaultKind::Latency { regions, rtt } => fields.push(format!(
            "latency: {{between: {}, rtt: {}}}",
            list(regions),
            human(*rtt)
        )),
        FaultKind::NodeCrash { node } => fields.push(format!("node_crash: {node}")),
    }
    format!("{{{}}}", fields.join(", "))
}

/// A top-level entry of a YAML file: the comment and blank lines before it, and its key line
/// with everything indented under it. `key` is None for the lines before the first key.
struct Block {
    key: Option<String>,
    leading: String,
    body: String,
}

fn top_level_blocks(text: &str) -> Vec<Block> {
    let mut blocks = vec![Block {
        key: None,
        leading: String::new(),
        body: String::new(),
    }];
    // Comment and blank lines wait until the next line says whose they are: a key at column
    // 0 takes them as its leading lines, anything else as part of the current body.
    let mut pending = String::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        let starts_key = !trimmed.is_empty()
            && !line.starts_with([' ', '\t', '#', '-'])
            && trimmed != "---"
            && trimmed.contains(':');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            pending.push_str(line);
        } else if starts_key {
            let key = trimmed
                .split(':')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            blocks.push(Block {
                key: Some(key),
                leading: std::mem::take(&mut pending),
                body: with_newline(line),
            });
        } else {
            let current = blocks.last_mut().expect("the first block is always there");
            current.body.push_str(&std::mem::take(&mut pending));
            current.body.push_str(&with_newline(line));
        }
    }
    blocks
        .last_mut()
        .expect("one block")
        .body
        .push_str(&pending);
    blocks
}

fn with_newline(line: &str) -> String {
    if line.ends_with('\n') {
        line.to_string()
    } else {
        format!("{line}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_comments_with_the_key_they_precede() {
        let text = "# head\nname: x\n# about seed\nseed: 3\nworkload:\n  rate_per_s: 1\n\n  # inner\n  duration: 2m\nexpect: []";
        let blocks = top_level_blocks(text);
        let keys: Vec<Option<&str>> = blocks.iter().map(|b| b.key.as_deref()).collect();
        assert_eq!(
            keys,
            [
                None,
                Some("name"),
                Some("seed"),
                Some("workload"),
                Some("expect")
            ]
        );
        assert_eq!(blocks[1].leading, "# head\n");
        assert_eq!(blocks[2].leading, "# about seed\n");
        assert!(blocks[3].body.contains("# inner\n  duration: 2m"));
        let joined: String = blocks
            .iter()
            .map(|b| format!("{}{}", b.leading, b.body))
            .collect();
        assert_eq!(joined, format!("{text}\n"));
    }
}
