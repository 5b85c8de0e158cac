//! Asking an SSH host for its missions: `ssh HOST mission fleet --json --local`. No new
//! server and no open port — SSH is the transport, with connection reuse so a fleet
//! refreshed every few seconds opens one connection per host. A host that does not
//! answer in time is listed as unreachable with the reason; it never hangs the list.

use std::time::Duration;

use super::{Fleet, FleetMission};

/// The options every call uses: no password prompt (it would hang the list), a connect
/// timeout, and a shared master connection kept for a minute.
pub fn ssh_options() -> Vec<String> {
    // `%C` is a hash of the connection: short enough for a socket path whatever the host.
    let control = match std::env::var_os("HOME") {
        Some(h) => {
            let dir = std::path::Path::new(&h).join(".ssh");
            let _ = std::fs::create_dir_all(&dir);
            format!("{}/mission-%C", dir.display())
        }
        None => "/tmp/mission-ssh-%C".into(),
    };
    [
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        "-o",
        "ControlMaster=auto",
        "-o",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("ControlPath={control}"),
        "-o".into(),
        "ControlPersist=60".into(),
    ])
    .collect()
}

/// The missions `host` runs, each marked with the host; or why it cannot be asked.
pub async fn ask(host: &str, timeout: Duration) -> Result<Vec<FleetMission>, String> {
    let mut cmd = tokio::process::Command::new("ssh");
    cmd.args(ssh_options())
        .arg(host)
        .args(["mission", "fleet", "--json", "--local"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = match tokio::time::timeout(timeout, cmd.output()).await {
        Err(_) => return Err(format!("no answer within {} s", timeout.as_secs())),
        Ok(Err(e)) => return Err(format!("ssh could not start: {e}")),
        Ok(Ok(o)) => o,
    };
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(if said.is_empty() {
            format!("ssh {host} failed ({})", out.status)
        } else {
            said.lines().last().unwrap_or_default().to_string()
        });
    }
    let fleet: Fleet = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{host} answered something that is not a fleet: {e}"))?;
    Ok(fleet
        .missions
        .into_iter()
        .map(|mut m| {
            m.host = host.to_string();
            m
        })
        .collect())
}

/// How to attach to a mission on `host`.
pub fn attach_command(host: &str, repo: &str) -> Vec<String> {
    let mut v = vec!["ssh".to_string(), "-t".into()];
    v.extend(ssh_options());
    v.extend([
        host.to_string(),
        "mission".into(),
        "attach".into(),
        "--dir".into(),
        shell_quote(repo),
    ]);
    v
}

/// `ssh` joins its arguments into one line for the remote shell: a path or a message a
/// human wrote goes quoted.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
