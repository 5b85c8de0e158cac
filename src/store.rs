//! `.mission/events.jsonl`: the append-only log that is the mission's source of truth,
//! and the lock that keeps one runner per repository.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::mission::{Event, EventRecord};

mod scan;
pub use scan::{ScanEnd, lines_before, parse_line, scan};

/// What the checkpoint covers: the log's first `log_len` bytes (`lines` lines, the last
/// one event `seq`), whose xxh3 hash is `prefix_hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mark {
    pub seq: u64,
    pub log_len: u64,
    pub lines: u64,
    pub prefix_hash: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}: corrupt event ({reason}); only a torn last line is skipped. \
         Move the file aside or delete that line, then run `mission resume`"
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error(
        "another mission runner (pid {pid}) holds {path}; use `mission status` or stop it first"
    )]
    Locked { path: PathBuf, pid: String },
    #[error(
        "{path} was replaced or removed while this runner held it; stopping so that two logs are never mixed. Put the right file back (or move the new one aside), then `mission resume`"
    )]
    Replaced { path: PathBuf },
    #[error(
        "{path}: {source}; the event was not recorded and the log is intact. {advice}, then `mission resume`"
    )]
    Append {
        path: PathBuf,
        source: std::io::Error,
        advice: &'static str,
    },
}

