//! Real HTTP to loopback fake servers: both APIs streamed, with tools, usage and cost;
//! 429 then success, a stream cut midway, a 500 that persists, a 401, malformed tool
//! arguments, a server that never answers; and whole missions over each API.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::fake_llm::{Call, FakeLlm, Reply, anthropic_sse, openai_sse, script_responder};
use crate::common::*;
use mission::llm::anthropic::AnthropicClient;
use mission::llm::http::HttpSettings;
use mission::llm::openai::OpenAiClient;
use mission::llm::{LlmClient, LlmError, Message, Request, ToolSpec};
use mission::mission::pricing::{Price, Prices};
use serde_json::json;

fn settings(url: String, model: &str) -> HttpSettings {
    HttpSettings {
        provider: "fake".into(),
        model: model.into(),
        url,
        api_key: Some("sk-test-key".into()),
        idle_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(60),
        max_retries: 3,
        retry_base: Duration::from_millis(10),
        max_output_tokens: 1000,
        output_cap_configured: false,
        prices: Arc::new(Prices::new(
            [(
                "priced".to_string(),
                Price {
                    input_per_mtok: 10.0,
                    output_per_mtok: 20.0,
                    cache_read_per_mtok: Some(1.0),
                    cache_write_per_mtok: None,
                },
            )]
            .into(),
        )),
        reasoning_effort: None,
        thinking_budget: None,
    }
}

fn openai(fake: &FakeLlm, model: &str) -> OpenAiClient {
    OpenAiClient::new(settings(
        format!("{}/v1/chat/completions", fake.base),
        model,
    ))
    .unwrap()
}

fn anthropic(fake: &FakeLlm, model: &str) -> AnthropicClient {
    AnthropicClient::new(settings(format!("{}/v1/messages", fake.base), model)).unwrap()
}

fn tool() -> Vec<ToolSpec> {
    vec![ToolSpec {
        name: "read_file".into(),
        description: "read".into(),
        parameters: json!({"type": "object"}),
    }]
}

async fn ask(
    c: &dyn LlmClient,
    retries: &Mutex<Vec<String>>,
) -> Result<mission::llm::Response, LlmError> {
    ask_counting(c, retries, &Mutex::default()).await
}

/// `ask`, also adding up what broken attempts were billed.
async fn ask_counting(
    c: &dyn LlmClient,
    retries: &Mutex<Vec<String>>,
    lost: &Mutex<mission::mission::Usage>,
) -> Result<mission::llm::Response, LlmError> {
    let msgs = [Message::User { text: "go".into() }];
    let tools = tool();
    let observe = |m: String| retries.lock().unwrap().push(m);
    let spent = |u: &mission::mission::Usage| lost.lock().unwrap().add(u);
    c.complete(Request {
        system: "sys",
        messages: &msgs,
        tools: &tools,
        on_retry: Some(&observe),
        on_spent: Some(&spent),
        tool_choice: None,
    })
    .await
}

fn read_call() -> Vec<Call> {
    vec![Call {
        name: "read_file".into(),
        args: r#"{"path": "src/ünï.rs"}"#.into(),
    }]
}

#[tokio::test]
async fn openai_streams_text_tool_calls_usage_and_cost() {
    let fake = FakeLlm::start(Box::new(|_, _| Reply::Sse {
        chunks: openai_sse(
            Some("Reading it."),
            &read_call(),
            (1_000_000, 100_000, 400_000),
        ),
        cut_after: None,
    }));
    let retries = Mutex::default();
    let r = ask(&openai(&fake, "priced"), &retries).await.unwrap();
    assert_eq!(r.text.as_deref(), Some("Reading it."));
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].name, "read_file");
    assert_eq!(r.tool_calls[0].arguments, json!({"path": "src/ünï.rs"}));
    assert_eq!(
        (
            r.usage.tokens_in,
            r.usage.tokens_out,
            r.usage.cache_read_tokens
        ),
        (1_000_000, 100_000, 400_000)
    );
    // 0.6M fresh × $10 + 0.4M cached × $1 + 0.1M out × $20
    assert!(
        (r.usage.cost_usd - (6.0 + 0.4 + 2.0)).abs() < 1e-9,
        "{}",
        r.usage.cost_usd
    );
    let req = &fake.all()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.header("authorization"), Some("Bearer sk-test-key"));
    assert_eq!(req.body["model"], "priced");
    assert_eq!(req.body["stream_options"]["include_usage"], true);
    assert_eq!(req.body["tools"][0]["function"]["name"], "read_file");
    assert!(retries.lock().unwrap().is_empty());
}

