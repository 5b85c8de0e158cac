//! The real binary in pseudo-terminals (portable-pty + a vt100 screen): the demo's
//! console waits at the plan gate, a second terminal attaches, pauses and approves,
//! the first unpauses, the tree fills, and a handoff shows real commands and a diff.

mod common;

use std::time::Duration;

use common::pty::Term;
use common::*;

#[test]
fn demo_console_gate_attach_pause_approve_and_handoff() {
    let sb = Sandbox::new();
    let mut main = Term::spawn(&sb, &["demo", "--fast"], 80, 24);
    let screen = main.wait_for("Approve the plan?");
    assert!(screen.contains("m1-f1 Parse numbers"), "{screen}");
    assert!(
        screen.contains("WAITING FOR YOU") || screen.contains("a approve"),
        "{screen}"
    );

    // A second terminal attaches to the same mission.
    let mut side = Term::spawn(&sb, &["attach"], 100, 30);
    side.wait_for("Approve the plan?");
    side.keys("p");
    side.wait_for("paused: no new agent turn");
    side.keys("a");
    side.wait_for("approved: plan approval");
    main.wait_for("PAUSED");
    std::thread::sleep(Duration::from_millis(500));
    let st = sb.status();
    assert_eq!(st["state"], "paused", "{st:#}");
    assert_eq!(
        st["milestones"][0]["features"][0]["state"], "pending",
        "paused: nothing ran"
    );

    // Unpause from the first console; the mission runs to the end and the tree fills.
    main.keys("p");
    let screen = main.wait_for("COMPLETED");
    assert!(screen.contains("✔ m2 "), "{screen}");
    assert!(
        screen.contains("↻ m1-fix1-1"),
        "the corrective feature is in the tree:\n{screen}"
    );
    side.wait_for("COMPLETED");

    // Open m1-f2's handoff: its real commands with exit codes, then its diff.
    main.keys("kkkkkkkkkk");
    main.keys("jj");
    main.keys("\r");
    main.keys("\t");
    let screen = main.wait_for("cargo test -q");
    assert!(screen.contains("m1-f2 Mean and median"), "{screen}");
    assert!(screen.contains("exit   0"), "{screen}");
    main.keys("\t\t");
    let screen = main.wait_for("+pub mod stats;");
    assert!(screen.contains("src/stats.rs"), "{screen}");

    side.keys("q");
    assert_eq!(side.exit_code(), 0, "detaching is a clean exit");
    main.keys("q");
    assert_eq!(main.exit_code(), 0, "the mission completed");
    assert_demo_completed(&sb);
}
