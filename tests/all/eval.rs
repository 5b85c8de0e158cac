//! The eval corpus is sound — every scenario's hidden checks fail on the untouched tree
//! and pass with its gold patch — and `mission eval check` catches one that is not.

use crate::common::*;

#[test]
fn every_scenario_of_the_corpus_is_sound() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("evals");
    let n = std::fs::read_dir(&corpus)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("scenario.toml").exists())
        .count();
    assert!(n >= 8, "at least 8 scenarios, found {n}");
    let out = mission(&std::env::temp_dir())
        .args(["eval", "check", "--corpus"])
        .arg(&corpus)
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!("{n} of {n} scenarios sound")),
        "{said}"
    );
}

#[test]
fn a_scenario_that_measures_nothing_is_named() {
    let sb = Sandbox::new();
    let s = sb.tmp.path().join("corpus/lazy");
    std::fs::create_dir_all(&s).unwrap();
    std::fs::write(
        s.join("scenario.toml"),
        "goal = \"g\"\nsetup = \"echo 1 > n.txt\"\nfail_to_pass = [\"true\", \"grep -q 2 n.txt\"]\npass_to_pass = [\"test -f n.txt\"]\ngold = \"gold.patch\"\n",
    )
    .unwrap();
    // A gold patch that does not do the work.
    std::fs::write(
        s.join("gold.patch"),
        "--- /dev/null\n+++ b/other.txt\n@@ -0,0 +1 @@\n+x\n",
    )
    .unwrap();
    let out = mission(&sb.config_home())
        .args(["eval", "check", "--corpus"])
        .arg(sb.tmp.path().join("corpus"))
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("fail_to_pass `true` passes before any work: it measures nothing"),
        "{said}"
    );
    assert!(
        said.contains("fail_to_pass `grep -q 2 n.txt` fails with the gold patch (exit 1)"),
        "{said}"
    );
    assert!(said.contains("0 of 1 scenarios sound"), "{said}");
}

/// `mission eval run` on a scenario the scripted provider answers: a real mission in a
/// temporary repository, graded by the hidden checks, and every number of the report
/// exact — the plan sent back once by the baseline (well formed, so still valid at
/// first), one edit, one command.
#[test]
fn a_scripted_eval_run_reports_exact_numbers() {
    let sb = Sandbox::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = one_scenario_corpus(&sb, "sh-json-flag");
    let report = sb.tmp.path().join("report.json");
    let out = mission(&sb.config_home())
        .args(["eval", "run", "--corpus"])
        .arg(&corpus)
        .arg("--config")
        .arg(root.join("evals/scripted.toml"))
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("[1/1] PASS sh-json-flag — fail→pass 1/1, pass→pass 1/1"),
        "{said}"
    );
    // The readable table: a row per run.
    let row = said
        .lines()
        .find(|l| l.starts_with("sh-json-flag "))
        .unwrap_or_else(|| panic!("no table row: {said}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[..12],
        [
            "sh-json-flag",
            "yes",
            "1/1",
            "1/1",
            "yes",
            "3/0",
            "0",
            "0",
            "0",
            "no",
            "0",
            "$0.00"
        ],
        "{row}"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let s = &r["scenarios"][0];
    assert_eq!(s["passed"], true);
    assert_eq!(
        s["fail_to_pass"],
        serde_json::json!({"passed": 1, "total": 1})
    );
    assert_eq!(
        s["pass_to_pass"],
        serde_json::json!({"passed": 1, "total": 1})
    );
    assert_eq!(s["plan_valid_first_try"], true);
    assert_eq!(
        s["tool_calls"],
        serde_json::json!({"total": 3, "malformed": 0})
    );
    for zero in [
        "edit_failures",
        "stuck_attempts",
        "fix_rounds",
        "test_file_edits",
    ] {
        assert_eq!(s[zero], 0, "{zero}");
    }
    assert_eq!(s["escalated"], false);
    assert_eq!(s["cost_usd"], 0.0);
    assert_eq!(s["exit_code"], 0);
    // The change as a SWE-bench model_patch: the worker's edit, nothing of the checks.
    let patch = s["model_patch"].as_str().unwrap();
    assert!(
        patch.contains("+++ b/count.sh") && patch.contains("--json"),
        "{patch}"
    );
    assert!(!patch.contains(".mission"), "{patch}");
    assert_eq!(r["summary"]["pass_rate"], 1.0);
    assert_eq!(r["summary"]["well_formed_share"], 1.0);
    assert_eq!(r["summary"]["prompts_hash"].as_str().unwrap().len(), 16);
}

/// CI replays the checked-in recordings of the whole corpus offline: every scenario asks
/// what it asked when recorded and is graded the same. When this fails after a deliberate
/// change to a prompt or a tool, record again:
/// `mission eval run --config evals/scripted.toml --record evals/recordings/scripted`.
#[test]
fn the_checked_in_recordings_replay_as_recorded() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let recording = root.join("evals/recordings/scripted");
    let corpus_size = std::fs::read_dir(root.join("evals"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("scenario.toml").exists())
        .count();
    let recorded = std::fs::read_dir(&recording)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("exchanges.jsonl").exists())
        .count();
    assert_eq!(recorded, corpus_size, "every scenario has a recording");
    let sb = Sandbox::new();
    let out = mission(&sb.config_home())
        .current_dir(root)
        .args(["eval", "replay", "evals/recordings/scripted", "--jobs", "2"])
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!(
            "{n} of {n} scenarios replayed as recorded",
            n = corpus_size
        )),
        "{said}"
    );
}

