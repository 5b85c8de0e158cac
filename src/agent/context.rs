//! Keeping a conversation inside the model's context window. Each model's window is
//! known from `[models."name"] context_window`, a built-in table, or learned from the
//! provider's "too long" error; a conversation that would not fit is compacted: the system
//! prompt, the task and the latest turns stay, older tool output becomes a short stub
//! saying what was elided and how to get it again. The agent never loses its task.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::llm::{Message, estimate_tokens};

/// Context windows by model: configured, learned at run time, or from the table.
#[derive(Debug, Default)]
pub struct Windows {
    configured: HashMap<String, u64>,
    learned: Mutex<HashMap<String, u64>>,
}

/// Known windows, by model-name prefix (a vendor prefix such as `openai/` is looked
/// through). Conservative where a family varies.
const TABLE: &[(&str, u64)] = &[
    ("claude-", 200_000),
    ("gpt-5", 400_000),
    ("gpt-4.1", 1_000_000),
    ("gpt-4o", 128_000),
    ("gpt-4-turbo", 128_000),
    ("gpt-3.5-turbo", 16_385),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4", 200_000),
    ("gemini-", 1_000_000),
    // Families whose window varies by version (llama 3 vs 3.1, qwen 2 vs 2.5…) are left
    // out: a wrong guess would compact a 128k model at 6k; their window is learned from
    // the provider's first "too long" answer or set in [models."name"].
];

impl Windows {
    pub fn new(configured: HashMap<String, u64>) -> Self {
        Windows {
            configured,
            learned: Mutex::default(),
        }
    }

    /// The window of `model`, if anything says.
    pub fn of(&self, model: &str) -> Option<u64> {
        let learned = self
            .learned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(model)
            .copied();
        learned
            .or_else(|| self.configured.get(model).copied())
            .or_else(|| {
                let bare = model.rsplit('/').next().unwrap_or(model);
                TABLE
                    .iter()
                    .find(|(prefix, _)| bare.starts_with(prefix))
                    .map(|(_, n)| *n)
            })
    }

    /// What a provider's error said the window is.
    pub fn learn(&self, model: &str, limit: u64) {
        self.learned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(model.to_string(), limit);
    }
}

fn message_tokens(m: &Message) -> u64 {
    estimate_tokens(&serde_json::to_string(m).unwrap_or_default())
}

pub fn conversation_tokens(messages: &[Message]) -> u64 {
    messages.iter().map(message_tokens).sum()
}

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compaction {
    pub tokens_before: u64,
    pub tokens_after: u64,
    /// Tool results and long arguments replaced by stubs.
    pub elided: usize,
}

const STUB_OVER: usize = 300;

/// Shrinks `messages` (estimated) to at most `target` tokens: older tool output and long
/// tool arguments become stubs, oldest first; `messages[0]` (the task) and the newest
/// assistant turn with its results stay whole. `None` when nothing could be elided.
pub fn compact(messages: &mut [Message], target: u64) -> Option<Compaction> {
    let before = conversation_tokens(messages);
    // The newest assistant turn and the tool results after it stay as they are.
    let keep_from = messages
        .iter()
        .rposition(|m| matches!(m, Message::Assistant { .. }))
        .unwrap_or(messages.len())
        .max(1);
    let mut now = before;
    let mut elided = 0;
    for m in messages.iter_mut().take(keep_from).skip(1) {
        if now <= target {
            break;
        }
        let old = message_tokens(m);
        if stub(m) {
            elided += 1;
            now = now - old + message_tokens(m);
        }
    }
    (elided > 0).then_some(Compaction {
        tokens_before: before,
        tokens_after: now,
        elided,
    })
}

/// Replaces a message's bulk with a note; false when there was nothing to replace.
fn stub(m: &mut Message) -> bool {
    match m {
        Message::Tool { name, content, .. } if content.len() > STUB_OVER => {
            let first: String = content
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(120)
                .collect();
            *content = format!(
                "[elided by the harness to fit the context window: {} bytes of {name} output, starting `{first}`; call {name} again if you still need it]",
                content.len()
            );
            true
        }
        Message::Assistant {
            text, tool_calls, ..
        } => {
            let mut changed = false;
            if let Some(t) = text
                && t.len() > STUB_OVER
            {
                let head: String = t.chars().take(200).collect();
                *t = format!("{head} […elided to fit the context window]");
                changed = true;
            }
            for c in tool_calls {
                if let Value::Object(args) = &mut c.arguments {
                    for v in args.values_mut() {
                        if let Value::String(s) = v
                            && s.len() > STUB_OVER
                        {
                            *s = format!(
                                "[{} bytes elided by the harness to fit the context window]",
                                s.len()
                            );
                            changed = true;
                        }
                    }
                }
            }
            changed
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ToolCall;

    fn convo() -> Vec<Message> {
        let mut v = vec![Message::User {
            text: "Feature m1-f1: write the parser".into(),
        }];
        for i in 0..6 {
            v.push(Message::Assistant {
                reasoning: vec![],
                text: Some(format!("reading file {i}")),
                tool_calls: vec![ToolCall {
                    id: format!("c{i}"),
                    name: "read_file".into(),
                    arguments: serde_json::json!({"path": format!("src/{i}.rs")}),
                }],
            });
            v.push(Message::Tool {
                call_id: format!("c{i}"),
                name: "read_file".into(),
                content: format!("line of file {i}\n").repeat(400),
                is_error: false,
            });
        }
        v
    }

    #[test]
    fn compaction_keeps_the_task_and_the_latest_turn_and_says_what_it_elided() {
        let mut m = convo();
        let before = conversation_tokens(&m);
        let c = compact(&mut m, before / 3).unwrap();
        assert!(c.tokens_after <= before / 3, "{c:?}");
        assert_eq!(c.tokens_before, before);
        assert!(matches!(&m[0], Message::User { text } if text.starts_with("Feature m1-f1")));
        // The newest result is whole; the oldest is a stub that says how to get it back.
        let Message::Tool { content, .. } = &m[m.len() - 1] else {
            panic!()
        };
        assert!(content.starts_with("line of file 5"));
        let Message::Tool { content, .. } = &m[2] else {
            panic!()
        };
        assert!(content.contains("elided") && content.contains("call read_file again"));
        // Calls and results still pair up.
        assert_eq!(m.len(), convo().len());
        // Nothing left to elide: None.
        let mut small = vec![Message::User { text: "t".into() }];
        assert!(compact(&mut small, 1).is_none());
    }

    #[test]
    fn windows_come_from_config_then_learning_then_the_table() {
        let w = Windows::new(HashMap::from([("my-model".to_string(), 5000)]));
        assert_eq!(w.of("my-model"), Some(5000));
        assert_eq!(w.of("claude-sonnet-4-5"), Some(200_000));
        assert_eq!(w.of("openai/gpt-4o-mini"), Some(128_000));
        assert_eq!(w.of("unknown"), None);
        w.learn("unknown", 3000);
        assert_eq!(w.of("unknown"), Some(3000));
    }
}
