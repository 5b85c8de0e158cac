//! How the console reaches a mission: one link with two ends — the runner in this
//! process, or another process's runner reached over its control socket with its event
//! log tailed. Following codex-rs's protocol, the console only sends `Op`s and folds the
//! `Inbound` messages a link delivers; it never touches the runner, git or files itself.
//!
//! Every `Op` is answered by exactly one `Inbound::Reply` (refused or done); an op that
//! changes the mission is also answered by the event it records (`approve` →
//! `gate_approved`, `reject` → `gate_rejected`, `pause` → `paused`, `unpause` →
//! `unpaused`, `say` → `message_said`, `abort` → `mission_failed`).

use std::collections::VecDeque;

mod read;
pub use read::last_estimate_outcome;
use read::{catch_up, feature_records, tail, transcript_from};

use tokio::sync::{broadcast, mpsc};

use crate::hub::Hub;
use crate::layout::Layout;
use crate::mission::{EventRecord, Handoff, MissionState, Op, OpReply, Outcome};
use crate::store;

/// What reaches the console.
#[derive(Debug)]
pub enum Inbound {
    Event(EventRecord),
    /// The answer to an `Op` sent with `MissionLink::send`.
    Reply(OpReply),
    /// The in-process runner ended: how, or why it broke.
    RunnerEnded(Result<Outcome, String>),
    /// A feature's handoff and diff, read on a blocking thread (`load_feature`).
    Feature {
        feature: String,
        records: Box<FeatureRecords>,
    },
    /// What `run`'s transcript gained after byte `from`, up to byte `end`
    /// (`load_transcript`).
    Transcript {
        feature: String,
        run: String,
        from: u64,
        text: String,
        end: u64,
    },
}

/// Where a console starts: the state, and the recent events it shows as activity.
#[derive(Debug)]
pub struct Start {
    pub state: MissionState,
    pub recent: Vec<EventRecord>,
}

/// What the detail pane shows of a feature, read between frames.
#[derive(Debug, Default)]
pub struct FeatureRecords {
    pub handoff: Option<Handoff>,
    pub diff: Option<String>,
}

enum End {
    InProcess {
        hub: Hub,
        runner: Option<tokio::task::JoinHandle<Result<Outcome, String>>>,
        /// The hub's events after `after` (set by `history`).
        live: Option<broadcast::Receiver<EventRecord>>,
        after: u64,
        /// The thread that records ops, in order (started by the first).
        ops: std::sync::OnceLock<std::sync::mpsc::Sender<Op>>,
    },
    Attached,
}

pub struct MissionLink {
    end: End,
    layout: Layout,
    tx: mpsc::UnboundedSender<Inbound>,
    rx: mpsc::UnboundedReceiver<Inbound>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Delivered before anything else: the runner's last events, then its end.
    pending: VecDeque<Inbound>,
    /// What an attached console runs when it finds the runner dead.
    on_runner_stopped: Option<crate::notify::OnRunnerStopped>,
}

