//! timeline.svg: what happened over simulated time, in panels that share one time axis
//! counted from the workload's start (as the scenario's fault `at` is):
//!
//! - faults: one lane per fault, labelled with its kind (a region outage with its mode), its
//!   window shaded across every panel in the kind's colour;
//! - ledger height: one line per region (the highest height its peers reported), broken where
//!   no peer of the region could be seen;
//! - lag: per region (small multiples), each peer's blocks behind the highest peer, broken
//!   where the peer could not be seen, so an outage and its catch-up show as a gap and a drop;
//! - peers: one row per peer, grouped by region, a bar where it was seen and a marked gap
//!   where it was down or unreachable;
//! - commit latency: p50 and p99 of the transactions submitted in each window, with the
//!   windows whose transactions did not all commit marked.
//!
//! Elements carry `class` and `data-` attributes (panel, region, peer, fault kind), so the
//! structure can be read back and tested without comparing drawing bytes. Lines are thinned
//! to a point or two per pixel column, so large networks and long runs stay small files.

use super::{FaultReport, PeerReport, Report};
use crate::checks::transactions::percentile;
use crate::checks::view::{is_transaction, op_spans, unseen_spans, workload_window, Window};
use crate::history::{EventKind, History, TimeMs};
use quick_xml::events::BytesText;
use quick_xml::Writer;
use std::collections::BTreeMap;
use std::io;

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 170.0;
const RIGHT: f64 = 24.0;
/// Room above a panel for its title.
const TITLE_ROOM: f64 = 30.0;
const FAULT_ROW: f64 = 16.0;
const HEIGHT_PANEL: f64 = 130.0;
const LAG_LANE: f64 = 56.0;
const PEER_ROW: f64 = 12.0;
/// Room above a region's group for its name.
const GROUP_HEAD: f64 = 14.0;
const LATENCY_PANEL: f64 = 130.0;
/// Room below the last panel for the time axis.
const AXIS_ROOM: f64 = 44.0;
/// Organization hues: blue, orange, green, red, purple, gold, teal, pink.
const HUES: [f64; 8] = [210.0, 28.0, 130.0, 355.0, 275.0, 45.0, 185.0, 320.0];
/// Region colours (height panel), apart from the organization and fault colours, light to
/// dark: the first region's line is the widest.
const REGION_COLOURS: [&str; 8] = [
    "#9ecae1", "#31a354", "#54278f", "#fd8d3c", "#636363", "#e7298a", "#8c6d31", "#000000",
];
/// A peer's line by its index within its organization and region: its dash pattern and what
/// the legend calls it.
const DASHES: [(Option<&str>, &str); 4] = [
    (None, "solid"),
    (Some("6 3"), "dashed"),
    (Some("2 2"), "dotted"),
    (Some("8 2 2 2"), "dash-dot"),
];

fn plot_width() -> f64 {
    WIDTH - LEFT - RIGHT
}

/// The colour of a fault kind.
fn fault_colour(kind: &str) -> &'static str {
    match kind {
        "region_outage" => "#d62728",
        "partition" => "#7b3fb0",
        "one_way_partition" => "#e377c2",
        "latency" => "#ff9f1c",
        _ => "#8c564b",
    }
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

/// A tick's label, `ms` from the workload's start: `-1m`, `0`, `3m`, `90s`.
fn time_label(ms: f64, step_ms: f64) -> String {
    let ms = ms.round();
    if ms == 0.0 {
        "0".to_string()
    } else if step_ms >= 60_000.0 {
        format!("{}m", ms / 60_000.0)
    } else {
        format!("{}s", ms / 1000.0)
    }
}

/// Windows of simulated time for the latency panel: about 100 over the workload, round.
fn latency_window_ms(workload_ms: f64) -> f64 {
    const STEPS_S: [f64; 8] = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 300.0];
    STEPS_S
        .iter()
        .map(|s| s * 1000.0)
        .find(|w| workload_ms / w <= 120.0)
        .unwrap_or(600_000.0)
}

/// Simulated time to x.
struct Frame {
    t_min: f64,
    t_span: f64,
    /// The workload's start: time 0 on the axis.
    origin: f64,
}

impl Frame {
    fn x(&self, at_ms: f64) -> f64 {
        LEFT + (at_ms - self.t_min).clamp(0.0, self.t_span) / self.t_span * plot_width()
    }
}

/// A span in which a peer could not be seen, and why.
struct Gap {
    window: Window,
    /// `down` (it stopped) or `unreachable` (observations failed).
    cause: &'static str,
}

/// One report peer's samples, split where it could not be seen.
struct PeerSeries<'a> {
    peer: &'a PeerReport,
    colour: String,
    dash: Option<&'static str>,
    /// Runs of (time, height) without a gap.
    segments: Vec<Vec<(TimeMs, u64)>>,
    gaps: Vec<Gap>,
    first_seen_ms: Option<TimeMs>,
}

