//! The runner's event hub: appends each event to the log, folds it into the live state,
//! and tells every subscriber (headless printer, control socket, waiting steps).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{broadcast, watch};

use crate::checkpoint;
use crate::mission::{Event, EventRecord, MissionState};
use crate::store::{EventLog, StoreError};

struct Inner {
    log: EventLog,
    state: MissionState,
    /// Where checkpoints of `state` go (see `checkpoint`); `None`: none are written.
    checkpoint: Option<PathBuf>,
}

impl Inner {
    fn after_append(&mut self, rec: &EventRecord) {
        self.state.apply(rec);
        let boundary = matches!(
            rec.event,
            Event::MilestonePassed { .. }
                | Event::MissionCompleted { .. }
                | Event::MissionFailed { .. }
        );
        if boundary || rec.seq.is_multiple_of(checkpoint::EVERY) {
            self.write_checkpoint();
        }
    }

    /// Best effort: a checkpoint is a cache, and the log holds everything it would.
    fn write_checkpoint(&self) {
        if let (Some(path), Some(mark)) = (&self.checkpoint, self.log.mark())
            && let Err(e) = checkpoint::write(path, mark, &self.state)
        {
            tracing::warn!(error = %e, "could not write the state checkpoint");
        }
    }
}

/// Group commit: whether an event is synced to disk before the runner goes on. A turn's
/// start (`agent_turn`, which names the commands it will run) and every decision are; the
/// outcomes of a turn's tool calls and notices are written at once but synced with the
/// next synced event — one fsync per turn instead of one per event. A machine crash can
/// lose them only together with everything after the turn's start, and resume redoes an
/// unfinished attempt from its beginning anyway.
fn synced(event: &Event) -> bool {
    !matches!(
        event,
        Event::CommandRan { .. }
            | Event::ToolUsed { .. }
            | Event::ModelRetried { .. }
            | Event::ContextCompacted { .. }
            | Event::FilesChanged { .. }
    )
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Mutex<Inner>>,
    events: broadcast::Sender<EventRecord>,
    seq: watch::Sender<u64>,
}

impl Hub {
    pub fn new(log: EventLog, state: MissionState) -> Self {
        let (events, _) = broadcast::channel(1024);
        let (seq, _) = watch::channel(state.last_seq);
        Hub {
            inner: Arc::new(Mutex::new(Inner {
                log,
                state,
                checkpoint: None,
            })),
            events,
            seq,
        }
    }

    /// Writes checkpoints of the state to `path` from now on.
    pub fn with_checkpoint(self, path: PathBuf) -> Self {
        self.lock().checkpoint = Some(path);
        self
    }

    /// Writes a checkpoint now (the runner is stopping).
    pub fn checkpoint(&self) {
        self.lock().write_checkpoint();
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves the state as consistent as the
        // last fully applied event, which is what we want to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an event: in the log first (synced unless it is an outcome the next synced
    /// event covers, see `synced`), then folded and broadcast.
    pub fn emit(&self, event: Event) -> Result<EventRecord, StoreError> {
        let rec = {
            let mut inner = self.lock();
            let sync = synced(&event);
            let rec = inner.log.append_with(event, sync)?;
            inner.after_append(&rec);
            // Published under the lock: two emitters at once publish in seq order, so a
            // subscriber never sees 6 before 5 (and never drops 5 as old).
            let _ = self.events.send(rec.clone());
            rec
        };
        self.seq.send_replace(rec.seq);
        Ok(rec)
    }

    /// Decides on the current state and records the outcome under one lock, so two
    /// humans acting at once cannot both act on the same gate.
    pub fn emit_with(
        &self,
        decide: impl FnOnce(&MissionState) -> Option<Event>,
    ) -> Result<Option<EventRecord>, StoreError> {
        let rec = {
            let mut inner = self.lock();
            let Some(event) = decide(&inner.state) else {
                return Ok(None);
            };
            let rec = inner.log.append(event)?;
            inner.after_append(&rec);
            let _ = self.events.send(rec.clone());
            rec
        };
        self.seq.send_replace(rec.seq);
        Ok(Some(rec))
    }

    pub fn state(&self) -> MissionState {
        self.lock().state.clone()
    }

    pub fn read<R>(&self, f: impl FnOnce(&MissionState) -> R) -> R {
        f(&self.lock().state)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EventRecord> {
        self.events.subscribe()
    }

    /// Waits until `pred` holds for the state; re-checked after every event.
    pub async fn wait_until(&self, pred: impl Fn(&MissionState) -> bool) {
        let mut rx = self.seq.subscribe();
        loop {
            if self.read(&pred) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}
