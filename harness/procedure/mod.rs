//! The documented runbook: the published procedure as typed actions tied to its doc anchors
//! (runbook.rs), applied to a scenario as an ordered plan (plan.rs), and checked against any
//! published translation (doc.rs reads one, check.rs compares).

pub mod check;
pub mod doc;
pub mod mutation;
pub mod plan;
pub mod runbook;

pub use plan::{plan, Plan, PlannedStep, StepStatus};
pub use runbook::{Action, Performer};
