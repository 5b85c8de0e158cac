//! The user tester's `http` tool: requests to loopback only, so testing a built server
//! can never reach the outside world.

use std::time::Duration;

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
