//! What the link reads from disk: a feature's records, a transcript as it grows, the
//! log after a seq (to catch up), the tail of another process's log, and the last
//! archived mission's estimate.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{FeatureRecords, Inbound};
use crate::git::Git;
use crate::layout::Layout;
use crate::store;

pub(super) fn feature_records(layout: &Layout, feature: &str, with_diff: bool) -> FeatureRecords {
    {
        let mut out = FeatureRecords::default();
        if let Ok(Some(h)) = store::read_handoff(layout, feature) {
            if with_diff
                && let Ok(git) = Git::open(&layout.repo)
                && let Some(parent) = git.parent_of(&h.commit)
                && let Ok(d) = git.diff_text(&parent, &h.commit)
            {
                out.diff = Some(d);
            }
            out.handoff = Some(h);
        }
        out
    }
}

pub(super) fn transcript_from(layout: &Layout, run: &str, from: u64) -> Option<(String, u64)> {
    use std::io::{Read, Seek};
    let mut f = std::fs::File::open(layout.transcript(run)).ok()?;
    f.seek(std::io::SeekFrom::Start(from)).ok()?;
    let mut buf = vec![];
    f.read_to_end(&mut buf).ok()?;
    let whole = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    buf.truncate(whole);
    let text = String::from_utf8_lossy(&buf).into_owned();
    Some((text, from + whole as u64))
}

/// See `MissionLink::last_estimate_outcome`; also for `mission status`.
pub fn last_estimate_outcome(layout: &Layout) -> Option<(u64, u64)> {
    let archive = layout.dir.join("archive");
    let mut runs: Vec<PathBuf> = std::fs::read_dir(archive)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("events.jsonl").exists())
        .collect();
    // Named by the time they were archived: the last in order is the latest.
    runs.sort();
    let events = runs.last()?.join("events.jsonl");
    let st = crate::checkpoint::load(&events, &events.with_file_name("checkpoint"))
        .ok()?
        .state;
    crate::mission::estimate::outcome_vs_estimate(&st)
}

/// The events after seq `after` as the log has them (it has every one: it is written
/// before anything is published), moving `after` on. A console that missed events — a
/// lagging subscription, a line it could not read — reads them here, never skips them.
pub(super) fn catch_up(events: &std::path::Path, after: &mut u64) -> Vec<Inbound> {
    let mut out = vec![];
    let from = *after;
    let scanned = store::scan(events, 0, 0, None, |rec| {
        if rec.seq > from {
            out.push(rec);
        }
    });
    if let Err(e) = scanned {
        tracing::warn!("the console could not read the log to catch up: {e}");
    }
    if let Some(last) = out.last() {
        *after = last.seq;
    }
    out.into_iter().map(Inbound::Event).collect()
}

/// Follows `events.jsonl` written by another process from byte `offset`, whose events
/// up to seq `last` were read already. Seqs rise by one: a line that does not parse or a
/// seq that skips makes it read the log again for what it missed.
pub(super) async fn tail(
    path: PathBuf,
    mut offset: u64,
    mut last: u64,
    tx: mpsc::UnboundedSender<Inbound>,
) {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut pending = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let Ok(mut f) = tokio::fs::File::open(&path).await else {
            continue;
        };
        let Ok(meta) = f.metadata().await else {
            continue;
        };
        if meta.len() < offset {
            // Cut back (a resume drops a torn tail) or replaced: read it again from the
            // top, skipping what was delivered — a console must not fold an event twice.
            offset = 0;
            pending.clear();
        }
        if meta.len() == offset {
            continue;
        }
        if f.seek(std::io::SeekFrom::Start(offset)).await.is_err() {
            continue;
        }
        let mut buf = Vec::new();
        let Ok(n) = f.read_to_end(&mut buf).await else {
            continue;
        };
        offset += n as u64;
        pending.extend_from_slice(&buf);
        while let Some(i) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            let got = match crate::store::parse_line(&line) {
                Ok(rec) if rec.seq <= last => continue,
                Ok(rec) if rec.seq == last + 1 || last == 0 => vec![Inbound::Event(rec)],
                // A gap or an unreadable line: what is missing is read from the log. An
                // event the log itself has lost (a corrupt line) cannot come back; the
                // next one is taken rather than reading the log again for every line.
                parsed => {
                    let mut caught = catch_up(&path, &mut last);
                    if let Ok(rec) = parsed
                        && rec.seq > last
                    {
                        tracing::warn!("events {}..{} are missing from the log", last + 1, rec.seq);
                        caught.push(Inbound::Event(rec));
                    }
                    caught
                }
            };
            for m in got {
                if let Inbound::Event(rec) = &m {
                    last = last.max(rec.seq);
                }
                if tx.send(m).is_err() {
                    return;
                }
            }
        }
    }
}