impl MissionLink {
    /// The runner publishes on `hub`; its task is given with `runner` once started (call
    /// `start` before starting it, and no event of the run is missed).
    pub fn in_process(hub: Hub, layout: Layout) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        MissionLink {
            end: End::InProcess {
                hub,
                runner: None,
                live: None,
                after: 0,
                ops: std::sync::OnceLock::new(),
            },
            layout,
            tx,
            rx,
            tasks: vec![],
            pending: VecDeque::new(),
            on_runner_stopped: None,
        }
    }

    /// Another process runs the mission in the repository of `layout`.
    pub fn attached(layout: Layout) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        MissionLink {
            end: End::Attached,
            layout,
            tx,
            rx,
            tasks: vec![],
            pending: VecDeque::new(),
            on_runner_stopped: None,
        }
    }

    /// What to run when the console finds the runner dead (`runner_stopped`).
    pub fn on_runner_stopped(mut self, run: crate::notify::OnRunnerStopped) -> Self {
        self.on_runner_stopped = Some(run);
        self
    }

    /// The console found the runner dead while the mission still runs: nobody else can
    /// say so, so the link runs `[notify] command` and `[hooks] runner_stopped`.
    pub fn runner_stopped(&self, st: &MissionState, reason: &str) {
        if let Some(run) = &self.on_runner_stopped
            && claim_stop_notice(&self.layout)
        {
            run.run(&st.goal, &st.branch, reason);
        }
    }

    /// Every event so far; from then on new ones arrive through `next`.
    pub fn history(&mut self) -> anyhow::Result<Vec<EventRecord>> {
        // Subscribe before reading the history, so nothing falls in between.
        if let End::InProcess { hub, live, .. } = &mut self.end {
            *live = Some(hub.subscribe());
        }
        let history = store::load(&self.layout.events())?;
        let last_seq = history.events.last().map_or(0, |e| e.seq);
        match &mut self.end {
            End::InProcess { after, .. } => *after = last_seq,
            End::Attached => self.tasks.push(tokio::spawn(tail(
                self.layout.events(),
                history.valid_len,
                last_seq,
                self.tx.clone(),
            ))),
        }
        Ok(history.events)
    }

    /// The mission's state now (from the checkpoint and the log after it) and its last
    /// `window` events, already folded into that state, for what a console shows of
    /// recent work; from then on new events arrive through `next`. Reads a long mission's
    /// log from its checkpoint and its last lines only.
    pub fn start(&mut self, window: usize) -> anyhow::Result<Start> {
        if let End::InProcess { hub, live, .. } = &mut self.end {
            *live = Some(hub.subscribe());
        }
        let events = self.layout.events();
        let folded = crate::checkpoint::load(&events, &self.layout.checkpoint())?;
        let last_seq = folded.state.last_seq;
        let mut recent = Vec::new();
        if window > 0 && folded.valid_len > 0 {
            let from = store::lines_before(&events, folded.valid_len, window)?;
            // Lines appended since the fold come through `next`, not twice.
            store::scan(&events, from, 0, None, |rec| {
                if rec.seq <= last_seq {
                    recent.push(rec)
                }
            })?;
        }
        match &mut self.end {
            End::InProcess { after, .. } => *after = last_seq,
            End::Attached => self.tasks.push(tokio::spawn(tail(
                events,
                folded.valid_len,
                last_seq,
                self.tx.clone(),
            ))),
        }
        Ok(Start {
            state: folded.state,
            recent,
        })
    }

    /// The in-process runner's task: its end arrives as `Inbound::RunnerEnded`.
    pub fn runner(&mut self, task: tokio::task::JoinHandle<Result<Outcome, String>>) {
        if let End::InProcess { runner, .. } = &mut self.end {
            *runner = Some(task);
        }
    }

    /// Sends `op`; its answer arrives as `Inbound::Reply`.
    pub fn send(&self, op: Op) {
        let tx = self.tx.clone();
        match &self.end {
            // Recording the decision syncs the log: a blocking thread's work, not the
            // console's — one thread, so that ops are recorded in the order sent.
            End::InProcess { hub, ops, .. } => {
                let ops = ops.get_or_init(|| {
                    let (send, recv) = std::sync::mpsc::channel::<Op>();
                    let (hub, tx) = (hub.clone(), tx.clone());
                    std::thread::spawn(move || {
                        for op in recv {
                            let _ = tx.send(Inbound::Reply(crate::control::apply(&hub, &op)));
                        }
                    });
                    send
                });
                let _ = ops.send(op);
            }
            End::Attached => {
                let layout = self.layout.clone();
                tokio::spawn(async move {
                    let reply = crate::control::send(&layout, &op)
                        .await
                        .unwrap_or_else(|e| OpReply::refused(e.to_string()));
                    let _ = tx.send(Inbound::Reply(reply));
                });
            }
        }
    }

    /// The next message; `None` only once nothing can come any more. An in-process
    /// runner's end comes after every event it published.
    pub async fn next(&mut self) -> Option<Inbound> {
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Some(m);
            }
            let End::InProcess {
                runner,
                live,
                after,
                ..
            } = &mut self.end
            else {
                return self.rx.recv().await;
            };
            tokio::select! {
                biased;
                m = self.rx.recv() => return m,
                got = live_event(live) => match got {
                    Ok(rec) if rec.seq > *after => {
                        *after = rec.seq;
                        return Some(Inbound::Event(rec));
                    }
                    Ok(_) => {}
                    // Events were dropped for this slow reader: read them from the log,
                    // which has every one, instead of going on without them.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Off the console's task: the log may be long.
                        let (events, from) = (self.layout.events(), *after);
                        let caught = tokio::task::spawn_blocking(move || {
                            let mut after = from;
                            let got = catch_up(&events, &mut after);
                            (got, after)
                        })
                        .await;
                        if let Ok((got, last)) = caught {
                            *after = last;
                            self.pending.extend(got);
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => *live = None,
                },
                done = async { runner.as_mut().expect("guarded").await }, if runner.is_some() => {
                    *runner = None;
                    let events = self.layout.events();
                    while let Some(got) = drain_one(live) {
                        match got {
                            Some(rec) if rec.seq > *after => {
                                *after = rec.seq;
                                self.pending.push_back(Inbound::Event(rec));
                            }
                            Some(_) => {}
                            None => self.pending.extend(catch_up(&events, after)),
                        }
                    }
                    self.pending.push_back(Inbound::RunnerEnded(match done {
                        Ok(r) => r,
                        Err(e) => Err(format!("the runner task ended: {e}")),
                    }));
                }
            }
        }
    }

    /// A message already waiting, if any.
    pub fn try_next(&mut self) -> Option<Inbound> {
        if let Some(m) = self.pending.pop_front() {
            return Some(m);
        }
        if let Ok(m) = self.rx.try_recv() {
            return Some(m);
        }
        if let End::InProcess { live, after, .. } = &mut self.end {
            while let Some(got) = drain_one(live) {
                match got {
                    Some(rec) if rec.seq > *after => {
                        *after = rec.seq;
                        return Some(Inbound::Event(rec));
                    }
                    Some(_) => {}
                    None => {
                        self.pending.extend(catch_up(&self.layout.events(), after));
                        return self.pending.pop_front();
                    }
                }
            }
        }
        None
    }

    /// For an attached console: whether a live process runs the mission. `None` in
    /// process (the runner is this process).
    pub fn runner_alive(&self) -> Option<bool> {
        match self.end {
            End::InProcess { .. } => None,
            End::Attached => Some(store::runner_holds_lock(&self.layout.events())),
        }
    }

    /// How the last archived mission's work compared with its estimate (estimated,
    /// actual tokens): the error bar a human reads beside a new estimate.
    pub fn last_estimate_outcome(&self) -> Option<(u64, u64)> {
        last_estimate_outcome(&self.layout)
    }

    /// Reads a feature's handoff and diff off the console's task (git and the disk can
    /// be slow; the console must not be): the answer comes as `Inbound::Feature`.
    pub fn load_feature(&self, feature: &str, with_diff: bool) {
        let (layout, tx, feature) = (self.layout.clone(), self.tx.clone(), feature.to_string());
        tokio::task::spawn_blocking(move || {
            let records = feature_records(&layout, &feature, with_diff);
            let _ = tx.send(Inbound::Feature {
                feature,
                records: Box::new(records),
            });
        });
    }

    /// Reads what `run`'s transcript gained after byte `from`, off the console's task:
    /// the answer comes as `Inbound::Transcript`.
    pub fn load_transcript(&self, feature: &str, run: &str, from: u64) {
        let (layout, tx) = (self.layout.clone(), self.tx.clone());
        let (feature, run) = (feature.to_string(), run.to_string());
        tokio::task::spawn_blocking(move || {
            if let Some((text, end)) = transcript_from(&layout, &run, from) {
                let _ = tx.send(Inbound::Transcript {
                    feature,
                    run,
                    from,
                    text,
                    end,
                });
            }
        });
    }

    /// A feature's handoff and its diff (when `with_diff`).
    pub fn feature(&self, feature: &str, with_diff: bool) -> FeatureRecords {
        feature_records(&self.layout, feature, with_diff)
    }

    /// The whole lines `run`'s transcript gained after byte `from`, and the offset they
    /// end at: a running agent's transcript is read as it grows, never twice.
    pub fn transcript_from(&self, run: &str, from: u64) -> Option<(String, u64)> {
        transcript_from(&self.layout, run, from)
    }
}

