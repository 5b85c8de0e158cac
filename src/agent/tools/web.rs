//! The user tester's `http` tool: requests to loopback only, so testing a built server
//! can never reach the outside world.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::sandbox::Launcher;

/// The hidden subcommand that makes one request from inside the sandbox.
pub const SUBCOMMAND: &str = "sandbox-http";

/// A request from where the tester's programs run: inside the sandbox's own network when
/// it has one (a server the tester launched listens there, not on the host's loopback).
pub async fn request_via(
    launcher: &Launcher,
    cwd: &Path,
    method: &str,
    url: &str,
    body: Option<&str>,
    cap: usize,
) -> Result<String, String> {
    if launcher.network || launcher.isolation.is_none() {
        return request(method, url, body, cap).await;
    }
    // This very program, whatever its path looks like inside the sandbox's mount
    // namespace: the child is a fork of the runner until it execs.
    let mut cmd = tokio::process::Command::new("/proc/self/exe");
    cmd.args([SUBCOMMAND, method, url, &cap.to_string()])
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .env_clear()
        .envs(launcher.child_env());
    launcher.set_up_child(&mut cmd, cwd)?;
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot make the request inside the sandbox: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        let _ = stdin.write_all(body.unwrap_or("").as_bytes()).await;
    }
    let out = tokio::time::timeout(Duration::from_secs(40), child.wait_with_output())
        .await
        .map_err(|_| "request failed: no answer in 40 s".to_string())?
        .map_err(|e| format!("request failed: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// `mission sandbox-http METHOD URL CAP` (body on stdin): prints the answer, or the error
/// on stderr with exit code 1.
pub async fn serve_one(method: &str, url: &str, cap: usize) -> i32 {
    use tokio::io::AsyncReadExt;
    let mut body = String::new();
    let _ = tokio::io::stdin().read_to_string(&mut body).await;
    let body = (!body.is_empty()).then_some(body.as_str());
    match request(method, url, body, cap).await {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

pub async fn request(
    method: &str,
    url: &str,
    body: Option<&str>,
    cap: usize,
) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("bad url `{url}`: {e}"))?;
    let host = parsed.host_str().unwrap_or("");
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1") {
        return Err(format!(
            "`{host}` is not loopback: the http tool only reaches 127.0.0.1, ::1 and localhost"
        ));
    }
    let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("bad method `{method}`"))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        // A redirect could lead off loopback: report it instead of following it.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let mut req = client.request(method, parsed);
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(|l| format!("location: {l} (not followed)\n"))
        .unwrap_or_default();
    // Read at most `cap` bytes: a server under test may stream forever.
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    let mut truncated = false;
    while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
        let Ok(chunk) = chunk else { break };
        body.extend_from_slice(&chunk);
        if body.len() >= cap {
            body.truncate(cap);
            truncated = true;
            break;
        }
    }
    let more = if truncated {
        "\n[… body truncated]"
    } else {
        ""
    };
    Ok(format!(
        "HTTP {status}\n{location}{}{more}",
        String::from_utf8_lossy(&body)
    ))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn only_loopback_is_reachable() {
        let e = super::request("GET", "http://example.com/", None, 100)
            .await
            .unwrap_err();
        assert!(e.contains("not loopback"), "{e}");
        let e = super::request("GET", "http://127.0.0.1:9/", None, 100)
            .await
            .unwrap_err();
        assert!(e.contains("request failed"), "{e}");
    }
}
