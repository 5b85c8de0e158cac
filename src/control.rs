//! `.mission/control.sock`: how `mission approve`, `pause`, `say` … reach a running
//! mission. One JSON `Op` per line in, one JSON `OpReply` per line out. With no runner
//! alive, the same decision is recorded straight into the event log.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::hub::Hub;
use crate::layout::Layout;
use crate::mission::op::Request;
use crate::mission::{MissionState, Op, OpReply, decide};
use crate::store::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control socket {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the socket path {0} is too long for a Unix socket (max ~100 bytes); run the mission from a shorter path"
    )]
    PathTooLong(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("bad reply from the runner: {0}")]
    BadReply(String),
}

/// The longest socket path we bind (`sun_path` holds 108 bytes with its NUL; some systems
/// fewer).
pub const MAX_SOCKET_PATH: usize = 100;

/// Listens for ops until the task is dropped. The caller holds the repo lock, so any
/// socket file already there was left by a dead runner.
pub fn serve(hub: Hub, path: &Path) -> Result<tokio::task::JoinHandle<()>, ControlError> {
    let io = |source| ControlError::Io {
        path: path.display().to_string(),
        source,
    };
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(ControlError::PathTooLong(path.display().to_string()));
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let hub = hub.clone();
            tokio::spawn(async move {
                let _ = handle(hub, stream).await;
            });
        }
    }))
}

/// The longest request line the runner reads; a longer one is answered and the
/// connection closed, so no client can make the runner hold an unbounded line.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Whether the process `pid` is one of the mission's own commands (or something they
/// started): those must never steer the mission — an agent approving its own gate.
/// Landlock does not keep a confined command from connecting to a socket file, so the
/// runner looks at who is calling: a descendant of this runner, or a process under
/// `no_new_privs` (every confined command is) when this runner is not.
fn from_the_mission(pid: i32) -> bool {
    let status = |pid: i32| std::fs::read_to_string(format!("/proc/{pid}/status")).ok();
    let field = |text: &str, key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
    };
    let me = std::process::id() as i32;
    let nnp = |pid: i32| {
        status(pid)
            .and_then(|s| field(&s, "NoNewPrivs:"))
            .as_deref()
            == Some("1")
    };
    if nnp(pid) && !nnp(me) {
        return true;
    }
    let mut p = pid;
    for _ in 0..256 {
        if p == me {
            return true;
        }
        match status(p)
            .and_then(|s| field(&s, "PPid:"))
            .and_then(|v| v.parse().ok())
        {
            Some(parent) if parent > 1 => p = parent,
            _ => return false,
        }
    }
    false
}

async fn handle(hub: Hub, stream: UnixStream) -> std::io::Result<()> {
    let agent = stream
        .peer_cred()
        .ok()
        .and_then(|c| c.pid())
        .is_some_and(from_the_mission);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_REQUEST_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        let too_long = line.len() > MAX_REQUEST_BYTES;
        let reply = if agent {
            OpReply::refused("commands run by the mission's agents cannot control it")
        } else if too_long {
            OpReply::refused(format!(
                "request longer than {MAX_REQUEST_BYTES} bytes; the connection is closed"
            ))
        } else {
            match serde_json::from_slice::<Request>(&line) {
                Ok(req) => OpReply {
                    id: req.id,
                    ..apply(&hub, &req.op)
                },
                Err(e) => OpReply::refused(format!("not an op: {e}")),
            }
        };
        let mut out = serde_json::to_string(&reply).unwrap_or_default();
        out.push('\n');
        write.write_all(out.as_bytes()).await?;
        if too_long {
            return Ok(());
        }
    }
}

/// Applies an op to a mission run in this process.
pub fn apply(hub: &Hub, op: &Op) -> OpReply {
    let mut reply = OpReply::refused("no answer");
    let recorded = hub.emit_with(|st| match decide(st, op) {
        Ok((event, msg)) => {
            reply = OpReply::ok(msg);
            event
        }
        Err(msg) => {
            reply = OpReply::refused(msg);
            None
        }
    });
    match recorded {
        Ok(_) => reply,
        Err(e) => OpReply::refused(format!("could not record it: {e}")),
    }
}

