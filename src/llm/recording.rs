//! Record and replay of provider exchanges (`mission eval run --record`, `mission eval
//! replay`). A recording holds what the harness asked — system prompt, conversation,
//! tools offered, forced tool, in the provider-neutral form of [`Request`] — and what the
//! model answered. A replay answers from the recording and compares what the harness asks
//! now with what it asked then, so a change to a prompt, a tool or the loop shows up as a
//! divergence without a key or a network.
//!
//! Volatile parts (temporary paths, times, durations) are masked on both sides; answers
//! are kept as given, since a model's arguments are what it meant.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{LlmClient, LlmError, Message, Request, Response, ToolCall, ToolSpec};
use crate::mission::{Role, Usage};

/// One provider exchange, a line of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub role: Role,
    /// `provider/model` that answered.
    pub label: String,
    /// Model calls before this one in the same agent run.
    pub turn: usize,
    pub request: Asked,
    pub response: Answered,
}

/// What the harness asked, masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asked {
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answered {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasoning: Vec<Value>,
    pub usage: Usage,
}

impl Asked {
    fn of(req: &Request<'_>) -> Asked {
        let raw = Asked {
            system: req.system.to_string(),
            messages: req.messages.to_vec(),
            tools: req.tools.to_vec(),
            tool_choice: req.tool_choice.map(str::to_string),
        };
        // Masking every string of the JSON form reaches tool arguments too.
        let mut v = serde_json::to_value(&raw).unwrap_or(Value::Null);
        mask_value(&mut v);
        serde_json::from_value(v).unwrap_or(raw)
    }

    /// The run's task: its first user message.
    pub fn task(&self) -> &str {
        self.messages
            .iter()
            .find_map(|m| match m {
                Message::User { text } => Some(text.as_str()),
                _ => None,
            })
            .unwrap_or("")
    }
}

/// Replaces what changes from run to run with a placeholder.
pub fn mask(text: &str) -> String {
    static RULES: LazyLock<Vec<(regex::Regex, &'static str)>> = LazyLock::new(|| {
        [
            // Temporary directories (tempfile's `.tmpXXXXXX`, mktemp's `tmp.XXXXXXXXXX`)
            // and everything under them.
            (
                r"(/[^\s/'`]+)*/(\.tmp[A-Za-z0-9]{6}|tmp\.[A-Za-z0-9]{10})(/[^\s'`]*[^\s'`.,:;)\]])?",
                "<tmp>",
            ),
            (
                r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
                "<time>",
            ),
            (r"\b\d+\.\d+\s?(ms|s|µs)\b", "<duration>"),
            // Whether a launched program is still running when its screen is read
            // depends on the machine's speed.
            (
                r"(\[screen \d+×\d+), program [^\]\n]*\]",
                "$1, <program state>]",
            ),
        ]
        .into_iter()
        .map(|(p, to)| (regex::Regex::new(p).expect("a valid pattern"), to))
        .collect()
    });
    static HEX: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\b[0-9a-f]{7,40}\b").expect("a valid pattern"));
    let mut out = text.to_string();
    for (re, to) in RULES.iter() {
        if re.is_match(&out) {
            out = re.replace_all(&out, *to).into_owned();
        }
    }
    // Commit ids change with every commit's time; a word of hex letters only stays.
    if HEX.is_match(&out) {
        out = HEX
            .replace_all(&out, |c: &regex::Captures<'_>| {
                let s = &c[0];
                if s.bytes().any(|b| b.is_ascii_digit())
                    && s.bytes().any(|b| b.is_ascii_alphabetic())
                {
                    "<sha>".to_string()
                } else {
                    s.to_string()
                }
            })
            .into_owned();
    }
    out
}

fn mask_value(v: &mut Value) {
    match v {
        Value::String(s) => *s = mask(s),
        Value::Array(a) => a.iter_mut().for_each(mask_value),
        Value::Object(o) => o.values_mut().for_each(mask_value),
        _ => {}
    }
}

fn turn_of(req: &Request<'_>) -> usize {
    req.messages
        .iter()
        .filter(|m| matches!(m, Message::Assistant { .. }))
        .count()
}

/// Appends every exchange of the clients it wraps to one file (JSON lines).
pub struct Recorder {
    file: Mutex<std::fs::File>,
}

impl Recorder {
    pub fn create(path: &Path) -> Result<Arc<Recorder>, LlmError> {
        let fail = |e: std::io::Error| {
            LlmError::Unavailable(format!("cannot record to {}: {e}", path.display()))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(fail)?;
        Ok(Arc::new(Recorder {
            file: Mutex::new(file),
        }))
    }

    fn write(&self, x: &Exchange) {
        let Ok(mut line) = serde_json::to_string(x) else {
            return;
        };
        line.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // One write per line: parallel validators never interleave inside a line.
        if let Err(e) = f.write_all(line.as_bytes()) {
            tracing::warn!("recording an exchange: {e}");
        }
    }
}

pub struct RecordingClient {
    pub inner: Arc<dyn LlmClient>,
    pub role: Role,
    pub recorder: Arc<Recorder>,
}

#[async_trait::async_trait]
impl LlmClient for RecordingClient {
    fn label(&self) -> String {
        self.inner.label()
    }

