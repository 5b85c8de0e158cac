//! `.mission/events.jsonl`: the append-only log that is the mission's source of truth,
//! and the lock that keeps one runner per repository.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::mission::{Event, EventRecord};

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

/// Where a scan of the log stopped.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ScanEnd {
    /// Byte length of the valid prefix; a torn tail starts here.
    pub valid_len: u64,
    pub torn_tail: Option<String>,
    /// The seq of the last event read (`after` when none was).
    pub last_seq: Option<u64>,
}

/// Streams the events from byte `offset` (the start of line `lines_before` + 1) to
/// `each`, checking that seq rises by one — from `after` + 1 when given. The log is read
/// in blocks whose lines are parsed on every core (parsing is most of a replay's time),
/// then checked and handed over in order; memory holds one block, never the log.
pub fn scan(
    path: &Path,
    offset: u64,
    lines_before: u64,
    after: Option<u64>,
    mut each: impl FnMut(EventRecord),
) -> Result<ScanEnd> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ScanEnd::default()),
        Err(e) => return Err(io(path)(e)),
    };
    if offset > 0 {
        file.seek(SeekFrom::Start(offset)).map_err(io(path))?;
    }
    let mut out = ScanEnd {
        valid_len: offset,
        torn_tail: None,
        last_seq: after,
    };
    let mut lineno = lines_before as usize;
    let mut pending_error: Option<(usize, String, String)> = None;
    let mut block: Vec<u8> = Vec::new();
    let mut at_end = false;
    while !at_end {
        // BLOCK more bytes after what a partial line carried over (or up to the end).
        let have = block.len();
        block.resize(have + BLOCK, 0);
        let mut filled = have;
        while filled < block.len() {
            let n = std::io::Read::read(&mut file, &mut block[filled..]).map_err(io(path))?;
            if n == 0 {
                at_end = true;
                break;
            }
            filled += n;
        }
        block.truncate(filled);
        // Whole lines now; a partial last line waits for the next block (or, at the end
        // of the file, is the torn tail).
        let whole = match block.iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if at_end => block.len(),
            None => continue,
        };
        let cut = if at_end { block.len() } else { whole };
        let lines: Vec<&[u8]> = block[..cut].split_inclusive(|&b| b == b'\n').collect();
        let parsed = parse_all(&lines);
        for (line, rec) in lines.iter().zip(parsed) {
            let n = line.len();
            lineno += 1;
            if let Some((l, reason, _)) = pending_error.take() {
                // The bad line was not the last one.
                return Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                    line: l,
                    reason,
                });
            }
            let complete = line.ends_with(b"\n");
            if complete && line.iter().all(u8::is_ascii_whitespace) {
                out.valid_len += n as u64;
                continue;
            }
            match rec {
                Ok(rec) if complete => {
                    let expected = match (out.last_seq, offset) {
                        (Some(s), _) => s + 1,
                        (None, 0) => 1,
                        // A scan from the middle without a known seq takes the first as
                        // given.
                        (None, _) => rec.seq,
                    };
                    if rec.seq != expected {
                        // A duplicated, dropped or reordered line: folding it would make
                        // up state. Said with the line, never skipped.
                        return Err(StoreError::Corrupt {
                            path: path.to_path_buf(),
                            line: lineno,
                            reason: format!(
                                "seq {} where {expected} was expected: a line was duplicated, dropped or moved",
                                rec.seq
                            ),
                        });
                    }
                    out.valid_len += n as u64;
                    out.last_seq = Some(rec.seq);
                    each(rec);
                }
                Ok(_) => pending_error = Some((lineno, "no newline".into(), text_of(line))),
                Err(e) => pending_error = Some((lineno, e, text_of(line))),
            }
        }
        block.drain(..cut);
    }
    if let Some((_, _, text)) = pending_error {
        out.torn_tail = Some(text);
    }
    Ok(out)
}

/// One line of the log. (Measured: serde's derived parser, 1.8 µs a line, beats reading
/// `seq`/`ts` and the event in two passes, 2.5 µs.)
pub fn parse_line(line: &[u8]) -> serde_json::Result<EventRecord> {
    serde_json::from_slice(line)
}

