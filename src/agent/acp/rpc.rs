//! JSON-RPC 2.0 over an agent's stdio, one message per line: what the Agent Client
//! Protocol runs on. Written here rather than taken from `agent-client-protocol`, whose
//! connection is `!Send` (it spawns `LocalBoxFuture`s on a `LocalSet`) while the
//! mission's agent runs live on tokio's multi-threaded runtime; the protocol's messages
//! are read and written as `serde_json::Value`s by the session in `session.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{Mutex, mpsc, oneshot};

/// What the agent sends of its own accord.
#[derive(Debug)]
pub enum Incoming {
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

pub struct Connection {
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next: AtomicU64,
    /// Set once the agent's output has ended: nothing asked after that is answered.
    closed: Arc<std::sync::atomic::AtomicBool>,
}

impl Connection {
    /// Starts the reader and the writer; the agent's requests and notifications arrive
    /// on the receiver, which closes when the agent's output does.
    pub fn start(
        stdin: impl tokio::io::AsyncWrite + Unpin + Send + 'static,
        stdout: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    ) -> (Connection, mpsc::UnboundedReceiver<Incoming>) {
        let (out, mut lines) = mpsc::unbounded_channel::<String>();
        let (to_run, incoming) = mpsc::unbounded_channel();
        let pending: Pending = Arc::default();
        tokio::spawn(async move {
            let mut stdin = stdin;
            while let Some(mut line) = lines.recv().await {
                line.push('\n');
                if stdin.write_all(line.as_bytes()).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
        });
        let waiting = pending.clone();
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ended = closed.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                    tracing::debug!(line, "not JSON-RPC from the agent");
                    continue;
                };
                let method = msg
                    .get("method")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let params = msg.get("params").cloned().unwrap_or(Value::Null);
                match (method, msg.get("id").cloned()) {
                    (Some(method), Some(id)) => {
                        let _ = to_run.send(Incoming::Request { id, method, params });
                    }
                    (Some(method), None) => {
                        let _ = to_run.send(Incoming::Notification { method, params });
                    }
                    (None, Some(id)) => {
                        let Some(n) = id.as_u64() else { continue };
                        if let Some(tx) = waiting.lock().await.remove(&n) {
                            let answer = match msg.get("error") {
                                Some(e) => Err(e
                                    .get("message")
                                    .and_then(Value::as_str)
                                    .map_or_else(|| e.to_string(), str::to_string)),
                                None => Ok(msg.get("result").cloned().unwrap_or(Value::Null)),
                            };
                            let _ = tx.send(answer);
                        }
                    }
                    (None, None) => {}
                }
            }
            // The agent is gone: nobody answers what is still asked, or asked later.
            let mut waiting = waiting.lock().await;
            ended.store(true, Ordering::SeqCst);
            for (_, tx) in waiting.drain() {
                let _ = tx.send(Err("the agent closed its output".into()));
            }
        });
        let conn = Connection {
            out,
            pending,
            next: AtomicU64::new(1),
            closed,
        };
        (conn, incoming)
    }

    /// Sends a request; the answer comes when the agent gives it (or ends).
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            // Under the lock the reader drains with: either it sees this request, or this
            // sees it closed.
            let mut pending = self.pending.lock().await;
            if self.closed.load(Ordering::SeqCst) {
                return Err("the agent closed its output".into());
            }
            pending.insert(id, tx);
        }
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if self.out.send(msg.to_string()).is_err() {
            return Err("the agent's input is closed".into());
        }
        rx.await
            .unwrap_or_else(|_| Err("the agent closed its output".into()))
    }

    pub fn notify(&self, method: &str, params: Value) {
        let msg = json!({"jsonrpc": "2.0", "method": method, "params": params});
        let _ = self.out.send(msg.to_string());
    }

    pub fn respond(&self, id: Value, answer: Result<Value, (i64, String)>) {
        let msg = match answer {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err((code, message)) => {
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
            }
        };
        let _ = self.out.send(msg.to_string());
    }
}
