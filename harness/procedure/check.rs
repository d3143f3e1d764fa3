//! `hadr procedure check`: does the runbook cover a published translation? Every section
//! anchor, every step (by its position in its section) and every link anchor must have a
//! runbook action; every runbook action must find its step. Defects of the published text are
//! detected generically and reported as warnings: a link anchor used by two different steps,
//! and a numbered list whose numbers do not count up by one.

use super::doc::{self, Document, StepKind};
use super::runbook::{Action, SECTIONS};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The result of checking one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DocReport {
    /// The file, as given.
    pub path: String,
    /// The front matter's `lastupdated`.
    pub last_updated: Option<String>,
    pub sections: Vec<SectionReport>,
    pub links: Vec<LinkReport>,
    /// Defects of the published text: reported, not fatal.
    pub warnings: Vec<Finding>,
    /// What the runbook does not cover (or the doc lacks): the check fails.
    pub errors: Vec<Finding>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SectionReport {
    pub anchor: Option<String>,
    pub line: usize,
    /// Actions that stand for the section as a whole.
    pub covered_by: Vec<&'static str>,
    pub steps: Vec<StepReport>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepReport {
    pub ordinal: usize,
    /// `1.`, `-` or `paragraph`.
    pub marker: String,
    pub line: usize,
    pub link_anchors: Vec<String>,
    pub covered_by: Vec<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkReport {
    pub anchor: String,
    pub line: usize,
    pub section: Option<String>,
    pub step: usize,
    /// Actions whose link is this anchor.
    pub covered_by: Vec<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// 1-based line in the file; 0 for the file as a whole.
    pub line: usize,
    pub message: String,
}

impl DocReport {
    pub fn passed(&self) -> bool {
        self.errors.is_empty()
    }

    fn error(&mut self, line: usize, message: String) {
        self.errors.push(Finding { line, message });
    }

    fn warn(&mut self, line: usize, message: String) {
        self.warnings.push(Finding { line, message });
    }
}

/// Checks the translation `text`, reported under `path`.
pub fn check(path: &str, text: &str) -> DocReport {
    let document = doc::parse(text);
    let mut report = DocReport {
        path: path.to_string(),
        last_updated: document.front_matter_field("lastupdated"),
        sections: Vec::new(),
        links: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    if let Some(why) = &document.front_matter_error {
        report.warn(1, format!("the front matter does not parse: {why}"));
    }
    cover_sections(&document, &mut report);
    cover_links(&document, &mut report);
    find_missing_steps(&document, &mut report);
    find_repeated_numbers(&document, &mut report);
    report.warnings.sort_by_key(|f| f.line);
    report.errors.sort_by_key(|f| f.line);
    report
}

/// Actions whose doc references include `section` (and `step`, or the section as a whole).
fn actions_at(section: &str, step: Option<usize>) -> Vec<&'static str> {
    Action::ALL
        .iter()
        .filter(|a| a.doc_refs().any(|r| r.section == section && r.step == step))
        .map(|a| a.name())
        .collect()
}

fn cover_sections(document: &Document, report: &mut DocReport) {
    for section in &document.sections {
        let Some(anchor) = &section.anchor else {
            report.error(
                section.line,
                "a heading without a `{: #anchor}` line: hadr cannot tell which section it is"
                    .to_string(),
            );
            continue;
        };
        let covered_by = actions_at(anchor, None);
        let steps: Vec<StepReport> = section
            .steps
            .iter()
            .map(|step| StepReport {
                ordinal: step.ordinal,
                marker: step.kind.label(),
                line: step.line,
                link_anchors: step.links.iter().filter_map(|l| l.anchor.clone()).collect(),
                covered_by: actions_at(anchor, Some(step.ordinal)),
            })
            .collect();
        let known_section = SECTIONS.iter().any(|(a, _)| a == anchor);
        if !known_section {
            report.error(
                section.line,
                format!("section #{anchor} has no runbook action"),
            );
        } else if covered_by.is_empty() && steps.is_empty() {
            report.error(
                section.line,
                format!("section #{anchor} has no step and no runbook action"),
            );
        }
        for step in &steps {
            if step.covered_by.is_empty() && known_section {
                report.error(
                    step.line,
                    format!(
                        "step {} ({}) of #{anchor} has no runbook action",
                        step.ordinal, step.marker
                    ),
                );
            }
        }
        report.sections.push(SectionReport {
            anchor: Some(anchor.clone()),
            line: section.line,
            covered_by,
            steps,
        });
    }
}

fn cover_links(document: &Document, report: &mut DocReport) {
    // The first step that links each anchor (section, step, line), to spot another step
    // linking it again.
    let mut first_use: BTreeMap<String, (String, usize, usize)> = BTreeMap::new();
    for section in &document.sections {
        let section_anchor = section.anchor.clone().unwrap_or_default();
        for step in &section.steps {
            let step_actions = actions_at(&section_anchor, Some(step.ordinal));
            for link in &step.links {
                let Some(anchor) = &link.anchor else { continue };
                let covered_by: Vec<&'static str> = Action::ALL
                    .iter()
                    .filter(|a| a.info().link == Some(anchor.as_str()))
                    .map(|a| a.name())
                    .collect();
                let reused = first_use
                    .get(anchor)
                    .filter(|(first_section, first_ordinal, _)| {
                        (first_section.as_str(), *first_ordinal)
                            != (section_anchor.as_str(), step.ordinal)
                    });
                if let Some((first_section, first_ordinal, first_line)) = reused {
                    report.warn(link.line, format!(
                            "published defect: step {} of #{section_anchor} links #{anchor}, already the target of step {first_ordinal} of #{first_section} (line {first_line}); hadr reads this step by its position{}",
                            step.ordinal,
                            describe_actions(" as ", &step_actions),
                        ));
                } else {
                    if covered_by.is_empty() {
                        report.error(
                            link.line,
                            format!("link anchor #{anchor} has no runbook action"),
                        );
                    } else if !step_actions.is_empty()
                        && !covered_by.iter().any(|a| step_actions.contains(a))
                    {
                        report.error(link.line, format!(
                                "step {} of #{section_anchor} links #{anchor}, but its runbook action{} implements {}",
                                step.ordinal,
                                describe_actions(" ", &step_actions),
                                covered_by.join(", ")
                            ));
                    }
                    first_use.entry(anchor.clone()).or_insert((
                        section_anchor.clone(),
                        step.ordinal,
                        step.line,
                    ));
                }
                report.links.push(LinkReport {
                    anchor: anchor.clone(),
                    line: link.line,
                    section: section.anchor.clone(),
                    step: step.ordinal,
                    covered_by,
                });
            }
        }
    }
}

fn describe_actions(prefix: &str, actions: &[&str]) -> String {
    if actions.is_empty() {
        String::new()
    } else {
        format!("{prefix}`{}`", actions.join("`, `"))
    }
}

/// Runbook actions whose section, step or link the file does not have.
fn find_missing_steps(document: &Document, report: &mut DocReport) {
    for action in Action::ALL {
        let info = action.info();
        if let Some(link) = info.link {
            if !report.links.iter().any(|l| l.anchor == link) {
                report.error(0, format!(
                        "runbook action `{action}` implements the step linking #{link}, which this file does not link"
                    ));
            }
        }
        let doc_ref = info.doc;
        let section = document
            .sections
            .iter()
            .find(|s| s.anchor.as_deref() == Some(doc_ref.section));
        let message = match (section, doc_ref.step) {
            (None, _) => format!(
                "runbook action `{action}` implements section #{}, which this file does not have",
                doc_ref.section
            ),
            (Some(section), Some(step)) if section.steps.len() < step => format!(
                "runbook action `{action}` implements step {step} of #{}, which has only {} steps here",
                doc_ref.section,
                section.steps.len()
            ),
            _ => continue,
        };
        report.error(0, message);
    }
}

/// Numbered lists whose numbers do not count up by one (the import section's "2." twice).
fn find_repeated_numbers(document: &Document, report: &mut DocReport) {
    for section in &document.sections {
        let anchor = section.anchor.as_deref().unwrap_or("?");
        let mut previous: Option<(u64, usize)> = None;
        for step in &section.steps {
            let StepKind::Numbered(number) = step.kind else {
                previous = None;
                continue;
            };
            if let Some((previous_number, previous_line)) = previous {
                if number != previous_number + 1 {
                    let what = if number == previous_number {
                        "repeats"
                    } else {
                        "does not follow"
                    };
                    report.warn(step.line, format!(
                            "published defect: in #{anchor}, step number `{number}.` {what} `{previous_number}.` (line {previous_line}); hadr counts this as step {} by its position",
                            step.ordinal
                        ));
                }
            }
            previous = Some((number, step.line));
        }
    }
}

impl fmt::Display for DocReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step_count: usize = self.sections.iter().map(|s| s.steps.len()).sum();
        write!(f, "{}", self.path)?;
        if let Some(date) = &self.last_updated {
            write!(f, " (lastupdated {date})")?;
        }
        writeln!(
            f,
            ": {} sections, {step_count} steps, {} links",
            self.sections.len(),
            self.links.len()
        )?;
        for section in &self.sections {
            let anchor = section.anchor.as_deref().unwrap_or("?");
            write!(f, "  section #{anchor} (line {})", section.line)?;
            if !section.covered_by.is_empty() {
                write!(f, ": {}", section.covered_by.join(", "))?;
            }
            writeln!(f)?;
            for step in &section.steps {
                write!(
                    f,
                    "    step {:>2} {:<9} line {:>3}",
                    step.ordinal, step.marker, step.line
                )?;
                let covered = if step.covered_by.is_empty() {
                    "NOT COVERED".to_string()
                } else {
                    step.covered_by.join(", ")
                };
                writeln!(f, "  {covered}")?;
            }
        }
        writeln!(f, "  link anchors:")?;
        for link in &self.links {
            let covered = if link.covered_by.is_empty() {
                "(no action links it)".to_string()
            } else {
                link.covered_by.join(", ")
            };
            writeln!(
                f,
                "    #{} (line {}, step {}): {covered}",
                link.anchor, link.line, link.step
            )?;
        }
        for warning in &self.warnings {
            writeln!(f, "  warning: line {}: {}", warning.line, warning.message)?;
        }
        for error in &self.errors {
            match error.line {
                0 => writeln!(f, "  error: {}", error.message)?,
                line => writeln!(f, "  error: line {line}: {}", error.message)?,
            }
        }
        if self.passed() {
            write!(
                f,
                "  ok: every section, step and link anchor has a runbook action"
            )
        } else {
            write!(
                f,
                "  FAILED: {} problem(s) the runbook does not cover",
                self.errors.len()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal translation with the doc's shape, written for the test (not the doc's text).
    fn synthetic() -> String {
        let mut text = String::from("---\nlastupdated: \"2020-01-01\"\n---\n");
        let steps =
            |n: usize| -> String { (1..=n).map(|i| format!("{i}. step\n")).collect::<String>() };
        text += "# T\n{: #ibp-console-hadr-mr}\n\n## O\n{: #ibp-console-hadr-overview}\n\n- a\n- b\n- c\n\n";
        text += &format!("## C\n{{: #ibp-console-hadr-config}}\n\n{}\n", steps(2));
        text += "### 1\n{: #ibp-console-hadr-peerCA}\n\n";
        for (i, action) in Action::ALL
            .iter()
            .filter(|a| a.info().doc.section == "ibp-console-hadr-peerCA")
            .enumerate()
        {
            let link = action
                .info()
                .link
                .map(|l| format!("[x](/d#{l})"))
                .unwrap_or_default();
            text += &format!("{}. {link}\n", i + 1);
        }
        text += &format!(
            "\n### 2\n{{: #ibp-console-hadr-export-meta1}}\n\n{}\n",
            steps(3)
        );
        text += "### 3\n{: #ibp-console-hadr-import-meta23}\n\n1. [x](/d#ibp-console-import-ca)\n2. b\n3. c\n4. d\n\n";
        text += &format!(
            "### 4\n{{: #ibp-console-hadr-create-new-peers}}\n\n{}\n- e\n- f\n",
            steps(5)
        );
        text
    }

    #[test]
    fn a_complete_translation_passes_without_warnings() {
        let report = check("t.md", &synthetic());
        assert_eq!(report.errors, []);
        assert_eq!(report.warnings, []);
        assert_eq!(report.sections.len(), 7);
        assert_eq!(report.last_updated.as_deref(), Some("2020-01-01"));
    }

    #[test]
    fn an_unknown_anchor_a_missing_step_and_an_unknown_section_fail() {
        let text = synthetic()
            .replace("#ibp-console-import-ca", "#ibp-console-import-something")
            .replace("4. d\n", "")
            + "\n## Extra\n{: #ibp-console-hadr-extra}\n";
        let report = check("t.md", &text);
        let messages: Vec<&str> = report.errors.iter().map(|e| e.message.as_str()).collect();
        assert!(
            messages.contains(&"link anchor #ibp-console-import-something has no runbook action"),
            "{messages:?}"
        );
        assert!(messages.contains(&"runbook action `import-admin-identity` implements step 4 of #ibp-console-hadr-import-meta23, which has only 3 steps here"), "{messages:?}");
        assert!(
            messages.contains(&"section #ibp-console-hadr-extra has no runbook action"),
            "{messages:?}"
        );
        assert!(!report.passed());
    }

    #[test]
    fn a_reused_anchor_and_a_repeated_number_are_warnings() {
        let text = synthetic().replace(
            "2. b\n3. c\n4. d",
            "2. b [y](/d#ibp-console-import-ca)\n2. c\n3. d",
        );
        let report = check("t.md", &text);
        assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
        assert!(report.warnings[0].message.contains("step 2 of #ibp-console-hadr-import-meta23 links #ibp-console-import-ca, already the target of step 1"), "{:?}", report.warnings);
        assert!(report.warnings[1]
            .message
            .contains("step number `2.` repeats `2.`"));
        assert!(report.passed(), "{:?}", report.errors);
    }
}