/// Bytes read and parsed at a time by `scan`.
const BLOCK: usize = 4 << 20;

/// Parses `lines` in order, on every core when there are enough of them.
fn parse_all(lines: &[&[u8]]) -> Vec<std::result::Result<EventRecord, String>> {
    let one = |l: &&[u8]| parse_line(l).map_err(|e| e.to_string());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads < 2 || lines.len() < 2048 {
        return lines.iter().map(one).collect();
    }
    let per = lines.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = lines
            .chunks(per)
            .map(|part| s.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

fn text_of(buf: &[u8]) -> String {
    String::from_utf8_lossy(buf)
        .trim_end_matches(['\n', '\r'])
        .to_string()
}

/// The byte offset where the last `lines` whole lines before `end` begin (0 when there
/// are fewer): for reading a long log's recent events without reading all of it.
pub fn lines_before(path: &Path, end: u64, lines: usize) -> Result<u64> {
    if lines == 0 {
        return Ok(end);
    }
    let mut file = File::open(path).map_err(io(path))?;
    let mut pos = end;
    let mut seen = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    while pos > 0 {
        let n = chunk.len().min(pos as usize);
        pos -= n as u64;
        file.seek(SeekFrom::Start(pos)).map_err(io(path))?;
        std::io::Read::read_exact(&mut file, &mut chunk[..n]).map_err(io(path))?;
        for i in (0..n).rev() {
            // The newline that ends the line before the window is the window's start.
            if chunk[i] == b'\n' && pos + i as u64 + 1 < end {
                seen += 1;
                if seen == lines {
                    return Ok(pos + i as u64 + 1);
                }
            }
        }
    }
    Ok(0)
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
    pub fn mark(&self) -> Option<crate::checkpoint::Mark> {
        (self.last_seq > 0).then(|| crate::checkpoint::Mark {
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
    match log.try_lock() {
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
    fn a_line_parses_whatever_its_key_order_and_a_non_event_is_refused() {
        let recs = crate::bench::records(crate::bench::synthetic_log(12));
        for r in &recs {
            let line = serde_json::to_vec(r).unwrap();
            assert_eq!(&parse_line(&line).unwrap(), r);
        }
        let moved = br#"{"type":"message_said","text":"hi","ts":"2026-01-01T00:00:00Z","seq":4}"#;
        assert_eq!(parse_line(moved).unwrap().seq, 4);
        assert!(parse_line(br#"{"seq":1,"ts":"2026-01-01T00:00:00Z"}"#).is_err());
        assert!(parse_line(br#"{"type":"message_said","text":"x"}"#).is_err());
    }

    /// Many lines (parsed on several threads), a line longer than a read block, a torn
    /// tail, and a scan from the middle: the same events in the same order.
    #[test]
    fn scans_across_blocks_and_threads_keep_every_event_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let recs: Vec<EventRecord> = (1..=6000u64)
            .map(|seq| EventRecord {
                seq,
                ts: jiff::Timestamp::UNIX_EPOCH,
                event: Event::MessageSaid {
                    text: if seq == 3000 {
                        "x".repeat(BLOCK + 100)
                    } else {
                        format!("m{seq}")
                    },
                },
            })
            .collect();
        let mut text = String::new();
        let mut middle = 0;
        for r in &recs {
            text.push_str(&serde_json::to_string(r).unwrap());
            text.push('\n');
            if r.seq == 4000 {
                middle = text.len() as u64;
            }
        }
        text.push_str(r#"{"seq":6001,"ts":"20"#);
        std::fs::write(&p, &text).unwrap();
        let loaded = load(&p).unwrap();
        assert_eq!(loaded.events, recs);
        assert_eq!(loaded.torn_tail.as_deref(), Some(r#"{"seq":6001,"ts":"20"#));
        let mut tail = vec![];
        let end = scan(&p, middle, 4000, Some(4000), |r| tail.push(r)).unwrap();
        assert_eq!(tail, recs[4000..]);
        assert_eq!(end.last_seq, Some(6000));
        assert_eq!(end.valid_len, loaded.valid_len);
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
