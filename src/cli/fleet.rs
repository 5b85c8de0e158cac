//! `mission fleet`: every mission this person runs, here and on their SSH hosts, who
//! needs them first.

use std::time::Duration;

use anyhow::Result;

use crate::config::Config;
use crate::fleet::{self, Fleet, HostStatus};

pub(super) async fn fleet(json: bool, local_only: bool) -> Result<i32> {
    let mut missions = fleet::local();
    let mut hosts = vec![HostStatus {
        host: "local".into(),
        reachable: true,
        error: None,
    }];
    if !local_only {
        // The user's own config: which hosts are theirs is not about one repository.
        let config = Config::load_user().map_err(|e| anyhow::anyhow!(e))?;
        let timeout = Duration::from_secs(config.fleet.timeout_secs.max(1));
        let asked = futures_util::future::join_all(
            config
                .fleet
                .hosts
                .iter()
                .map(|h| async move { (h.clone(), fleet::hosts::ask(h, timeout).await) }),
        )
        .await;
        for (host, answer) in asked {
            match answer {
                Ok(found) => {
                    missions.extend(found);
                    hosts.push(HostStatus {
                        host,
                        reachable: true,
                        error: None,
                    });
                }
                Err(e) => hosts.push(HostStatus {
                    host,
                    reachable: false,
                    error: Some(e),
                }),
            }
        }
    }
    fleet::sort(&mut missions);
    let all = Fleet { missions, hosts };
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(0);
    }
    if all.missions.is_empty() {
        println!("no missions yet: `mission start \"<goal>\"` in a repository lists one here");
    }
    for m in &all.missions {
        let mark = if m.needs_you { "!" } else { " " };
        let budget = m
            .budget_usd
            .map(|b| format!("/${b:.2}"))
            .unwrap_or_default();
        println!(
            "{mark} {:<18} {:<10} {}/{} ms  ${:.2}{budget}  {}  ({}:{})",
            m.state.replace('_', " "),
            m.host,
            m.milestones.0,
            m.milestones.1,
            m.cost_usd,
            m.goal,
            m.host,
            m.repo
        );
        if !m.reason.is_empty() {
            println!("  {:<18} {}", "", m.reason);
        }
    }
    for h in all.hosts.iter().filter(|h| !h.reachable) {
        println!(
            "unreachable: {} — {}",
            h.host,
            h.error.as_deref().unwrap_or("no answer")
        );
    }
    Ok(0)
}
