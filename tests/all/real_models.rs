//! Real models' bad habits and real gateways' tricks do not stop a mission: a context
//! window crossed mid-feature, a model repeating one failing call, a proxy that papers
//! over a cut stream, an answer cut by the output limit mid-tool-call.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::fake_llm::{Call, FakeLlm, Reply, anthropic_sse, openai_sse, script_responder};
use crate::common::*;
use mission::llm::anthropic::AnthropicClient;
use mission::llm::http::HttpSettings;
use mission::llm::openai::OpenAiClient;
use mission::llm::{LlmClient, Message, Request, ToolSpec};
use mission::mission::pricing::Prices;
use serde_json::{Value, json};

/// The window the fake server enforces for the worker's model, in its own estimate.
const WINDOW: usize = 6000;

/// Like a real provider, the fake counts everything it is sent: system, tools, messages.
fn request_tokens(body: &Value) -> usize {
    body.to_string().len() / 4
}

fn first_user_text(body: &Value) -> String {
    let m = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "user")
        .unwrap();
    match &m["content"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn small_window_mission(kind: &str) -> (Sandbox, FakeLlm) {
    let reads: Vec<Value> = (0..6)
        .map(|_| turn(vec![call("read_file", json!({"path": "big.txt"}))]))
        .collect();
    let mut worker = reads;
    worker.push(turn(vec![call(
        "write_file",
        json!({"path": "flag.txt", "content": "ok"}),
    )]));
    worker.push(turn(vec![done("wrote flag.txt after reading big.txt")]));
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", worker),
        entry("orchestrator", "Review m1-f1", vec![
            turn(vec![call("submit_review", json!({"verdict": "pass", "findings": []}))]),
        ]),
    ]});
    let anthropic = kind == "anthropic";
    let inner = script_responder(
        script.clone(),
        vec![("orch-model", "orchestrator"), ("work-model", "worker")],
        anthropic,
    );
    let fake = FakeLlm::start(Box::new(move |rec, n| {
        let tokens = request_tokens(&rec.body);
        if rec.body["model"] == "work-model" && tokens > WINDOW {
            let message = if anthropic {
                format!("prompt is too long: {tokens} tokens > {WINDOW} maximum")
            } else {
                format!(
                    "This model's maximum context length is {WINDOW} tokens. However, you requested {tokens} tokens. (context_length_exceeded)"
                )
            };
            return Reply::Status {
                code: 400,
                headers: vec![],
                body: json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}}).to_string(),
            };
        }
        inner(rec, n)
    }));
    let sb = Sandbox::new();
    let config = format!(
        "[providers.fake]\nkind = \"{kind}\"\nbase_url = \"{}\"\nretry_base_ms = 10\napi_key_env = \"MISSION_FAKE_KEY\"\n",
        fake.base
    );
    mini_repo(&sb, script, &config);
    // A file much bigger than the window allows twice.
    let big: String = (0..160)
        .map(|i| format!("line {i:03}: the quick brown fox jumps over the lazy dog, again\n"))
        .collect();
    std::fs::write(sb.repo().join("big.txt"), big).unwrap();
    let git = mission::git::Git::open(&sb.repo()).unwrap();
    git.commit_all("a big file").unwrap();
    use_fake_models(&sb);
    (sb, fake)
}

