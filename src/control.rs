//! `.mission/control.sock`: how `mission approve`, `pause`, `say` … reach a running
//! mission. One JSON `Op` per line in, one JSON `OpReply` per line out. With no runner
//! alive, the same decision is recorded straight into the event log.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::hub::Hub;
use crate::layout::Layout;
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

/// Listens for ops until the task is dropped. The caller holds the repo lock, so any
/// socket file already there was left by a dead runner.
pub fn serve(hub: Hub, path: &Path) -> Result<tokio::task::JoinHandle<()>, ControlError> {
    let io = |source| ControlError::Io {
        path: path.display().to_string(),
        source,
    };
    if path.as_os_str().len() > 100 {
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

async fn handle(hub: Hub, stream: UnixStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        let reply = match serde_json::from_str::<Op>(&line) {
            Ok(op) => apply(&hub, &op),
            Err(e) => OpReply::refused(format!("not an op: {e}")),
        };
        let mut out = serde_json::to_string(&reply).unwrap_or_default();
        out.push('\n');
        write.write_all(out.as_bytes()).await?;
    }
    Ok(())
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
    let mut line = serde_json::to_string(op).unwrap_or_default();
    line.push('\n');
    write.write_all(line.as_bytes()).await.map_err(io)?;
    let mut lines = BufReader::new(read).lines();
    let reply = lines.next_line().await.map_err(io)?.unwrap_or_default();
    serde_json::from_str(&reply).map_err(|e| ControlError::BadReply(format!("{e}: {reply:?}")))
}

/// No runner: take the lock and append the decision; `mission resume` acts on it.
fn offline(layout: &Layout, op: &Op) -> Result<OpReply, ControlError> {
    if *op == Op::Ping {
        return Ok(OpReply::refused("no runner is active for this mission"));
    }
    let _lock = store::acquire_lock(&layout.lock())?;
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
    fn a_hangup_ignored_by_nohup_is_seen_as_ignored() {
        // SAFETY: no other test touches SIGHUP; the default is put back.
        unsafe { signal(Signal::SIGHUP, SigHandler::SigIgn) }.unwrap();
        assert!(hangup_ignored());
        unsafe { signal(Signal::SIGHUP, SigHandler::SigDfl) }.unwrap();
        assert!(!hangup_ignored());
    }
}
