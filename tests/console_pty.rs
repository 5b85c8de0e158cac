//! The real binary in pseudo-terminals (portable-pty + a vt100 screen): the demo's
//! console waits at the plan gate, a second terminal attaches, pauses and approves,
//! the first unpauses, the tree fills, and a handoff shows real commands and a diff.

mod common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Term {
    screen: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Term {
    fn spawn(sb: &Sandbox, args: &[&str], cols: u16, rows: u16) -> Term {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(bin());
        cmd.args(args);
        cmd.arg("--dir");
        cmd.arg(sb.repo());
        cmd.env("TERM", "xterm-256color");
        cmd.env("XDG_CONFIG_HOME", sb.config_home());
        cmd.env_remove("CARGO_TARGET_DIR");
        cmd.env_remove("NO_COLOR");
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZero::new(rows).unwrap(),
            std::num::NonZero::new(cols).unwrap(),
            0,
        )));
        let s = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                s.lock().unwrap().process(&buf[..n]);
            }
        });
        Term {
            screen,
            writer,
            child,
            _master: pair.master,
        }
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    fn wait_for(&self, what: &str) -> String {
        let start = Instant::now();
        loop {
            let c = self.contents();
            if c.contains(what) {
                return c;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "never saw {what:?}; screen:\n{c}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&mut self, keys: &str) {
        for k in keys.chars() {
            self.writer.write_all(k.to_string().as_bytes()).unwrap();
            self.writer.flush().unwrap();
            // One key per read, so none is taken for an escape sequence.
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn exit_code(&mut self) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.exit_code();
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "did not exit:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

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
