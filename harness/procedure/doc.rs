//! A reader for the published procedure (IBM Cloud docs markdown, in any translation): the
//! YAML front matter, headings with their `{: #anchor}` attribute lines, the steps of each
//! section, and the `#anchor` fragments of the links in them.
//!
//! A step is a top-level list item (numbered `1.` or bulleted `-`), with its nested items and
//! continuation lines, or a paragraph that contains a link (the doc's "now you can
//! [instantiate ...](...)"). Steps are counted per section in document order; that count is the
//! same in every translation, which is what lets one runbook cover them all.

use serde::Serialize;

/// A parsed translation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Document {
    /// The front matter as YAML data (Null when there is none or it does not parse).
    pub front_matter: serde_json::Value,
    /// Why the front matter did not parse, if it did not.
    pub front_matter_error: Option<String>,
    pub sections: Vec<Section>,
}

/// A heading and the steps under it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Section {
    /// From the `{: #anchor}` line after the heading; None when the heading has none.
    pub anchor: Option<String>,
    /// 1 for `#`, 2 for `##`, ...
    pub level: usize,
    /// 1-based line of the heading.
    pub line: usize,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// 1-based position among the section's steps.
    pub ordinal: usize,
    pub kind: StepKind,
    pub line: usize,
    /// Links in the step (its nested items included), in order.
    pub links: Vec<Link>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// `3.`: the number as written.
    Numbered(u64),
    Bulleted,
    /// A paragraph with a link in it.
    LinkedParagraph,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The fragment after `#` in the link's target, if any.
    pub anchor: Option<String>,
    pub line: usize,
}

/// A section's anchor, and per step its kind and the anchors of its links.
pub type SectionShape<'a> = (Option<&'a str>, Vec<(StepKind, Vec<Option<&'a str>>)>);

impl StepKind {
    /// How the step is marked in the text: `3.`, `-` or `paragraph`.
    pub fn label(self) -> String {
        match self {
            StepKind::Numbered(n) => format!("{n}."),
            StepKind::Bulleted => "-".to_string(),
            StepKind::LinkedParagraph => "paragraph".to_string(),
        }
    }
}

impl Document {
    /// A front matter field as text (`lastupdated`, `subcollection`, ...).
    pub fn front_matter_field(&self, key: &str) -> Option<String> {
        match self.front_matter.get(key)? {
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// The shape of the document, without line numbers: section anchors, and per step its
    /// kind and link anchors. Translations of the same revision have the same shape.
    pub fn shape(&self) -> Vec<SectionShape<'_>> {
        self.sections
            .iter()
            .map(|section| {
                let steps = section
                    .steps
                    .iter()
                    .map(|step| {
                        let anchors = step.links.iter().map(|l| l.anchor.as_deref()).collect();
                        (step.kind, anchors)
                    })
                    .collect();
                (section.anchor.as_deref(), steps)
            })
            .collect()
    }
}

/// What the line is, for the parser.
enum Line<'a> {
    Blank,
    /// `{: #anchor}` or another attribute list.
    Attribute(&'a str),
    Heading(usize),
    Item {
        indent: usize,
        kind: StepKind,
    },
    Text {
        indent: usize,
    },
}

fn classify(line: &str) -> Line<'_> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    if trimmed.is_empty() {
        return Line::Blank;
    }
    if let Some(inner) = trimmed
        .strip_prefix('{')
        .and_then(|t| t.trim_end().strip_suffix('}'))
    {
        if inner.starts_with(':') {
            return Line::Attribute(inner);
        }
    }
    let hashes = trimmed.bytes().take_while(|b| *b == b'#').count();
    if indent == 0 && (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
        return Line::Heading(hashes);
    }
    if let Some(rest) = trimmed.strip_prefix(['-', '*', '+']) {
        if rest.starts_with(' ') {
            return Line::Item {
                indent,
                kind: StepKind::Bulleted,
            };
        }
    }
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && trimmed[digits..].starts_with(". ") {
        if let Ok(number) = trimmed[..digits].parse() {
            return Line::Item {
                indent,
                kind: StepKind::Numbered(number),
            };
        }
    }
    Line::Text { indent }
}

/// The anchor of an attribute list `{: #anchor}`.
fn attribute_anchor(inner: &str) -> Option<&str> {
    inner
        .trim_start_matches(':')
        .split_whitespace()
        .find_map(|part| part.strip_prefix('#'))
        .filter(|anchor| !anchor.is_empty())
}

/// The links `[text](target)` on a line.
fn links_in(line: &str, line_number: usize) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find("](") {
        let after = &rest[open + 2..];
        let Some(close) = after.find(')') else { break };
        let target = &after[..close];
        let anchor = target
            .split_once('#')
            .map(|(_, fragment)| fragment.trim().to_string())
            .filter(|fragment| !fragment.is_empty());
        links.push(Link {
            anchor,
            line: line_number,
        });
        rest = &after[close + 1..];
    }
    links
}

/// Front matter between a first line `---` and the next `---`; returns the rest's first line.
fn front_matter(lines: &[&str]) -> (serde_json::Value, Option<String>, usize) {
    if lines.first().map(|l| l.trim()) != Some("---") {
        return (serde_json::Value::Null, None, 0);
    }
    let Some(end) = lines[1..].iter().position(|l| l.trim() == "---") else {
        return (
            serde_json::Value::Null,
            Some("the front matter has no closing `---`".to_string()),
            0,
        );
    };
    let yaml = lines[1..=end].join("\n");
    match serde_saphyr::from_str::<serde_json::Value>(&yaml) {
        Ok(value) => (value, None, end + 2),
        Err(error) => (
            serde_json::Value::Null,
            Some(error.without_snippet().to_string()),
            end + 2,
        ),
    }
}

