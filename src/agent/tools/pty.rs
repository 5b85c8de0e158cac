//! The user tester's terminal: programs launched in real pseudo-terminals, read through
//! a vt100 screen model, driven with keys. Every session dies with its toolbox.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::num::NonZero;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use super::sandbox::Launcher;

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
    launcher: Launcher,
    sessions: Mutex<HashMap<String, Session>>,
    next: Mutex<u32>,
}

/// `<Enter>`, `<Up>`, `<C-c>`… become the bytes a terminal sends; the rest is literal.
pub fn key_bytes(keys: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = keys;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<')
            && let Some(end) = after.find('>')
        {
            let name = &after[..end];
            let seq: Option<Vec<u8>> = match name {
                "Enter" | "CR" => Some(b"\r".to_vec()),
                "Tab" => Some(b"\t".to_vec()),
                "Esc" => Some(b"\x1b".to_vec()),
                "Backspace" | "BS" => Some(b"\x7f".to_vec()),
                "Space" => Some(b" ".to_vec()),
                "Up" => Some(b"\x1b[A".to_vec()),
                "Down" => Some(b"\x1b[B".to_vec()),
                "Right" => Some(b"\x1b[C".to_vec()),
                "Left" => Some(b"\x1b[D".to_vec()),
                "Home" => Some(b"\x1b[H".to_vec()),
                "End" => Some(b"\x1b[F".to_vec()),
                _ => name
                    .strip_prefix("C-")
                    .filter(|c| c.len() == 1)
                    .and_then(|c| c.bytes().next())
                    .filter(u8::is_ascii_alphabetic)
                    .map(|c| vec![c.to_ascii_lowercase() - b'a' + 1]),
            };
            if let Some(seq) = seq {
                out.extend(seq);
                rest = &after[end + 1..];
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        let mut buf = [0u8; 4];
        out.extend(c.encode_utf8(&mut buf).as_bytes());
        rest = &rest[c.len_utf8()..];
    }
    out
}

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
        let (program, args) = self.launcher.argv(command);
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
        s.writer
            .write_all(&key_bytes(keys))
            .and_then(|()| s.writer.flush())
            .map_err(|e| format!("cannot type into {id}: {e}"))?;
        Ok(format!(
            "sent {} key byte(s) to {id}",
            key_bytes(keys).len()
        ))
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
                    timeout.as_secs()
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
        Ok(Some(st)) => format!("exited with code {}", st.exit_code()),
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
        assert_eq!(key_bytes("ab<Enter>"), b"ab\r");
        assert_eq!(key_bytes("<C-d><Up><Esc>"), b"\x04\x1b[A\x1b");
        assert_eq!(key_bytes("<notakey>é"), "<notakey>é".as_bytes());
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
}
