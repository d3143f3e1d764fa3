//! timeline.svg: ledger height per peer over simulated time, one path per peer (coloured by
//! organization, shaded by region, a legend naming each), fault windows shaded and labelled,
//! time and height axes. Gaps where a peer was down or unreachable break its line instead of
//! drawing a slope across them. Points are thinned to one per pixel column, so 12 peers with
//! thousands of samples stay a small, readable file.

use super::Report;
use crate::history::{EventKind, History, TimeMs};
use quick_xml::events::BytesText;
use quick_xml::Writer;
use std::collections::BTreeMap;
use std::io;

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const PLOT_HEIGHT: f64 = 320.0;
const LEGEND_ROW: f64 = 18.0;
const LEGEND_COLUMNS: usize = 3;
/// Organization hues: blue, orange, green, red, purple, gold, teal, pink.
const HUES: [f64; 8] = [210.0, 28.0, 130.0, 355.0, 275.0, 45.0, 185.0, 320.0];
const FAULT_FILL: &str = "#d62728";

fn plot_width() -> f64 {
    WIDTH - LEFT - RIGHT
}

/// `#rrggbb` from hue (degrees), saturation and lightness (0..1).
pub(crate) fn hsl_hex(hue: f64, saturation: f64, lightness: f64) -> String {
    let c = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let h = (hue % 360.0) / 60.0;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = lightness - c / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    format!("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b))
}

/// A "nice" tick step (1, 2 or 5 times a power of ten) giving at most `max_ticks` ticks.
fn nice_step(range: f64, max_ticks: f64) -> f64 {
    let raw = (range / max_ticks).max(1e-9);
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * power)
}

/// A time tick step in ms: seconds, then minutes.
fn time_step_ms(range_ms: f64) -> f64 {
    const STEPS_S: [f64; 13] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
    ];
    STEPS_S
        .iter()
        .map(|s| s * 1000.0)
        .find(|step| range_ms / step <= 10.0)
        .unwrap_or(3_600_000.0 * (range_ms / 36_000_000.0).ceil())
}

fn time_label(ms: f64, step_ms: f64) -> String {
    if step_ms >= 60_000.0 {
        format!("{}m", (ms / 60_000.0).round())
    } else {
        format!("{}s", (ms / 1000.0).round())
    }
}

struct Series {
    name: String,
    label: String,
    colour: String,
    dash: Option<&'static str>,
    /// Runs of samples without a gap.
    segments: Vec<Vec<(TimeMs, u64)>>,
}

/// Each report peer's channel-info samples, split where it was down or unreachable.
fn series(report: &Report, history: &History) -> Vec<Series> {
    let orgs: Vec<&str> = report
        .network
        .organizations
        .iter()
        .map(|o| o.msp_id.as_str())
        .collect();
    let regions: Vec<&str> = report
        .network
        .regions
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    let mut seen_in_group: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
    let mut all: Vec<Series> = Vec::new();
    for peer in &report.peers {
        let org = orgs.iter().position(|o| *o == peer.msp_id).unwrap_or(0);
        let region = regions.iter().position(|r| *r == peer.region).unwrap_or(0);
        let lightness = 0.32 + 0.36 * region as f64 / (regions.len().max(2) - 1) as f64;
        let nth = seen_in_group
            .entry((peer.msp_id.clone(), peer.region.clone()))
            .or_default();
        let dash = [None, Some("6 3"), Some("2 2"), Some("8 2 2 2")][*nth % 4];
        *nth += 1;
        by_name.insert(&peer.name, all.len());
        all.push(Series {
            name: peer.name.clone(),
            label: format!("{} ({})", peer.name, peer.msp_id),
            colour: hsl_hex(HUES[org % HUES.len()], 0.65, lightness),
            dash,
            segments: vec![Vec::new()],
        });
    }
    for event in &history.events {
        let (node, point) = match &event.kind {
            EventKind::LedgerInfo(info) if info.channel == report.network.channel => {
                (info.peer.as_str(), Some(info.height))
            }
            EventKind::Unreachable { node, .. } | EventKind::NodeState { node, up: false } => {
                (node.as_str(), None)
            }
            _ => continue,
        };
        let Some(&i) = by_name.get(node) else {
            continue;
        };
        let segments = &mut all[i].segments;
        match point {
            Some(height) => segments
                .last_mut()
                .expect("a series starts with a segment")
                .push((event.at_ms, height)),
            None if segments.last().is_some_and(|s| !s.is_empty()) => segments.push(Vec::new()),
            None => {}
        }
    }
    all
}