fn crosses_a_small_window(kind: &str) {
    let (sb, fake) = small_window_mission(kind);
    let out = sb.run_env(
        &["start", "Create a flag", "--headless", "--auto-approve"],
        &[("MISSION_FAKE_KEY", "k".as_ref())],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("context compacted to fit the model"), "{log}");
    assert!(!log.contains("model call failed"), "{log}");
    let events = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap();
    assert!(events.contains(r#""type":"context_compacted""#));
    let worker: Vec<_> = fake
        .all()
        .into_iter()
        .filter(|r| r.body["model"] == "work-model")
        .collect();
    let refused = worker
        .iter()
        .filter(|r| request_tokens(&r.body) > WINDOW)
        .count();
    assert_eq!(
        refused, 1,
        "one too-long request teaches the window; then it fits"
    );
    for r in &worker {
        // The task is never lost, whatever was elided.
        assert!(first_user_text(&r.body).contains("Feature m1-f1"));
    }
    // The cached prefix holds between compactions: each accepted request extends the one
    // before it, except where a compaction rewrote the history (once per compaction).
    let accepted: Vec<Vec<serde_json::Value>> = worker
        .iter()
        .filter(|r| request_tokens(&r.body) <= WINDOW)
        .map(|r| unmarked(&r.body["messages"]).as_array().unwrap().clone())
        .collect();
    let rewrites = accepted
        .windows(2)
        .filter(|p| !(p[1].len() > p[0].len() && p[1][..p[0].len()] == p[0][..]))
        .count();
    let compactions = events.matches(r#""type":"context_compacted""#).count();
    assert!(
        rewrites <= compactions,
        "{rewrites} history rewrites for {compactions} compaction(s)"
    );
    assert!(
        accepted.len() > compactions + 2,
        "turns after the compaction"
    );
    let last = worker.last().unwrap().body["messages"].to_string();
    assert!(
        last.contains("elided by the harness"),
        "stubs say what was elided"
    );
    assert!(sb.worktree().join("flag.txt").exists());
    let t = transcripts_containing(&sb, "context_compacted");
    assert_eq!(t.len(), 1, "the transcript records it: {t:?}");
    eprintln!(
        "{kind}: {} worker requests for the feature ({refused} refused for length), {} tokens sent in all",
        worker.len(),
        worker
            .iter()
            .map(|r| request_tokens(&r.body))
            .sum::<usize>()
    );
}

#[test]
fn a_worker_crossing_a_small_context_window_finishes_over_openai() {
    crosses_a_small_window("openai");
}

#[test]
fn a_worker_crossing_a_small_context_window_finishes_over_anthropic() {
    crosses_a_small_window("anthropic");
}

#[test]
fn a_model_repeating_one_failing_call_is_stopped_and_a_human_asked() {
    let sb = Sandbox::new();
    let same = || {
        turn(vec![call(
            "edit_file",
            json!({"path": "README.md", "old_string": "no such text", "new_string": "x"}),
        )])
    };
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", (0..60).map(|_| same()).collect::<Vec<_>>()),
    ]});
    mini_repo(&sb, script, "[limits]\nfeature_attempts = 1\n");
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(
        log.contains("stuck repeating edit_file (4× the same failing call)"),
        "{log}"
    );
    let st = sb.status();
    let waiting = st["waiting_for"].as_str().unwrap_or_default();
    assert!(waiting.contains("stuck repeating edit_file"), "{st:#}");
    let events = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap();
    let calls = events
        .lines()
        .filter(|l| l.contains(r#""type":"agent_turn""#) && l.contains("worker-m1-f1"))
        .count();
    assert_eq!(calls, 4, "stopped after 4 model calls, not 60");
    assert_eq!(
        transcripts_containing(&sb, "Do not repeat it").len(),
        1,
        "the model was told what to change before it was stopped"
    );
}

fn settings(url: String, cap: Option<u32>) -> HttpSettings {
    HttpSettings {
        provider: "gateway".into(),
        model: "m".into(),
        url,
        api_key: None,
        idle_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(60),
        max_retries: 3,
        retry_base: Duration::from_millis(10),
        max_output_tokens: cap.unwrap_or(1000),
        output_cap_configured: cap.is_some(),
        prices: Arc::new(Prices::new(Default::default())),
        reasoning_effort: None,
        thinking_budget: None,
    }
}

async fn ask(c: &dyn LlmClient) -> (mission::llm::Response, Vec<String>) {
    let retries: Mutex<Vec<String>> = Mutex::default();
    let observe = |m: String| retries.lock().unwrap().push(m);
    let msgs = [Message::User { text: "go".into() }];
    let tools = [ToolSpec {
        name: "submit_handoff".into(),
        description: "d".into(),
        parameters: json!({"type": "object"}),
    }];
    let r = c
        .complete(Request {
            system: "sys",
            messages: &msgs,
            tools: &tools,
            on_retry: Some(&observe),
            on_spent: None,
            tool_choice: None,
        })
        .await
        .unwrap();
    (r, retries.into_inner().unwrap())
}

fn handoff_call() -> Vec<Call> {
    vec![Call {
        name: "submit_handoff".into(),
        args: r#"{"status": "done", "summary": "the real summary, long enough to be cut"}"#.into(),
    }]
}

/// What LiteLLM sends when the upstream stream breaks: half the arguments, then
/// `finish_reason: "stop"`, usage and `[DONE]` as if all was well.
fn papered_over_cut(finish: Option<&str>) -> Vec<String> {
    let whole = openai_sse(None, &handoff_call(), (10, 5, 0));
    // Chunks: tool start, args half 1, args half 2, finish, usage, [DONE].
    let mut cut = vec![whole[0].clone(), whole[1].clone()];
    if let Some(f) = finish {
        cut.push(format!(
            "data: {}\n\n",
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": f}]})
        ));
    }
    cut.push(whole[4].clone());
    cut.push(whole[5].clone());
    cut
}

#[tokio::test]
async fn a_gateway_cut_stream_is_retried_and_the_model_never_sees_it() {
    for (finish, why) in [
        (Some("stop"), "cut mid-tool-call"),
        (None, "without a finish reason"),
    ] {
        let fake = FakeLlm::start(Box::new(move |_, n| Reply::Sse {
            chunks: if n == 0 {
                papered_over_cut(finish)
            } else {
                openai_sse(None, &handoff_call(), (10, 5, 0))
            },
            cut_after: None,
        }));
        let c = OpenAiClient::new(settings(format!("{}/v1/chat/completions", fake.base), None))
            .unwrap();
        let (r, retries) = ask(&c).await;
        assert_eq!(fake.count(), 2, "{finish:?}");
        assert_eq!(retries.len(), 1, "{retries:?}");
        assert!(retries[0].contains(why), "{retries:?}");
        assert_eq!(
            r.tool_calls[0].arguments["summary"],
            "the real summary, long enough to be cut"
        );
    }
}

#[tokio::test]
async fn an_answer_cut_by_the_output_limit_is_retried_with_more_room() {
    // OpenAI-compatible: finish_reason "length" with half a tool call.
    let fake = FakeLlm::start(Box::new(|_, n| Reply::Sse {
        chunks: if n == 0 {
            papered_over_cut(Some("length"))
        } else {
            openai_sse(None, &handoff_call(), (10, 5, 0))
        },
        cut_after: None,
    }));
    let c = OpenAiClient::new(settings(
        format!("{}/v1/chat/completions", fake.base),
        Some(500),
    ))
    .unwrap();
    let (r, retries) = ask(&c).await;
    assert!(retries[0].contains("output limit"), "{retries:?}");
    let bodies = fake.all();
    assert_eq!(bodies[0].body["max_tokens"], 500);
    assert_eq!(
        bodies[1].body["max_tokens"], 1000,
        "the retry gets more room"
    );
    assert_eq!(r.tool_calls[0].arguments["status"], "done");

    // Anthropic: stop_reason "max_tokens" inside a tool_use block.
    let fake = FakeLlm::start(Box::new(|_, n| {
        let whole = anthropic_sse(None, &handoff_call(), (10, 5, 0));
        Reply::Sse {
            chunks: if n == 0 {
                let mut cut: Vec<String> = whole[..4].to_vec();
                cut.push(format!(
                    "event: message_delta\ndata: {}\n\n",
                    json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 1000}})
                ));
                cut.push(whole.last().unwrap().clone());
                cut
            } else {
                whole
            },
            cut_after: None,
        }
    }));
    let c =
        AnthropicClient::new(settings(format!("{}/v1/messages", fake.base), Some(700))).unwrap();
    let (r, retries) = ask(&c).await;
    assert!(
        retries[0].contains("max_tokens cut the answer"),
        "{retries:?}"
    );
    let bodies = fake.all();
    assert_eq!(bodies[0].body["max_tokens"], 700);
    assert_eq!(bodies[1].body["max_tokens"], 1400);
    assert_eq!(r.tool_calls[0].arguments["status"], "done");
}

