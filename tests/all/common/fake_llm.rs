//! A loopback HTTP server that speaks just enough of the Anthropic and OpenAI streaming
//! APIs for tests, with faults on demand. Plain threads and std sockets: no runtime.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub enum Reply {
    /// 200 with an event stream; `cut_after` closes the connection after that many chunks.
    Sse {
        chunks: Vec<String>,
        cut_after: Option<usize>,
    },
    Status {
        code: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Reads the request and never answers.
    Hang,
    /// 200 and a keep-alive comment every `every`, `count` times: alive but never done.
    Trickle { every: Duration, count: usize },
}

pub type Responder = Box<dyn Fn(&Recorded, usize) -> Reply + Send + Sync>;

pub struct FakeLlm {
    pub base: String,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeLlm {
    /// `respond` gets each request and its 0-based number.
    pub fn start(respond: Responder) -> FakeLlm {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let respond = Arc::new(respond);
        let reqs = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (reqs, respond) = (reqs.clone(), respond.clone());
                std::thread::spawn(move || serve(stream, &reqs, &respond));
            }
        });
        FakeLlm { base, requests }
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn all(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, reqs: &Mutex<Vec<Recorded>>, respond: &Responder) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = vec![];
    let mut len = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = vec![0u8; len];
    let _ = reader.read_exact(&mut body);
    let rec = Recorded {
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let n = {
        let mut r = reqs.lock().unwrap();
        r.push(rec.clone());
        r.len() - 1
    };
    let mut out = stream;
    match respond(&rec, n) {
        Reply::Hang => std::thread::sleep(Duration::from_secs(30)),
        Reply::Trickle { every, count } => {
            let _ = out.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
            );
            for _ in 0..count {
                if out.write_all(b": keep-alive\n\n").is_err() {
                    return;
                }
                let _ = out.flush();
                std::thread::sleep(every);
            }
        }
        Reply::Status {
            code,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {code} Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            let _ = out.write_all(format!("{head}\r\n{body}").as_bytes());
        }
        Reply::Sse { chunks, cut_after } => {
            let _ = out.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
            );
            for (i, c) in chunks.iter().enumerate() {
                if cut_after == Some(i) {
                    return; // the connection drops mid-stream
                }
                let _ = out.write_all(c.as_bytes());
                let _ = out.flush();
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

/// A tool call in a scripted answer.
pub struct Call {
    pub name: String,
    /// Raw JSON text, possibly malformed on purpose.
    pub args: String,
}

/// OpenAI chunks: text, then each tool call with its arguments split in two, then usage.
pub fn openai_sse(text: Option<&str>, calls: &[Call], usage: (u64, u64, u64)) -> Vec<String> {
    let mut out = vec![];
    let chunk = |v: Value| format!("data: {v}\n\n");
    if let Some(t) = text {
        let (a, b) = t.split_at(t.len() / 2);
        for part in [a, b] {
            out.push(chunk(json!({"choices": [{"index": 0, "delta": {"content": part}, "finish_reason": null}]})));
        }
    }
    for (i, c) in calls.iter().enumerate() {
        out.push(chunk(json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": i, "id": format!("call_{i}"), "type": "function", "function": {"name": c.name, "arguments": ""}}
        ]}, "finish_reason": null}]})));
        let mid = c
            .args
            .char_indices()
            .nth(c.args.chars().count() / 2)
            .map_or(0, |(i, _)| i);
        let (a, b) = c.args.split_at(mid);
        for part in [a, b] {
            out.push(chunk(
                json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": i, "function": {"arguments": part}}
            ]}, "finish_reason": null}]}),
            ));
        }
    }
    let finish = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    out.push(chunk(
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}),
    ));
    out.push(chunk(json!({"choices": [], "usage": {
        "prompt_tokens": usage.0, "completion_tokens": usage.1,
        "prompt_tokens_details": {"cached_tokens": usage.2}
    }})));
    out.push("data: [DONE]\n\n".into());
    out
}

/// Anthropic events: message_start with usage, text block, tool_use blocks, stop.
pub fn anthropic_sse(text: Option<&str>, calls: &[Call], usage: (u64, u64, u64)) -> Vec<String> {
    let ev = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    let mut out = vec![ev(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_1", "role": "assistant", "content": [],
        "usage": {"input_tokens": usage.0, "output_tokens": 1, "cache_read_input_tokens": usage.2, "cache_creation_input_tokens": 0}}}),
    )];
    out.push(ev("ping", json!({"type": "ping"})));
    let mut index = 0;
    if let Some(t) = text {
        out.push(ev("content_block_start", json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})));
        out.push(ev("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": t}})));
        out.push(ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    for (i, c) in calls.iter().enumerate() {
        out.push(ev("content_block_start", json!({"type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": format!("toolu_{i}"), "name": c.name, "input": {}}})));
        let mid = c
            .args
            .char_indices()
            .nth(c.args.chars().count() / 2)
            .map_or(0, |(i, _)| i);
        let (a, b) = c.args.split_at(mid);
        for part in [a, b] {
            out.push(ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": part}}),
            ));
        }
        out.push(ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    out.push(ev("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": usage.1}})));
    out.push(ev("message_stop", json!({"type": "message_stop"})));
    out
}

/// Serves a mission script (the `scripted` provider's format) over either API: the
/// entry is chosen by the role a model name stands for and the task (first user text);
/// the turn by how many assistant messages the conversation already has.
pub fn script_responder(
    script: Value,
    roles_by_model: Vec<(&'static str, &'static str)>,
    anthropic: bool,
) -> Responder {
    Box::new(move |rec, _| {
        let model = rec.body["model"].as_str().unwrap_or("");
        let Some((_, role)) = roles_by_model.iter().find(|(m, _)| *m == model) else {
            return Reply::Status {
                code: 404,
                headers: vec![],
                body: format!(r#"{{"error":{{"message":"model {model} not found"}}}}"#),
            };
        };
        let msgs = rec.body["messages"].as_array().cloned().unwrap_or_default();
        let task = msgs
            .iter()
            .find(|m| m["role"] == "user")
            .map(|m| match &m["content"] {
                Value::String(s) => s.clone(),
                Value::Array(blocks) => blocks
                    .iter()
                    .filter_map(|b| b["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => String::new(),
            })
            .unwrap_or_default();
        let turn_no = msgs.iter().filter(|m| m["role"] == "assistant").count();
        let entry =
            script["entries"].as_array().unwrap().iter().find(|e| {
                e["role"] == *role && task.contains(e["task_contains"].as_str().unwrap())
            });
        let Some(turn) = entry.and_then(|e| e["turns"].get(turn_no)) else {
            return Reply::Status {
                code: 400,
                headers: vec![],
                body: r#"{"error":{"message":"script has no such turn"}}"#.into(),
            };
        };
        let calls: Vec<Call> = turn["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| Call {
                name: c["name"].as_str().unwrap().to_string(),
                args: match &c["arguments"] {
                    Value::String(raw) => raw.clone(),
                    v => v.to_string(),
                },
            })
            .collect();
        let usage = (1000 + 100 * turn_no as u64, 50, 0);
        let chunks = if anthropic {
            anthropic_sse(turn["text"].as_str(), &calls, usage)
        } else {
            openai_sse(turn["text"].as_str(), &calls, usage)
        };
        Reply::Sse {
            chunks,
            cut_after: None,
        }
    })
}
