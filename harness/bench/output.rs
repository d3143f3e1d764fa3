//! The bench's results: per candidate, the figures over every seed beside their arithmetic,
//! ranked; written as a Markdown table (stdout and bench.md), bench.json and bench.svg.

use super::arithmetic as arith;
use super::{mean, Percentiles, Placement, Plan, SeedRun, OUTAGE_FOR, RESOLUTION_TARGET};
use crate::scenario::layout::region_of;
use crate::scenario::model::Scenario;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// The whole bench, best candidate first.
#[derive(Clone, Debug, Serialize)]
pub struct Bench {
    pub fixture: String,
    pub statistic: String,
    pub template: String,
    pub ordering: Placement,
    pub rate_per_s: f64,
    pub batch_timeout_ms: u64,
    /// The steady run's workload, and the outage run's region loss.
    pub duration_ms: u64,
    pub outage_ms: u64,
    pub seeds: u64,
    /// The coarsest resolution of the candidates' steady figures (commit, ordering,
    /// dissemination: the tick over the candidate's dilation); and the outage run's tick,
    /// for elections, resumes and catch-ups.
    pub latency_resolution_ms: f64,
    pub recovery_resolution_ms: f64,
    pub ranking: &'static str,
    pub candidates: Vec<Candidate>,
    /// Wall-clock: the only field that differs between two benches of the same request.
    pub wall_time_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    pub rank: usize,
    pub locations: Vec<String>,
    /// The smallest round trip between the triple's locations, and the resolution's share
    /// of it.
    pub smallest_rtt_ms: f64,
    pub resolution_share: f64,
    /// How many times slower than the real network its steady run went (1: not dilated),
    /// and the resolution that gave: the tick over the dilation.
    pub dilation: u32,
    pub latency_resolution_ms: f64,
    pub commit_latency_ms: Percentiles,
    pub ordering_latency_ms: Ordering,
    pub batch_wait_ms: Percentiles,
    /// By location: block written at the leader to the region's last peer committing it.
    pub dissemination_ms: BTreeMap<String, Percentiles>,
    pub leader_loss: LeaderLoss,
    pub catch_up_ms: Percentiles,
    /// Transactions that committed below their physical floor (none, or the sim is wrong).
    pub floor_violations: Vec<super::figures::FloorViolation>,
    pub runs: Vec<RunSummary>,
    pub arithmetic: Arithmetic,
}

/// Broadcast to block written at the leader, without the batch wait.
#[derive(Clone, Debug, Serialize)]
pub struct Ordering {
    pub p50: Option<f64>,
    pub mean: Option<f64>,
    pub samples: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct LeaderLoss {
    pub election_ms: Percentiles,
    pub resume_ms: Percentiles,
    /// Why a seed has no figure, when one has none.
    pub notes: Vec<String>,
}

/// What one seed gave.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub seed: u64,
    /// Location of the Raft leader in the steady run, and of the region the outage run lost.
    pub leader: Option<String>,
    pub lost: String,
    pub commit_p50_ms: Option<f64>,
    pub ordering_mean_ms: Option<f64>,
    pub election_ms: Option<u64>,
    pub resume_ms: Option<u64>,
    pub catch_up_ms: Option<u64>,
}

/// The latency table's figures for the same placements, pooled over transactions, blocks
/// and seeds as the measured figure beside each is.
#[derive(Clone, Debug, Serialize)]
pub struct Arithmetic {
    pub commit_floor_ms: Option<f64>,
    /// The median floor plus the median batch wait.
    pub commit_p50_ms: Option<f64>,
    /// The mean over transactions (beside the measured mean).
    pub ordering_ms: Option<f64>,
    pub quorum_rtt_ms: Option<f64>,
    pub batch_wait_ms: f64,
    /// The median over blocks (beside the measured median), by location.
    pub dissemination_ms: BTreeMap<String, f64>,
    /// Earliest and latest election after the leader's loss, when survivors can elect.
    pub election_ms: Option<[f64; 2]>,
    pub resume_min_ms: Option<f64>,
    pub catch_up_min_ms: Option<f64>,
}

fn location_of<'a>(scenario: &'a Scenario, node: &'a str) -> &'a str {
    let region = region_of(node);
    scenario
        .topology
        .regions
        .iter()
        .find(|r| r.name == region)
        .map(|r| r.location.as_str())
        .unwrap_or(region)
}

