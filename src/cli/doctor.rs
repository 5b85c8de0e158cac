//! `mission doctor`: config, sandbox, keys, and each role's model asked a tiny question.

use std::path::Path;

use anyhow::Result;

use super::*;

pub(super) async fn doctor(dir: &Path) -> Result<i32> {
    let layout = layout_of(dir)?;
    let mut problems = 0;
    println!("repository  {}", layout.repo.display());
    if let Some(p) = config::user_config_path() {
        println!(
            "user config {}{}",
            p.display(),
            if p.exists() { "" } else { " (none)" }
        );
    }
    println!(
        "repo config {}{}",
        layout.config().display(),
        if layout.config().exists() {
            ""
        } else {
            " (none)"
        }
    );
    let cfg = match Config::load(&layout.config()) {
        Ok(c) => {
            let any =
                layout.config().exists() || config::user_config_path().is_some_and(|p| p.exists());
            if any {
                println!("✔ config is valid");
            } else {
                println!(
                    "· no config file: defaults only; `mission init` writes one to choose models in"
                );
            }
            c
        }
        Err(e) => {
            println!("✘ {e}");
            return Ok(EXIT_USAGE);
        }
    };
    // Commands and MCP servers are started here exactly as the mission starts them: the
    // same launcher, in the mission's worktree (a stand-in while no mission has one).
    let stand_in = tempfile::tempdir()?;
    let mut probe = layout.clone();
    // Layout::new knows no worktree (it is the checkout until a mission names one).
    if !probe.work.is_dir() || probe.work == layout.repo {
        probe.work = stand_in.path().join("worktree");
        std::fs::create_dir_all(&probe.work)?;
    }
    let git = crate::git::Git::open(&layout.repo)?;
    let (launcher, problem) = crate::pipeline::command_launcher(&probe, &cfg, &git);
    if !cfg.sandbox.enabled {
        println!("· sandbox: off ([sandbox] enabled = false); commands can write anywhere you can");
    } else {
        let walls = launcher
            .isolation
            .as_ref()
            .map(|iso| iso.warnings())
            .transpose();
        match (&problem, walls) {
            (None, Ok(warnings)) if warnings.as_ref().is_none_or(Vec::is_empty) => {
                println!("✔ sandbox: {}", launcher.describe());
            }
            (problem, walls) => {
                println!("· sandbox: {}", launcher.describe());
                for p in problem.iter().chain(walls.iter().flatten().flatten()) {
                    println!("· sandbox: not enforced: {p}");
                }
                if let Err(e) = walls {
                    println!("· sandbox: not enforced: {e}");
                }
            }
        }
        if let Some(iso) = &launcher.isolation {
            iso.end();
        }
    }
    let prices = crate::mission::pricing::Prices::new(cfg.prices.clone());
    // The same cause (one missing key behind several roles) is explained once.
    let mut said: Vec<String> = vec![];
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Explorer) {
        let needed = matches!(role, Role::Orchestrator | Role::Worker);
        if let Some(name) = cfg.role(role).and_then(|rc| rc.agent.as_deref()) {
            println!("✔ {role}: the external agent `{name}` (asked below)");
            continue;
        }
        let client = match crate::llm::factory::build_one(&cfg, &layout, role) {
            Ok(Some(c)) => c,
            Ok(None) => {
                println!(
                    "{} {role}: no model configured{}",
                    if needed { "✘" } else { "·" },
                    if needed {
                        ""
                    } else {
                        " (it borrows the orchestrator's)"
                    }
                );
                problems += usize::from(needed);
                continue;
            }
            Err(e) => {
                let e = e.to_string();
                match said.iter().position(|s| *s == e) {
                    Some(_) => println!("✘ {role}: the same problem as above"),
                    None => {
                        println!("✘ {role}: {e}");
                        said.push(e);
                    }
                }
                problems += 1;
                continue;
            }
        };
        let label = client.label();
        if !cfg.role_is_configured(role) {
            println!("✔ {role}: {label}, the orchestrator's model (no [roles.{role}])");
            continue;
        }
        if let Some(rc) = cfg.role(role)
            && !cfg
                .provider_kind(&rc.provider)
                .is_some_and(ProviderKind::is_offline)
            && prices.of(&rc.model).is_none()
        {
            println!(
                "· {role}: no price known for {}; add [prices.\"{}\"] to count its cost",
                rc.model, rc.model
            );
        }
        // A tiny real request: is the model there, does the key work?
        let msgs = [crate::llm::Message::User {
            text: "Reply with the word OK.".into(),
        }];
        let req = crate::llm::Request {
            system: "You are a health check.",
            messages: &msgs,
            tools: &[],
            on_retry: None,
            on_spent: None,
            tool_choice: None,
        };
        let started = std::time::Instant::now();
        match tokio::time::timeout(std::time::Duration::from_secs(60), client.complete(req)).await {
            Ok(Ok(r)) => println!(
                "✔ {role}: {label} answered in {:.1}s ({} tokens in, {} out)",
                started.elapsed().as_secs_f64(),
                r.usage.tokens_in,
                r.usage.tokens_out
            ),
            Ok(Err(e))
                if cfg
                    .role(role)
                    .and_then(|rc| cfg.provider_kind(&rc.provider))
                    .is_some_and(ProviderKind::is_offline) =>
            {
                println!("✔ {role}: {label} (offline; {e})");
            }
            Ok(Err(e)) => {
                println!("✘ {role}: {e}");
                problems += 1;
            }
            Err(_) => {
                println!("✘ {role}: {label} did not answer within 60s");
                problems += 1;
            }
        }
    }
    for (name, agent) in &cfg.agents {
        // A worker's confinement, the strictest an agent that writes gets.
        match crate::agent::acp::probe(agent, &launcher, &probe.work).await {
            Ok(said) => println!("✔ agent {name}: {said}"),
            Err(e) => {
                println!("✘ agent {name}: {e}");
                problems += 1;
            }
        }
    }
    problems += mcp_servers(&cfg, launcher, &probe.work).await;
    Ok(if problems == 0 { 0 } else { EXIT_USAGE })
}

/// Starts each MCP server, lists its tools, and stops it again. Returns the failures.
async fn mcp_servers(cfg: &Config, launcher: crate::sandbox::Launcher, work: &Path) -> usize {
    use crate::agent::mcp::McpServers;
    let mut problems = 0;
    for (name, server) in &cfg.mcp.servers {
        let one = std::iter::once((name.clone(), server.clone())).collect();
        let servers = McpServers::new(
            &one,
            launcher.clone(),
            work.to_path_buf(),
            cfg.limits.output_cap_bytes,
        );
        let role = Role::ALL.into_iter().find(|r| server.serves(*r));
        let offer = match role {
            Some(r) => servers.offer(r).await,
            None => {
                println!("· mcp {name}: no role has it (`roles` is empty)");
                continue;
            }
        };
        match offer.failed.first() {
            Some((_, e)) => {
                println!("✘ mcp {name}: {e}");
                problems += 1;
            }
            None => {
                let tools: Vec<&str> = offer.specs.iter().map(|s| s.name.as_str()).collect();
                println!(
                    "✔ mcp {name}: {} tool(s): {}",
                    tools.len(),
                    if tools.is_empty() {
                        "(none)".to_string()
                    } else {
                        tools.join(", ")
                    }
                );
            }
        }
        servers.stop_all().await;
    }
    problems
}