    async fn complete(&self, req: Request<'_>) -> Result<Response, LlmError> {
        let resp = self.inner.complete(req).await?;
        self.recorder.write(&Exchange {
            role: self.role,
            label: self.inner.label(),
            turn: turn_of(&req),
            request: Asked::of(&req),
            response: Answered {
                text: resp.text.clone(),
                tool_calls: resp.tool_calls.clone(),
                reasoning: resp.reasoning.clone(),
                usage: resp.usage.clone(),
            },
        });
        Ok(resp)
    }
}

/// Reads a recording.
pub fn load(path: &Path) -> Result<Vec<Exchange>, LlmError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LlmError::Script(format!("cannot read {}: {e}", path.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| LlmError::Script(format!("{}:{}: {e}", path.display(), i + 1)))
        })
        .collect()
}

/// One request of a replay: which recorded exchange answered it, and how the request
/// differs from the recorded one (empty when the harness asked the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replayed {
    pub role: Role,
    pub turn: usize,
    /// The run's task, shortened.
    pub task: String,
    pub exchange: Option<usize>,
    pub differences: Vec<Difference>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// A JSON path into the request, e.g. `tools[3].name`.
    pub path: String,
    pub recorded: String,
    pub now: String,
}

/// Answers from a recording and notes, per request, how it differs from the recorded one.
pub struct ReplayClient {
    role: Role,
    label: String,
    shared: Arc<Replay>,
}

/// The recording, shared by every role's client: which exchanges were used, and the
/// log of the replay (`replay.jsonl` beside the mission's log).
pub struct Replay {
    exchanges: Vec<Exchange>,
    used: Mutex<HashSet<usize>>,
    log: Mutex<std::fs::File>,
}

impl Replay {
    pub fn open(recording: &Path, log: &Path) -> Result<Arc<Replay>, LlmError> {
        let exchanges = load(recording)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| LlmError::Unavailable(format!("{}: {e}", log.display())))?;
        Ok(Arc::new(Replay {
            exchanges,
            used: Mutex::new(HashSet::new()),
            log: Mutex::new(log),
        }))
    }

    /// The recorded exchange for this request: the same role, turn and task, unused; else
    /// (the task itself changed) the unused one of that role and turn whose task is the
    /// most alike.
    fn pick(&self, role: Role, asked: &Asked, turn: usize) -> Option<usize> {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let candidates = || {
            self.exchanges
                .iter()
                .enumerate()
                .filter(|(i, x)| x.role == role && x.turn == turn && !used.contains(i))
        };
        let exact = candidates()
            .find(|(_, x)| x.request.task() == asked.task())
            .map(|(i, _)| i);
        let chosen = exact.or_else(|| {
            candidates()
                .map(|(i, x)| {
                    (
                        i,
                        strsim::normalized_levenshtein(x.request.task(), asked.task()),
                    )
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
        })?;
        used.insert(chosen);
        Some(chosen)
    }

    fn note(&self, r: &Replayed) {
        if let Ok(mut line) = serde_json::to_string(r) {
            line.push('\n');
            let mut f = self.log.lock().unwrap_or_else(|p| p.into_inner());
            let _ = f.write_all(line.as_bytes());
        }
    }
}

impl ReplayClient {
    pub fn new(shared: Arc<Replay>, role: Role, model: &str) -> ReplayClient {
        ReplayClient {
            role,
            label: format!("replay/{model}"),
            shared,
        }
    }
}

#[async_trait::async_trait]
impl LlmClient for ReplayClient {
    fn label(&self) -> String {
        self.label.clone()
    }

    async fn complete(&self, req: Request<'_>) -> Result<Response, LlmError> {
        let asked = Asked::of(&req);
        let turn = turn_of(&req);
        let picked = self.shared.pick(self.role, &asked, turn);
        let mut noted = Replayed {
            role: self.role,
            turn,
            task: asked.task().chars().take(100).collect(),
            exchange: picked,
            differences: vec![],
        };
        let Some(i) = picked else {
            self.shared.note(&noted);
            return Err(LlmError::Script(format!(
                "replay: the recording has no answer for the {} at turn {} of the task starting {:?}: the harness now asks more than it did",
                self.role,
                turn + 1,
                noted.task
            )));
        };
        let x = &self.shared.exchanges[i];
        noted.differences = differences(&x.request, &asked, 5);
        self.shared.note(&noted);
        Ok(Response {
            text: x.response.text.clone(),
            tool_calls: x.response.tool_calls.clone(),
            reasoning: x.response.reasoning.clone(),
            usage: x.response.usage.clone(),
        })
    }
}

/// Up to `max` places where two requests differ, as JSON paths, each with both values.
pub fn differences(recorded: &Asked, now: &Asked, max: usize) -> Vec<Difference> {
    let a = serde_json::to_value(recorded).unwrap_or(Value::Null);
    let b = serde_json::to_value(now).unwrap_or(Value::Null);
    let mut out = vec![];
    walk(&a, &b, String::new(), &mut out, max);
    out
}

fn walk(a: &Value, b: &Value, path: String, out: &mut Vec<Difference>, max: usize) {
    if out.len() >= max || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    p,
                    out,
                    max,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                walk(
                    x.get(i).unwrap_or(&Value::Null),
                    y.get(i).unwrap_or(&Value::Null),
                    format!("{path}[{i}]"),
                    out,
                    max,
                );
            }
        }
        (Value::String(x), Value::String(y)) => {
            let (recorded, now) = around_first_difference(x, y);
            out.push(Difference {
                path,
                recorded,
                now,
            })
        }
        _ => out.push(Difference {
            path,
            recorded: short(a),
            now: short(b),
        }),
    }
}

