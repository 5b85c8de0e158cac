//! Structured handoffs: what a worker says it did, plus what the harness saw it do.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum HandoffStatus {
    Done,
    Partial,
    Blocked,
}

impl HandoffStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The arguments of `submit_handoff`, as the worker wrote them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerReport {
    pub status: HandoffStatus,
    pub summary: String,
    #[serde(default)]
    pub issues: Vec<String>,
    #[serde(default)]
    pub deviations: Vec<String>,
}

/// A command the harness ran on an agent's behalf, with its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub command: String,
    /// `None` when the command was killed (timeout) or could not start.
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    #[serde(default)]
    pub timed_out: bool,
    /// Protected files the command changed and the harness put back (a finding).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restored: Vec<String>,
}

/// A call to a tool of an MCP server, as the handoff keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpCallRecord {
    pub server: String,
    pub tool: String,
    /// The arguments as JSON, shortened.
    pub arguments: String,
    pub ok: bool,
    /// The first line of the answer (or of the error), shortened.
    pub result: String,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffStat {
    pub files_changed: usize,
    pub insertions: usize,
    pub deletions: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// All input tokens, cached ones included.
    pub tokens_in: u64,
    pub tokens_out: u64,
    #[serde(default)]
    pub cost_usd: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_read_tokens: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_tokens: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.tokens_in += other.tokens_in;
        self.tokens_out += other.tokens_out;
        self.cost_usd += other.cost_usd;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
    }
}

/// The record kept in `.mission/handoffs/<feature-id>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    pub feature_id: String,
    pub attempt: u32,
    pub run_id: String,
    #[serde(flatten)]
    pub report: WorkerReport,
    pub commands: Vec<CommandRecord>,
    /// Calls to MCP servers' tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_calls: Vec<McpCallRecord>,
    pub files_changed: Vec<String>,
    pub diff_stat: DiffStat,
    pub commit: String,
    pub usage: Usage,
    /// The external agent (ACP) that did the work, which reports no usage: its cost is
    /// unknown, not the 0 of `usage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// Whether `path` looks like a test by the conventions of common ecosystems: a `tests/`,
/// `test/`, `__tests__/` or `spec/` directory, or a name such as `test_x.py`,
/// `x_test.go`, `x.test.ts`, `x.spec.js`, `x_spec.rb`, `XTest.java`.
pub fn is_test_path(path: &str) -> bool {
    let p = path.replace('\\', "/");
    let in_dir = p
        .split('/')
        .rev()
        .skip(1)
        .any(|d| matches!(d, "tests" | "test" | "__tests__" | "spec" | "specs"));
    let name = p.rsplit('/').next().unwrap_or(&p);
    let stem = name.split('.').next().unwrap_or(name);
    in_dir
        || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_spec")
        || stem.ends_with("Test")
        || stem.ends_with("Tests")
        || name.contains(".test.")
        || name.contains(".spec.")
}

#[cfg(test)]
mod test_paths {
    use super::is_test_path;

    #[test]
    fn tests_are_recognised_by_common_conventions() {
        for t in [
            "tests/cli.rs",
            "pkg/foo_test.go",
            "test_parse.py",
            "src/app.test.ts",
            "web/app.spec.js",
            "spec/models/user_spec.rb",
            "src/test/java/FooTest.java",
            "src/__tests__/a.js",
        ] {
            assert!(is_test_path(t), "{t}");
        }
        for n in [
            "src/main.rs",
            "src/testing_utils.rs",
            "latest.txt",
            "contest/a.py",
        ] {
            assert!(!is_test_path(n), "{n}");
        }
    }
}
