//! How a run of the mission loop ended, as the runner and every console see it.

/// How a run of the loop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Completed {
        report: String,
    },
    Failed {
        reason: String,
    },
    /// Waiting for a human who is not there (`--auto-approve`): exit 3, `mission resume` later.
    NeedsHuman {
        reason: String,
    },
}

impl Outcome {
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Completed { .. } => 0,
            Outcome::Failed { .. } => 1,
            Outcome::NeedsHuman { .. } => 3,
        }
    }
}