impl StoreError {
    /// Something a human can fix, after which `mission resume` continues (exit 3).
    pub fn is_resumable(&self) -> bool {
        matches!(
            self,
            StoreError::Locked { .. } | StoreError::Replaced { .. } | StoreError::Append { .. }
        )
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What loading the log found besides the events.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Loaded {
    pub events: Vec<EventRecord>,
    /// Byte length of the valid prefix; a torn tail starts here.
    pub valid_len: u64,
    /// The torn last line, when a crash cut a write short.
    pub torn_tail: Option<String>,
}

/// Reads every event. A last line that does not parse (a write cut short by a crash) is
/// reported in `torn_tail`, never fatal; a bad line elsewhere is corruption.
pub fn load(path: &Path) -> Result<Loaded> {
    let mut events = Vec::new();
    let end = scan(path, 0, 0, None, |rec| events.push(rec))?;
    Ok(Loaded {
        events,
        valid_len: end.valid_len,
        torn_tail: end.torn_tail,
    })
}

/// The writing end of the log. Only the lock holder opens one.
pub struct EventLog {
    path: PathBuf,
    file: File,
    next_seq: u64,
    /// Bytes of whole lines written: a failed append is cut back to this.
    len: u64,
    /// Which file this is, so that a log replaced under the runner is noticed.
    identity: (u64, u64),
    /// A failed append could not be rolled back: refuse every later one.
    broken: bool,
    /// The hash and line count of everything written so far, for a checkpoint's mark.
    prefix: xxhash_rust::xxh3::Xxh3,
    lines: u64,
    last_seq: u64,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("path", &self.path)
            .field("next_seq", &self.next_seq)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// What to do about a failed write, by its cause.
fn advice(e: &std::io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => "The disk is full: free some space",
        Some(libc::EROFS) => "The filesystem became read-only: remount it read-write",
        Some(libc::EACCES) | Some(libc::EPERM) => {
            "Permission was refused: fix the file's permissions"
        }
        _ => "Fix the cause above",
    }
}

impl EventLog {
    /// Opens the log for appending after `loaded`, cutting off a torn tail so the next
    /// event starts on a line of its own.
    pub fn open(path: &Path, loaded: &Loaded) -> Result<Self> {
        Self::open_at(
            path,
            loaded.valid_len,
            loaded.events.last().map_or(0, |e| e.seq),
        )
    }

    /// `open` after a load that did not keep the events: the valid length and the last
    /// seq are enough.
    pub fn open_at(path: &Path, valid_len: u64, last_seq: u64) -> Result<Self> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io(path))?;
        let meta = file.metadata().map_err(io(path))?;
        let len = meta.len();
        if len > valid_len {
            // Keep the torn bytes beside the log before cutting them off: nothing is lost.
            let mut tail = Vec::new();
            file.seek(SeekFrom::Start(valid_len)).map_err(io(path))?;
            std::io::Read::read_to_end(&mut file, &mut tail).map_err(io(path))?;
            let torn = path.with_extension("jsonl.torn");
            let mut keep = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&torn)
                .map_err(io(&torn))?;
            keep.write_all(&tail).map_err(io(&torn))?;
            keep.write_all(b"\n").map_err(io(&torn))?;
            file.set_len(valid_len).map_err(io(path))?;
        }
        // What a checkpoint of this log will vouch for: read once here, then kept up to
        // date by each append.
        let mut prefix = xxhash_rust::xxh3::Xxh3::new();
        let mut lines = 0u64;
        {
            file.seek(SeekFrom::Start(0)).map_err(io(path))?;
            let mut rest = std::io::Read::take(&mut file, valid_len);
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = std::io::Read::read(&mut rest, &mut buf).map_err(io(path))?;
                if n == 0 {
                    break;
                }
                prefix.update(&buf[..n]);
                lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            }
        }
        file.seek(SeekFrom::End(0)).map_err(io(path))?;
        Ok(EventLog {
            path: path.to_path_buf(),
            file,
            next_seq: last_seq + 1,
            len: valid_len,
            identity: identity(&meta),
            broken: false,
            prefix,
            lines,
            last_seq,
        })
    }

    /// The path must still be the file this log holds, at the length it wrote.
    fn check_file(&self) -> Result<()> {
        let replaced = || StoreError::Replaced {
            path: self.path.clone(),
        };
        let on_disk = std::fs::metadata(&self.path).map_err(|_| replaced())?;
        if identity(&on_disk) != self.identity || on_disk.len() != self.len {
            return Err(replaced());
        }
        Ok(())
    }

    /// Appends one event as one line and syncs it: once this returns, a crash keeps it.
    /// A write that fails (a full disk) is cut back, so the log never holds a partial
    /// line that the next append would be glued to.
    pub fn append(&mut self, event: Event) -> Result<EventRecord> {
        self.append_with(event, true)
    }

    /// `append`, with the sync left to the next synced append when `sync` is false (group
    /// commit): the line is written whole (a killed process keeps it), and only a crash
    /// of the machine can take it together with the lines after the last sync.
    pub fn append_with(&mut self, event: Event, sync: bool) -> Result<EventRecord> {
        if self.broken {
            return Err(StoreError::Replaced {
                path: self.path.clone(),
            });
        }
        self.check_file()?;
        let rec = EventRecord {
            seq: self.next_seq,
            ts: jiff::Timestamp::now(),
            event,
        };
        let mut line = serde_json::to_string(&rec).map_err(|e| StoreError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        line.push('\n');
        let written = crate::failpoint::append()
            .and_then(|()| self.file.write_all(line.as_bytes()))
            .and_then(|()| if sync { self.file.sync_data() } else { Ok(()) });
        if let Err(source) = written {
            let rolled_back = self
                .file
                .set_len(self.len)
                .and_then(|()| self.file.seek(SeekFrom::End(0)).map(drop))
                .and_then(|()| self.file.sync_data());
            self.broken = rolled_back.is_err();
            return Err(StoreError::Append {
                path: self.path.clone(),
                advice: advice(&source),
                source,
            });
        }
        self.len += line.len() as u64;
        self.next_seq += 1;
        self.prefix.update(line.as_bytes());
        self.lines += 1;
        self.last_seq = rec.seq;
        crate::failpoint::after_event(rec.seq);
        Ok(rec)
    }
}

impl EventLog {
    /// What a checkpoint taken now covers; `None` for an empty log.
    pub fn mark(&self) -> Option<Mark> {
        (self.last_seq > 0).then(|| Mark {
            seq: self.last_seq,
            log_len: self.len,
            lines: self.lines,
            prefix_hash: self.prefix.digest(),
        })
    }
}

/// Held for as long as a process may write the log: a `flock` on the `.mission/`
/// directory itself, so deleting or archiving a file inside cannot let a second runner in
/// (and the appender checks that `events.jsonl` still is the file it holds). The kernel
/// drops the lock when its holder dies, so a lock left by a killed runner is simply taken
/// over. `lock` beside it only names the holder's pid, for messages and for noticing a
/// crash.
#[derive(Debug)]
pub struct MissionLock {
    _log: File,
    pid_file: PathBuf,
    /// The pid written by a previous holder that is gone (a crash or `kill -9`).
    pub stale_pid: Option<String>,
}

