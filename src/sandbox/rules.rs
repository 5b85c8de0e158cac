//! The Landlock wall: write rules beneath the writable places, and the scopes (signals,
//! abstract sockets) where the namespaces do not give them already.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use landlock::{
    ABI, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope,
    path_beneath_rules,
};

use super::launcher::Scopes;

/// The newest Landlock ABI whose write rights we ask for; older kernels get what they
/// support of the rights it adds (device ioctls).
const ABI_WANTED: ABI = ABI::V5;

/// The oldest ABI we confine with: before ABI 2 every rename across directories fails
/// (git could not store an object), before ABI 3 truncation is not controlled (a
/// "read-only" command could empty a file).
const ABI_REQUIRED: ABI = ABI::V3;

/// Landlock rules for writing beneath `writable` (and the `scopes` the kernel has),
/// created (paths opened) but not entered.
pub(super) fn ruleset(writable: &[PathBuf], scopes: Scopes) -> Result<OwnedFd, String> {
    let rights = AccessFs::from_write(ABI_WANTED);
    let mut scope = landlock::BitFlags::<Scope>::empty();
    if scopes.signals {
        scope |= Scope::Signal;
    }
    if scopes.abstract_sockets {
        scope |= Scope::AbstractUnixSocket;
    }
    let created = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_write(ABI_REQUIRED))
        .map(|r| r.set_compatibility(CompatLevel::BestEffort))
        .and_then(|r| r.handle_access(rights))
        .and_then(|r| {
            if scope.is_empty() {
                Ok(r)
            } else {
                r.scope(scope)
            }
        })
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(writable, rights)))
        .map_err(|e| format!("cannot confine the command: {e}"))?;
    let fd: Option<OwnedFd> = created.into();
    fd.ok_or_else(|| "cannot confine the command: this kernel does not enforce Landlock".into())
}

/// Whether this kernel enforces the Landlock rules we need; `Err` says why not.
pub fn available() -> Result<(), String> {
    let created = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_write(ABI_REQUIRED))
        .and_then(|r| r.create())
        .map_err(|e| {
            format!(
                "this kernel's Landlock cannot confine commands (it needs Landlock ABI 3, Linux 6.2+, with `landlock` in the LSM list): {e}"
            )
        })?;
    let fd: Option<OwnedFd> = created.into();
    fd.map(drop).ok_or_else(|| {
        "this kernel does not offer Landlock (Linux 6.2+ with `landlock` in its LSM list)".into()
    })
}
