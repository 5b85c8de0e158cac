//! Helpers shared by the integration tests: run the real binary in isolation.
#![allow(dead_code)]

pub mod fake_llm;
pub mod pty;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mission"))
}

/// Where a sandbox's worktrees go (`XDG_DATA_HOME`), beside its config home.
pub fn data_home(config_home: &Path) -> PathBuf {
    config_home.with_file_name("share")
}

/// The binary, with the user's config and data and the outer cargo's target dir kept out.
pub fn mission(config_home: &Path) -> Command {
    let mut c = Command::new(bin());
    c.env("XDG_CONFIG_HOME", config_home)
        .env("XDG_DATA_HOME", data_home(config_home))
        .env("XDG_STATE_HOME", config_home.with_file_name("state"))
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUST_BACKTRACE")
        .env("NO_COLOR", "1");
    c
}

pub struct Sandbox {
    pub tmp: tempfile::TempDir,
    /// Runners spawned in the background: killed when the test ends, passed or not, so a
    /// failed test leaves no runner holding the test harness's output pipe open.
    spawned: std::cell::RefCell<Vec<u32>>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for pid in self.spawned.borrow().iter() {
            // SAFETY: kill(2) with a pid this test started; at worst it is gone already.
            unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
        }
    }
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            tmp: tempfile::tempdir().unwrap(),
            spawned: Default::default(),
        }
    }
    pub fn repo(&self) -> PathBuf {
        self.tmp.path().join("repo")
    }
    pub fn config_home(&self) -> PathBuf {
        self.tmp.path().join("xdg")
    }
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }
    /// `run` with extra environment variables for the binary.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
        mission(&self.config_home())
            .args(args)
            .arg("--dir")
            .arg(self.repo())
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }
    /// A gate file and a shell loop that waits for it: a command in a scripted mission
    /// holds until the test creates the file, instead of racing it with a sleep.
    /// The file lies outside /tmp and /run, which the sandbox shows commands empty: under
    /// `$HOME/.cache` (the checkout, and so `CARGO_TARGET_TMPDIR`, may be under /tmp).
    pub fn gate(&self) -> (PathBuf, String) {
        let base = std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|h| !h.starts_with("/tmp") && !h.starts_with("/run"))
            .map(|h| h.join(".cache/mission-test-gates"))
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
        let dir = base.join(self.tmp.path().file_name().unwrap());
        std::fs::create_dir_all(&dir).unwrap();
        let gate = dir.join("go");
        let wait = format!("while [ ! -e {} ]; do sleep 0.05; done", gate.display());
        (gate, wait)
    }
    pub fn status(&self) -> serde_json::Value {
        let out = self.run(&["status", "--json"]);
        assert!(out.status.success(), "status failed: {}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }
    /// The binary on this sandbox's repo, running in the background with its stdout
    /// piped (read it after `wait`).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.spawn_with(args, std::process::Stdio::piped())
    }
    /// `spawn` with its stdout thrown away (nothing reads it, so nothing can fill it).
    pub fn spawn_quiet(&self, args: &[&str]) -> std::process::Child {
        self.spawn_with(args, std::process::Stdio::null())
    }
    fn spawn_with(&self, args: &[&str], stdout: std::process::Stdio) -> std::process::Child {
        let child = mission(&self.config_home())
            .args(args)
            .arg("--dir")
            .arg(self.repo())
            .stdout(stdout)
            .spawn()
            .unwrap();
        self.spawned.borrow_mut().push(child.id());
        child
    }
    /// Polls `status --json` until `pred` holds. A status that fails (no log yet, or a log
    /// created but still empty) counts as "not yet"; the deadline holds either way.
    pub fn wait_for_status(
        &self,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let start = std::time::Instant::now();
        loop {
            let out = self.run(&["status", "--json"]);
            let st: Option<serde_json::Value> = out
                .status
                .success()
                .then(|| serde_json::from_slice(&out.stdout).ok())
                .flatten();
            if let Some(st) = &st
                && pred(st)
            {
                return st.clone();
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "timed out waiting for {what}; last status: {}",
                st.map(|s| format!("{s:#}")).unwrap_or_else(|| text(&out))
            );
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
    }
    pub fn set_config(&self, from: &str, to: &str) {
        let p = self.repo().join(".mission/mission.toml");
        let t = std::fs::read_to_string(&p).unwrap();
        assert!(t.contains(from), "{from} not in config");
        std::fs::write(&p, t.replace(from, to)).unwrap();
    }
    /// Where the mission works (its worktree), from `status --json`.
    pub fn worktree(&self) -> PathBuf {
        PathBuf::from(self.status()["worktree"].as_str().unwrap())
    }
    /// Commits on the mission branch since the demo's first commit, oldest first.
    pub fn mission_commits(&self) -> Vec<(String, String)> {
        let branch = self.status()["branch"].as_str().unwrap().to_string();
        let repo = git2::Repository::open(self.repo()).unwrap();
        let mut walk = repo.revwalk().unwrap();
        walk.push_ref(&format!("refs/heads/{branch}")).unwrap();
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
            .unwrap();
        walk.filter_map(|id| {
            let c = repo.find_commit(id.unwrap()).unwrap();
            let msg = c.message().unwrap().to_string();
            let feature = msg
                .lines()
                .find_map(|l| l.strip_prefix("Mission-Feature: "))?
                .to_string();
            Some((feature, c.id().to_string()))
        })
        .collect()
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn features(status: &serde_json::Value) -> Vec<(String, String)> {
    status["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["features"].as_array().unwrap().clone())
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub const DEMO_FEATURES: [&str; 8] = [
    "m1-f1",
    "m1-f2",
    "m1-f3",
    "m1-fix1-1",
    "m2-f1",
    "m2-f2",
    "m2-f3",
    "m2-fix1-1",
];

/// Asserts the demo mission finished exactly as designed: every feature committed once.
pub fn assert_demo_completed(sb: &Sandbox) {
    let st = sb.status();
    assert_eq!(st["state"], "completed", "{st:#}");
    let feats = features(&st);
    assert_eq!(
        feats.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        DEMO_FEATURES.to_vec()
    );
    assert!(feats.iter().all(|(_, s)| s == "done"), "{feats:?}");
    assert_eq!(
        st["milestones"][0]["fix_rounds"], 1,
        "the failing check healed m1"
    );
    assert_eq!(
        st["milestones"][1]["fix_rounds"], 1,
        "the review finding healed m2"
    );
    assert_eq!(st["contract"]["passed"], 8, "{st:#}");
    let commits = sb.mission_commits();
    assert_eq!(
        commits.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        DEMO_FEATURES.to_vec(),
        "one commit per feature, in order, none twice"
    );
    for (i, f) in st["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["features"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(
            f["commit"].as_str().unwrap(),
            commits[i].1,
            "status commit of {}",
            commits[i].0
        );
    }
}

/// A tiny shell-only repository with a scripted mission: fast, no cargo.
pub fn mini_repo(sb: &Sandbox, script: serde_json::Value, config_extra: &str) {
    mini_repo_at(&sb.repo(), script, config_extra)
}

/// `mini_repo` at `repo`: several missions in one sandbox (the fleet).
pub fn mini_repo_at(repo: &Path, script: serde_json::Value, config_extra: &str) {
    let repo = repo.to_path_buf();
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("README.md"), "# mini\n").unwrap();
    let git = mission::git::Git::init(&repo).unwrap();
    git.commit_all("initial").unwrap();
    std::fs::create_dir_all(repo.join(".mission")).unwrap();
    git.exclude_mission_dir().unwrap();
    std::fs::write(
        repo.join(".mission/script.json"),
        serde_json::to_string_pretty(&script).unwrap(),
    )
    .unwrap();
    std::fs::write(
        repo.join(".mission/mission.toml"),
        format!(
            "[roles.orchestrator]\nprovider = \"scripted\"\nmodel = \"o\"\n\n[roles.worker]\nprovider = \"scripted\"\nmodel = \"w\"\n\n{config_extra}\n"
        ),
    )
    .unwrap();
}

pub fn call(name: &str, arguments: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"name": name, "arguments": arguments})
}

pub fn turn(calls: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({"tool_calls": calls})
}

pub fn entry(role: &str, task_contains: &str, turns: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({"role": role, "task_contains": task_contains, "turns": turns})
}

/// A one-milestone plan whose only assertion is `test -f flag.txt`.
pub fn flag_plan() -> serde_json::Value {
    serde_json::json!({
        "milestones": [{"id": "m1", "title": "Flag", "features": [
            {"id": "m1-f1", "title": "Create the flag", "description": "write flag.txt", "fulfills": ["a1"]}
        ]}],
        "assertions": [{"id": "a1", "kind": "command", "text": "flag.txt exists", "command": "test -f flag.txt"}]
    })
}

pub fn done(summary: &str) -> serde_json::Value {
    call(
        "submit_handoff",
        serde_json::json!({"status": "done", "summary": summary}),
    )
}

pub fn transcripts_containing(sb: &Sandbox, needle: &str) -> Vec<String> {
    let dir = sb.repo().join(".mission/transcripts");
    let mut hits = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if std::fs::read_to_string(&p).unwrap().contains(needle) {
            hits.push(p.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    hits
}

/// Points the mini repo's orchestrator and worker at `[providers.fake]`, each on its own
/// model name.
pub fn use_fake_models(sb: &Sandbox) {
    let cfg = sb.repo().join(".mission/mission.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(
            "provider = \"scripted\"\nmodel = \"o\"",
            "provider = \"fake\"\nmodel = \"orch-model\"",
        )
        .replace(
            "provider = \"scripted\"\nmodel = \"w\"",
            "provider = \"fake\"\nmodel = \"work-model\"",
        );
    std::fs::write(&cfg, text).unwrap();
}

/// A request body without Anthropic's `cache_control` markers: the breakpoint moves from
/// turn to turn, but it marks the cached prefix, it is not part of it.
pub fn unmarked(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .filter(|(k, _)| *k != "cache_control")
            .map(|(k, v)| (k.clone(), unmarked(v)))
            .collect(),
        serde_json::Value::Array(a) => a.iter().map(unmarked).collect(),
        other => other.clone(),
    }
}