impl MissionLink {
    /// Stops what the link started; an in-process runner still running is stopped too.
    pub async fn close(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if let End::InProcess {
            runner: Some(r), ..
        } = self.end
        {
            r.abort();
            let _ = r.await;
        }
    }
}

/// Whether this console is the one to tell of the dead runner: the first of the attached
/// consoles to claim it (a file made with `create_new`, named by the runner's pid), so
/// three consoles send one notice, not three. Without a pid to name it, every one tells.
fn claim_stop_notice(layout: &Layout) -> bool {
    let Some(pid) = std::fs::read_to_string(layout.lock())
        .ok()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
    else {
        return true;
    };
    let marker = layout.dir.join(format!("runner-{pid}.stopped"));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&marker)
    {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(_) => true,
    }
}

/// The next event of the hub, or never when there is no subscription.
async fn live_event(
    live: &mut Option<broadcast::Receiver<EventRecord>>,
) -> Result<EventRecord, broadcast::error::RecvError> {
    match live {
        Some(l) => l.recv().await,
        None => std::future::pending().await,
    }
}

/// An event already published (`Some(Some)`), or word of a lag (`Some(None)`: events
/// were dropped and must be read from the log).
fn drain_one(live: &mut Option<broadcast::Receiver<EventRecord>>) -> Option<Option<EventRecord>> {
    match live.as_mut()?.try_recv() {
        Ok(rec) => Some(Some(rec)),
        Err(broadcast::error::TryRecvError::Lagged(_)) => Some(None),
        Err(_) => None,
    }
}

