//! Reasoning models as their APIs really behave: the OpenAI Responses API with encrypted
//! reasoning items that must come back in the next request's `input` (`store: false`), and
//! Anthropic extended thinking, whose signed blocks must come back first in the assistant
//! turn of a tool loop. Each fake refuses a follow-up without them, as the real APIs do.

use std::sync::Arc;
use std::time::Duration;

use crate::common::fake_llm::{FakeLlm, Reply};
use mission::llm::anthropic::AnthropicClient;
use mission::llm::http::HttpSettings;
use mission::llm::responses::ResponsesClient;
use mission::llm::{LlmClient, Message, Request, ToolCall, ToolSpec};
use mission::mission::pricing::Prices;
use serde_json::{Value, json};

fn settings(url: String) -> HttpSettings {
    HttpSettings {
        provider: "fake".into(),
        model: "reasoner".into(),
        url,
        api_key: Some("sk-test".into()),
        idle_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(60),
        max_retries: 2,
        retry_base: Duration::from_millis(10),
        max_output_tokens: 1000,
        output_cap_configured: false,
        prices: Arc::new(Prices::new(Default::default())),
        reasoning_effort: None,
        thinking_budget: None,
    }
}

fn tools() -> Vec<ToolSpec> {
    ["read_file", "submit_handoff"]
        .iter()
        .map(|n| ToolSpec {
            name: n.to_string(),
            description: "d".into(),
            parameters: json!({"type": "object"}),
        })
        .collect()
}

/// The tool loop of an agent, twice: ask, run the tool, ask again with the answer.
async fn two_turns(c: &dyn LlmClient) -> (mission::llm::Response, mission::llm::Response) {
    let tools = tools();
    let mut msgs = vec![Message::User { text: "go".into() }];
    let ask = |msgs: Vec<Message>| {
        let tools = tools.clone();
        async move {
            c.complete(Request {
                system: "sys",
                messages: &msgs,
                tools: &tools,
                on_retry: None,
                on_spent: None,
                tool_choice: None,
            })
            .await
            .unwrap()
        }
    };
    let first = ask(msgs.clone()).await;
    let call: &ToolCall = &first.tool_calls[0];
    msgs.push(Message::Assistant {
        text: first.text.clone(),
        tool_calls: first.tool_calls.clone(),
        reasoning: first.reasoning.clone(),
    });
    msgs.push(Message::Tool {
        call_id: call.id.clone(),
        name: call.name.clone(),
        content: "file a".into(),
        is_error: false,
    });
    let second = ask(msgs).await;
    (first, second)
}

fn sse(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
        .collect()
}

