//! Ops: what a human (TUI keys, `mission approve`, …) asks of a running mission.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    Approve,
    Reject {
        note: String,
    },
    Pause,
    Unpause,
    Say {
        text: String,
    },
    /// End the mission for good, as failed: a human gives up on it (the next `start`
    /// archives it).
    Abort {
        note: String,
    },
    /// Ask for nothing; answers whether a runner is alive.
    Ping,
}

/// The runner's answer to an `Op`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpReply {
    pub ok: bool,
    pub message: String,
}

impl OpReply {
    pub fn ok(message: impl Into<String>) -> Self {
        OpReply {
            ok: true,
            message: message.into(),
        }
    }
    pub fn refused(message: impl Into<String>) -> Self {
        OpReply {
            ok: false,
            message: message.into(),
        }
    }
}

use super::event::{Event, Gate};
use super::state::MissionState;

/// Decides what an op means for the mission as it stands: the event to record and the
/// answer for the human, or why it is refused. Shared by the live runner (control socket)
/// and by `mission approve` & co. when no runner is alive.
/// Why the mission is paused when a human paused it (`mission pause`, `p`).
pub const HUMAN_PAUSE: &str = "paused by a human";

/// The longest note or message a human can send: it becomes an event and a prompt.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;

pub fn decide(st: &MissionState, op: &Op) -> Result<(Option<Event>, String), String> {
    if let Op::Reject { note: text } | Op::Say { text } | Op::Abort { note: text } = op
        && text.len() > MAX_MESSAGE_BYTES
    {
        return Err(format!(
            "the message is {} bytes; at most {MAX_MESSAGE_BYTES} are accepted — shorten it or point to a file",
            text.len()
        ));
    }
    if st.goal.is_empty() {
        return Err("no mission here yet; start one with `mission start \"<goal>\"`".into());
    }
    let finished = st.completed.is_some() || st.failed.is_some();
    match op {
        Op::Ping => Ok((None, "runner is alive".into())),
        _ if finished => Err("the mission has ended; nothing to control".into()),
        Op::Approve => match &st.gate {
            Some((gate, _)) => Ok((
                Some(Event::GateApproved {
                    gate: gate.clone(),
                    auto: false,
                }),
                format!("approved: {gate}"),
            )),
            None => Err(format!(
                "nothing is waiting for approval (the mission is {})",
                st.phase().as_str().replace('_', " ")
            )),
        },
        Op::Reject { note } => {
            if note.trim().is_empty() {
                return Err("a rejection needs a note saying what to change: --note \"…\"".into());
            }
            match &st.gate {
                Some((gate, _)) => Ok((
                    Some(Event::GateRejected {
                        gate: gate.clone(),
                        note: note.clone(),
                    }),
                    match gate {
                        Gate::Plan => {
                            "rejected: the orchestrator will re-plan with your note".into()
                        }
                        _ => format!("rejected: {gate}; your note goes to the orchestrator"),
                    },
                )),
                None => Err("nothing is waiting for approval".into()),
            }
        }
        Op::Pause => match &st.paused {
            Some(r) => Ok((None, format!("already paused: {r}"))),
            None => Ok((
                Some(Event::Paused {
                    reason: HUMAN_PAUSE.into(),
                }),
                "paused: no new agent turn will start until `mission unpause`".into(),
            )),
        },
        Op::Unpause => match &st.paused {
            Some(_) => Ok((Some(Event::Unpaused), "unpaused".into())),
            None => Ok((None, "not paused".into())),
        },
        Op::Abort { note } => {
            if note.trim().is_empty() {
                return Err("abandoning a mission needs a note saying why: --note \"…\"".into());
            }
            Ok((
                Some(Event::MissionFailed {
                    reason: format!("abandoned by a human: {}", note.trim()),
                }),
                "abandoned: the runner stops after the step in progress; `mission start` can begin anew".into(),
            ))
        }
        Op::Say { text } => {
            if text.trim().is_empty() {
                return Err("the message is empty".into());
            }
            Ok((
                Some(Event::MessageSaid { text: text.clone() }),
                "message queued: the orchestrator reads it before its next decision".into(),
            ))
        }
    }
}
