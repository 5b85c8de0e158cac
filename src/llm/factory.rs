//! Builds each role's model client from config.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::anthropic::{self, AnthropicClient};
use super::http::HttpSettings;
use super::openai::{self, OpenAiClient};
use super::recording::{Recorder, RecordingClient, Replay, ReplayClient};
use super::scripted::{Script, ScriptedClient};
use super::{LlmClient, LlmError};
use crate::config::{Config, ProviderConfig, ProviderKind, RoleConfig};
use crate::layout::Layout;
use crate::mission::Role;
use crate::mission::pricing::Prices;

pub type Clients = BTreeMap<Role, Arc<dyn LlmClient>>;

/// Every role's client. With `MISSION_RECORD=FILE` in the environment (`mission eval run
/// --record`), each one's exchanges are appended to FILE.
pub fn build(config: &Config, layout: &Layout) -> Result<Clients, LlmError> {
    let mut out: Clients = BTreeMap::new();
    let recorder = match std::env::var_os("MISSION_RECORD").filter(|v| !v.is_empty()) {
        Some(path) => Some(Recorder::create(std::path::Path::new(&path))?),
        None => None,
    };
    // One replay for all roles: an exchange answers once, whoever asks.
    let replay = replay_of(config, layout)?;
    for role in Role::ALL {
        match build_one_with(config, layout, role, replay.as_ref()) {
            Ok(Some(c)) => {
                let c = match &recorder {
                    Some(r) => Arc::new(RecordingClient {
                        inner: c,
                        role,
                        recorder: r.clone(),
                    }),
                    None => c,
                };
                out.insert(role, c);
            }
            // Roles without a model are allowed while nothing asks for them.
            Ok(None) if !matches!(role, Role::Orchestrator | Role::Worker) => {}
            Ok(None) => {
                return Err(LlmError::Unavailable(format!(
                    "no model configured for the {role}: add [roles.{role}] with provider and model to {} (see `mission init`)",
                    layout.config().display()
                )));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The recording a replay provider answers from, when a role uses one.
fn replay_of(config: &Config, layout: &Layout) -> Result<Option<Arc<Replay>>, LlmError> {
    let Some(p) = config
        .providers
        .iter()
        .find(|(name, _)| config.provider_kind(name) == Some(ProviderKind::Replay))
        .map(|(_, p)| p)
    else {
        return Ok(None);
    };
    let path = layout.dir.join(
        p.recording
            .clone()
            .unwrap_or_else(|| "recording.jsonl".into()),
    );
    Replay::open(&path, &super::recording::replay_log(&layout.dir)).map(Some)
}

/// The client for one role, or `None` when the role has no model configured.
pub fn build_one(
    config: &Config,
    layout: &Layout,
    role: Role,
) -> Result<Option<Arc<dyn LlmClient>>, LlmError> {
    build_one_with(config, layout, role, None)
}

fn build_one_with(
    config: &Config,
    layout: &Layout,
    role: Role,
    replay: Option<&Arc<Replay>>,
) -> Result<Option<Arc<dyn LlmClient>>, LlmError> {
    let Some(rc) = config.role(role) else {
        return Ok(None);
    };
    if let Some(name) = &rc.agent {
        return Ok(Some(Arc::new(super::ExternalAgent(name.clone()))));
    }
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
            let script = Arc::new(Script::load(&path)?);
            let pace = Duration::from_millis(provider.pace_ms.unwrap_or(0));
            Arc::new(ScriptedClient::new(script, role, &rc.model, pace))
        }
        Some(ProviderKind::Replay) => {
            let replay = match replay {
                Some(r) => r.clone(),
                None => replay_of(config, layout)?.ok_or_else(|| {
                    LlmError::Unavailable("no replay provider is configured".into())
                })?,
            };
            Arc::new(ReplayClient::new(replay, role, &rc.model))
        }
        Some(kind) => {
            let prices = Arc::new(Prices::new(config.prices.clone()));
            let settings = http_settings(&rc.provider, kind, &provider, rc, role, prices)?;
            match kind {
                ProviderKind::Anthropic => Arc::new(AnthropicClient::new(settings)?),
                ProviderKind::OpenaiResponses => {
                    Arc::new(super::responses::ResponsesClient::new(settings)?)
                }
                _ => Arc::new(OpenAiClient::new(settings)?),
            }
        }
        None => {
            return Err(LlmError::Unavailable(format!(
                "unknown provider `{}` for the {role}",
                rc.provider
            )));
        }
    };
    Ok(Some(client))
}

/// The environment variable holding a provider's key.
pub fn key_var(kind: ProviderKind, p: &ProviderConfig) -> String {
    p.api_key_env.clone().unwrap_or_else(|| match kind {
        ProviderKind::Anthropic => "ANTHROPIC_API_KEY".into(),
        _ => "OPENAI_API_KEY".into(),
    })
}

fn is_loopback(url: &str) -> bool {
    let rest = url.split("://").nth(1).unwrap_or(url);
    ["127.", "localhost", "[::1]"]
        .iter()
        .any(|h| rest.starts_with(h))
}

fn http_settings(
    name: &str,
    kind: ProviderKind,
    p: &ProviderConfig,
    rc: &RoleConfig,
    role: Role,
    prices: Arc<Prices>,
) -> Result<HttpSettings, LlmError> {
    let model = rc.model.as_str();
    let base = p.base_url.clone().unwrap_or_else(|| match kind {
        ProviderKind::Anthropic => anthropic::DEFAULT_BASE.into(),
        _ => openai::DEFAULT_BASE.into(),
    });
    let base = base.trim_end_matches('/');
    let url = match kind {
        ProviderKind::Anthropic if base.ends_with("/v1") => format!("{base}/messages"),
        ProviderKind::Anthropic => format!("{base}/v1/messages"),
        ProviderKind::OpenaiResponses => format!("{base}/responses"),
        _ => format!("{base}/chat/completions"),
    };
    let var = key_var(kind, p);
    // Keys come from the environment only; a local server may need none.
    let api_key = std::env::var(&var).ok().filter(|k| !k.trim().is_empty());
    let openai_kind = matches!(kind, ProviderKind::Openai | ProviderKind::OpenaiResponses);
    if api_key.is_none() && !(openai_kind && is_loopback(base)) {
        return Err(LlmError::Unavailable(format!(
            "${var} is not set, so the {role} cannot reach provider `{name}`: export it in the shell that runs mission (keys are read from the environment only), or set api_key_env in [providers.{name}]"
        )));
    }
    Ok(HttpSettings {
        provider: name.to_string(),
        model: model.to_string(),
        url,
        api_key,
        idle_timeout: Duration::from_secs(p.timeout_secs.unwrap_or(120).max(1)),
        total_timeout: Duration::from_secs(p.request_timeout_secs.unwrap_or(900).max(1)),
        max_retries: p.max_retries.unwrap_or(5),
        retry_base: Duration::from_millis(p.retry_base_ms.unwrap_or(1000)),
        max_output_tokens: p.max_output_tokens.unwrap_or(8192),
        output_cap_configured: p.max_output_tokens.is_some(),
        prices,
        reasoning_effort: rc.reasoning_effort.clone(),
        thinking_budget: rc.thinking_budget_tokens,
    })
}

/// USD per input and per output token of each role's model, where the price is known
/// (scripted models cost nothing): for the plan's estimate.
pub fn role_prices(cfg: &Config) -> BTreeMap<Role, (f64, f64)> {
    let prices = Prices::new(cfg.prices.clone());
    Role::ALL
        .into_iter()
        .filter_map(|role| {
            let rc = cfg.role(role)?;
            if cfg.provider_kind(&rc.provider) == Some(ProviderKind::Scripted) {
                return Some((role, (0.0, 0.0)));
            }
            let p = prices.of(&rc.model)?;
            Some((role, (p.input_per_mtok / 1e6, p.output_per_mtok / 1e6)))
        })
        .collect()
}