/// Pools the seeds of `candidate` into its figures and their arithmetic, in real
/// milliseconds: the steady run's figures and arithmetic (of its dilated topology) divided
/// by its dilation.
pub fn summarise(plan: &Plan, candidate: &[String; 3], runs: &[SeedRun]) -> Candidate {
    let smallest_rtt_ms = super::smallest_rtt_ms(&plan.table, candidate);
    // The factor the runs ran with (every seed of a candidate has the same).
    let dilation = runs
        .first()
        .map_or_else(|| super::dilation_for(plan, candidate), |r| r.dilation);
    let k = f64::from(dilation);
    let resolution = super::TICK.as_secs_f64() * 1000.0 / k;
    let txs = || {
        runs.iter()
            .flat_map(|r| r.steady.txs.iter().map(move |t| (r, t)))
    };
    let blocks = || {
        runs.iter()
            .flat_map(|r| r.steady.blocks.iter().map(move |b| (r, b)))
    };
    let ordering_samples: Vec<u64> = txs().map(|(_, t)| t.ordering_ms).collect();
    let ordering = Ordering {
        p50: Percentiles::of(ordering_samples.clone(), dilation).p50,
        mean: mean(ordering_samples.iter().map(|v| *v as f64 / k)),
        samples: ordering_samples.len(),
    };
    let mut dissemination: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut dissemination_arith: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (run, block) in blocks() {
        let topology = &run.steady_scenario.topology;
        for (region, ms) in &block.to_region_ms {
            let location = location_of(&run.steady_scenario, region).to_string();
            dissemination.entry(location.clone()).or_default().push(*ms);
            dissemination_arith
                .entry(location)
                .or_default()
                .push(arith::delivery_ms(topology, &block.leader, region) / k);
        }
    }
    let ordering_config = &plan.base.topology.fabric.ordering;
    let batch_wait = arith::batch_wait_ms(ordering_config, plan.rate);
    let floors = || {
        txs().map(|(r, t)| {
            arith::commit_floor_ms(&r.steady_scenario.topology, &t.gateway, &t.leader) / k
        })
    };
    let commit_floor_ms = floors().fold(None, |min: Option<f64>, f| {
        Some(min.map_or(f, |m| m.min(f)))
    });
    let mut notes = Vec::new();
    let mut survivors_rtts = Vec::new();
    let mut catch_up_min = Vec::new();
    for run in runs {
        let lost = &run.outage.lost_region;
        let topology = &run.outage_scenario.topology;
        catch_up_min.push(arith::catch_up_min_ms(topology, lost));
        match (&run.outage.leader_at_loss, plan.placement) {
            (_, Placement::First) => notes.push(format!(
                "seed {}: every ordering node is in {}, so losing it stops ordering (the procedure's stated limit); the outage run lost {} instead",
                run.seed,
                candidate[0],
                location_of(&run.outage_scenario, lost)
            )),
            (Some(leader), _) if region_of(leader) == lost => {
                let survivors: Vec<String> = arith::ordering_nodes(topology)
                    .into_iter()
                    .filter(|n| region_of(n) != lost)
                    .collect();
                if let [a, b] = survivors.as_slice() {
                    survivors_rtts.push(2.0 * arith::one_way_ms(topology, a, b));
                }
            }
            (leader, _) => notes.push(format!(
                "seed {}: the leader was {} when {} was lost",
                run.seed,
                leader.as_deref().unwrap_or("unknown"),
                location_of(&run.outage_scenario, lost)
            )),
        }
    }
    let survivors_rtt = mean(survivors_rtts.iter().copied());
    let arithmetic = Arithmetic {
        commit_floor_ms,
        commit_p50_ms: median(floors().collect()).map(|f| f + batch_wait),
        ordering_ms: mean(txs().map(|(r, t)| {
            arith::ordering_ms(
                &r.steady_scenario.topology,
                &t.gateway,
                &t.orderer,
                &t.leader,
            ) / k
        })),
        quorum_rtt_ms: mean(
            txs().map(|(r, t)| arith::quorum_rtt_ms(&r.steady_scenario.topology, &t.leader) / k),
        ),
        batch_wait_ms: batch_wait,
        dissemination_ms: dissemination_arith
            .into_iter()
            .filter_map(|(location, values)| median(values).map(|m| (location, m)))
            .collect(),
        election_ms: survivors_rtt.map(|rtt| {
            let (low, high) = arith::election_ms(ordering_config, rtt);
            [low, high]
        }),
        resume_min_ms: survivors_rtt
            .map(|rtt| arith::resume_min_ms(ordering_config, plan.rate, rtt)),
        catch_up_min_ms: mean(catch_up_min.into_iter().filter(|v| v.is_finite())),
    };
    // The outage run is not dilated.
    let collect = |pick: &dyn Fn(&SeedRun) -> Option<u64>| {
        Percentiles::of(runs.iter().filter_map(pick).collect(), 1)
    };
    Candidate {
        rank: 0,
        locations: candidate.to_vec(),
        smallest_rtt_ms,
        resolution_share: resolution / smallest_rtt_ms,
        dilation,
        latency_resolution_ms: resolution,
        commit_latency_ms: Percentiles::of(
            runs.iter()
                .flat_map(|r| r.steady.commit_ms.clone())
                .collect(),
            dilation,
        ),
        ordering_latency_ms: ordering,
        batch_wait_ms: Percentiles::of(txs().map(|(_, t)| t.batch_wait_ms).collect(), dilation),
        dissemination_ms: dissemination
            .into_iter()
            .map(|(location, samples)| (location, Percentiles::of(samples, dilation)))
            .collect(),
        leader_loss: LeaderLoss {
            election_ms: collect(&|r| r.outage.election_ms),
            resume_ms: collect(&|r| r.outage.resume_ms),
            notes,
        },
        catch_up_ms: collect(&|r| r.outage.catch_up_ms),
        floor_violations: super::floor_violations(runs),
        runs: runs
            .iter()
            .map(|run| RunSummary {
                seed: run.seed,
                leader: run
                    .steady
                    .leader
                    .as_deref()
                    .map(|l| location_of(&run.steady_scenario, l).to_string()),
                lost: location_of(&run.outage_scenario, &run.outage.lost_region).to_string(),
                commit_p50_ms: Percentiles::of(run.steady.commit_ms.clone(), dilation).p50,
                ordering_mean_ms: mean(run.steady.txs.iter().map(|t| t.ordering_ms as f64 / k)),
                election_ms: run.outage.election_ms,
                resume_ms: run.outage.resume_ms,
                catch_up_ms: run.outage.catch_up_ms,
            })
            .collect(),
        arithmetic,
    }
}

