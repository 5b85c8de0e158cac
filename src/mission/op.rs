//! Ops: what a human (TUI keys, `mission approve`, …) asks of a running mission.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// `gate` names the gate decided on (the seq of the event that opened it, as in
    /// `status --json`); a decision for a gate that is no longer open is refused. Without
    /// it (`{"op":"approve"}`, the older form) the gate open now is meant.
    Approve {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gate: Option<u64>,
    },
    Reject {
        note: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gate: Option<u64>,
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

/// An op on the control socket: the op and the id its reply echoes (clients that send
/// none, the older form, get none back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(flatten)]
    pub op: Op,
}

/// The runner's answer to an `Op`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpReply {
    pub ok: bool,
    pub message: String,
    /// The request's id, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
}

impl OpReply {
    pub fn ok(message: impl Into<String>) -> Self {
        OpReply {
            ok: true,
            message: message.into(),
            id: None,
        }
    }
    pub fn refused(message: impl Into<String>) -> Self {
        OpReply {
            ok: false,
            message: message.into(),
            id: None,
        }
    }
}

/// Why a decision naming gate `asked` cannot be taken, when that gate is not the open one.
fn stale(st: &MissionState, asked: Option<u64>) -> Option<String> {
    let asked = asked?;
    match &st.gate {
        Some(_) if st.gate_id == asked => None,
        Some((gate, _)) => Some(format!(
            "nothing was decided: the gate you answered (#{asked}) is no longer open; {gate} (#{}) is open now — look at it, then decide",
            st.gate_id
        )),
        None => Some(format!(
            "nothing was decided: the gate you answered (#{asked}) is no longer open, and nothing waits for approval now"
        )),
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
    if let Op::Reject { note: text, .. } | Op::Say { text } | Op::Abort { note: text } = op
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
        Op::Approve { gate: asked } | Op::Reject { gate: asked, .. }
            if stale(st, *asked).is_some() =>
        {
            Err(stale(st, *asked).unwrap_or_default())
        }
        Op::Approve { .. } => match &st.gate {
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
        Op::Reject { note, .. } => {
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
