//! The real binary in a pseudo-terminal, read through a vt100 screen.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use super::{Sandbox, bin};

pub struct Term {
    screen: Arc<Mutex<vt100::Parser>>,
    /// Every byte the program wrote (bells and OSCs leave no mark on the screen).
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

/// A failed test leaves no console (nor, with it, an in-process runner) behind.
impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

impl Term {
    pub fn spawn(sb: &Sandbox, args: &[&str], cols: u16, rows: u16) -> Term {
        Self::spawn_env(sb, args, cols, rows, &[])
    }

    /// `spawn` with extra environment variables (after the defaults, so they win).
    pub fn spawn_env(
        sb: &Sandbox,
        args: &[&str],
        cols: u16,
        rows: u16,
        env: &[(&str, &str)],
    ) -> Term {
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
        cmd.env("XDG_DATA_HOME", super::data_home(&sb.config_home()));
        cmd.env("XDG_STATE_HOME", sb.config_home().with_file_name("state"));
        cmd.env_remove("CARGO_TARGET_DIR");
        cmd.env_remove("NO_COLOR");
        // Inside tmux the console wraps its alerts for tmux; these tests expect them bare.
        cmd.env_remove("TMUX");
        for (k, v) in env {
            cmd.env(k, v);
        }
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
        let raw: Arc<Mutex<Vec<u8>>> = Arc::default();
        let r = raw.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                // Raw first: whoever sees it on the screen finds it in the raw bytes too.
                r.lock().unwrap().extend_from_slice(&buf[..n]);
                s.lock().unwrap().process(&buf[..n]);
            }
        });
        Term {
            screen,
            raw,
            writer,
            child,
            _master: pair.master,
        }
    }

    /// Whether the program has written `bytes` anywhere in its output.
    pub fn wrote(&self, bytes: &[u8]) -> bool {
        self.raw
            .lock()
            .unwrap()
            .windows(bytes.len())
            .any(|w| w == bytes)
    }

    pub fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    pub fn wait_for(&self, what: &str) -> String {
        self.wait_for_all(&[what])
    }

    /// The first screen showing every one of `all` at once: a frame can reach the
    /// terminal in several writes, so one string seen says nothing about the rest.
    pub fn wait_for_all(&self, all: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let c = self.contents();
            if all.iter().all(|w| c.contains(w)) {
                return c;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "never saw all of {all:?}; screen:\n{c}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn keys(&mut self, keys: &str) {
        for k in keys.chars() {
            self.writer.write_all(k.to_string().as_bytes()).unwrap();
            self.writer.flush().unwrap();
            // One key per read, so none is taken for an escape sequence.
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    pub fn exit_code(&mut self) -> u32 {
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