/// The median of `values` (the lower middle of an even count, as nearest-rank p50).
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let rank = values.len().div_ceil(2);
    rank.checked_sub(1).map(|i| values[i])
}

impl Bench {
    /// Ranks `candidates` by measured ordering latency (what geography decides), then by
    /// commit latency p50, then by name.
    pub fn ranked(plan: &Plan, mut candidates: Vec<Candidate>, wall: Duration) -> Bench {
        let key = |c: &Candidate| {
            (
                c.ordering_latency_ms.mean.unwrap_or(f64::INFINITY),
                c.commit_latency_ms.p50.unwrap_or(f64::INFINITY),
            )
        };
        candidates.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            ka.0.total_cmp(&kb.0)
                .then(ka.1.total_cmp(&kb.1))
                .then(a.locations.cmp(&b.locations))
        });
        for (index, candidate) in candidates.iter_mut().enumerate() {
            candidate.rank = index + 1;
        }
        Bench {
            fixture: plan.fixture.clone(),
            statistic: plan.statistic.clone(),
            template: plan.template.clone(),
            ordering: plan.placement,
            rate_per_s: plan.rate,
            batch_timeout_ms: plan.base.topology.fabric.ordering.batch_timeout.as_millis() as u64,
            duration_ms: plan.duration.as_millis() as u64,
            outage_ms: OUTAGE_FOR.as_millis() as u64,
            seeds: plan.seeds,
            latency_resolution_ms: candidates
                .iter()
                .map(|c| c.latency_resolution_ms)
                .reduce(f64::max)
                .unwrap_or(super::TICK.as_secs_f64() * 1000.0),
            recovery_resolution_ms: super::OUTAGE_TICK.as_secs_f64() * 1000.0,
            ranking: "by measured ordering latency (mean), then commit latency p50",
            candidates,
            wall_time_ms: wall.as_millis() as u64,
        }
    }

    /// The resolution's statement: the largest share of a candidate's smallest round trip
    /// that its resolution is, and how the steady runs got it.
    pub fn resolution(&self) -> String {
        let tick_ms = super::TICK.as_secs_f64() * 1000.0;
        let worst = self
            .candidates
            .iter()
            .max_by(|a, b| a.resolution_share.total_cmp(&b.resolution_share));
        let Some(worst) = worst else {
            return format!("latency resolution {tick_ms} ms (the sim's tick)");
        };
        let dilated: Vec<u32> = self
            .candidates
            .iter()
            .map(|c| c.dilation)
            .filter(|d| *d > 1)
            .collect();
        let how = match dilated.iter().max() {
            None => "the sim's tick".to_string(),
            Some(most) => format!(
                "the sim's {tick_ms} ms tick, with time dilated up to {most}x in the steady runs of {} of {} candidate(s), as their smallest round trips need",
                dilated.len(),
                self.candidates.len()
            ),
        };
        let verdict = if worst.resolution_share <= RESOLUTION_TARGET {
            "within"
        } else {
            "ABOVE"
        };
        format!(
            "latency resolution {} ms ({how}): {:.1} % of the smallest round trip measured ({} ms, {}), {verdict} the {} % target; recovery figures at {} ms",
            worst.latency_resolution_ms,
            worst.resolution_share * 100.0,
            worst.smallest_rtt_ms,
            worst.locations.join(","),
            RESOLUTION_TARGET * 100.0,
            self.recovery_resolution_ms
        )
    }

    /// The ranked table and its notes, as Markdown (also what stdout shows).
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# hadr bench regions\n");
        let _ = writeln!(
            md,
            "{} ({}); ordering `{}`; {} tx/s; BatchTimeout {} ms; steady run {} s, outage run loses a region for {} s; {} seed(s); ranked {}.\n",
            self.fixture,
            self.statistic,
            match self.ordering {
                Placement::Spread => "spread",
                Placement::First => "first",
            },
            self.rate_per_s,
            self.batch_timeout_ms,
            self.duration_ms / 1000,
            self.outage_ms / 1000,
            self.seeds,
            self.ranking
        );
        let _ = writeln!(md, "{}.\n", self.resolution());
        let _ = writeln!(
            md,
            "| # | locations | commit p50 / p95 / p99 ms (arith p50, floor) | ordering ms (arith) | dissemination p50 ms (arith floor) | new leader s (arith) | blocks resume s (arith) | catch-up s (arith) |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
        for c in &self.candidates {
            let a = &c.arithmetic;
            let commit = format!(
                "{} / {} / {} ({}, {})",
                ms(c.commit_latency_ms.p50),
                ms(c.commit_latency_ms.p95),
                ms(c.commit_latency_ms.p99),
                ms(a.commit_p50_ms),
                ms(a.commit_floor_ms)
            );
            let ordering = format!("{} ({})", ms(c.ordering_latency_ms.mean), ms(a.ordering_ms));
            let dissemination = c
                .locations
                .iter()
                .map(|l| {
                    format!(
                        "{l} {} ({})",
                        ms(c.dissemination_ms.get(l).and_then(|p| p.p50)),
                        ms(a.dissemination_ms.get(l).copied())
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let election = format!(
                "{} ({})",
                secs(c.leader_loss.election_ms.p50),
                a.election_ms
                    .map(|[low, high]| format!("{:.1}–{:.1}", low / 1000.0, high / 1000.0))
                    .unwrap_or_else(|| "no quorum survives".into())
            );
            let resume = format!(
                "{} ({})",
                secs(c.leader_loss.resume_ms.p50),
                a.resume_min_ms
                    .map(|v| format!("≥ {:.1}", v / 1000.0))
                    .unwrap_or_else(|| "-".into())
            );
            let catch_up = format!(
                "{} ({})",
                secs(c.catch_up_ms.p50),
                a.catch_up_min_ms
                    .map(|v| format!("≥ {:.2}", v / 1000.0))
                    .unwrap_or_else(|| "-".into())
            );
            let _ = writeln!(
                md,
                "| {} | {} | {commit} | {ordering} | {dissemination} | {election} | {resume} | {catch_up} |",
                c.rank,
                c.locations.join(",")
            );
        }
        let _ = writeln!(md);
        let _ = writeln!(
            md,
            "Measured figures are medians over every transaction, block or seed (ordering latency: the mean); (arith) is what the latency table alone gives for the same placements: one-way = half the round trip, the leader's quorum round trip, the fastest delivery from the leader (directly or through a follower), Raft's election timeout and BatchTimeout. Ordering latency is broadcast to block written at the leader without the batch wait; dissemination is block written at the leader to the region's last peer committing it. The sim adds up to a tick per hop and its processes' own steps."
        );
        let notes: Vec<&String> = self
            .candidates
            .iter()
            .flat_map(|c| c.leader_loss.notes.iter())
            .collect();
        for note in notes {
            let _ = writeln!(md, "\n- {note}");
        }
        for c in self
            .candidates
            .iter()
            .filter(|c| !c.floor_violations.is_empty())
        {
            let _ = writeln!(
                md,
                "\n**{}: {} transaction(s) committed below the physical floor** (first: {:.1} ms < {:.1} ms)",
                c.locations.join(","),
                c.floor_violations.len(),
                c.floor_violations[0].commit_ms,
                c.floor_violations[0].floor_ms
            );
        }
        md
    }

    /// Per candidate, commit latency p50 and p99 bars with the arithmetic floor marked.
    pub fn svg(&self) -> String {
        const LEFT: f64 = 260.0;
        const WIDTH: f64 = 900.0;
        const ROW: f64 = 44.0;
        const TOP: f64 = 60.0;
        let plot = WIDTH - LEFT - 40.0;
        let max = self
            .candidates
            .iter()
            .filter_map(|c| c.commit_latency_ms.p99)
            .reduce(f64::max)
            .unwrap_or(1.0)
            .max(1.0);
        let x = |ms: f64| LEFT + plot * ms / max;
        let height = TOP + ROW * self.candidates.len() as f64 + 40.0;
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(
            svg,
            r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
        );
        let _ = writeln!(
            svg,
            r#"<text x="10" y="20" font-size="15">Commit latency per candidate: p50 (dark) and p99 (light) bars, physical floor (red line), ms</text>"#
        );
        let _ = writeln!(
            svg,
            r##"<text x="10" y="40" fill="#555">{}</text>"##,
            escape(&self.resolution())
        );
        for (i, c) in self.candidates.iter().enumerate() {
            let y = TOP + ROW * i as f64;
            let _ = writeln!(
                svg,
                r#"<text x="10" y="{:.1}">{}. {}</text>"#,
                y + 20.0,
                c.rank,
                escape(&c.locations.join(", "))
            );
            for (value, dy, fill, label) in [
                (c.commit_latency_ms.p99, 18.0, "#9ecae1", "p99"),
                (c.commit_latency_ms.p50, 4.0, "#3182bd", "p50"),
            ] {
                if let Some(v) = value {
                    let _ = writeln!(
                        svg,
                        r#"<rect x="{LEFT}" y="{:.1}" width="{:.1}" height="13" fill="{fill}"/><text x="{:.1}" y="{:.1}" font-size="11">{label} {}</text>"#,
                        y + dy,
                        x(v) - LEFT,
                        x(v) + 4.0,
                        y + dy + 11.0,
                        ms(Some(v))
                    );
                }
            }
            if let Some(floor) = c.arithmetic.commit_floor_ms {
                let _ = writeln!(
                    svg,
                    r##"<line x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}" stroke="#d62728" stroke-width="2"/><text x="{0:.1}" y="{3:.1}" font-size="10" fill="#d62728" text-anchor="middle">floor {4:.0}</text>"##,
                    x(floor),
                    y + 2.0,
                    y + 33.0,
                    y + 42.0,
                    floor
                );
            }
        }
        let _ = writeln!(svg, "</svg>");
        svg
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn ms(value: Option<f64>) -> String {
    value
        .filter(|v| v.is_finite())
        .map(|v| {
            if v < 10.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.0}")
            }
        })
        .unwrap_or_else(|| "-".into())
}

fn secs(value: Option<f64>) -> String {
    value
        .map(|v| format!("{:.1}", v / 1000.0))
        .unwrap_or_else(|| "-".into())
}

/// Writes DIR/bench.md, DIR/bench.json and DIR/bench.svg.
pub fn write_all(dir: &std::path::Path, bench: &Bench) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(bench).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("bench.md"), bench.markdown())?;
    std::fs::write(dir.join("bench.json"), json + "\n")?;
    std::fs::write(dir.join("bench.svg"), bench.svg())
}
