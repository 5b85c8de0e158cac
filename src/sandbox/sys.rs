//! The mount syscalls the holder needs that `libc` has no wrapper for (`open_tree`,
//! `move_mount`, `mount_setattr`, Linux 5.2+ / 5.12+), as thin safe functions.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::init::c_path;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const AT_RECURSIVE: libc::c_uint = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn check(r: libc::c_long) -> std::io::Result<libc::c_long> {
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

pub fn mount(
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> std::io::Result<()> {
    let c = |s: Option<&str>| s.map(|s| std::ffi::CString::new(s).expect("no NUL"));
    let (source, fstype, data) = (c(source), c(fstype), c(data));
    let target = c_path(target)?;
    let ptr = |s: &Option<std::ffi::CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: NUL-terminated strings that outlive the call, or null.
    let r = unsafe {
        libc::mount(
            ptr(&source),
            target.as_ptr(),
            ptr(&fstype),
            flags,
            ptr(&data).cast(),
        )
    };
    check(r as libc::c_long).map(drop)
}

fn open_tree(path: &Path, flags: libc::c_uint) -> std::io::Result<OwnedFd> {
    let p = c_path(path)?;
    // SAFETY: a NUL-terminated path; the result is a new fd we own.
    let fd = check(unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            p.as_ptr(),
            flags | libc::O_CLOEXEC as libc::c_uint,
        )
    })?;
    // SAFETY: the kernel returned a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A detached copy of the mount tree at `path` (submounts included).
pub fn clone_tree(path: &Path) -> std::io::Result<OwnedFd> {
    open_tree(path, OPEN_TREE_CLONE | AT_RECURSIVE)
}

/// A detached copy of the one mount at `path` (a device node's bind mount).
pub fn clone_mount(path: &Path) -> std::io::Result<OwnedFd> {
    open_tree(path, OPEN_TREE_CLONE)
}

/// Attaches the detached tree `fd` at `target`.
pub fn move_mount(fd: &OwnedFd, target: &Path) -> std::io::Result<()> {
    let t = c_path(target)?;
    // SAFETY: a live fd, an empty path and a NUL-terminated target.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })
    .map(drop)
}

fn set_attr(dfd: i32, path: &std::ffi::CStr, flags: libc::c_uint, set: u64) -> std::io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: a live attr struct of the size passed.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dfd,
            path.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// Makes the detached tree `fd` read-only (and nosuid), submounts included.
pub fn set_read_only(fd: &OwnedFd) -> std::io::Result<()> {
    set_attr(
        fd.as_raw_fd(),
        c"",
        libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE,
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID,
    )
}

/// Makes every mount at and beneath `path` read-only (and nosuid).
pub fn read_only_tree(path: &Path) -> std::io::Result<()> {
    let p = c_path(path)?;
    set_attr(
        libc::AT_FDCWD,
        &p,
        AT_RECURSIVE,
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID,
    )
}
