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
