//! The one launcher of every confined process: agent and contract commands, the user
//! tester's terminal programs, MCP servers and external agents.
//!
//! Walls, outermost first: namespaces shared by all of a mission's confined processes
//! (user, pid, mount, ipc, and net when the network is off: `namespaces.rs`, set up by
//! `init.rs`), Landlock write rules and scopes (`launcher.rs`), limits (`limits.rs`), an
//! environment allowlist (`env.rs`), and checks after each command of what must not change
//! (`protect.rs`).

pub mod env;
pub mod exec;
pub mod groups;
pub mod hints;
pub mod init;
pub mod launcher;
pub mod limits;
pub mod namespaces;
mod netns;
pub mod protect;
mod rules;
mod sys;
mod writable;

pub use exec::{ExecSpec, exec_confined};
pub use launcher::*;

use std::path::PathBuf;
use std::sync::Arc;

/// What the namespaces are asked to give a mission working in `work`.
#[derive(Debug, Clone)]
pub struct IsolationRequest {
    pub network: bool,
    pub limits: limits::Limits,
    /// Visible read-only even inside hidden directories: the repository's git dir.
    pub read: Vec<PathBuf>,
    /// Hidden from every confined process: the checkout's `.mission/`.
    pub hide: Vec<PathBuf>,
}

/// Puts `confine` (the Landlock walls) inside a mission's namespaces where this kernel
/// lets us: returns the confinement (its scopes set for what the namespaces already
/// give), the isolation, and — when there is none — why, for `doctor` and the first
/// lines. Without Landlock there is nothing to isolate with (`sandbox-exec` is the
/// confined program's only way in).
pub fn isolate(
    confine: Option<Confinement>,
    request: IsolationRequest,
) -> (
    Option<Confinement>,
    Option<Arc<namespaces::Isolation>>,
    Option<String>,
) {
    let Some(mut c) = confine else {
        return (None, None, None);
    };
    if let Err(e) = namespaces::available(&c.exe) {
        return (
            Some(c),
            None,
            Some(format!(
                "NOT ENFORCED: commands share the host's processes, /proc, /dev, /tmp and unix sockets ({e})"
            )),
        );
    }
    // Mount targets must not end in a symlink (`move_mount` refuses them): the real places.
    let real = |v: Vec<PathBuf>| -> Vec<PathBuf> {
        v.into_iter()
            .map(|p| p.canonicalize().unwrap_or(p))
            .collect()
    };
    let spec = init::InitSpec {
        write: real(c.writable.clone()),
        read: real(request.read),
        hide: real(request.hide),
        network: request.network,
    };
    // The pid namespace keeps signals in; the abstract socket namespace is the network's.
    c.scopes = Scopes {
        signals: false,
        abstract_sockets: request.network,
    };
    let iso = namespaces::Isolation::new(c.exe.clone(), spec, request.limits);
    (Some(c), Some(Arc::new(iso)), None)
}