fn peer_series<'a>(report: &'a Report, history: &History) -> Vec<PeerSeries<'a>> {
    let channel = report.network.channel.as_str();
    let orgs: Vec<&str> = report
        .network
        .organizations
        .iter()
        .map(|o| o.msp_id.as_str())
        .collect();
    let mut samples: BTreeMap<&str, Vec<(TimeMs, u64)>> = BTreeMap::new();
    let mut stops: BTreeMap<&str, Vec<TimeMs>> = BTreeMap::new();
    for event in &history.events {
        match &event.kind {
            EventKind::LedgerInfo(info) if info.channel == channel => samples
                .entry(info.peer.as_str())
                .or_default()
                .push((event.at_ms, info.height)),
            EventKind::NodeState { node, up: false } => {
                stops.entry(node.as_str()).or_default().push(event.at_ms)
            }
            _ => {}
        }
    }
    let mut nth_in_group: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    report
        .peers
        .iter()
        .map(|peer| {
            let org = orgs.iter().position(|o| *o == peer.msp_id).unwrap_or(0);
            let nth = nth_in_group
                .entry((peer.msp_id.as_str(), peer.region.as_str()))
                .or_default();
            let (dash, _) = DASHES[*nth % DASHES.len()];
            *nth += 1;
            let stopped = stops.get(peer.name.as_str());
            let gaps: Vec<Gap> = unseen_spans(history, &peer.name, channel)
                .into_iter()
                .map(|window| Gap {
                    window,
                    cause: if stopped.is_some_and(|s| s.iter().any(|at| window.contains(*at))) {
                        "down"
                    } else {
                        "unreachable"
                    },
                })
                .collect();
            let own = samples.remove(peer.name.as_str()).unwrap_or_default();
            let first_seen_ms = own.first().map(|(at, _)| *at);
            let mut segments: Vec<Vec<(TimeMs, u64)>> = vec![Vec::new()];
            let mut previous: Option<TimeMs> = None;
            for (at_ms, height) in own {
                let broken = previous.is_some_and(|p| {
                    gaps.iter()
                        .any(|g| p <= g.window.start_ms && g.window.end_ms <= at_ms)
                });
                if broken {
                    segments.push(Vec::new());
                }
                if let Some(last) = segments.last_mut() {
                    last.push((at_ms, height));
                }
                previous = Some(at_ms);
            }
            segments.retain(|s| !s.is_empty());
            PeerSeries {
                peer,
                colour: hsl_hex(HUES[org % HUES.len()], 0.7, 0.42),
                dash,
                segments,
                gaps,
                first_seen_ms,
            }
        })
        .collect()
}

/// The highest height any peer reported up to each time: (time, height), rising.
fn highest(series: &[PeerSeries]) -> Vec<(TimeMs, u64)> {
    let mut all: Vec<(TimeMs, u64)> = series
        .iter()
        .flat_map(|s| s.segments.iter().flatten().copied())
        .collect();
    all.sort();
    let mut top: Vec<(TimeMs, u64)> = Vec::new();
    for (at_ms, height) in all {
        if top.last().is_none_or(|&(_, h)| height > h) {
            top.push((at_ms, height));
        }
    }
    top
}

fn highest_at(top: &[(TimeMs, u64)], at_ms: TimeMs) -> u64 {
    let i = top.partition_point(|(t, _)| *t <= at_ms);
    if i == 0 {
        0
    } else {
        top[i - 1].1
    }
}

/// A region's height over time: the highest of its seen peers at each of their samples,
/// broken where none of them could be seen.
fn region_height(peers: &[&PeerSeries]) -> Vec<Vec<(TimeMs, u64)>> {
    // (time, peer, Some(height) for a sample, None for the start of a gap).
    let mut events: Vec<(TimeMs, usize, Option<u64>)> = Vec::new();
    for (i, p) in peers.iter().enumerate() {
        events.extend(p.segments.iter().flatten().map(|&(t, h)| (t, i, Some(h))));
        events.extend(p.gaps.iter().map(|g| (g.window.start_ms, i, None)));
    }
    events.sort();
    let mut current: Vec<Option<u64>> = vec![None; peers.len()];
    let mut segments: Vec<Vec<(TimeMs, u64)>> = vec![Vec::new()];
    for (at_ms, i, height) in events {
        current[i] = height;
        match current.iter().flatten().max() {
            Some(&top) => segments
                .last_mut()
                .expect("a segment to extend")
                .push((at_ms, top)),
            None if segments.last().is_some_and(|s| !s.is_empty()) => segments.push(Vec::new()),
            None => {}
        }
    }
    segments.retain(|s| !s.is_empty());
    segments
}

/// How a path keeps points within one pixel column.
#[derive(Clone, Copy)]
enum Thin {
    /// The last (a rising height).
    Last,
    /// The lowest and the highest value, so a spike survives.
    Extremes,
}

