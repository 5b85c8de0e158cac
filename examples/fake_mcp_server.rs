//! A tiny MCP server for the tests (and for trying `[mcp.servers]` by hand): newline-
//! delimited JSON-RPC over stdio, or streamable HTTP with `--http` (it prints its port).
//!
//! Tools: `lookup {key}` answers `the code for <key> is <KEY>-42`; `secret_check` says
//! whether `FAKE_MCP_TOKEN` arrived (never its value); `crash` exits mid-call; `hang`
//! never answers; `roots` (stdio) asks the client `roots/list` and answers its URIs.

use std::io::{BufRead, Read, Write};

use serde_json::{Value, json};

fn answer(req: &Value) -> Option<Value> {
    let id = req.get("id")?.clone();
    let method = req["method"].as_str().unwrap_or("");
    let result = match method {
        "initialize" => json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "fake-mcp", "version": "0.0.1"}
        }),
        "tools/list" => json!({"tools": [
            {"name": "lookup", "description": "Look up the code for a key",
             "inputSchema": {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}},
            {"name": "secret_check", "description": "Whether the token arrived",
             "inputSchema": {"type": "object", "properties": {}}},
            {"name": "crash", "description": "Dies mid-call", "inputSchema": {"type": "object", "properties": {}}},
            {"name": "hang", "description": "Never answers", "inputSchema": {"type": "object", "properties": {}}},
            {"name": "roots", "description": "The client's roots", "inputSchema": {"type": "object", "properties": {}}}
        ]}),
        "tools/call" => {
            let args = &req["params"]["arguments"];
            match req["params"]["name"].as_str().unwrap_or("") {
                "lookup" => {
                    let key = args["key"].as_str().unwrap_or("");
                    json!({"content": [{"type": "text", "text": format!("the code for {key} is {}-42", key.to_uppercase())}], "isError": false})
                }
                "secret_check" => {
                    let ok = std::env::var("FAKE_MCP_TOKEN").is_ok_and(|v| !v.is_empty());
                    json!({"content": [{"type": "text", "text": if ok { "token present" } else { "token missing" }}], "isError": !ok})
                }
                "crash" => std::process::exit(3),
                "hang" => loop {
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                },
                other => {
                    return Some(
                        json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": format!("unknown tool {other}")}}),
                    );
                }
            }
        }
        "ping" => json!({}),
        _ => {
            return Some(
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "method not found"}}),
            );
        }
    };
    Some(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

fn stdio() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    let mut lines = stdin.lock().lines();
    while let Some(Ok(line)) = lines.next() {
        let Ok(req) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if req["method"] == "tools/call" && req["params"]["name"] == "roots" {
            // Ask the client, as a filesystem server does, and wait for its answer.
            let _ = writeln!(
                out,
                "{}",
                json!({"jsonrpc": "2.0", "id": "roots-1", "method": "roots/list"})
            );
            let _ = out.flush();
            let mut uris = vec![];
            for l in lines.by_ref() {
                let Ok(l) = l else { break };
                let Ok(v) = serde_json::from_str::<Value>(&l) else {
                    continue;
                };
                if v["id"] == "roots-1" {
                    for r in v["result"]["roots"].as_array().into_iter().flatten() {
                        uris.push(r["uri"].as_str().unwrap_or("").to_string());
                    }
                    break;
                }
            }
            let text = if uris.is_empty() {
                "no roots".to_string()
            } else {
                uris.join(" ")
            };
            let a = json!({"jsonrpc": "2.0", "id": req["id"], "result": {"content": [{"type": "text", "text": text}], "isError": false}});
            let _ = writeln!(out, "{a}");
            let _ = out.flush();
            continue;
        }
        if let Some(a) = answer(&req) {
            let _ = writeln!(out, "{a}");
            let _ = out.flush();
        }
    }
}

fn http() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    println!("{}", listener.local_addr().unwrap().port());
    let _ = std::io::stdout().flush();
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                    return;
                }
                let mut length = 0;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 {
                        return;
                    }
                    if h == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let reply = |status: &str, body: &str| {
                    format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                };
                let text = if request_line.starts_with("POST") {
                    match serde_json::from_slice::<Value>(&body)
                        .ok()
                        .and_then(|r| answer(&r))
                    {
                        Some(a) => reply("200 OK", &a.to_string()),
                        None => reply("202 Accepted", ""),
                    }
                } else if request_line.starts_with("DELETE") {
                    reply("200 OK", "")
                } else {
                    reply("405 Method Not Allowed", "")
                };
                if stream.write_all(text.as_bytes()).is_err() {
                    return;
                }
            }
        });
    }
}

fn main() {
    if std::env::args().any(|a| a == "--http") {
        http()
    } else {
        stdio()
    }
}