#[tokio::test]
async fn anthropic_streams_text_tool_use_and_cache_usage() {
    let fake = FakeLlm::start(Box::new(|_, _| Reply::Sse {
        chunks: anthropic_sse(Some("Reading it."), &read_call(), (500, 40, 2000)),
        cut_after: None,
    }));
    let retries = Mutex::default();
    let r = ask(&anthropic(&fake, "claude-sonnet-4-5"), &retries)
        .await
        .unwrap();
    assert_eq!(r.text.as_deref(), Some("Reading it."));
    assert_eq!(r.tool_calls[0].id, "toolu_0");
    assert_eq!(r.tool_calls[0].arguments, json!({"path": "src/ünï.rs"}));
    assert_eq!(
        (
            r.usage.tokens_in,
            r.usage.tokens_out,
            r.usage.cache_read_tokens
        ),
        (2500, 40, 2000)
    );
    assert!(r.usage.cost_usd > 0.0, "the built-in table prices Sonnet");
    let req = &fake.all()[0];
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.header("x-api-key"), Some("sk-test-key"));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(req.body["system"][0]["cache_control"]["type"], "ephemeral");
    assert_eq!(req.body["tools"][0]["input_schema"]["type"], "object");
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after() {
    for api in ["openai", "anthropic"] {
        let fake = FakeLlm::start(Box::new(move |_, n| match n {
            0 => Reply::Status {
                code: 429,
                headers: vec![("retry-after".into(), "0.2".into())],
                body: r#"{"error":{"message":"rate limited"}}"#.into(),
            },
            _ if api == "openai" => Reply::Sse {
                chunks: openai_sse(Some("ok"), &[], (10, 2, 0)),
                cut_after: None,
            },
            _ => Reply::Sse {
                chunks: anthropic_sse(Some("ok"), &[], (10, 2, 0)),
                cut_after: None,
            },
        }));
        let retries = Mutex::default();
        let t = Instant::now();
        let r = if api == "openai" {
            ask(&openai(&fake, "m"), &retries).await
        } else {
            ask(&anthropic(&fake, "m"), &retries).await
        };
        assert_eq!(r.unwrap().text.as_deref(), Some("ok"), "{api}");
        assert_eq!(fake.count(), 2);
        assert!(
            t.elapsed() >= Duration::from_millis(200),
            "retry-after was honoured"
        );
        let seen = retries.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0].contains("HTTP 429") && seen[0].contains("rate limited"),
            "{seen:?}"
        );
    }
}

#[tokio::test]
async fn a_stream_cut_midway_is_retried() {
    let fake = FakeLlm::start(Box::new(|_, n| Reply::Sse {
        chunks: anthropic_sse(Some("whole answer"), &read_call(), (10, 2, 0)),
        cut_after: (n == 0).then_some(4),
    }));
    let retries = Mutex::default();
    let lost = Mutex::default();
    let r = ask_counting(&anthropic(&fake, "m"), &retries, &lost)
        .await
        .unwrap();
    assert_eq!(r.tool_calls.len(), 1, "the retried answer is whole");
    assert_eq!(fake.count(), 2);
    assert!(retries.lock().unwrap()[0].contains("ended before message_stop"));
    assert_eq!(r.usage.tokens_in, 10);
    assert_eq!(
        lost.lock().unwrap().tokens_in,
        10,
        "the cut attempt's input tokens (reported in message_start) are billed too"
    );
}