#[tokio::test]
async fn responses_api_streams_tools_and_carries_reasoning_items_forward() {
    let reasoning =
        json!({"type": "reasoning", "id": "rs_1", "encrypted_content": "enc-123", "summary": []});
    let r2 = reasoning.clone();
    let fake = FakeLlm::start(Box::new(move |rec, n| {
        let call = |id: &str, name: &str, args: &str| {
            json!({"type": "response.output_item.done", "output_index": 1,
                   "item": {"type": "function_call", "id": format!("fc_{id}"), "call_id": id, "name": name, "arguments": args, "status": "completed"}})
        };
        let done = |inp: u64, out: u64| {
            json!({"type": "response.completed", "response": {"status": "completed", "usage": {
                "input_tokens": inp, "input_tokens_details": {"cached_tokens": 20},
                "output_tokens": out, "output_tokens_details": {"reasoning_tokens": 30}}}})
        };
        if n == 0 {
            return Reply::Sse {
                chunks: sse(&[
                    json!({"type": "response.created", "response": {"status": "in_progress"}}),
                    json!({"type": "response.output_item.done", "output_index": 0, "item": r2.clone()}),
                    json!({"type": "response.function_call_arguments.delta", "item_id": "fc_call_1", "delta": "{\"path\""}),
                    call("call_1", "read_file", "{\"path\": \"a\"}"),
                    done(100, 50),
                ]),
                cut_after: None,
            };
        }
        // store: false — the reasoning must come back, right before its function call.
        let input = rec.body["input"].as_array().cloned().unwrap_or_default();
        let at = input.iter().position(|i| *i == r2);
        let next_is_call = at.is_some_and(|i| input[i + 1]["type"] == "function_call");
        if !next_is_call {
            return Reply::Status {
                code: 400,
                headers: vec![],
                body: json!({"error": {"message": "Item 'fc_call_1' of type 'function_call' was provided without its required 'reasoning' item"}}).to_string(),
            };
        }
        Reply::Sse {
            chunks: sse(&[
                call(
                    "call_2",
                    "submit_handoff",
                    "{\"status\": \"done\", \"summary\": \"read a\"}",
                ),
                done(200, 10),
            ]),
            cut_after: None,
        }
    }));
    let mut s = settings(format!("{}/v1/responses", fake.base));
    s.reasoning_effort = Some("high".into());
    let c = ResponsesClient::new(s).unwrap();
    let (first, second) = two_turns(&c).await;
    assert_eq!(first.reasoning, [reasoning]);
    assert_eq!(first.tool_calls[0].arguments["path"], "a");
    assert_eq!(
        (
            first.usage.tokens_in,
            first.usage.tokens_out,
            first.usage.cache_read_tokens
        ),
        (100, 50, 20),
        "reasoning tokens are in the output tokens"
    );
    assert_eq!(second.tool_calls[0].name, "submit_handoff");
    let reqs = fake.all();
    assert_eq!(reqs.len(), 2, "no request was refused");
    let b = &reqs[0].body;
    assert_eq!(reqs[0].path, "/v1/responses");
    assert_eq!(b["store"], false);
    assert_eq!(b["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(b["reasoning"]["effort"], "high");
    assert_eq!(b["tools"][0]["type"], "function");
    assert_eq!(reqs[1].body["input"][3]["type"], "function_call_output");
}

#[tokio::test]
async fn anthropic_thinking_blocks_go_back_unchanged_in_the_tool_loop() {
    let fake = FakeLlm::start(Box::new(move |rec, n| {
        let ev = |v: Value| format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap());
        let start = ev(
            json!({"type": "message_start", "message": {"usage": {"input_tokens": 10, "output_tokens": 1}}}),
        );
        let tool = |i: u64, id: &str, name: &str, args: &str| {
            vec![
                ev(
                    json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
                ),
                ev(
                    json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": args}}),
                ),
                ev(json!({"type": "content_block_stop", "index": i})),
            ]
        };
        let end = vec![
            ev(
                json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 40}}),
            ),
            ev(json!({"type": "message_stop"})),
        ];
        if n == 0 {
            let mut chunks = vec![
                start,
                ev(
                    json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
                ),
                ev(
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me "}}),
                ),
                ev(
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "look at a."}}),
                ),
                ev(
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig-abc"}}),
                ),
                ev(json!({"type": "content_block_stop", "index": 0})),
            ];
            chunks.extend(tool(1, "toolu_1", "read_file", "{\"path\": \"a\"}"));
            chunks.extend(end);
            return Reply::Sse {
                chunks,
                cut_after: None,
            };
        }
        let assistant = &rec.body["messages"][1];
        let first_block = &assistant["content"][0];
        if *first_block
            != json!({"type": "thinking", "thinking": "Let me look at a.", "signature": "sig-abc"})
        {
            return Reply::Status {
                code: 400,
                headers: vec![],
                body: json!({"type": "error", "error": {"type": "invalid_request_error",
                    "message": "Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block"}}).to_string(),
            };
        }
        let mut chunks = vec![start];
        chunks.extend(tool(
            0,
            "toolu_2",
            "submit_handoff",
            "{\"status\": \"done\", \"summary\": \"ok\"}",
        ));
        chunks.extend(end);
        Reply::Sse {
            chunks,
            cut_after: None,
        }
    }));
    let mut s = settings(format!("{}/v1/messages", fake.base));
    s.thinking_budget = Some(2048);
    let c = AnthropicClient::new(s).unwrap();
    let (first, second) = two_turns(&c).await;
    assert_eq!(first.reasoning.len(), 1);
    assert_eq!(second.tool_calls[0].name, "submit_handoff");
    let reqs = fake.all();
    assert_eq!(reqs.len(), 2, "no request was refused");
    let b = &reqs[0].body;
    assert_eq!(
        b["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );
    assert!(
        b["max_tokens"].as_u64().unwrap() > 2048,
        "{}",
        b["max_tokens"]
    );
    assert!(b.get("tool_choice").is_none());
}
