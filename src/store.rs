//! `.mission/events.jsonl`: the append-only log that is the mission's source of truth,
//! and the lock that keeps one runner per repository.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
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
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
        Err(e) => return Err(io(path)(e)),
    };
    let mut reader = BufReader::new(file);
    let mut out = Loaded::default();
    let mut buf = Vec::new();
    let mut lineno = 0;
    let mut pending_error: Option<(usize, String, String)> = None;
    loop {
        buf.clear();
        // Bytes, not a String: a crash can cut a line inside a multi-byte character.
        let n = reader.read_until(b'\n', &mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        lineno += 1;
        if let Some((l, reason, _)) = pending_error.take() {
            // The bad line was not the last one.
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                line: l,
                reason,
            });
        }
        let complete = buf.ends_with(b"\n");
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() && complete {
            out.valid_len += n as u64;
            continue;
        }
        match serde_json::from_slice::<EventRecord>(&buf) {
            Ok(rec) if complete => {
                out.valid_len += n as u64;
                out.events.push(rec);
            }
            Ok(_) => pending_error = Some((lineno, "no newline".into(), text.to_string())),
            Err(e) => pending_error = Some((lineno, e.to_string(), text.to_string())),
        }
    }
    if let Some((_, _, text)) = pending_error {
        out.torn_tail = Some(text);
    }
    Ok(out)
}

/// The writing end of the log. Only the lock holder opens one.
#[derive(Debug)]
pub struct EventLog {
    path: PathBuf,
    file: File,
    next_seq: u64,
}

impl EventLog {
    /// Opens the log for appending after `loaded`, cutting off a torn tail so the next
    /// event starts on a line of its own.
    pub fn open(path: &Path, loaded: &Loaded) -> Result<Self> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(path)
            .map_err(io(path))?;
        let len = file.metadata().map_err(io(path))?.len();
        if len > loaded.valid_len {
            // Keep the torn bytes beside the log before cutting them off: nothing is lost.
            let mut tail = Vec::new();
            file.seek(SeekFrom::Start(loaded.valid_len))
                .map_err(io(path))?;
            std::io::Read::read_to_end(&mut file, &mut tail).map_err(io(path))?;
            let torn = path.with_extension("jsonl.torn");
            let mut keep = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&torn)
                .map_err(io(&torn))?;
            keep.write_all(&tail).map_err(io(&torn))?;
            keep.write_all(b"\n").map_err(io(&torn))?;
            file.set_len(loaded.valid_len).map_err(io(path))?;
        }
        file.seek(SeekFrom::End(0)).map_err(io(path))?;
        Ok(EventLog {
            path: path.to_path_buf(),
            file,
            next_seq: loaded.events.last().map_or(1, |e| e.seq + 1),
        })
    }

    /// Appends one event as one line and syncs it: once this returns, a crash keeps it.
    pub fn append(&mut self, event: Event) -> Result<EventRecord> {
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
        self.file
            .write_all(line.as_bytes())
            .map_err(io(&self.path))?;
        self.file.sync_data().map_err(io(&self.path))?;
        self.next_seq += 1;
        Ok(rec)
    }
}

/// Held for as long as a process may write the log. The kernel drops an advisory lock
/// when its holder dies, so a lock left by a killed runner is simply taken over.
#[derive(Debug)]
pub struct MissionLock {
    file: File,
    /// The pid written by a previous holder that is gone (a crash or `kill -9`).
    pub stale_pid: Option<String>,
}

pub fn acquire_lock(path: &Path) -> Result<MissionLock> {
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(false)
        .open(path)
        .map_err(io(path))?;
    let mut previous = String::new();
    std::io::Read::read_to_string(&mut file, &mut previous).map_err(io(path))?;
    let previous = previous.trim().to_string();
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(StoreError::Locked {
                path: path.to_path_buf(),
                pid: if previous.is_empty() {
                    "unknown".into()
                } else {
                    previous
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(path)(e)),
    }
    file.set_len(0).map_err(io(path))?;
    file.seek(SeekFrom::Start(0)).map_err(io(path))?;
    writeln!(file, "{}", std::process::id()).map_err(io(path))?;
    let stale_pid =
        (!previous.is_empty() && previous != std::process::id().to_string()).then_some(previous);
    Ok(MissionLock { file, stale_pid })
}

impl Drop for MissionLock {
    /// A runner that ends cleanly leaves no pid behind, so the next one does not report
    /// taking over from a crash.
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
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
        let p = dir.path().join("lock");
        let held = acquire_lock(&p).unwrap();
        assert_eq!(held.stale_pid, None);
        let err = acquire_lock(&p).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        drop(held);
        // A killed runner leaves its pid behind but no lock.
        std::fs::write(&p, "999999\n").unwrap();
        let taken = acquire_lock(&p).unwrap();
        assert_eq!(taken.stale_pid.as_deref(), Some("999999"));
    }
}
