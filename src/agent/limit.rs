//! Waiting out a provider's usage or rate limit: the mission pauses with the time it
//! goes on, and goes on by itself then (`[limits] auto_resume`) unless a human acts first.

use super::{AgentError, AgentRun};
use crate::mission::Event;

impl AgentRun<'_> {
    /// Pauses the mission for a provider's limit until `until`: a human may unpause sooner
    /// or abort; with `auto_resume` the runner unpauses by itself at that time.
    pub(super) async fn wait_out_limit(
        &self,
        model: &str,
        until: jiff::Timestamp,
        message: &str,
    ) -> Result<(), AgentError> {
        let auto = self.limits.auto_resume;
        // A human's pause stands: wait for them, then ask again.
        if self
            .hub
            .read(|s| s.paused.is_some() && s.paused_until.is_none())
        {
            self.hub
                .wait_until(|s| s.paused.is_none() || s.failed.is_some())
                .await;
            return if self.hub.read(|s| s.failed.is_some()) {
                Err(AgentError::Abandoned)
            } else {
                Ok(())
            };
        }
        self.hub.emit(Event::RateLimited {
            model: model.to_string(),
            message: message.chars().take(200).collect(),
            until,
            auto_resume: auto,
        })?;
        let left = (until.as_millisecond() - jiff::Timestamp::now().as_millisecond()).max(0);
        let human = self
            .hub
            .wait_until(|s| s.paused.is_none() || s.failed.is_some());
        if auto {
            tokio::select! {
                _ = human => {}
                _ = tokio::time::sleep(std::time::Duration::from_millis(left as u64)) => {
                    // Still paused for this limit (not by a human meanwhile): go on.
                    if self.hub.read(|s| s.paused_until == Some(until)) {
                        self.hub.emit(Event::Unpaused)?;
                    }
                    self.hub
                        .wait_until(|s| s.paused.is_none() || s.failed.is_some())
                        .await;
                }
            }
        } else {
            human.await;
        }
        if self.hub.read(|s| s.failed.is_some()) {
            return Err(AgentError::Abandoned);
        }
        Ok(())
    }
}