/// Parses a translation of the procedure.
pub fn parse(text: &str) -> Document {
    let lines: Vec<&str> = text.lines().collect();
    let (front_matter, front_matter_error, body_start) = front_matter(&lines);
    let mut sections: Vec<Section> = Vec::new();
    // The step that indented lines and nested items continue.
    let mut open_step = false;
    let mut previous_blank = true;
    let mut paragraph_step = false;
    for (index, line) in lines.iter().enumerate().skip(body_start) {
        let number = index + 1;
        let kind = classify(line);
        let blank = matches!(kind, Line::Blank);
        match kind {
            Line::Blank => paragraph_step = false,
            Line::Attribute(inner) => {
                if let (Some(anchor), Some(section)) =
                    (attribute_anchor(inner), sections.last_mut())
                {
                    if section.anchor.is_none() && section.steps.is_empty() {
                        section.anchor = Some(anchor.to_string());
                    }
                }
            }
            Line::Heading(level) => {
                sections.push(Section {
                    anchor: None,
                    level,
                    line: number,
                    steps: Vec::new(),
                });
                open_step = false;
                paragraph_step = false;
            }
            Line::Item { indent, kind } if indent < 2 => {
                if let Some(section) = sections.last_mut() {
                    section.steps.push(Step {
                        ordinal: section.steps.len() + 1,
                        kind,
                        line: number,
                        links: links_in(line, number),
                    });
                    open_step = true;
                    paragraph_step = false;
                }
            }
            Line::Item { .. } | Line::Text { .. }
                if open_step && (!previous_blank || is_indented(&kind)) =>
            {
                if let Some(step) = sections.last_mut().and_then(|s| s.steps.last_mut()) {
                    step.links.extend(links_in(line, number));
                }
            }
            Line::Item { .. } | Line::Text { .. } => {
                open_step = false;
                let links = links_in(line, number);
                let Some(section) = sections.last_mut() else {
                    continue;
                };
                if paragraph_step {
                    if let Some(step) = section.steps.last_mut() {
                        step.links.extend(links);
                    }
                } else if !links.is_empty() {
                    section.steps.push(Step {
                        ordinal: section.steps.len() + 1,
                        kind: StepKind::LinkedParagraph,
                        line: number,
                        links,
                    });
                    paragraph_step = true;
                }
            }
        }
        previous_blank = blank;
    }
    Document {
        front_matter,
        front_matter_error,
        sections,
    }
}

fn is_indented(line: &Line<'_>) -> bool {
    matches!(line, Line::Item { indent, .. } | Line::Text { indent } if *indent >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "---\n\nlastupdated: \"2019-06-18\"\nsubcollection: blockchain\n\n---\n\n{:note: .note}\n\n# Title\n{: #top}\n\nIntro.\n\n## Steps\n{: #steps}\n\n1. Do [this](/docs/a?topic=b#anchor-a) first.\n   - detail with [a link](x#anchor-sub)\n2. Then that.\n2. Again two.\n\nParagraph without link.\n\nNow you can [finish](y#anchor-a).\n\n- bullet [b](z#anchor-b)\n";

    #[test]
    fn reads_front_matter_sections_steps_and_links() {
        let doc = parse(SAMPLE);
        assert_eq!(
            doc.front_matter_field("lastupdated").as_deref(),
            Some("2019-06-18")
        );
        assert_eq!(
            doc.front_matter_field("subcollection").as_deref(),
            Some("blockchain")
        );
        assert_eq!(doc.sections.len(), 2);
        let top = &doc.sections[0];
        assert_eq!(
            (top.anchor.as_deref(), top.level, top.line),
            (Some("top"), 1, 10)
        );
        assert!(top.steps.is_empty());
        let steps = &doc.sections[1];
        assert_eq!(steps.anchor.as_deref(), Some("steps"));
        let kinds: Vec<StepKind> = steps.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StepKind::Numbered(1),
                StepKind::Numbered(2),
                StepKind::Numbered(2),
                StepKind::LinkedParagraph,
                StepKind::Bulleted
            ]
        );
        let anchors: Vec<Vec<Option<&str>>> = steps
            .steps
            .iter()
            .map(|s| s.links.iter().map(|l| l.anchor.as_deref()).collect())
            .collect();
        assert_eq!(
            anchors,
            [
                vec![Some("anchor-a"), Some("anchor-sub")],
                vec![],
                vec![],
                vec![Some("anchor-a")],
                vec![Some("anchor-b")]
            ]
        );
        assert_eq!(steps.steps[3].ordinal, 4);
        assert_eq!(steps.steps[3].line, 25);
    }

    #[test]
    fn text_without_front_matter_or_headings_has_no_sections() {
        let doc = parse("just text\n- a bullet\n");
        assert_eq!(doc.front_matter, serde_json::Value::Null);
        assert!(doc.sections.is_empty());
        let unclosed = parse("---\ntitle: x\n");
        assert!(unclosed.front_matter_error.is_some());
    }
}
