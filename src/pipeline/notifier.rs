//! `[notify] command` and `[hooks]`, run by the runner for the events that call for them,
//! in a task of their own (a slow command never holds up the mission).

use super::Runner;
use crate::mission::Event;

impl Runner {
    /// Runs `[notify] command` for every event that needs a human or ends the mission,
    /// until told to stop (then it finishes what is queued).
    pub(super) fn notifier(
        &self,
    ) -> Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )> {
        let command = self.config.notify.command.clone();
        let hooks = self.config.hooks.clone();
        if command.is_empty() && hooks.is_empty() {
            return None;
        }
        let mut rx = self.hub.subscribe();
        let hub = self.hub.clone();
        let never = self.config.secret_env_names();
        let (repo, work) = (
            self.layout.repo.display().to_string(),
            self.layout.work.display().to_string(),
        );
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let events = self.layout.events();
        let task = tokio::spawn(async move {
            use tokio::sync::broadcast::error::{RecvError, TryRecvError};
            // Once told to stop, only what is already queued is handled.
            let mut stopping = false;
            // Events the broadcast dropped while a command ran, read back from the log.
            let mut missed: std::collections::VecDeque<crate::mission::EventRecord> =
                Default::default();
            let mut last = 0u64;
            loop {
                let got = if let Some(r) = missed.pop_front() {
                    Ok(r)
                } else if stopping {
                    match rx.try_recv() {
                        Ok(r) => Ok(r),
                        Err(TryRecvError::Lagged(_)) => Err(true),
                        Err(_) => break,
                    }
                } else {
                    tokio::select! {
                        r = rx.recv() => match r {
                            Ok(r) => Ok(r),
                            Err(RecvError::Lagged(_)) => Err(true),
                            Err(RecvError::Closed) => break,
                        },
                        _ = &mut stopped => {
                            stopping = true;
                            continue;
                        }
                    }
                };
                let rec = match got {
                    Ok(r) if r.seq <= last => continue,
                    Ok(r) => r,
                    // Slow commands let the events run ahead: the log has every one.
                    Err(_) => {
                        let (path, after) = (events.clone(), last);
                        let read = tokio::task::spawn_blocking(move || {
                            let mut v = vec![];
                            let _ = crate::store::scan(&path, 0, 0, None, |r| {
                                if r.seq > after {
                                    v.push(r)
                                }
                            });
                            v
                        })
                        .await
                        .unwrap_or_default();
                        missed.extend(read);
                        continue;
                    }
                };
                last = rec.seq;
                let st = hub.state();
                if let Some(kind) = crate::notify::hook_kind(&rec.event)
                    && !hooks.command(kind).is_empty()
                {
                    let call = crate::notify::HookCall {
                        kind,
                        event: Some(&rec),
                        repo: &repo,
                        goal: &st.goal,
                        branch: &st.branch,
                        worktree: &work,
                    };
                    if let Err(e) =
                        crate::notify::run_hook(hooks.command(kind), &call, &never).await
                    {
                        let _ = hub.emit(Event::NotifyFailed { message: e });
                    }
                }
                // A human's own pause needs no telling.
                if matches!(&rec.event, Event::Paused { reason } if reason == crate::mission::op::HUMAN_PAUSE)
                {
                    continue;
                }
                let Some((kind, reason)) = crate::notify::notice_for(&rec.event, &st) else {
                    continue;
                };
                let notice = crate::notify::Notice {
                    kind,
                    reason,
                    repo: repo.clone(),
                    goal: st.goal.clone(),
                    branch: st.branch.clone(),
                    worktree: work.clone(),
                };
                if command.is_empty() {
                    continue;
                }
                if let Err(e) = crate::notify::run_command(&command, &notice, &never).await {
                    let _ = hub.emit(Event::NotifyFailed { message: e });
                }
            }
        });
        Some((stop, task))
    }
}
