//! The expectations a platform team writes about stalls, on simulated runs of scenarios built
//! to break them (tests/fixtures/scenarios/); scenarios/multi-region-ha.yaml, where both hold,
//! is run in tests/documented.rs.

mod common;

use common::run::{expectation, load, run};

#[test]
fn blocks_continue_fails_where_a_region_is_cut_off_from_the_ordering_service() {
    let (report, _) = run(&load("tests/fixtures/scenarios/blocks-stall.yaml"));
    let result = expectation(&report, "blocks_continue");
    assert!(!result.passed, "{}", result.detail);
    assert!(
        result.detail.contains("us-west saw no new block for"),
        "{}",
        result.detail
    );
    // The regions on the ordering service's side kept seeing blocks.
    assert!(!result.detail.contains("us-east saw"), "{}", result.detail);
    assert!(
        !result.detail.contains("ca-central saw"),
        "{}",
        result.detail
    );
    assert!(
        result
            .detail
            .contains("expected: the ordering service is not multi-region"),
        "{}",
        result.detail
    );
}

#[test]
fn commit_latency_fails_while_the_link_to_the_ordering_service_is_slow() {
    let (report, _) = run(&load(
        "tests/fixtures/scenarios/commit-latency-slow-link.yaml",
    ));
    let result = expectation(&report, "commit_latency");
    assert!(!result.passed, "{}", result.detail);
    assert!(
        result.detail.starts_with("p99 commit latency "),
        "{}",
        result.detail
    );
    // A latency fault is no documented limit.
    assert!(!result.detail.contains("expected:"), "{}", result.detail);
}