/// Path data of `segments` (each a run of (x, y)), thinned per pixel column.
fn path_data(segments: &[Vec<(f64, f64)>], thin: Thin) -> String {
    let mut d = String::new();
    for segment in segments.iter().filter(|s| !s.is_empty()) {
        let mut kept: Vec<(f64, f64)> = Vec::new();
        let mut column: Vec<(f64, f64)> = Vec::new();
        let flush = |column: &mut Vec<(f64, f64)>, kept: &mut Vec<(f64, f64)>| {
            match thin {
                Thin::Last => kept.extend(column.last()),
                Thin::Extremes => {
                    let pick = |better: fn(f64, f64) -> bool| {
                        column
                            .iter()
                            .copied()
                            .reduce(|a, b| if better(b.1, a.1) { b } else { a })
                    };
                    let (Some(low), Some(high)) = (pick(|b, a| b > a), pick(|b, a| b < a)) else {
                        return column.clear();
                    };
                    // In time order, once when they are one point.
                    let (first, second) = if low.0 <= high.0 {
                        (low, high)
                    } else {
                        (high, low)
                    };
                    kept.push(first);
                    if second != first {
                        kept.push(second);
                    }
                }
            }
            column.clear();
        };
        for &point in segment {
            if column
                .first()
                .is_some_and(|first| first.0.round() != point.0.round())
            {
                flush(&mut column, &mut kept);
            }
            column.push(point);
        }
        flush(&mut column, &mut kept);
        for (i, (x, y)) in kept.iter().enumerate() {
            let command = match (i, d.is_empty()) {
                (0, true) => "M",
                (0, false) => " M",
                _ => " L",
            };
            d.push_str(&format!("{command}{x:.1},{y:.1}"));
        }
    }
    d
}

type W = Writer<Vec<u8>>;

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

pub(crate) fn text(w: &mut W, x: f64, y: f64, anchor: &str, content: &str) -> io::Result<()> {
    text_with(w, x, y, anchor, &[], content)
}

fn text_with(
    w: &mut W,
    x: f64,
    y: f64,
    anchor: &str,
    extra: &[(&str, &str)],
    content: &str,
) -> io::Result<()> {
    let (x, y) = (f1(x), f1(y));
    w.create_element("text")
        .with_attributes([
            ("x", x.as_str()),
            ("y", y.as_str()),
            ("text-anchor", anchor),
        ])
        .with_attributes(extra.iter().copied())
        .write_text_content(BytesText::new(content))?;
    Ok(())
}