#[tokio::test]
async fn a_stream_that_trickles_forever_hits_the_total_timeout_not_the_idle_one() {
    let fake = FakeLlm::start(Box::new(|_, n| {
        if n == 0 {
            Reply::Trickle {
                every: Duration::from_millis(100),
                count: 300,
            }
        } else {
            Reply::Sse {
                chunks: openai_sse(None, &handoff_call(), (10, 5, 0)),
                cut_after: None,
            }
        }
    }));
    let mut s = settings(format!("{}/v1/chat/completions", fake.base), None);
    // Room for the healthy retry even on a loaded machine; the trickle (30 s) outlasts it.
    s.total_timeout = Duration::from_secs(3);
    let c = OpenAiClient::new(s).unwrap();
    let started = std::time::Instant::now();
    let (r, retries) = ask(&c).await;
    assert!(started.elapsed() < Duration::from_secs(25));
    assert!(retries[0].contains("longer than 3s in all"), "{retries:?}");
    assert_eq!(r.tool_calls[0].arguments["status"], "done");
}

/// A gateway that lost the upstream: a tool call with no arguments at all, then `stop`.
/// It is retried like any cut, never run with `{}` and shown to the model.
#[tokio::test]
async fn a_tool_call_with_empty_arguments_and_a_stop_is_a_cut_answer() {
    let empty = vec![Call {
        name: "submit_handoff".into(),
        args: String::new(),
    }];
    let fake = FakeLlm::start(Box::new(move |_, n| Reply::Sse {
        chunks: if n == 0 {
            openai_sse(None, &empty, (10, 5, 0))
                .into_iter()
                .map(|c| {
                    c.replace(
                        "\"finish_reason\":\"tool_calls\"",
                        "\"finish_reason\":\"stop\"",
                    )
                })
                .collect()
        } else {
            openai_sse(None, &handoff_call(), (10, 5, 0))
        },
        cut_after: None,
    }));
    let c =
        OpenAiClient::new(settings(format!("{}/v1/chat/completions", fake.base), None)).unwrap();
    let (r, retries) = ask(&c).await;
    assert_eq!(fake.count(), 2);
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert!(retries[0].contains("cut mid-tool-call"), "{retries:?}");
    assert_eq!(
        r.tool_calls[0].arguments["summary"],
        "the real summary, long enough to be cut"
    );
}

