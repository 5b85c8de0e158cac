//! Not a test: makes `screenshots/*.txt` from a real, paced demo run in real PTYs.
//! Run it with `scripts/screenshots.sh` (or `cargo test --test all screenshots -- --ignored`).

use crate::common::pty::Term;
use crate::common::*;

fn save(name: &str, screen: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let text: String = screen
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    std::fs::write(dir.join(format!("{name}.txt")), text).unwrap();
}

#[test]
#[ignore = "writes screenshots/; run scripts/screenshots.sh"]
fn capture_the_main_views() {
    for (cols, rows) in [(80u16, 24u16), (160, 48)] {
        let sb = Sandbox::new();
        let mut t = Term::spawn(&sb, &["demo"], cols, rows);
        let size = format!("{cols}x{rows}");
        save(
            &format!("plan-gate-{size}"),
            &t.wait_for("Approve the plan?"),
        );
        t.keys("a");
        t.wait_for("▶ ↻ m1-fix1-1");
        // The corrective feature's agent at work, live.
        t.wait_for("Live");
        save(&format!("healing-{size}"), &t.wait_for("⚙"));
        t.wait_for("COMPLETED");
        t.keys("kkkkkkkkkk");
        save(&format!("milestone-{size}"), &t.contents());
        t.keys("/cargo\r");
        save(&format!("search-{size}"), &t.wait_for("match 1 of"));
        // Esc clears the search; h takes the focus back to the plan.
        t.keys("\u{1b}");
        std::thread::sleep(std::time::Duration::from_millis(300));
        t.keys("h");
        t.keys("jjjj\r\t");
        save(&format!("handoff-commands-{size}"), &t.wait_for("exit   0"));
        t.keys("\t\t");
        save(&format!("handoff-diff-{size}"), &t.wait_for("@@ "));
        t.keys("?");
        save(&format!("help-{size}"), &t.wait_for("Keys"));
        t.keys("\u{1b}");
        std::thread::sleep(std::time::Duration::from_millis(300));
        t.keys("q");
        assert_eq!(t.exit_code(), 0);
    }
}