fn line(w: &mut W, from: (f64, f64), to: (f64, f64), stroke: &str) -> io::Result<()> {
    let c = [from.0, from.1, to.0, to.1].map(f1);
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

/// An element with attributes and a tooltip (`<title>`).
fn titled(w: &mut W, name: &str, attributes: &[(&str, &str)], tooltip: &str) -> io::Result<()> {
    w.create_element(name)
        .with_attributes(attributes.iter().copied())
        .write_inner_content(|w| {
            w.create_element("title")
                .write_text_content(BytesText::new(tooltip))?;
            Ok(())
        })?;
    Ok(())
}

/// A rectangle with attributes and a tooltip.
fn rect(
    w: &mut W,
    (x, y, width, height): (f64, f64, f64, f64),
    attributes: &[(&str, &str)],
    tooltip: &str,
) -> io::Result<()> {
    let c = [x, y, width.max(1.0), height].map(f1);
    let mut all = vec![
        ("x", c[0].as_str()),
        ("y", c[1].as_str()),
        ("width", c[2].as_str()),
        ("height", c[3].as_str()),
    ];
    all.extend_from_slice(attributes);
    titled(w, "rect", &all, tooltip)
}

/// A path with attributes and a tooltip.
fn path(w: &mut W, d: &str, attributes: &[(&str, &str)], tooltip: &str) -> io::Result<()> {
    let mut all = vec![("d", d), ("fill", "none")];
    all.extend_from_slice(attributes);
    titled(w, "path", &all, tooltip)
}

/// A `<g>` with attributes around `inner`.
fn group(
    w: &mut W,
    attributes: &[(&str, &str)],
    inner: impl FnOnce(&mut W) -> io::Result<()>,
) -> io::Result<()> {
    w.create_element("g")
        .with_attributes(attributes.iter().copied())
        .write_inner_content(inner)?;
    Ok(())
}

/// Vertical time grid lines over [top, bottom], with labels below when `labels`.
fn time_grid(w: &mut W, frame: &Frame, top: f64, bottom: f64, labels: bool) -> io::Result<()> {
    let step = time_step_ms(frame.t_span);
    let end = frame.t_min + frame.t_span;
    let mut tick = frame.origin + ((frame.t_min - frame.origin) / step).ceil() * step;
    while tick <= end {
        let x = frame.x(tick);
        line(w, (x, top), (x, bottom), "#e4e4e4")?;
        if labels {
            line(w, (x, bottom), (x, bottom + 5.0), "#333")?;
            text(
                w,
                x,
                bottom + 17.0,
                "middle",
                &time_label(tick - frame.origin, step),
            )?;
        }
        tick += step;
    }
    Ok(())
}

/// A value axis on the left of a plot from `top` to `top + height` for values 0..`max`.
fn value_axis(w: &mut W, top: f64, height: f64, max: f64, unit: &str) -> io::Result<()> {
    let step = nice_step(max, (height / 22.0).max(2.0));
    let mut tick = 0.0;
    while tick <= max + 1e-9 {
        let y = top + height - tick / max * height;
        line(w, (LEFT, y), (LEFT + plot_width(), y), "#efefef")?;
        line(w, (LEFT - 4.0, y), (LEFT, y), "#333")?;
        text(w, LEFT - 7.0, y + 4.0, "end", &format!("{tick}{unit}"))?;
        tick += step;
    }
    line(w, (LEFT, top), (LEFT, top + height), "#333")?;
    line(
        w,
        (LEFT, top + height),
        (LEFT + plot_width(), top + height),
        "#333",
    )
}

/// A panel: a `<g class="panel">` with its title above `top`.
fn panel(
    w: &mut W,
    name: &str,
    title: &str,
    top: f64,
    inner: impl FnOnce(&mut W) -> io::Result<()>,
) -> io::Result<()> {
    group(w, &[("class", "panel"), ("data-panel", name)], |w| {
        text_with(
            w,
            LEFT,
            top - 10.0,
            "start",
            &[
                ("class", "panel-title"),
                ("font-size", "12"),
                ("font-weight", "bold"),
            ],
            title,
        )?;
        inner(w)
    })
}

fn fault_end(fault: &FaultReport, end_ms: f64) -> f64 {
    fault.healed_at_ms.map_or(end_ms, |h| h as f64)
}

fn fault_label(fault: &FaultReport) -> String {
    format!("fault {}: {}", fault.index, fault.description)
}

/// The faults lane: one row per fault, a bar over its window and its label.
fn faults_panel(w: &mut W, report: &Report, frame: &Frame, top: f64) -> io::Result<()> {
    let end = frame.t_min + frame.t_span;
    panel(
        w,
        "faults",
        "faults (shaded below in the same colour)",
        top,
        |w| {
            if report.faults.is_empty() {
                return text(w, LEFT, top + 12.0, "start", "no faults");
            }
            for (row, fault) in report.faults.iter().enumerate() {
                let y = top + row as f64 * FAULT_ROW;
                let label = fault_label(fault);
                let colour = fault_colour(&fault.kind);
                let index = fault.index.to_string();
                let (started, healed) = (
                    fault
                        .started_at_ms
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                    fault
                        .healed_at_ms
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                );
                let mut attributes = vec![
                    ("class", "fault"),
                    ("data-fault", index.as_str()),
                    ("data-kind", fault.kind.as_str()),
                    ("data-start-ms", started.as_str()),
                    ("data-heal-ms", healed.as_str()),
                ];
                if let Some(mode) = &fault.mode {
                    attributes.push(("data-mode", mode.as_str()));
                }
                group(w, &attributes, |w| {
                    let Some(start) = fault.started_at_ms else {
                        return text_with(
                            w,
                            LEFT + 3.0,
                            y + 11.0,
                            "start",
                            &[("class", "fault-label")],
                            &format!("{label} (never started)"),
                        );
                    };
                    let (x0, x1) = (frame.x(start as f64), frame.x(fault_end(fault, end)));
                    rect(
                        w,
                        (x0, y + 1.0, x1 - x0, FAULT_ROW - 3.0),
                        &[
                            ("fill", colour),
                            ("fill-opacity", "0.35"),
                            ("stroke", colour),
                        ],
                        &label,
                    )?;
                    // Labels that would run off the right edge end at the bar's end instead.
                    let room = LEFT + plot_width() - x0;
                    let (x, anchor) = if room > 6.5 * label.len() as f64 {
                        (x0 + 4.0, "start")
                    } else {
                        (x1 - 4.0, "end")
                    };
                    text_with(w, x, y + 11.0, anchor, &[("class", "fault-label")], &label)
                })?;
            }
            Ok(())
        },
    )
}

/// The fault windows shaded from `top` to `bottom`.
fn fault_shades(
    w: &mut W,
    report: &Report,
    frame: &Frame,
    top: f64,
    bottom: f64,
) -> io::Result<()> {
    let end = frame.t_min + frame.t_span;
    for fault in &report.faults {
        let Some(start) = fault.started_at_ms else {
            continue;
        };
        let (x0, x1) = (frame.x(start as f64), frame.x(fault_end(fault, end)));
        let index = fault.index.to_string();
        rect(
            w,
            (x0, top, x1 - x0, bottom - top),
            &[
                ("class", "fault-shade"),
                ("data-fault", index.as_str()),
                ("fill", fault_colour(&fault.kind)),
                ("fill-opacity", "0.10"),
            ],
            &fault_label(fault),
        )?;
    }
    Ok(())
}

/// The workload's start and end as dashed vertical lines.
fn workload_marks(
    w: &mut W,
    frame: &Frame,
    workload: Option<Window>,
    top: f64,
    bottom: f64,
) -> io::Result<()> {
    let Some(workload) = workload else {
        return Ok(());
    };
    for (at_ms, label) in [
        (workload.start_ms, "workload starts"),
        (workload.end_ms, "workload ends"),
    ] {
        let x = f1(frame.x(at_ms as f64));
        let (top, bottom) = (f1(top), f1(bottom));
        titled(
            w,
            "line",
            &[
                ("class", "workload-mark"),
                ("x1", x.as_str()),
                ("y1", top.as_str()),
                ("x2", x.as_str()),
                ("y2", bottom.as_str()),
                ("stroke", "#666"),
                ("stroke-dasharray", "3 3"),
            ],
            label,
        )?;
    }
    Ok(())
}

fn height_panel(
    w: &mut W,
    report: &Report,
    series: &[PeerSeries],
    frame: &Frame,
    top: f64,
) -> io::Result<()> {
    let h_max = series
        .iter()
        .flat_map(|s| s.segments.iter().flatten().map(|(_, h)| *h))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = nice_step(h_max, 5.0);
    let h_top = (h_max / step).ceil() * step;
    let y = |height: f64| top + HEIGHT_PANEL - height / h_top * HEIGHT_PANEL;
    panel(
        w,
        "height",
        "ledger height (blocks): the highest of each region's peers; a break: no peer of the region seen",
        top,
        |w| {
            value_axis(w, top, HEIGHT_PANEL, h_top, "")?;
            time_grid(w, frame, top, top + HEIGHT_PANEL, false)?;
            let regions = report.network.regions.len();
            for (i, region) in report.network.regions.iter().enumerate() {
                let peers: Vec<&PeerSeries> = series
                    .iter()
                    .filter(|s| s.peer.region == region.name)
                    .collect();
                if peers.is_empty() {
                    continue;
                }
                let segments: Vec<Vec<(f64, f64)>> = region_height(&peers)
                    .iter()
                    .map(|s| {
                        s.iter()
                            .map(|&(t, h)| (frame.x(t as f64), y(h as f64)))
                            .collect()
                    })
                    .collect();
                let colour = REGION_COLOURS[i % REGION_COLOURS.len()];
                let count = segments.len().to_string();
                // Regions usually agree: earlier regions are drawn wider, so each line shows
                // around the ones above it and a break in one is not hidden by the others.
                let width = f1(1.5 + 2.5 * (regions - 1 - i) as f64);
                path(
                    w,
                    &path_data(&segments, Thin::Last),
                    &[
                        ("class", "region-height"),
                        ("data-region", region.name.as_str()),
                        ("data-segments", count.as_str()),
                        ("stroke", colour),
                        ("stroke-width", width.as_str()),
                    ],
                    &format!("{}: ledger height", region.name),
                )?;
                // Top left: heights rise with time, so that is the corner no line crosses.
                legend_entry(w, Corner::TopLeft, i, top + 4.0, colour, &region.name)?;
            }
            Ok(())
        },
    )
}

/// The regions that have peers, in topology order, with their peers' series.
fn by_region<'a, 'b>(
    report: &Report,
    series: &'b [PeerSeries<'a>],
) -> Vec<(String, Vec<&'b PeerSeries<'a>>)> {
    report
        .network
        .regions
        .iter()
        .map(|r| {
            let peers: Vec<&PeerSeries> =
                series.iter().filter(|s| s.peer.region == r.name).collect();
            (r.name.clone(), peers)
        })
        .filter(|(_, peers)| !peers.is_empty())
        .collect()
}