/// Sends `op` to the runner, or records it directly when no runner is alive.
pub async fn send(layout: &Layout, op: &Op) -> Result<OpReply, ControlError> {
    let path = layout.socket();
    match UnixStream::connect(&path).await {
        Ok(stream) => exchange(stream, op).await,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            offline(layout, op)
        }
        Err(source) => Err(ControlError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

async fn exchange(stream: UnixStream, op: &Op) -> Result<OpReply, ControlError> {
    let io = |source| ControlError::Io {
        path: "control.sock".into(),
        source,
    };
    let (read, mut write) = stream.into_split();
    // Every op carries an id; its reply echoes it.
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let request = Request {
        id: Some(NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
        op: op.clone(),
    };
    let mut line = serde_json::to_string(&request).unwrap_or_default();
    line.push('\n');
    write.write_all(line.as_bytes()).await.map_err(io)?;
    let mut lines = BufReader::new(read).lines();
    let reply = lines.next_line().await.map_err(io)?.unwrap_or_default();
    serde_json::from_str(&reply).map_err(|e| ControlError::BadReply(format!("{e}: {reply:?}")))
}

/// No runner: take the lock and append the decision; `mission resume` acts on it.
fn offline(layout: &Layout, op: &Op) -> Result<OpReply, ControlError> {
    match op {
        Op::Ping => return Ok(OpReply::refused("no runner is active for this mission")),
        // Recorded, they would take effect only after a resume, which is the human's
        // answer to a stop anyway: say so instead of queueing a surprise.
        Op::Pause | Op::Unpause => {
            return Ok(OpReply::refused(
                "nothing runs this mission now (its runner stopped), so there is nothing to pause or unpause; `mission resume` continues it",
            ));
        }
        _ => {}
    }
    let _lock = store::acquire_lock(&layout.events(), &layout.lock())?;
    let loaded = store::load(&layout.events())?;
    let st = MissionState::from_events(&loaded.events);
    Ok(match decide(&st, op) {
        Ok((Some(event), msg)) => {
            let mut log = store::EventLog::open(&layout.events(), &loaded)?;
            log.append(event)?;
            OpReply::ok(format!(
                "{msg} (no runner is active: `mission resume` continues)"
            ))
        }
        Ok((None, msg)) => OpReply::ok(msg),
        Err(msg) => OpReply::refused(msg),
    })
}
/// Ctrl-C, `kill` or a closed SSH session: each stops the runner between steps, so the
/// socket is removed and the lock released (`mission resume` continues).
fn hangup_ignored() -> bool {
    let mut old = std::mem::MaybeUninit::<nix::libc::sigaction>::zeroed();
    // SAFETY: a null new action only reads the current disposition into `old`.
    let rc = unsafe { nix::libc::sigaction(nix::libc::SIGHUP, std::ptr::null(), old.as_mut_ptr()) };
    // SAFETY: sigaction filled `old` when it returned 0; zeroed memory is valid otherwise.
    rc == 0 && unsafe { old.assume_init() }.sa_sigaction == nix::libc::SIG_IGN
}

pub async fn termination() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    // Under `nohup` a hangup is meant to be ignored; listening would undo that.
    let mut hup = (!hangup_ignored())
        .then(|| signal(SignalKind::hangup()).ok())
        .flatten();
    let wait = |s: Option<tokio::signal::unix::Signal>| async move {
        match s {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = wait(term.take()) => {}
        _ = wait(hup.take()) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::{SigHandler, Signal, signal};

    #[test]
    fn the_missions_own_commands_are_told_apart_from_humans() {
        // This test process is no descendant of itself's parent…
        assert!(!from_the_mission(nix::unistd::getppid().as_raw()));
        // …but a child of ours is, and so is one under no_new_privs.
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert!(from_the_mission(child.id() as i32));
        child.kill().unwrap();
        let _ = child.wait();
    }

    #[test]
    fn a_hangup_ignored_by_nohup_is_seen_as_ignored() {
        // SAFETY: no other test touches SIGHUP; the default is put back.
        unsafe { signal(Signal::SIGHUP, SigHandler::SigIgn) }.unwrap();
        assert!(hangup_ignored());
        unsafe { signal(Signal::SIGHUP, SigHandler::SigDfl) }.unwrap();
        assert!(!hangup_ignored());
    }
}