pub fn acquire_lock(events: &Path, pid_file: &Path) -> Result<MissionLock> {
    let dir = events.parent().unwrap_or(Path::new("."));
    let log = File::open(dir).map_err(io(dir))?;
    let previous = std::fs::read_to_string(pid_file)
        .unwrap_or_default()
        .trim()
        .to_string();
    // A console asking whether a runner lives holds the lock for an instant: wait that out.
    let mut tries = 0;
    let locked = loop {
        match log.try_lock() {
            Err(std::fs::TryLockError::WouldBlock) if tries < 20 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => break other,
        }
    };
    match locked {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(StoreError::Locked {
                path: events.to_path_buf(),
                pid: if previous.is_empty() {
                    "unknown".into()
                } else {
                    previous
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(events)(e)),
    }
    write_private(pid_file, format!("{}\n", std::process::id()).as_bytes())
        .map_err(io(pid_file))?;
    let stale_pid =
        (!previous.is_empty() && previous != std::process::id().to_string()).then_some(previous);
    Ok(MissionLock {
        _log: log,
        pid_file: pid_file.to_path_buf(),
        stale_pid,
    })
}

impl Drop for MissionLock {
    /// A runner that ends cleanly leaves no pid behind, so the next one does not report
    /// taking over from a crash.
    fn drop(&mut self) {
        let _ = std::fs::write(&self.pid_file, "");
    }
}

/// Writes a feature's handoff (`.mission/handoffs/<feature>.json`): the one writer.
pub fn write_handoff(
    layout: &crate::layout::Layout,
    h: &crate::mission::Handoff,
) -> std::io::Result<PathBuf> {
    let path = layout.handoff(&h.feature_id);
    let json = serde_json::to_string_pretty(h).map_err(std::io::Error::other)?;
    write_private(&path, json.as_bytes())?;
    Ok(path)
}

/// Reads a feature's handoff: `Ok(None)` when there is none yet, `Err` naming the file
/// when it does not parse. The one reader.
pub fn read_handoff(
    layout: &crate::layout::Layout,
    feature: &str,
) -> std::result::Result<Option<crate::mission::Handoff>, String> {
    let path = layout.handoff(feature);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// The pid of the live runner holding the mission, if any: the pid file names it and the
/// process is still there running `mission` (a killed runner leaves its pid behind).
/// Whether a runner holds the mission's lock now: the kernel drops the lock the moment
/// its holder dies, reaped or not (a pid check would take a killed, unreaped runner for
/// a live one). Taking the lock to ask would let a runner starting that instant find it
/// held; `acquire_lock` waits a moment for that.
pub fn runner_holds_lock(events: &Path) -> bool {
    let dir = events.parent().unwrap_or(Path::new("."));
    let Ok(f) = File::open(dir) else {
        return false;
    };
    match f.try_lock_shared() {
        Ok(()) => false,
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(std::fs::TryLockError::Error(_)) => false,
    }
}

pub fn live_runner(pid_file: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let exe = cmdline.split(|b| *b == 0).next()?;
    String::from_utf8_lossy(exe)
        .rsplit('/')
        .next()
        .is_some_and(|name| name.starts_with("mission"))
        .then_some(pid)
}

/// Writes a file only its owner can read (`.mission/` holds transcripts and handoffs),
/// whole or not at all: a full disk leaves the previous version, never half a file.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("partial");
    let written = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_data()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission::Event;

    fn msg(i: usize) -> Event {
        Event::MessageSaid {
            text: format!("m{i}"),
        }
    }

    #[test]
    fn append_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let mut log = EventLog::open(&p, &load(&p).unwrap()).unwrap();
        let a = log.append(msg(1)).unwrap();
        let b = log.append(msg(2)).unwrap();
        let loaded = load(&p).unwrap();
        assert_eq!(loaded.events, vec![a, b]);
        assert_eq!(loaded.events[1].seq, 2);
        assert_eq!(loaded.torn_tail, None);
    }

    #[test]
    fn torn_last_line_is_ignored_and_cut_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let mut log = EventLog::open(&p, &load(&p).unwrap()).unwrap();
        log.append(msg(1)).unwrap();
        drop(log);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"seq":2,"ts":"2026-"#).unwrap();
        let loaded = load(&p).unwrap();
        assert_eq!(loaded.events.len(), 1);
        assert!(loaded.torn_tail.is_some());
        let mut log = EventLog::open(&p, &loaded).unwrap();
        let kept = std::fs::read_to_string(p.with_extension("jsonl.torn")).unwrap();
        assert!(kept.starts_with(r#"{"seq":2,"ts":"2026-"#), "{kept}");
        let rec = log.append(msg(2)).unwrap();
        assert_eq!(rec.seq, 2);
        let again = load(&p).unwrap();
        assert_eq!(again.events.len(), 2);
        assert_eq!(again.torn_tail, None);
    }

    #[test]
    fn a_complete_line_without_newline_is_torn_too() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let mut log = EventLog::open(&p, &load(&p).unwrap()).unwrap();
        let rec = log.append(msg(1)).unwrap();
        drop(log);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        let mut partial = serde_json::to_string(&rec).unwrap();
        partial = partial.replace("\"seq\":1", "\"seq\":2");
        f.write_all(partial.as_bytes()).unwrap();
        let loaded = load(&p).unwrap();
        assert_eq!(loaded.events.len(), 1);
        assert!(loaded.torn_tail.is_some());
    }

    #[test]
    fn corruption_in_the_middle_is_an_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let mut log = EventLog::open(&p, &load(&p).unwrap()).unwrap();
        log.append(msg(1)).unwrap();
        drop(log);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"garbage\n").unwrap();
        let later = EventRecord {
            seq: 3,
            ts: jiff::Timestamp::now(),
            event: msg(3),
        };
        f.write_all(format!("{}\n", serde_json::to_string(&later).unwrap()).as_bytes())
            .unwrap();
        drop(f);
        let err = load(&p).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("events.jsonl:2"));
    }

    #[test]
    fn lock_is_exclusive_and_a_dead_holder_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let (ev, p) = (dir.path().join("events.jsonl"), dir.path().join("lock"));
        let held = acquire_lock(&ev, &p).unwrap();
        assert_eq!(held.stale_pid, None);
        let err = acquire_lock(&ev, &p).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        // Deleting the pid file or archiving the log lets nobody in: the lock is on the
        // directory.
        std::fs::remove_file(&p).unwrap();
        let err = acquire_lock(&ev, &p).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        std::fs::write(&ev, "").unwrap();
        std::fs::rename(&ev, dir.path().join("archived.jsonl")).unwrap();
        let err = acquire_lock(&ev, &p).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        drop(held);
        // A killed runner leaves its pid behind but no lock.
        std::fs::write(&p, "999999\n").unwrap();
        let taken = acquire_lock(&ev, &p).unwrap();
        assert_eq!(taken.stale_pid.as_deref(), Some("999999"));
    }

    #[test]
    fn a_log_replaced_under_the_runner_stops_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let mut log = EventLog::open(&p, &load(&p).unwrap()).unwrap();
        log.append(msg(1)).unwrap();
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, "").unwrap();
        let err = log.append(msg(2)).unwrap_err();
        assert!(matches!(err, StoreError::Replaced { .. }), "{err}");
        assert!(err.is_resumable());
        // Appended to by someone else: the same.
        let p2 = dir.path().join("b.jsonl");
        let mut log = EventLog::open(&p2, &load(&p2).unwrap()).unwrap();
        log.append(msg(1)).unwrap();
        OpenOptions::new()
            .append(true)
            .open(&p2)
            .unwrap()
            .write_all(b"{}\n")
            .unwrap();
        assert!(matches!(
            log.append(msg(2)),
            Err(StoreError::Replaced { .. })
        ));
    }

    #[test]
    fn seq_must_rise_by_one_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let mut log = EventLog::open(&p, &load(&p).unwrap()).unwrap();
        for i in 1..=4 {
            log.append(msg(i)).unwrap();
        }
        drop(log);
        let good = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = good.lines().collect();
        let cases: Vec<(Vec<&str>, usize)> = vec![
            (vec![lines[0], lines[1], lines[1], lines[2], lines[3]], 3), // duplicated
            (vec![lines[0], lines[2], lines[3]], 2),                     // dropped
            (vec![lines[0], lines[2], lines[1], lines[3]], 2),           // moved
            (vec![lines[1], lines[2]], 1),                               // no start
        ];
        for (kept, bad_line) in cases {
            std::fs::write(&p, kept.join("\n") + "\n").unwrap();
            match load(&p) {
                Err(StoreError::Corrupt { line, reason, .. }) => {
                    assert_eq!(line, bad_line, "{reason}");
                    assert!(reason.contains("was expected"), "{reason}");
                }
                other => panic!("{kept:?} loaded: {other:?}"),
            }
        }
    }
}