struct Scale {
    t_min: f64,
    t_span: f64,
    h_top: f64,
}

impl Scale {
    fn x(&self, at_ms: f64) -> f64 {
        LEFT + (at_ms - self.t_min).clamp(0.0, self.t_span) / self.t_span * plot_width()
    }

    fn y(&self, height: f64) -> f64 {
        TOP + PLOT_HEIGHT - height / self.h_top * PLOT_HEIGHT
    }
}

/// The path of one series, keeping the last point of each pixel column.
fn path_data(series: &Series, scale: &Scale) -> String {
    let mut d = String::new();
    for segment in series.segments.iter().filter(|s| !s.is_empty()) {
        let mut kept: Vec<(f64, f64)> = Vec::new();
        for (at_ms, height) in segment {
            let point = (scale.x(*at_ms as f64), scale.y(*height as f64));
            let len = kept.len();
            match kept.last_mut() {
                Some(last) if len > 1 && last.0.round() == point.0.round() => *last = point,
                _ => kept.push(point),
            }
        }
        for (i, (x, y)) in kept.iter().enumerate() {
            d.push_str(&format!(
                "{}{x:.1},{y:.1}",
                if i == 0 {
                    if d.is_empty() {
                        "M"
                    } else {
                        " M"
                    }
                } else {
                    " L"
                }
            ));
        }
    }
    d
}

pub(crate) fn text(
    w: &mut Writer<Vec<u8>>,
    x: f64,
    y: f64,
    anchor: &str,
    content: &str,
) -> io::Result<()> {
    let (x, y) = (format!("{x:.1}"), format!("{y:.1}"));
    w.create_element("text")
        .with_attributes([
            ("x", x.as_str()),
            ("y", y.as_str()),
            ("text-anchor", anchor),
        ])
        .write_text_content(BytesText::new(content))?;
    Ok(())
}

fn line(w: &mut Writer<Vec<u8>>, from: (f64, f64), to: (f64, f64), stroke: &str) -> io::Result<()> {
    let c = [from.0, from.1, to.0, to.1].map(|v| format!("{v:.1}"));
    w.create_element("line")
        .with_attributes([
            ("x1", c[0].as_str()),
            ("y1", c[1].as_str()),
            ("x2", c[2].as_str()),
            ("y2", c[3].as_str()),
            ("stroke", stroke),
        ])
        .write_empty()?;
    Ok(())
}

