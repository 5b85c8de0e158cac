//! `mission bench --quick` measures every hot path and prints a number for each.

use crate::common::*;

#[test]
fn bench_prints_a_number_for_every_hot_path() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.repo()).unwrap();
    let out = sb.run(&["bench", "--quick"]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    for line in [
        "append + fsync",
        "load 12.3k events",
        "fold them",
        "fold them + activity",
        "frame, demo-sized",
        "frame, 1000 features",
        "sh -c true",
        "status, 20k events",
        "attach, first frame",
    ] {
        let l = log
            .lines()
            .find(|l| l.contains(line))
            .unwrap_or_else(|| panic!("no `{line}` line: {log}"));
        assert!(
            l.contains(" µs") || l.contains(" ms") || l.contains(" s"),
            "`{line}` has no time: {l}"
        );
    }
}
