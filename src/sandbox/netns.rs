//! `[sandbox] network = false`: a command gets a network namespace of its own with only
//! loopback up. Entered between fork and exec, so everything here is prepared before
//! the fork or is a plain syscall.

/// The uid/gid maps for a user namespace, formatted before the fork.
#[derive(Debug)]
pub(super) struct NetworkSetup {
    root: bool,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
}

impl NetworkSetup {
    pub(super) fn new() -> Self {
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        NetworkSetup {
            root: uid == 0,
            uid_map: format!("{uid} {uid} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
        }
    }
}

/// A network namespace of its own with `lo` up: loopback works, nothing else is reachable.
pub(super) unsafe fn isolate_network(net: &NetworkSetup) -> std::io::Result<()> {
    let err = std::io::Error::last_os_error;
    // SAFETY: every call below is a plain syscall on prepared, NUL-terminated buffers.
    unsafe {
        if net.root {
            if libc::unshare(libc::CLONE_NEWNET) != 0 {
                return Err(err());
            }
        } else {
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                return Err(err());
            }
            write_proc(c"/proc/self/setgroups", b"deny")?;
            write_proc(c"/proc/self/uid_map", &net.uid_map)?;
            write_proc(c"/proc/self/gid_map", &net.gid_map)?;
        }
    }
    // SAFETY: see `loopback_up`.
    unsafe { loopback_up() }
}

/// Brings `lo` up in this process's network namespace.
///
/// # Safety
/// Plain syscalls only: callable between fork and exec.
pub(super) unsafe fn loopback_up() -> std::io::Result<()> {
    let err = std::io::Error::last_os_error;
    // SAFETY: ioctls on a fresh socket and a zeroed request.
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return Err(err());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        let mut r = libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req);
        if r == 0 {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            r = libc::ioctl(sock, libc::SIOCSIFFLAGS, &mut req);
        }
        let e = err();
        libc::close(sock);
        if r != 0 {
            return Err(e);
        }
    }
    Ok(())
}

pub(super) unsafe fn write_proc(path: &std::ffi::CStr, data: &[u8]) -> std::io::Result<()> {
    // SAFETY: open/write/close on a NUL-terminated path and a live buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let e = std::io::Error::last_os_error();
        libc::close(fd);
        if n < 0 {
            return Err(e);
        }
    }
    Ok(())
}