fn axes(w: &mut Writer<Vec<u8>>, scale: &Scale) -> io::Result<()> {
    let bottom = TOP + PLOT_HEIGHT;
    let step = nice_step(scale.h_top, 8.0);
    let mut tick = 0.0;
    while tick <= scale.h_top {
        let y = scale.y(tick);
        line(w, (LEFT, y), (LEFT + plot_width(), y), "#eee")?;
        line(w, (LEFT - 5.0, y), (LEFT, y), "#333")?;
        text(w, LEFT - 8.0, y + 4.0, "end", &format!("{tick}"))?;
        tick += step;
    }
    line(w, (LEFT, bottom), (LEFT + plot_width(), bottom), "#333")?;
    line(w, (LEFT, TOP), (LEFT, bottom), "#333")?;
    let step = time_step_ms(scale.t_span);
    let mut tick = (scale.t_min / step).ceil() * step;
    while tick <= scale.t_min + scale.t_span {
        let x = scale.x(tick);
        line(w, (x, bottom), (x, bottom + 5.0), "#333")?;
        text(w, x, bottom + 18.0, "middle", &time_label(tick, step))?;
        tick += step;
    }
    text(
        w,
        LEFT + plot_width() / 2.0,
        bottom + 36.0,
        "middle",
        "simulated time since the network started",
    )?;
    w.create_element("text")
        .with_attributes([
            ("x", "16"),
            ("y", format!("{:.1}", TOP + PLOT_HEIGHT / 2.0).as_str()),
            ("text-anchor", "middle"),
            (
                "transform",
                format!("rotate(-90 16 {:.1})", TOP + PLOT_HEIGHT / 2.0).as_str(),
            ),
        ])
        .write_text_content(BytesText::new("ledger height (blocks)"))?;
    Ok(())
}

fn faults(w: &mut Writer<Vec<u8>>, report: &Report, scale: &Scale) -> io::Result<()> {
    let end = scale.t_min + scale.t_span;
    for (k, fault) in report.faults.iter().enumerate() {
        let Some(start) = fault.started_at_ms else {
            continue;
        };
        let x0 = scale.x(start as f64);
        let x1 = scale.x(fault.healed_at_ms.map_or(end, |h| h as f64));
        let label = format!("fault {}: {}", fault.index, fault.description);
        let (x, y, width, height) = (
            format!("{x0:.1}"),
            format!("{TOP:.1}"),
            format!("{:.1}", (x1 - x0).max(1.0)),
            format!("{PLOT_HEIGHT:.1}"),
        );
        w.create_element("rect")
            .with_attributes([
                ("class", "fault"),
                ("x", x.as_str()),
                ("y", y.as_str()),
                ("width", width.as_str()),
                ("height", height.as_str()),
                ("fill", FAULT_FILL),
                ("fill-opacity", "0.12"),
            ])
            .write_inner_content(|w| {
                w.create_element("title")
                    .write_text_content(BytesText::new(&label))?;
                Ok(())
            })?;
        text(
            w,
            x0 + 3.0,
            TOP + 12.0 + 12.0 * (k % 3) as f64,
            "start",
            &label,
        )?;
    }
    Ok(())
}

fn legend(w: &mut Writer<Vec<u8>>, all: &[Series], top: f64) -> io::Result<()> {
    let column = plot_width() / LEGEND_COLUMNS as f64;
    for (i, s) in all.iter().enumerate() {
        let x = LEFT + column * (i % LEGEND_COLUMNS) as f64;
        let y = top + LEGEND_ROW * (i / LEGEND_COLUMNS) as f64;
        let c = [x, y - 4.0, x + 24.0].map(|v| format!("{v:.1}"));
        let mut swatch = w.create_element("line").with_attributes([
            ("x1", c[0].as_str()),
            ("y1", c[1].as_str()),
            ("x2", c[2].as_str()),
            ("y2", c[1].as_str()),
            ("stroke", s.colour.as_str()),
            ("stroke-width", "2.5"),
        ]);
        if let Some(dash) = s.dash {
            swatch = swatch.with_attribute(("stroke-dasharray", dash));
        }
        swatch.write_empty()?;
        text(w, x + 30.0, y, "start", &s.label)?;
    }
    Ok(())
}

