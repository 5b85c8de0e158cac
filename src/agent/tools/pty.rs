//! The user tester's terminal: programs launched in real pseudo-terminals, read through
//! a vt100 screen model, driven with keys. Every session dies with its toolbox.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::num::NonZero;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use crate::sandbox::Launcher;

const COLS: u16 = 100;
const ROWS: u16 = 30;

struct Session {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    _master: Box<dyn MasterPty + Send>,
}

pub struct Sessions {
    root: PathBuf,
    pub(crate) launcher: Launcher,
    sessions: Mutex<HashMap<String, Session>>,
    next: Mutex<u32>,
}

pub use super::keynames::{KEY_NAMES, key_bytes};

impl Sessions {
    pub fn new(root: PathBuf, launcher: Launcher) -> Self {
        Sessions {
            root,
            launcher,
            sessions: Mutex::default(),
            next: Mutex::new(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn launch(&self, command: &str) -> Result<String, String> {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| format!("cannot open a terminal: {e}"))?;
        let (program, args) = self.launcher.argv(command)?;
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.cwd(&self.root);
        cmd.env_clear();
        for (k, v) in self.launcher.child_env() {
            cmd.env(k, v);
        }
        cmd.env("TERM", "xterm-256color");
        let child = pair
            .slave
            .spawn_command(cmd)
            .map_err(|e| format!("cannot launch `{command}`: {e}"))?;
        // The terminal's program leads a session of its own: its pid is its group.
        if let (Some(groups), Some(pid)) = (&self.launcher.groups, child.process_id()) {
            groups.add(pid);
        }
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().map_err(|e| e.to_string())?;
        let writer = pair.master.take_writer().map_err(|e| e.to_string())?;
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            NonZero::new(ROWS).unwrap_or(NonZero::<u16>::MIN),
            NonZero::new(COLS).unwrap_or(NonZero::<u16>::MIN),
            0,
        )));
        let feed = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .process(&buf[..n]);
            }
        });
        let id = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let id = format!("t{next}");
            *next += 1;
            id
        };
        self.lock().insert(
            id.clone(),
            Session {
                child,
                writer,
                screen,
                _master: pair.master,
            },
        );
        Ok(format!(
            "launched `{command}` as {id} in a {COLS}×{ROWS} terminal"
        ))
    }

    pub fn send_keys(&self, id: &str, keys: &str) -> Result<String, String> {
        // The write blocks if the program stops reading; keep it well under a pty buffer.
        if keys.len() > 1024 {
            return Err("send at most 1024 bytes of keys at a time".into());
        }
        let mut all = self.lock();
        let s = all.get_mut(id).ok_or_else(|| unknown(id))?;
        let app_cursor = s
            .screen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .screen()
            .application_cursor();
        let bytes = key_bytes(keys, app_cursor)?;
        s.writer
            .write_all(&bytes)
            .and_then(|()| s.writer.flush())
            .map_err(|e| format!("cannot type into {id}: {e}"))?;
        Ok(format!("sent {} key byte(s) to {id}", bytes.len()))
    }

    pub fn read_screen(&self, id: &str) -> Result<String, String> {
        let mut all = self.lock();
        let s = all.get_mut(id).ok_or_else(|| unknown(id))?;
        Ok(render(s))
    }

    /// Polls the screen until `text` shows or the time is up.
    pub async fn wait_for(
        &self,
        id: &str,
        text: &str,
        timeout: Duration,
    ) -> Result<String, String> {
        let start = Instant::now();
        loop {
            let (found, screen) = {
                let mut all = self.lock();
                let s = all.get_mut(id).ok_or_else(|| unknown(id))?;
                let contents = s
                    .screen
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .screen()
                    .contents();
                (contents.contains(text), render(s))
            };
            if found {
                return Ok(format!("found {text:?}\n{screen}"));
            }
            if start.elapsed() >= timeout {
                return Err(format!(
                    "{text:?} did not appear within {}s\n{screen}",
                    timeout.as_secs_f64()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn stop(&self, id: &str) -> Result<String, String> {
        let s = self.lock().remove(id).ok_or_else(|| unknown(id))?;
        self.end(s);
        Ok(format!("stopped {id}"))
    }

    fn end(&self, s: Session) {
        let pid = s.child.process_id();
        end(s);
        if let (Some(groups), Some(pid)) = (&self.launcher.groups, pid) {
            groups.remove(pid);
        }
    }
}

/// Kills the session's whole process group (the shell leads its own session), so a
/// server it started cannot outlive the test and hold its port.
fn end(mut s: Session) {
    if let Some(pid) = s.child.process_id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = s.child.kill();
    let _ = s.child.wait();
}

impl Drop for Sessions {
    fn drop(&mut self) {
        let all: Vec<Session> = self.lock().drain().map(|(_, s)| s).collect();
        for s in all {
            self.end(s);
        }
    }
}

fn unknown(id: &str) -> String {
    format!("no terminal session `{id}`; launch one first")
}

fn render(s: &mut Session) -> String {
    let state = match s.child.try_wait() {
        Ok(Some(st)) => match st.signal() {
            Some(sig) => format!("killed by {sig}"),
            None => format!("exited with code {}", st.exit_code()),
        },
        _ => "running".to_string(),
    };
    let contents = s
        .screen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .screen()
        .contents();
    let trimmed: Vec<&str> = contents.trim_end().lines().map(str::trim_end).collect();
    format!(
        "[screen {COLS}×{ROWS}, program {state}]\n{}",
        trimmed.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_keys_become_terminal_bytes() {
        let k = |s: &str| key_bytes(s, false).unwrap();
        assert_eq!(k("ab<Enter>"), b"ab\r");
        assert_eq!(k("<C-d><Up><Esc>"), b"\x04\x1b[A\x1b");
        assert_eq!(
            k("<return><ESCAPE><ctrl-C><Alt-x><space>"),
            b"\r\x1b\x03\x1bx "
        );
        assert_eq!(
            k("<PgDn><pageup><Del><F1><F12>"),
            b"\x1b[6~\x1b[5~\x1b[3~\x1bOP\x1b[24~"
        );
        assert_eq!(k("a<b and 1 < 2 <lt>x>"), b"a<b and 1 < 2 <x>");
        assert_eq!(k("é"), "é".as_bytes());
        // less and vim switch application cursor mode on.
        assert_eq!(key_bytes("<Down><Home>", true).unwrap(), b"\x1bOB\x1bOH");
        let e = key_bytes("x<Escpae>", false).unwrap_err();
        assert!(
            e.contains("unknown key <Escpae>") && e.contains("<PageDown>"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_program_is_driven_through_a_real_terminal() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sessions::new(dir.path().to_path_buf(), Launcher::default());
        s.launch("printf 'name? '; read n; echo \"hello $n\"")
            .unwrap();
        s.wait_for("t1", "name?", Duration::from_secs(10))
            .await
            .unwrap();
        s.send_keys("t1", "ada<Enter>").unwrap();
        let screen = s
            .wait_for("t1", "hello ada", Duration::from_secs(10))
            .await
            .unwrap();
        assert!(screen.contains("name? ada"), "{screen}");
        let e = s
            .wait_for("t1", "never", Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(e.contains("did not appear"), "{e}");
        assert!(s.read_screen("t9").is_err());
        s.stop("t1").unwrap();
    }

    #[tokio::test]
    async fn stopping_kills_what_the_program_started() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sessions::new(dir.path().to_path_buf(), Launcher::default());
        s.launch("(trap '' HUP; sleep 3; touch marker) & echo started; sleep 30")
            .unwrap();
        s.wait_for("t1", "started", Duration::from_secs(10))
            .await
            .unwrap();
        s.stop("t1").unwrap();
        tokio::time::sleep(Duration::from_millis(3500)).await;
        assert!(
            !dir.path().join("marker").exists(),
            "a background child survived stop"
        );
    }

    fn have(program: &str) -> bool {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "{program} is not installed: .ci/run installs it (apt-get install less vim-tiny)"
        );
        found
    }

    #[tokio::test]
    async fn less_pages_and_searches_with_named_keys() {
        if !have("less") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let text: String = (1..=200).map(|i| format!("row {i:03}\n")).collect();
        std::fs::write(dir.path().join("rows.txt"), text).unwrap();
        let s = Sessions::new(dir.path().to_path_buf(), Launcher::default());
        s.launch("LESS= less rows.txt").unwrap();
        let t = Duration::from_secs(10);
        s.wait_for("t1", "row 001", t).await.unwrap();
        // less switches application cursor mode on: <PageDown> and <Down> must still work.
        s.send_keys("t1", "<PageDown>").unwrap();
        s.wait_for("t1", "row 040", t).await.unwrap();
        s.send_keys("t1", "<Down><Down>").unwrap();
        s.wait_for("t1", "row 060", t).await.unwrap();
        s.send_keys("t1", "/row 150<Enter>").unwrap();
        let screen = s.wait_for("t1", "row 170", t).await.unwrap();
        assert!(!screen.contains("row 001"), "{screen}");
        s.send_keys("t1", "<Home>").unwrap();
        s.wait_for("t1", "row 001", t).await.unwrap();
        s.send_keys("t1", "q").unwrap();
        s.stop("t1").unwrap();
    }

    #[tokio::test]
    async fn vi_inserts_escapes_and_saves_with_named_keys() {
        if !have("vi") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let s = Sessions::new(dir.path().to_path_buf(), Launcher::default());
        s.launch("vi notes.txt").unwrap();
        let t = Duration::from_secs(10);
        s.wait_for("t1", "notes.txt", t).await.unwrap();
        s.send_keys("t1", "ihello<Esc>").unwrap();
        s.send_keys("t1", "oworld<Escape>:wq<Enter>").unwrap();
        // vi may still be writing when the file appears: wait for what it should hold.
        let start = std::time::Instant::now();
        while std::fs::read_to_string(dir.path().join("notes.txt"))
            .ok()
            .as_deref()
            != Some("hello\nworld\n")
            && start.elapsed() < t
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
            "hello\nworld\n",
            "no <Esc> typed into the file"
        );
        // An unknown key name is refused, never typed.
        s.launch("echo ready; exec cat").unwrap();
        // Keys sent before the terminal has a foreground program raise no signal.
        s.wait_for("t2", "ready", t).await.unwrap();
        let e = s.send_keys("t2", "<Escpae>").unwrap_err();
        assert!(e.contains("unknown key"), "{e}");
        // Ctrl-C kills cat: said as such, not as "exit 1".
        s.send_keys("t2", "<C-c>").unwrap();
        let start = std::time::Instant::now();
        loop {
            let screen = s.read_screen("t2").unwrap();
            if screen.contains("killed by") || start.elapsed() > t {
                assert!(screen.contains("program killed by"), "{screen}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
