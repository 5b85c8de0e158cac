//! `mission sandbox-exec`: a process that confines itself, then execs the command — the
//! way in for spawners without `pre_exec` (the user tester's terminals).

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::launcher::{Confinement, Launcher, Scopes};
use super::namespaces::{JoinSetup, NsFds};

/// How `sandbox-exec` confines itself before it execs.
#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    pub writable: Vec<PathBuf>,
    pub network: bool,
    pub scopes: Option<Scopes>,
    /// The holder's init to join (its namespaces), with the net namespace unless
    /// `join_keeps_network`.
    pub join: Option<i32>,
    pub join_keeps_network: bool,
    pub cgroup_procs: Vec<PathBuf>,
    pub max_processes: Option<u64>,
    pub max_memory_bytes: Option<u64>,
}

/// Confines this process as `spec` says, then replaces it with `program args…`. Returns
/// only on failure, with the reason.
pub fn exec_confined(spec: &ExecSpec, program: &OsStr, args: &[OsString]) -> String {
    let mut confine = Confinement::new(PathBuf::new(), spec.writable.clone());
    confine.scopes = spec.scopes.unwrap_or(Scopes {
        signals: false,
        abstract_sockets: false,
    });
    let launcher = Launcher {
        confine: Some(confine),
        network: spec.network || spec.join.is_some(),
        ..Launcher::default()
    };
    let mut setup = match launcher.child_setup(Path::new("/")) {
        Ok(Some(s)) => s,
        Ok(None) => return "cannot confine the command: nothing to confine".into(),
        Err(e) => return e,
    };
    if let Some(pid) = spec.join {
        let cwd = match std::env::current_dir() {
            Ok(c) => c,
            Err(e) => return format!("cannot read the working directory: {e}"),
        };
        let fds = match NsFds::open(pid, !spec.join_keeps_network, &spec.cgroup_procs) {
            Ok(f) => Arc::new(f),
            Err(e) => return e,
        };
        match JoinSetup::new(fds, &cwd, (spec.max_processes, spec.max_memory_bytes)) {
            Ok(j) => setup.join = Some(j),
            Err(e) => return e,
        }
    }
    // SAFETY: called by `sandbox-exec` before any thread is started.
    if let Err(e) = unsafe { setup.enter() } {
        return format!("cannot confine the command: {e}");
    }
    let err = std::process::Command::new(program).args(args).exec();
    format!("cannot run {}: {err}", program.to_string_lossy())
}
