//! The domain: plan, events, handoffs, ops and the state fold. Imports no UI, HTTP or
//! git crate, so every consumer (runner, headless printer, status, TUI) shares it.

pub mod budget;
pub mod estimate;
pub mod event;
pub mod fleet;
pub mod handoff;
pub mod narrate;
pub mod op;
pub mod outcome;
pub mod plan;
pub mod plan_check;
pub mod pricing;
pub mod state;
pub mod status;
pub mod synthetic;
pub mod transcript;

pub use budget::Limits;
pub use event::{
    Event, EventRecord, Failure, Finding, Gate, Reviewer, Role, Severity, TestResult,
    read_tag_first,
};
pub use handoff::{
    CommandRecord, DiffStat, Handoff, HandoffStatus, McpCallRecord, Usage, WorkerReport,
};
pub use op::{Op, OpReply, decide};
pub use outcome::Outcome;
pub use plan::{Assertion, AssertionKind, FeaturePlan, MilestonePlan, Plan};
pub use state::{MissionState, Phase, Policy, Step};
pub use status::Status;