/// A run recorded with `--record` replays as recorded; a deliberate harness change — a
/// tool offered under another name — is reported with where it shows, and fails the replay.
#[test]
fn a_recorded_run_replays_and_a_renamed_tool_diverges() {
    let sb = Sandbox::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = one_scenario_corpus(&sb, "sh-json-flag");
    let rec = sb.tmp.path().join("rec");
    let out = mission(&sb.config_home())
        .args(["eval", "run", "--corpus"])
        .arg(&corpus)
        .arg("--config")
        .arg(root.join("evals/scripted.toml"))
        .arg("--record")
        .arg(&rec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // What a model would have seen, saved: the tools offered and the task.
    let lines = std::fs::read_to_string(rec.join("sh-json-flag/exchanges.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["role"], "orchestrator");
    assert!(
        first["request"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "submit_plan")
    );
    // Paths of the run's temporary directories are masked, not recorded.
    assert!(!lines.contains(&*sb.tmp.path().to_string_lossy()));

    let replay = |failpoint: Option<&str>| {
        let mut c = mission(&sb.config_home());
        c.args(["eval", "replay"])
            .arg(&rec)
            .arg("--report")
            .arg(sb.tmp.path().join("replay.json"));
        if let Some(f) = failpoint {
            c.env("MISSION_FAILPOINT", f);
        }
        c.output().unwrap()
    };
    let out = replay(None);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("SAME sh-json-flag — 5 exchanges as recorded"),
        "{said}"
    );

    let out = replay(Some("rename_tool=edit_file:patch_file"));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("DIVERGED sh-json-flag — 3 of 5 requests differ")
            && said.contains("worker turn 1 of \"Feature m1-f1: --json flag\": tools[")
            && said.contains(".name: edit_file → patch_file"),
        "{said}"
    );
    assert!(
        said.contains("0 of 1 scenarios replayed as recorded"),
        "{said}"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.tmp.path().join("replay.json")).unwrap())
            .unwrap();
    let d = &r["scenarios"][0]["replay"]["diverged"][0]["differences"][0];
    assert_eq!(d["recorded"], "edit_file");
    assert_eq!(d["now"], "patch_file");
}

/// A corpus of one scenario of `evals/`, copied into the sandbox.
fn one_scenario_corpus(sb: &Sandbox, name: &str) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = sb.tmp.path().join("corpus");
    let s = corpus.join(name);
    std::fs::create_dir_all(&s).unwrap();
    for f in ["scenario.toml", "script.json", "gold.patch"] {
        std::fs::copy(root.join("evals").join(name).join(f), s.join(f)).unwrap();
    }
    corpus
}