fn lag_panel(
    w: &mut W,
    report: &Report,
    series: &[PeerSeries],
    frame: &Frame,
    top: f64,
) -> io::Result<f64> {
    let top_heights = highest(series);
    let lags: Vec<Vec<Vec<(TimeMs, u64)>>> = series
        .iter()
        .map(|s| {
            s.segments
                .iter()
                .map(|segment| {
                    segment
                        .iter()
                        .map(|&(t, h)| (t, highest_at(&top_heights, t).saturating_sub(h)))
                        .collect()
                })
                .collect()
        })
        .collect();
    let lag_max = lags
        .iter()
        .flatten()
        .flatten()
        .map(|(_, l)| *l)
        .max()
        .unwrap_or(0)
        .max(2) as f64;
    let step = nice_step(lag_max, 2.0);
    let lag_top = (lag_max / step).ceil() * step;
    let regions = by_region(report, series);
    let bottom = top + regions.len() as f64 * (GROUP_HEAD + LAG_LANE);
    panel(
        w,
        "lag",
        "lag (blocks behind the highest peer), per region; a break: the peer was not seen",
        top,
        |w| {
            for (k, (region, peers)) in regions.iter().enumerate() {
                let lane_top = top + k as f64 * (GROUP_HEAD + LAG_LANE) + GROUP_HEAD;
                group(
                    w,
                    &[("class", "group"), ("data-region", region.as_str())],
                    |w| {
                        text_with(
                            w,
                            20.0,
                            lane_top + LAG_LANE / 2.0,
                            "start",
                            &[("class", "group-title"), ("font-weight", "bold")],
                            region,
                        )?;
                        value_axis(w, lane_top, LAG_LANE - 8.0, lag_top, "")?;
                        time_grid(w, frame, lane_top, lane_top + LAG_LANE - 8.0, false)?;
                        let y = |lag: f64| lane_top + (LAG_LANE - 8.0) * (1.0 - lag / lag_top);
                        for s in peers {
                            let i = series
                                .iter()
                                .position(|x| x.peer.name == s.peer.name)
                                .unwrap_or(0);
                            let segments: Vec<Vec<(f64, f64)>> = lags[i]
                                .iter()
                                .map(|seg| {
                                    seg.iter()
                                        .map(|&(t, l)| (frame.x(t as f64), y(l as f64)))
                                        .collect()
                                })
                                .collect();
                            let count = segments.len().to_string();
                            let mut attributes = vec![
                                ("class", "lag"),
                                ("data-peer", s.peer.name.as_str()),
                                ("data-segments", count.as_str()),
                                ("stroke", s.colour.as_str()),
                                ("stroke-width", "1.3"),
                            ];
                            if let Some(dash) = s.dash {
                                attributes.push(("stroke-dasharray", dash));
                            }
                            path(
                                w,
                                &path_data(&segments, Thin::Extremes),
                                &attributes,
                                &format!(
                                    "{} ({}): blocks behind the highest peer",
                                    s.peer.name, s.peer.msp_id
                                ),
                            )?;
                        }
                        Ok(())
                    },
                )?;
            }
            Ok(())
        },
    )?;
    Ok(bottom)
}