/// A model that writes its tool calls as text gets a nudge naming the tools, and after
/// three such replies in a row the attempt ends as stuck instead of burning its turns.
#[test]
fn a_model_that_never_calls_a_tool_is_stuck_after_three_replies() {
    let sb = Sandbox::new();
    let text_only = || json!({"text": "I will now call write_file with {\"path\": \"flag.txt\"}"});
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![text_only(), text_only(), text_only(), text_only(), text_only()]),
    ]});
    mini_repo(&sb, script, "[limits]\nfeature_attempts = 1\n");
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "a human is asked: {log}");
    let events = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap();
    let stuck: Vec<&str> = events
        .lines()
        .filter(|l| l.contains("\"agent_stuck\""))
        .collect();
    assert_eq!(stuck.len(), 1, "{events}");
    assert!(
        stuck[0].contains("(no tool call)") && stuck[0].contains("\"repeats\":3"),
        "{}",
        stuck[0]
    );
    let worker = transcripts_containing(&sb, "I will now call write_file");
    let t =
        std::fs::read_to_string(sb.repo().join(".mission/transcripts").join(&worker[0])).unwrap();
    assert_eq!(t.matches("\"role\":\"assistant\"").count(), 3, "{t}");
    assert!(
        t.contains("Use one of: read_file"),
        "the nudge names the tools: {t}"
    );
}