fn write_svg(report: &Report, history: &History) -> io::Result<Vec<u8>> {
    let all = series(report, history);
    let points = all.iter().flat_map(|s| s.segments.iter().flatten());
    let t_min = points.clone().map(|(t, _)| *t).min().unwrap_or(0) as f64;
    let t_max = (report.sim_time_ms as f64).max(t_min + 1000.0);
    let h_max = points.map(|(_, h)| *h).max().unwrap_or(0).max(1) as f64;
    let h_step = nice_step(h_max, 8.0);
    let scale = Scale {
        t_min,
        t_span: t_max - t_min,
        h_top: (h_max / h_step).ceil() * h_step,
    };
    let legend_top = TOP + PLOT_HEIGHT + 62.0;
    let height = legend_top + LEGEND_ROW * all.len().div_ceil(LEGEND_COLUMNS) as f64;
    let (width, height) = (format!("{WIDTH}"), format!("{height:.0}"));
    let view_box = format!("0 0 {width} {height}");
    let title = format!(
        "{}: ledger height per peer (seed {}, substrate {})",
        report.scenario, report.seed, report.substrate
    );
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 1);
    w.create_element("svg")
        .with_attributes([
            ("xmlns", "http://www.w3.org/2000/svg"),
            ("width", width.as_str()),
            ("height", height.as_str()),
            ("viewBox", view_box.as_str()),
            ("font-family", "sans-serif"),
            ("font-size", "11"),
        ])
        .write_inner_content(|w| {
            w.create_element("title")
                .write_text_content(BytesText::new(&title))?;
            w.create_element("rect")
                .with_attributes([("width", "100%"), ("height", "100%"), ("fill", "white")])
                .write_empty()?;
            w.create_element("text")
                .with_attributes([("x", "70"), ("y", "22"), ("font-size", "14")])
                .write_text_content(BytesText::new(&title))?;
            axes(w, &scale)?;
            faults(w, report, &scale)?;
            for s in &all {
                let d = path_data(s, &scale);
                let mut path = w.create_element("path").with_attributes([
                    ("class", "peer"),
                    ("data-peer", s.name.as_str()),
                    ("d", d.as_str()),
                    ("fill", "none"),
                    ("stroke", s.colour.as_str()),
                    ("stroke-width", "1.5"),
                ]);
                if let Some(dash) = s.dash {
                    path = path.with_attribute(("stroke-dasharray", dash));
                }
                path.write_inner_content(|w| {
                    w.create_element("title")
                        .write_text_content(BytesText::new(&s.label))?;
                    Ok(())
                })?;
            }
            legend(w, &all, legend_top)
        })?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

/// timeline.svg for one run.
pub fn timeline_svg(report: &Report, history: &History) -> String {
    // Writing into a Vec cannot fail.
    super::xml_safe(
        write_svg(report, history)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_convert_from_hsl() {
        assert_eq!(hsl_hex(0.0, 1.0, 0.5), "#ff0000");
        assert_eq!(hsl_hex(120.0, 1.0, 0.5), "#00ff00");
        assert_eq!(hsl_hex(210.0, 0.0, 1.0), "#ffffff");
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(nice_step(181.0, 8.0), 50.0);
        assert_eq!(nice_step(7.0, 8.0), 1.0);
        assert_eq!(time_step_ms(420_000.0), 60_000.0);
        assert_eq!(time_step_ms(30_000.0), 5_000.0);
        assert_eq!(time_label(180_000.0, 60_000.0), "3m");
        assert_eq!(time_label(15_000.0, 5_000.0), "15s");
    }

    #[test]
    fn paths_keep_one_point_per_pixel_column_and_break_at_gaps() {
        let scale = Scale {
            t_min: 0.0,
            t_span: 910_000.0,
            h_top: 100.0,
        };
        let series = Series {
            name: "p".to_string(),
            label: "p".to_string(),
            colour: "#000000".to_string(),
            dash: None,
            // 10 samples per pixel column for 100 columns, then a gap, then one sample.
            segments: vec![
                (0..1000).map(|i| (i * 100, i / 10)).collect(),
                vec![(500_000, 90)],
            ],
        };
        let d = path_data(&series, &scale);
        assert_eq!(d.matches('M').count(), 2);
        assert!(d.matches('L').count() <= 101, "{d}");
        assert!(d.ends_with(" M570.0,72.0"), "{d}");
    }
}