/// Two long texts shown where they part: a little before the first differing character,
/// and what follows in each.
fn around_first_difference(a: &str, b: &str) -> (String, String) {
    let at = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map(|((i, _), _)| i)
        .unwrap_or(a.len().min(b.len()));
    let start = a[..at].char_indices().rev().nth(39).map_or(0, |(i, _)| i);
    let cut = |s: &str| {
        let tail: String = s[start.min(s.len())..].chars().take(100).collect();
        let more = s.len() > start + tail.len();
        format!(
            "{}{tail}{}",
            if start > 0 { "…" } else { "" },
            if more { "…" } else { "" }
        )
    };
    (cut(a), cut(b))
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => "(absent)".into(),
        other => other.to_string(),
    };
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

/// Where a replay writes what it found, beside the mission's log.
pub fn replay_log(mission_dir: &Path) -> PathBuf {
    mission_dir.join("replay.jsonl")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_parts_are_masked() {
        assert_eq!(
            mask("cwd /tmp/.tmpAbC123/repo/src/x.rs, done in 0.42s at 2026-12-04T15:00:01.5Z"),
            "cwd <tmp>, done in <duration> at <time>"
        );
        assert_eq!(
            mask("/root/.local/share/mission/tmp.X1y2Z3w4v5/wt."),
            "<tmp>."
        );
        assert_eq!(
            mask("m1-f1 (done, commit 3e69c86f) after deadbeef, 12345678"),
            "m1-f1 (done, commit <sha>) after deadbeef, 12345678"
        );
        assert_eq!(
            mask("[screen 100×30, program exited with code 0]\nHello"),
            "[screen 100×30, <program state>]\nHello"
        );
        // What is not volatile stays.
        assert_eq!(mask("see src/tmpl_loader.rs"), "see src/tmpl_loader.rs");
        assert_eq!(
            mask("poll every 5000 ms in src/tmp.rs"),
            "poll every 5000 ms in src/tmp.rs"
        );
    }

    fn asked(tools: &[&str], task: &str) -> Asked {
        Asked {
            system: "s".into(),
            messages: vec![Message::User { text: task.into() }],
            tools: tools
                .iter()
                .map(|n| ToolSpec {
                    name: (*n).into(),
                    description: String::new(),
                    parameters: serde_json::json!({}),
                })
                .collect(),
            tool_choice: None,
        }
    }

    #[test]
    fn differences_name_their_path() {
        let a = asked(&["read_file", "edit_file"], "do x");
        assert!(differences(&a, &a, 5).is_empty());
        let b = asked(&["view_file", "edit_file"], "do x");
        assert_eq!(
            differences(&a, &b, 5),
            vec![Difference {
                path: "tools[0].name".into(),
                recorded: "read_file".into(),
                now: "view_file".into()
            }]
        );
        let c = asked(&["read_file"], "do x");
        let gone = &differences(&a, &c, 5)[0];
        assert_eq!(
            (gone.path.as_str(), gone.now.as_str()),
            ("tools[1]", "(absent)")
        );
        // A long text is shown where it parts.
        let long = "x".repeat(300);
        let d = differences(
            &asked(&[], &format!("{long} then A and more")),
            &asked(&[], &format!("{long} then B and more")),
            5,
        );
        assert_eq!(d[0].path, "messages[0].text");
        assert!(d[0].recorded.ends_with("x then A and more"), "{:?}", d[0]);
        assert!(d[0].now.ends_with("x then B and more"), "{:?}", d[0]);
        assert!(d[0].now.starts_with('…'));
    }
}