fn peers_panel(
    w: &mut W,
    report: &Report,
    series: &[PeerSeries],
    frame: &Frame,
    top: f64,
) -> io::Result<f64> {
    let end = (frame.t_min + frame.t_span) as TimeMs;
    let regions = by_region(report, series);
    let mut y = top;
    panel(
        w,
        "peers",
        "peers: a bar while seen (colour: organization, as in the lag panel); a red-edged gap: down or unreachable",
        top,
        |w| {
            for (region, peers) in &regions {
                let group_top = y;
                y += GROUP_HEAD;
                let rows_top = y;
                y += PEER_ROW * peers.len() as f64;
                group(w, &[("class", "group"), ("data-region", region.as_str())], |w| {
                    text_with(w, 20.0, group_top + 11.0, "start", &[("class", "group-title"), ("font-weight", "bold")], region)?;
                    time_grid(w, frame, rows_top, rows_top + PEER_ROW * peers.len() as f64, false)?;
                    for (row, s) in peers.iter().enumerate() {
                        let ry = rows_top + row as f64 * PEER_ROW;
                        group(w, &[("class", "peer-row"), ("data-peer", s.peer.name.as_str())], |w| {
                            text_with(w, LEFT - 7.0, ry + 9.0, "end", &[("font-size", "10")], &s.peer.name)?;
                            let Some(first) = s.first_seen_ms else {
                                return text_with(w, LEFT + 4.0, ry + 9.0, "start", &[("class", "never-seen"), ("font-size", "10")], "never seen");
                            };
                            // Seen from the first sample to the end, minus the gaps.
                            let mut from = first;
                            let mut seen: Vec<(TimeMs, TimeMs)> = Vec::new();
                            for gap in s.gaps.iter().filter(|g| g.window.end_ms > first) {
                                if gap.window.start_ms > from {
                                    seen.push((from, gap.window.start_ms));
                                }
                                from = from.max(gap.window.end_ms);
                            }
                            if from < end {
                                seen.push((from, end));
                            }
                            for (a, b) in seen {
                                let (x0, x1) = (frame.x(a as f64), frame.x(b as f64));
                                let dash_style = s.dash.map(|_| "0.55").unwrap_or("0.85");
                                rect(
                                    w,
                                    (x0, ry + 2.0, x1 - x0, PEER_ROW - 4.0),
                                    &[("class", "seen"), ("fill", s.colour.as_str()), ("fill-opacity", dash_style)],
                                    &format!("{} seen", s.peer.name),
                                )?;
                            }
                            for gap in &s.gaps {
                                let (x0, x1) = (frame.x(gap.window.start_ms as f64), frame.x(gap.window.end_ms as f64));
                                let (from, to) = (gap.window.start_ms.to_string(), gap.window.end_ms.to_string());
                                rect(
                                    w,
                                    (x0, ry + 1.0, x1 - x0, PEER_ROW - 2.0),
                                    &[
                                        ("class", "gap"),
                                        ("data-cause", gap.cause),
                                        ("data-from-ms", from.as_str()),
                                        ("data-to-ms", to.as_str()),
                                        ("fill", "#ffffff"),
                                        ("stroke", "#d62728"),
                                        ("stroke-width", "1"),
                                    ],
                                    &format!(
                                        "{} {} from {} to {}",
                                        s.peer.name,
                                        gap.cause,
                                        crate::checks::view::secs(gap.window.start_ms),
                                        crate::checks::view::secs(gap.window.end_ms)
                                    ),
                                )?;
                            }
                            Ok(())
                        })?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        },
    )?;
    Ok(y)
}

/// One latency window: its start and the latencies (ms) of what committed, sorted.
struct LatencyWindow {
    start_ms: TimeMs,
    committed: Vec<u64>,
    not_committed: usize,
}

fn latency_windows(history: &History, workload: Window, window_ms: TimeMs) -> Vec<LatencyWindow> {
    let count = (workload.end_ms - workload.start_ms).div_ceil(window_ms.max(1)) as usize;
    let mut windows: Vec<LatencyWindow> = (0..count)
        .map(|k| LatencyWindow {
            start_ms: workload.start_ms + k as TimeMs * window_ms,
            committed: Vec::new(),
            not_committed: 0,
        })
        .collect();
    for span in op_spans(history)
        .iter()
        .filter(|s| is_transaction(s.invoke) && workload.contains(s.invoked_ms))
    {
        let k = ((span.invoked_ms - workload.start_ms) / window_ms) as usize;
        let Some(window) = windows.get_mut(k) else {
            continue;
        };
        match span.commit_latency_ms() {
            Some(latency) => window.committed.push(latency),
            None => window.not_committed += 1,
        }
    }
    for window in &mut windows {
        window.committed.sort_unstable();
    }
    windows
}

fn latency_panel(
    w: &mut W,
    history: &History,
    frame: &Frame,
    workload: Option<Window>,
    top: f64,
) -> io::Result<()> {
    let window_ms =
        latency_window_ms(workload.map_or(0, |w| w.end_ms - w.start_ms) as f64) as TimeMs;
    let windows = workload
        .map(|wl| latency_windows(history, wl, window_ms))
        .unwrap_or_default();
    let l_max = windows
        .iter()
        .filter_map(|w| percentile(&w.committed, 99.0))
        .max()
        .unwrap_or(0)
        .max(1000) as f64
        / 1000.0;
    let step = nice_step(l_max, 4.0);
    let l_top = (l_max / step).ceil() * step;
    let y = |ms: f64| top + LATENCY_PANEL - ms / 1000.0 / l_top * LATENCY_PANEL;
    let title = format!(
        "commit latency of the transactions submitted in each {} window: p50 and p99 (seconds); red marks: some did not commit",
        super::human_duration(std::time::Duration::from_millis(window_ms))
    );
    panel(w, "latency", &title, top, |w| {
        value_axis(w, top, LATENCY_PANEL, l_top, "s")?;
        time_grid(w, frame, top, top + LATENCY_PANEL, false)?;
        for (p, colour, name) in [(50.0, "#1f77b4", "p50"), (99.0, "#d62728", "p99")] {
            let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for window in &windows {
                match percentile(&window.committed, p) {
                    Some(ms) => segments.last_mut().expect("a segment to extend").push((
                        frame.x(window.start_ms as f64 + window_ms as f64 / 2.0),
                        y(ms as f64),
                    )),
                    None if segments.last().is_some_and(|s| !s.is_empty()) => {
                        segments.push(Vec::new())
                    }
                    None => {}
                }
            }
            segments.retain(|s| !s.is_empty());
            let count = segments.len().to_string();
            path(
                w,
                &path_data(&segments, Thin::Extremes),
                &[
                    ("class", "latency"),
                    ("data-percentile", name),
                    ("data-segments", count.as_str()),
                    ("stroke", colour),
                    ("stroke-width", "1.5"),
                ],
                &format!("{name} commit latency per window"),
            )?;
        }
        for window in windows.iter().filter(|w| w.not_committed > 0) {
            let (x0, x1) = (
                frame.x(window.start_ms as f64),
                frame.x((window.start_ms + window_ms) as f64),
            );
            let (start, count) = (
                window.start_ms.to_string(),
                window.not_committed.to_string(),
            );
            rect(
                w,
                (x0, top, x1 - x0, 6.0),
                &[
                    ("class", "not-committed"),
                    ("data-window-ms", start.as_str()),
                    ("data-count", count.as_str()),
                    ("fill", "#d62728"),
                ],
                &format!(
                    "{} of {} transactions submitted from {} did not commit",
                    window.not_committed,
                    window.not_committed + window.committed.len(),
                    crate::checks::view::secs(window.start_ms)
                ),
            )?;
        }
        for (i, (colour, name)) in [("#1f77b4", "p50"), ("#d62728", "p99")].iter().enumerate() {
            legend_entry(w, Corner::TopRight, i, top + 10.0, colour, name)?;
        }
        Ok(())
    })
}

/// Where in its panel a legend sits: the corner the panel's lines leave empty.
enum Corner {
    TopLeft,
    TopRight,
}

/// Entry `i` of a panel's legend.
fn legend_entry(
    w: &mut W,
    corner: Corner,
    i: usize,
    top: f64,
    colour: &str,
    name: &str,
) -> io::Result<()> {
    let x = match corner {
        Corner::TopLeft => LEFT + 10.0,
        Corner::TopRight => LEFT + plot_width() - 110.0,
    };
    let y = top + 10.0 + 13.0 * i as f64;
    line(w, (x, y - 4.0), (x + 22.0, y - 4.0), colour)?;
    text(w, x + 26.0, y, "start", name)
}

/// The organizations' colours and the peers' dashes, under the title.
fn legend(w: &mut W, report: &Report, series: &[PeerSeries], y: f64) -> io::Result<()> {
    let mut x = LEFT;
    text(w, x, y, "start", "organizations:")?;
    x += 86.0;
    for (i, org) in report.network.organizations.iter().enumerate() {
        let colour = series
            .iter()
            .find(|s| s.peer.msp_id == org.msp_id)
            .map(|s| s.colour.clone())
            .unwrap_or_else(|| hsl_hex(HUES[i % HUES.len()], 0.7, 0.42));
        line(w, (x, y - 4.0), (x + 20.0, y - 4.0), &colour)?;
        text(w, x + 24.0, y, "start", &org.msp_id)?;
        x += 34.0 + 6.5 * org.msp_id.len() as f64;
    }
    let most = report
        .network
        .organizations
        .iter()
        .map(|o| o.peers_per_region)
        .max()
        .unwrap_or(1);
    if most > 1 {
        // Only the peers there are; past DASHES the dashes repeat, as in peer_series.
        let dashes: Vec<String> = DASHES
            .iter()
            .take(most as usize)
            .enumerate()
            .map(|(nth, (_, name))| format!("peer{nth} {name}"))
            .collect();
        text(w, x + 10.0, y, "start", &dashes.join(", "))?;
    }
    Ok(())
}

fn write_svg(report: &Report, history: &History) -> io::Result<Vec<u8>> {
    let series = peer_series(report, history);
    let workload = workload_window(history);
    let first_sample = series.iter().filter_map(|s| s.first_seen_ms).min();
    let origin = workload.map_or(0, |w| w.start_ms) as f64;
    let t_min = first_sample.map_or(origin, |f| (f as f64).min(origin));
    let t_max = (report.sim_time_ms as f64).max(t_min + 1000.0);
    let frame = Frame {
        t_min,
        t_span: t_max - t_min,
        origin,
    };
    let regions = by_region(report, &series).len() as f64;
    let faults_top = 70.0 + TITLE_ROOM;
    let height_top = faults_top + FAULT_ROW * report.faults.len().max(1) as f64 + TITLE_ROOM;
    let lag_top = height_top + HEIGHT_PANEL + TITLE_ROOM + 6.0;
    let peers_top = lag_top + regions * (GROUP_HEAD + LAG_LANE) + TITLE_ROOM;
    let latency_top =
        peers_top + regions * GROUP_HEAD + PEER_ROW * series.len() as f64 + TITLE_ROOM + 6.0;
    let bottom = latency_top + LATENCY_PANEL;
    let total_height = bottom + AXIS_ROOM;
    let (width, height) = (format!("{WIDTH}"), format!("{total_height:.0}"));
    let view_box = format!("0 0 {width} {height}");
    let title = format!(
        "{}: timeline (seed {}, substrate {})",
        report.scenario, report.seed, report.substrate
    );
    let axis = if workload.is_some() {
        "simulated time since the workload started (as the scenario's fault `at`); dashed: the workload's start and end"
    } else {
        "simulated time since the network started (the workload never started)"
    };
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
            text_with(
                w,
                20.0,
                24.0,
                "start",
                &[("font-size", "15"), ("font-weight", "bold")],
                &title,
            )?;
            text(w, 20.0, 42.0, "start", axis)?;
            legend(w, report, &series, 60.0)?;
            fault_shades(w, report, &frame, faults_top, bottom)?;
            faults_panel(w, report, &frame, faults_top)?;
            height_panel(w, report, &series, &frame, height_top)?;
            lag_panel(w, report, &series, &frame, lag_top)?;
            peers_panel(w, report, &series, &frame, peers_top)?;
            latency_panel(w, history, &frame, workload, latency_top)?;
            workload_marks(w, &frame, workload, faults_top, bottom)?;
            time_grid(w, &frame, bottom, bottom, true)?;
            text(
                w,
                LEFT + plot_width() / 2.0,
                bottom + 36.0,
                "middle",
                axis.split(';').next().unwrap_or(axis),
            )
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
        assert_eq!(time_label(-60_000.0, 60_000.0), "-1m");
        assert_eq!(time_label(0.0, 60_000.0), "0");
        assert_eq!(time_label(90_000.0, 30_000.0), "90s");
        assert_eq!(latency_window_ms(600_000.0), 5_000.0);
    }

    #[test]
    fn thinning_keeps_a_spike_in_a_pixel_column() {
        let points = vec![(10.0, 50.0), (10.2, 10.0), (10.3, 50.0), (20.0, 50.0)];
        assert_eq!(
            path_data(std::slice::from_ref(&points), Thin::Extremes),
            "M10.0,50.0 L10.2,10.0 L20.0,50.0"
        );
        assert_eq!(path_data(&[points], Thin::Last), "M10.3,50.0 L20.0,50.0");
    }
}