#[tokio::test]
async fn tokens_of_attempts_that_all_broke_are_still_billed() {
    let fake = FakeLlm::start(Box::new(|_, _| Reply::Sse {
        chunks: anthropic_sse(Some("never finished"), &[], (10, 2, 0)),
        cut_after: Some(2),
    }));
    let lost = Mutex::default();
    let e = ask_counting(&anthropic(&fake, "priced"), &Mutex::default(), &lost)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("gave up after 4 attempts"), "{e}");
    let lost = lost.lock().unwrap();
    assert_eq!(
        lost.tokens_in, 40,
        "1 try + 3 retries, 10 input tokens each"
    );
    assert!(
        (lost.cost_usd - (40.0 * 10.0 + 4.0 * 20.0) / 1e6).abs() < 1e-12,
        "priced like any answer: {lost:?}"
    );
}

#[tokio::test]
async fn a_persistent_500_gives_up_naming_provider_model_and_status() {
    let fake = FakeLlm::start(Box::new(|_, _| Reply::Status {
        code: 500,
        headers: vec![],
        body: "upstream exploded".into(),
    }));
    let retries = Mutex::default();
    let e = ask(&openai(&fake, "gpt-x"), &retries).await.unwrap_err();
    assert!(matches!(e, LlmError::Http { status: 500, .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(
            "fake (gpt-x) answered HTTP 500: upstream exploded (gave up after 4 attempts)"
        ),
        "{msg}"
    );
    assert_eq!(fake.count(), 4, "1 try + 3 retries");
}

#[tokio::test]
async fn a_401_is_not_retried() {
    let fake = FakeLlm::start(Box::new(|_, _| {
        Reply::Status {
        code: 401,
        headers: vec![],
        body: r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#.into(),
    }
    }));
    let e = ask(&anthropic(&fake, "m"), &Mutex::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("HTTP 401: invalid x-api-key"), "{e}");
    assert_eq!(fake.count(), 1);
}

#[tokio::test]
async fn malformed_tool_arguments_come_back_as_a_string() {
    let fake = FakeLlm::start(Box::new(|_, _| Reply::Sse {
        chunks: openai_sse(
            None,
            &[Call {
                name: "read_file".into(),
                args: r#"{"path": "a"#.into(),
            }],
            (10, 2, 0),
        ),
        cut_after: None,
    }));
    let r = ask(&openai(&fake, "m"), &Mutex::default()).await.unwrap();
    assert_eq!(
        r.tool_calls[0].arguments,
        json!(r#"{"path": "a"#),
        "kept raw for the agent loop to refuse"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_and_gives_up() {
    let fake = FakeLlm::start(Box::new(|_, _| Reply::Hang));
    let mut s = settings(format!("{}/v1/chat/completions", fake.base), "m");
    s.idle_timeout = Duration::from_millis(1000);
    s.max_retries = 1;
    let t = Instant::now();
    let e = ask(&OpenAiClient::new(s).unwrap(), &Mutex::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no response within"), "{e}");
    // Two idle timeouts of 1 s, then it gives up: not a hang (the bound leaves room for a
    // loaded CI machine).
    assert!(t.elapsed() >= Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert_eq!(fake.count(), 2);
}

/// The flag mission over HTTP, each role on its own model; the worker first sends
/// malformed JSON, then prints its environment (the key must not be in it).
pub(crate) fn mission_script() -> serde_json::Value {
    json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![
            json!({"text": "Planning.", "tool_calls": [call("submit_plan", flag_plan())]}),
        ]),
        entry("worker", "Feature m1-f1:", vec![
            json!({"tool_calls": [{"name": "write_file", "arguments": "{\"path\": \"flag.txt\", \"content\": "}]}),
            turn(vec![call("write_file", json!({"path": "flag.txt", "content": "ok"})), call("run_command", json!({"command": "env"}))]),
            turn(vec![done("wrote flag.txt")]),
        ]),
        // No [roles.reviewer]: the reviewer borrows the orchestrator's model.
        entry("orchestrator", "Review m1-f1", vec![
            turn(vec![call("submit_review", json!({"verdict": "pass", "findings": []}))]),
        ]),
    ]})
}

fn run_mission_over(kind: &str, fake: &FakeLlm) -> Sandbox {
    run_mission_over_with(kind, fake, "")
}

/// The same mission, with `extra` appended to its config.
pub(crate) fn run_mission_over_with(kind: &str, fake: &FakeLlm, extra: &str) -> Sandbox {
    let sb = Sandbox::new();
    let config = format!(
        r#"[providers.fake]
kind = "{kind}"
base_url = "{}"
api_key_env = "MISSION_FAKE_KEY"
retry_base_ms = 10
max_output_tokens = 777

[prices."orch-model"]
input_per_mtok = 10.0
output_per_mtok = 30.0

[prices."work-model"]
input_per_mtok = 1.0
output_per_mtok = 2.0
{extra}
"#,
        fake.base
    );
    mini_repo(&sb, mission_script(), &config);
    use_fake_models(&sb);
    let out = sb.run_env(
        &["start", "Create a flag", "--headless", "--auto-approve"],
        &[("MISSION_FAKE_KEY", "sk-fake-SECRET-123".as_ref())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("sk-fake-SECRET-123"));
    sb
}

fn assert_mission_over_http(sb: &Sandbox, fake: &FakeLlm) {
    let st = sb.status();
    assert_eq!(st["state"], "completed", "{st:#}");
    let roles = &st["budget"]["per_role"];
    // orchestrator: 1 call of 1000 in / 50 out at $10/$30 per M.
    assert!(
        (roles["orchestrator"]["cost_usd"].as_f64().unwrap() - 0.0115).abs() < 1e-9,
        "{st:#}"
    );
    assert!(roles["worker"]["cost_usd"].as_f64().unwrap() > 0.0);
    assert!(st["budget"]["cost_usd"].as_f64().unwrap() > 0.0115);
    let models: Vec<String> = fake
        .all()
        .iter()
        .map(|r| r.body["model"].as_str().unwrap().to_string())
        .collect();
    assert!(
        fake.all().iter().all(|r| r.body["max_tokens"] == 777),
        "the configured output cap reaches the server"
    );
    // Each worker turn resends the previous request unchanged and adds to its end: the
    // prefix a provider caches stays identical from turn to turn (Anthropic's moving
    // `cache_control` breakpoint is a marker, not content).
    let worker: Vec<_> = fake
        .all()
        .into_iter()
        .filter(|r| r.body["model"] == "work-model")
        .map(|r| unmarked(&r.body))
        .collect();
    for pair in worker.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let (ma, mb) = (
            a["messages"].as_array().unwrap(),
            b["messages"].as_array().unwrap(),
        );
        assert!(
            mb.len() > ma.len() && mb[..ma.len()] == ma[..],
            "a turn rewrote its history"
        );
        assert_eq!(
            a["tools"], b["tools"],
            "the tools (part of the prefix) did not change"
        );
        assert_eq!(a["system"], b["system"]);
    }
    assert_eq!(
        models,
        vec![
            "orch-model",
            "work-model",
            "work-model",
            "work-model",
            "orch-model"
        ]
    );
    assert!(
        roles["reviewer"]["cost_usd"].as_f64().unwrap() > 0.0,
        "{st:#}"
    );
    assert_eq!(
        transcripts_containing(sb, "were not a JSON object").len(),
        1,
        "malformed JSON went back to the model"
    );
    // The key is nowhere on disk and never reached the worker's command.
    for dir in ["", "transcripts", "handoffs"] {
        for e in std::fs::read_dir(sb.repo().join(".mission").join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                let t = std::fs::read_to_string(&p).unwrap_or_default();
                assert!(
                    !t.contains("sk-fake-SECRET-123"),
                    "key leaked into {}",
                    p.display()
                );
            }
        }
    }
    assert_eq!(
        transcripts_containing(sb, "MISSION_FAKE_KEY").len(),
        0,
        "stripped from the child's environment"
    );
    assert_eq!(transcripts_containing(sb, "PATH=").len(), 1, "env did run");
}

#[test]
fn a_whole_mission_over_an_openai_compatible_server() {
    let fake = FakeLlm::start(script_responder(
        mission_script(),
        vec![("orch-model", "orchestrator"), ("work-model", "worker")],
        false,
    ));
    let sb = run_mission_over("openai", &fake);
    assert_mission_over_http(&sb, &fake);
}

#[test]
fn a_whole_mission_over_the_anthropic_api() {
    let fake = FakeLlm::start(script_responder(
        mission_script(),
        vec![("orch-model", "orchestrator"), ("work-model", "worker")],
        true,
    ));
    let sb = run_mission_over("anthropic", &fake);
    assert_mission_over_http(&sb, &fake);
    assert!(
        fake.all()
            .iter()
            .all(|r| r.header("x-api-key") == Some("sk-fake-SECRET-123"))
    );
}

#[test]
fn a_provider_that_keeps_failing_pauses_the_mission_and_resume_continues() {
    let healthy = Arc::new(Mutex::new(false));
    let h = healthy.clone();
    let inner = script_responder(
        mission_script(),
        vec![("orch-model", "orchestrator"), ("work-model", "worker")],
        false,
    );
    let fake = FakeLlm::start(Box::new(move |rec, n| {
        if *h.lock().unwrap() {
            inner(rec, n)
        } else {
            Reply::Status {
                code: 503,
                headers: vec![],
                body: "down for maintenance".into(),
            }
        }
    }));
    let sb = Sandbox::new();
    let config = format!(
        "[providers.fake]\nkind = \"openai\"\nbase_url = \"{}\"\nmax_retries = 2\nretry_base_ms = 10\n",
        fake.base
    );
    mini_repo(&sb, mission_script(), &config);
    use_fake_models(&sb);
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(
        log.contains(
            "fake (orch-model) answered HTTP 503: down for maintenance (gave up after 3 attempts)"
        ),
        "{log}"
    );
    assert!(
        log.contains("↻ fake (orch-model) answered HTTP 503"),
        "retries are shown: {log}"
    );
    assert_eq!(sb.status()["state"], "paused");

    *healthy.lock().unwrap() = true;
    let out = sb.run(&["resume", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.status()["state"], "completed");
}

#[test]
fn a_missing_key_is_a_clear_error() {
    let sb = Sandbox::new();
    mini_repo(
        &sb,
        json!({"entries": []}),
        "[providers.anthropic]\napi_key_env = \"MISSION_NO_SUCH_KEY\"\n",
    );
    let cfg = sb.repo().join(".mission/mission.toml");
    let t = std::fs::read_to_string(&cfg).unwrap().replace(
        "provider = \"scripted\"\nmodel = \"o\"",
        "provider = \"anthropic\"\nmodel = \"claude-sonnet-4-5\"",
    );
    std::fs::write(&cfg, t).unwrap();
    let out = sb.run(&["start", "x", "--headless"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("api_key_env`: the environment variable `MISSION_NO_SUCH_KEY` is not set"),
        "{err}"
    );
    assert!(
        !sb.repo().join(".mission/handoffs").exists(),
        "a refused config leaves nothing behind"
    );
    let out = sb.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("`MISSION_NO_SUCH_KEY` is not set"),
        "{}",
        text(&out)
    );
}

/// A usage limit that resets later than the retries would wait (a 429 whose
/// `x-ratelimit-reset-requests` says 3 s, against a retry budget of about 1 s): the mission
/// pauses with the time it goes on, shown in `status --json`, and goes on by itself then.
#[test]
fn a_long_rate_limit_pauses_until_its_reset_and_the_mission_goes_on_by_itself() {
    let inner = script_responder(
        mission_script(),
        vec![("orch-model", "orchestrator"), ("work-model", "worker")],
        false,
    );
    let limited = Arc::new(Mutex::new(false));
    let l = limited.clone();
    let fake = FakeLlm::start(Box::new(move |rec, n| {
        let mut once = l.lock().unwrap();
        if rec.body["model"] == "work-model" && !*once {
            *once = true;
            return Reply::Status {
                code: 429,
                headers: vec![("x-ratelimit-reset-requests".into(), "3s".into())],
                body: r#"{"error": {"message": "Rate limit reached for requests"}}"#.into(),
            };
        }
        inner(rec, n)
    }));
    let sb = Sandbox::new();
    let config = format!(
        "[providers.fake]\nkind = \"openai\"\nbase_url = \"{}\"\nretry_base_ms = 10\nmax_retries = 3\n",
        fake.base
    );
    mini_repo(&sb, mission_script(), &config);
    use_fake_models(&sb);
    let started = Instant::now();
    let mut runner = sb.spawn_quiet(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let st = sb.wait_for_status("the pause for the limit", |st| {
        st.get("resumes_at").is_some()
    });
    assert_eq!(st["state"], "paused", "{st:#}");
    assert!(
        st["paused_reason"]
            .as_str()
            .unwrap()
            .contains("goes on by itself"),
        "{st:#}"
    );
    let at: jiff::Timestamp = st["resumes_at"].as_str().unwrap().parse().unwrap();
    let ahead = at.as_millisecond() - jiff::Timestamp::now().as_millisecond();
    assert!((0..=3500).contains(&ahead), "resumes {ahead} ms from now");
    assert!(
        runner.wait().unwrap().success(),
        "went on by itself and completed"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "it waited for the reset"
    );
    let events = std::fs::read_to_string(sb.repo().join(".mission/events.jsonl")).unwrap();
    let types: Vec<&str> = events
        .lines()
        .filter_map(|l| l.split("\"type\":\"").nth(1)?.split('"').next())
        .collect();
    let limited_at = types
        .iter()
        .position(|t| *t == "rate_limited")
        .expect("rate_limited");
    assert_eq!(types[limited_at + 1], "unpaused", "{types:?}");
    assert_eq!(sb.status()["state"], "completed");
    assert!(*limited.lock().unwrap());
}

/// The caps as a model meets them: a worker reads a 300 KB minified file and its next
/// request to the provider stays small (the read is cut per line and per result, and says
/// how to read on).
#[test]
fn a_minified_file_read_does_not_flood_the_next_request() {
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("read_file", json!({"path": "app.min.js"}))]),
            turn(vec![call("write_file", json!({"path": "flag.txt", "content": "ok"}))]),
            turn(vec![done("wrote flag.txt")]),
        ]),
        entry("orchestrator", "Review m1-f1", vec![
            turn(vec![call("submit_review", json!({"verdict": "pass", "findings": []}))]),
        ]),
    ]});
    let fake = FakeLlm::start(script_responder(
        script.clone(),
        vec![("orch-model", "orchestrator"), ("work-model", "worker")],
        false,
    ));
    let sb = Sandbox::new();
    let config = format!(
        "[providers.fake]\nkind = \"openai\"\nbase_url = \"{}\"\nretry_base_ms = 10\n",
        fake.base
    );
    mini_repo(&sb, script, &config);
    use_fake_models(&sb);
    let minified: String = (0..30_000).map(|i| format!("var a{i}=1;")).collect();
    assert!(minified.len() > 300_000);
    std::fs::write(sb.repo().join("app.min.js"), &minified).unwrap();
    let git = mission::git::Git::open(&sb.repo()).unwrap();
    git.commit_all("a minified bundle").unwrap();
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let worker: Vec<_> = fake
        .all()
        .into_iter()
        .filter(|r| r.body["model"] == "work-model")
        .collect();
    let after_read = worker[1].body.to_string();
    assert!(
        after_read.len() < 40_000,
        "the request after the read is {} bytes",
        after_read.len()
    );
    assert!(
        after_read.contains("line cut"),
        "the model is told what was cut"
    );
}
