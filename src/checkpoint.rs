//! A checkpoint of the folded state, so that `status` and `attach` read a long mission's
//! log from the checkpoint on, not from its first line. It is a cache: written by the
//! runner every `EVERY` events, at milestone ends and when it stops; checked before use (a
//! checksum of its own bytes, this build's version, and an xxh3 hash of the whole log
//! prefix it covers — a log edited, cut or replaced under it does not match), and ignored
//! for a full replay whenever anything does not match. Deleting it changes nothing but the
//! time a load takes. Hashing the prefix reads it, but at memory speed, not parse speed.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::mission::{EventRecord, MissionState};
use crate::store::{self, StoreError};

/// Events between two checkpoints.
pub const EVERY: u64 = 2000;

pub use crate::store::Mark;

/// The xxh3 hash of the first `len` bytes of `path`, or `None` if it is shorter.
pub fn prefix_hash(path: &Path, len: u64) -> Option<u64> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?.take(len);
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut seen = 0u64;
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        seen += n as u64;
    }
    (seen == len).then(|| h.digest())
}

#[derive(Serialize, Deserialize)]
/// Written with a borrowed state (`S = &MissionState`: no copy under the hub's lock),
/// read back with an owned one.
struct Checkpoint<S> {
    version: String,
    mark: Mark,
    state: S,
}

/// Writes the checkpoint atomically: a first line with the checksum of the rest.
pub fn write(path: &Path, mark: Mark, state: &MissionState) -> std::io::Result<()> {
    let body = serde_json::to_vec(&Checkpoint {
        version: env!("CARGO_PKG_VERSION").into(),
        mark,
        state,
    })
    .map_err(std::io::Error::other)?;
    let mut out = format!("{:016x}\n", xxhash_rust::xxh3::xxh3_64(&body)).into_bytes();
    out.extend_from_slice(&body);
    store::write_private(path, &out)
}

/// The checkpoint at `path` if it is whole, of this build, and its mark is a line of
/// the log at `events`.
fn read(path: &Path, events: &Path) -> Option<Checkpoint<MissionState>> {
    let bytes = std::fs::read(path).ok()?;
    let (sum, body) = bytes.split_at(bytes.iter().position(|&b| b == b'\n')? + 1);
    let sum = u64::from_str_radix(std::str::from_utf8(sum).ok()?.trim(), 16).ok()?;
    if sum != xxhash_rust::xxh3::xxh3_64(body) {
        return None;
    }
    let cp: Checkpoint<MissionState> = serde_json::from_slice(body).ok()?;
    if cp.version != env!("CARGO_PKG_VERSION") || cp.state.last_seq != cp.mark.seq {
        return None;
    }
    (prefix_hash(events, cp.mark.log_len)? == cp.mark.prefix_hash).then_some(cp)
}

/// The mission's state, folded from the checkpoint and the log after it.
#[derive(Debug, Clone, Default)]
pub struct Folded {
    pub state: MissionState,
    /// Where the valid log ends (a torn last line starts here).
    pub valid_len: u64,
    pub torn_tail: Option<String>,
    /// The seq the checkpoint covered, when one was used.
    pub from_checkpoint: Option<u64>,
}

/// Folds the log at `events`, from the checkpoint at `checkpoint` when it is good, from
/// the first line otherwise.
pub fn load(events: &Path, checkpoint: &Path) -> Result<Folded, StoreError> {
    let (mut state, from) = match read(checkpoint, events) {
        Some(cp) => (cp.state, Some(cp.mark)),
        None => (MissionState::default(), None),
    };
    let (offset, lines, after) = from.map_or((0, 0, None), |m| (m.log_len, m.lines, Some(m.seq)));
    let end = store::scan(events, offset, lines, after, |rec: EventRecord| {
        state.apply(&rec)
    })?;
    Ok(Folded {
        state,
        valid_len: end.valid_len,
        torn_tail: end.torn_tail,
        from_checkpoint: from.map(|m| m.seq),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission::synthetic::{records, synthetic_log};

    fn write_log(path: &Path, recs: &[EventRecord]) -> Vec<u64> {
        let mut ends = vec![];
        let mut text = String::new();
        for r in recs {
            text.push_str(&serde_json::to_string(r).unwrap());
            text.push('\n');
            ends.push(text.len() as u64);
        }
        std::fs::write(path, text).unwrap();
        ends
    }

    fn mark_at(path: &Path, ends: &[u64], i: usize, seq: u64) -> Mark {
        Mark {
            seq,
            log_len: ends[i],
            lines: i as u64 + 1,
            prefix_hash: prefix_hash(path, ends[i]).unwrap(),
        }
    }

    #[test]
    fn a_checkpoint_plus_the_tail_folds_to_the_same_state_as_a_full_replay() {
        let dir = tempfile::tempdir().unwrap();
        let (events, cp) = (dir.path().join("events.jsonl"), dir.path().join("cp"));
        let recs = records(synthetic_log(40));
        let ends = write_log(&events, &recs);
        let full = MissionState::from_events(&recs);
        let half = recs.len() / 2;
        let at_half = MissionState::from_events(&recs[..half]);
        write(
            &cp,
            mark_at(&events, &ends, half - 1, half as u64),
            &at_half,
        )
        .unwrap();
        let f = load(&events, &cp).unwrap();
        assert_eq!(f.from_checkpoint, Some(half as u64));
        assert_eq!(f.state, full);
        assert_eq!(f.valid_len, *ends.last().unwrap());
        // Deleting it changes nothing but the path taken.
        std::fs::remove_file(&cp).unwrap();
        let f = load(&events, &cp).unwrap();
        assert_eq!((f.from_checkpoint, f.state), (None, full));
    }

    #[test]
    fn a_checkpoint_that_does_not_match_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let (events, cp) = (dir.path().join("events.jsonl"), dir.path().join("cp"));
        let recs = records(synthetic_log(10));
        let ends = write_log(&events, &recs);
        let full = MissionState::from_events(&recs);
        let wrong = MissionState::from_events(&recs[..3]);
        // A prefix that is not what it covered (another mission's log, an edited line).
        let mut bad = mark_at(&events, &ends, 2, 3);
        bad.prefix_hash ^= 1;
        write(&cp, bad, &wrong).unwrap();
        assert_eq!(load(&events, &cp).unwrap().from_checkpoint, None);
        // A torn or edited checkpoint.
        write(&cp, mark_at(&events, &ends, 2, 3), &wrong).unwrap();
        let mut bytes = std::fs::read(&cp).unwrap();
        let n = bytes.len();
        bytes[n - 5] ^= 0x20;
        std::fs::write(&cp, &bytes).unwrap();
        let f = load(&events, &cp).unwrap();
        assert_eq!((f.from_checkpoint, f.state), (None, full));
    }
}