/// Ctrl-C, `kill` or a closed SSH session: the console stops cleanly.
pub async fn termination() {
    crate::control::termination().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission::Event;
    use std::time::Duration;

    /// Events in a mission's log, each a steering message (any event would do).
    fn hub_in(dir: &std::path::Path) -> (Hub, Layout) {
        let layout = Layout::new(dir);
        std::fs::create_dir_all(layout.events().parent().unwrap()).unwrap();
        let loaded = store::load(&layout.events()).unwrap();
        let log = store::EventLog::open(&layout.events(), &loaded).unwrap();
        (Hub::new(log, MissionState::default()), layout)
    }

    fn say(hub: &Hub, i: usize) {
        hub.emit(Event::MessageSaid {
            text: format!("message {i}"),
        })
        .unwrap();
    }

    /// A console too slow for the broadcast (it keeps 1024 events) reads what it missed
    /// from the log: its state ends equal to a fresh one's, event for event.
    #[tokio::test]
    async fn a_lagging_console_catches_up_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let (hub, layout) = hub_in(dir.path());
        hub.emit(Event::MissionStarted {
            goal: "g".into(),
            slug: "g".into(),
            branch: "mission/g".into(),
            base_commit: "b".into(),
            worktree: None,
        })
        .unwrap();
        let mut link = MissionLink::in_process(hub.clone(), layout.clone());
        let start = link.start(0).unwrap();
        let mut lagging = start.state;
        for i in 0..3000 {
            say(&hub, i);
        }
        while let Some(Inbound::Event(rec)) = link.try_next() {
            lagging.apply(&rec);
        }
        let fresh = crate::mission::MissionState::from_events(
            &store::load(&layout.events()).unwrap().events,
        );
        assert_eq!(lagging.last_seq, fresh.last_seq);
        assert_eq!(lagging.messages.len(), 3000);
        assert_eq!(lagging, fresh);
    }

    /// An attached console's tail meets a seq that skips (a line it never got): it reads
    /// the log again for what it missed, in order, rather than going on without it.
    #[tokio::test]
    async fn an_attached_tail_resyncs_on_a_gap() {
        let dir = tempfile::tempdir().unwrap();
        let (hub, layout) = hub_in(dir.path());
        say(&hub, 0);
        say(&hub, 1);
        let after_two = std::fs::metadata(layout.events()).unwrap().len();
        say(&hub, 2);
        let (tx, mut rx) = mpsc::unbounded_channel();
        // Positioned after event 2 while it has delivered only event 1: event 3 skips.
        let task = tokio::spawn(tail(layout.events(), after_two, 1, tx));
        let mut seqs = vec![];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while seqs.last() != Some(&3) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(Inbound::Event(rec))) => seqs.push(rec.seq),
                other => panic!("no event 3: {other:?} after {seqs:?}"),
            }
        }
        assert_eq!(seqs, [2, 3], "the missed event first, each once");
        task.abort();
    }

    /// Of several consoles that find the same runner dead, one sends the notice.
    #[test]
    fn one_console_tells_of_a_dead_runner() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        std::fs::create_dir_all(&layout.dir).unwrap();
        assert!(
            claim_stop_notice(&layout),
            "no pid known: every console tells"
        );
        std::fs::write(layout.lock(), "4242\n").unwrap();
        assert!(claim_stop_notice(&layout));
        assert!(
            !claim_stop_notice(&layout),
            "the second console stays quiet"
        );
        std::fs::write(layout.lock(), "4343\n").unwrap();
        assert!(
            claim_stop_notice(&layout),
            "a later runner's death is news again"
        );
    }

    /// A growing transcript is read in whole lines, each once: a line still being written
    /// waits for the next read.
    #[test]
    fn a_growing_transcript_is_read_on_from_where_it_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let link = MissionLink::attached(layout.clone());
        assert_eq!(link.transcript_from("w1", 0), None, "no transcript yet");
        let path = layout.transcript("w1");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{\"a\":1}\n{\"b\":").unwrap();
        let (text, at) = link.transcript_from("w1", 0).unwrap();
        assert_eq!((text.as_str(), at), ("{\"a\":1}\n", 8));
        std::fs::write(&path, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n").unwrap();
        let (text, end) = link.transcript_from("w1", at).unwrap();
        assert_eq!(text, "{\"b\":2}\n{\"c\":3}\n");
        assert_eq!(link.transcript_from("w1", end).unwrap().0, "");
    }
}