/// The last turn after `max_turns` offers only the ending tool and forces it, in the
/// request each provider receives.
#[test]
fn the_last_turn_forces_the_handoff_in_both_wire_formats() {
    let tools = vec![ToolSpec {
        name: "submit_handoff".into(),
        description: "d".into(),
        parameters: json!({"type": "object"}),
    }];
    let msgs = [Message::User { text: "hi".into() }];
    let req = Request {
        system: "sys",
        messages: &msgs,
        tools: &tools,
        on_retry: None,
        on_spent: None,
        tool_choice: Some("submit_handoff"),
    };
    let o = mission::llm::openai::body("m", None, &req);
    assert_eq!(
        o["tool_choice"],
        json!({"type": "function", "function": {"name": "submit_handoff"}})
    );
    let a = mission::llm::anthropic::body("m", 1000, &req);
    assert_eq!(
        a["tool_choice"],
        json!({"type": "tool", "name": "submit_handoff"})
    );
}

/// A worker that reaches `[limits] max_turns` keeps its work: it is told near the end, gets
/// one forced last turn to hand off (or the harness writes the handoff), and its files are
/// committed for validation to judge.
#[test]
fn a_worker_out_of_turns_keeps_its_work_and_a_handoff_says_so() {
    for forced_handoff in [true, false] {
        let sb = Sandbox::new();
        let last = if forced_handoff {
            turn(vec![call(
                "submit_handoff",
                json!({"status": "partial", "summary": "flag written, not checked"}),
            )])
        } else {
            // Ignores the forced turn: refused, and the harness hands off.
            turn(vec![call(
                "write_file",
                json!({"path": "late.txt", "content": "x"}),
            )])
        };
        let script = json!({"entries": [
            entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
            entry("worker", "Feature m1-f1:", vec![
                turn(vec![call("write_file", json!({"path": "flag.txt", "content": "ok"}))]),
                turn(vec![call("run_command", json!({"command": "cat flag.txt"}))]),
                last,
            ]),
        ]});
        mini_repo(&sb, script, "[limits]\nmax_turns = 2\n");
        let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
        let log = text(&out);
        assert_eq!(out.status.code(), Some(0), "{log}");
        let handoff: serde_json::Value = serde_json::from_slice(
            &std::fs::read(sb.repo().join(".mission/handoffs/m1-f1.json")).unwrap(),
        )
        .unwrap();
        let report = &handoff;
        assert_eq!(report["status"], "partial", "{handoff:#}");
        assert!(
            report["issues"].to_string().contains("ran out of turns"),
            "{handoff:#}"
        );
        assert_eq!(
            handoff["commands"][0]["command"], "cat flag.txt",
            "{handoff:#}"
        );
        let commits = sb.mission_commits();
        assert_eq!(commits.len(), 1, "{commits:?}");
        assert!(sb.worktree().join("flag.txt").exists());
        assert!(
            !sb.worktree().join("late.txt").exists(),
            "nothing but the handoff runs last"
        );
        let worker = transcripts_containing(&sb, "turns are spent");
        assert_eq!(worker.len(), usize::from(!forced_handoff), "{worker:?}");
    }
}

/// The same gateway cut over the Messages API: half a tool input, then `end_turn` and a
/// clean `message_stop`. Retried, never shown to the model.
#[tokio::test]
async fn an_anthropic_stream_cut_mid_tool_input_is_retried() {
    let fake = FakeLlm::start(Box::new(move |_, n| Reply::Sse {
        chunks: if n == 0 {
            let whole = anthropic_sse(None, &handoff_call(), (10, 5, 0));
            // Drop the second half of the input, and say the turn ended normally.
            whole
                .into_iter()
                .enumerate()
                .filter(|(i, _)| *i != 4)
                .map(|(_, c)| {
                    c.replace(
                        "\"stop_reason\":\"tool_use\"",
                        "\"stop_reason\":\"end_turn\"",
                    )
                })
                .collect()
        } else {
            anthropic_sse(None, &handoff_call(), (10, 5, 0))
        },
        cut_after: None,
    }));
    let c = AnthropicClient::new(settings(format!("{}/v1/messages", fake.base), None)).unwrap();
    let (r, retries) = ask(&c).await;
    assert_eq!(fake.count(), 2, "{retries:?}");
    assert!(retries[0].contains("cut mid-tool-call"), "{retries:?}");
    assert_eq!(
        r.tool_calls[0].arguments["summary"],
        "the real summary, long enough to be cut"
    );
}
