//! Builds each role's model client from config.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, ProviderKind};
use crate::layout::Layout;
use crate::llm::scripted::{Script, ScriptedClient};
use crate::llm::{LlmClient, LlmError};
use crate::mission::Role;

pub type Clients = BTreeMap<Role, Arc<dyn LlmClient>>;

pub fn build(config: &Config, layout: &Layout) -> Result<Clients, LlmError> {
    let mut scripts: BTreeMap<std::path::PathBuf, Arc<Script>> = BTreeMap::new();
    let mut out: Clients = BTreeMap::new();
    for role in Role::ALL {
        let Some(rc) = config.role(role) else {
            // Roles without a model are allowed while nothing asks for them (the spine
            // runs only orchestrator and worker).
            if matches!(role, Role::Orchestrator | Role::Worker) {
                return Err(LlmError::Unavailable(format!(
                    "no model configured for the {role}: add [roles.{role}] with provider and model to {} (see `mission init`)",
                    layout.config().display()
                )));
            }
            continue;
        };
        let provider = config
            .providers
            .get(&rc.provider)
            .cloned()
            .unwrap_or_default();
        let client: Arc<dyn LlmClient> = match config.provider_kind(&rc.provider) {
            Some(ProviderKind::Scripted) => {
                let path = layout.dir.join(
                    provider
                        .script
                        .clone()
                        .unwrap_or_else(|| "script.json".into()),
                );
                let script = match scripts.get(&path) {
                    Some(s) => s.clone(),
                    None => {
                        let s = Arc::new(Script::load(&path)?);
                        scripts.insert(path, s.clone());
                        s
                    }
                };
                let pace = Duration::from_millis(provider.pace_ms.unwrap_or(0));
                Arc::new(ScriptedClient::new(script, role, &rc.model, pace))
            }
            Some(kind) => {
                return Err(LlmError::Unavailable(format!(
                    "provider `{}` ({kind:?}) for the {role}: real model providers are not built yet; use provider = \"scripted\"",
                    rc.provider
                )));
            }
            None => {
                return Err(LlmError::Unavailable(format!(
                    "unknown provider `{}` for the {role}",
                    rc.provider
                )));
            }
        };
        out.insert(role, client);
    }
    Ok(out)
}
