//! The ending tools: an agent run ends when it calls its role's submit tool with
//! arguments that parse. Bad arguments go back to the model as a tool error.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::spec;
use crate::llm::ToolSpec;
use crate::mission::{FeaturePlan, Plan, WorkerReport};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixes {
    pub features: Vec<FeaturePlan>,
    #[serde(default)]
    pub note: String,
    /// Assertions to replace (same id) or add; they apply only once a human approves.
    #[serde(default)]
    pub amendments: Vec<crate::mission::Assertion>,
}

fn feature_schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "string"}, "title": {"type": "string"},
            "description": {"type": "string"}, "expected_behavior": {"type": "string"},
            "fulfills": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["id", "title", "description", "fulfills"]
    })
}

pub fn submit_plan() -> ToolSpec {
    spec(
        "submit_plan",
        "Submit the mission plan: milestones of features, and the validation contract written before any code.",
        json!({
            "type": "object",
            "properties": {
                "milestones": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"}, "title": {"type": "string"},
                        "features": {"type": "array", "items": feature_schema()}
                    },
                    "required": ["id", "title", "features"]
                }},
                "assertions": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"}, "text": {"type": "string"},
                        "kind": {"type": "string", "enum": ["command", "review", "user_test"]},
                        "command": {"type": "string"}
                    },
                    "required": ["id", "text", "kind"]
                }}
            },
            "required": ["milestones", "assertions"]
        }),
    )
}

pub fn submit_handoff() -> ToolSpec {
    spec(
        "submit_handoff",
        "End your work on the feature with a structured handoff.",
        json!({
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": ["done", "partial", "blocked"]},
                "summary": {"type": "string"},
                "issues": {"type": "array", "items": {"type": "string"}},
                "deviations": {"type": "array", "items": {"type": "string"}}
            },
            "required": ["status", "summary"]
        }),
    )
}

pub fn submit_fixes() -> ToolSpec {
    spec(
        "submit_fixes",
        "Answer validation failures with corrective features (an empty list escalates to the human).",
        json!({
            "type": "object",
            "properties": {
                "features": {"type": "array", "items": feature_schema()},
                "note": {"type": "string"},
                "amendments": {"type": "array", "description": "only when the contract itself is wrong: assertions to replace (same id) or add; a human must approve", "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"}, "text": {"type": "string"},
                        "kind": {"type": "string", "enum": ["command", "review", "user_test"]},
                        "command": {"type": "string"}
                    },
                    "required": ["id", "text", "kind"]
                }}
            },
            "required": ["features"]
        }),
    )
}

/// Close-enough words models use, mapped onto the schema's enum (which the tool spec
/// still shows): accepting them beats a model retrying the same value again and again.
fn synonym(v: &mut Value, table: &[(&[&str], &str)]) {
    let Some(s) = v.as_str() else {
        if let Some(b) = v.as_bool() {
            // `true`/`false` for a verdict.
            for (words, to) in table {
                if words.contains(&if b { "true" } else { "false" }) {
                    *v = Value::String((*to).into());
                }
            }
        }
        return;
    };
    let s = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    for (words, to) in table {
        if *to == s || words.contains(&s.as_str()) {
            *v = Value::String((*to).into());
            return;
        }
    }
}

/// `"true"`, `"yes"`, `"pass"` → true and the like; anything else is left for serde.
pub fn lenient_bool(v: &mut Value) {
    let b = match v {
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "pass" | "passed" | "ok" | "1" => Some(true),
            "false" | "no" | "n" | "fail" | "failed" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_f64().map(|x| x != 0.0),
        _ => None,
    };
    if let Some(b) = b {
        *v = Value::Bool(b);
    }
}

/// `"12"` or `12.0` → 12 where an integer is expected.
pub fn lenient_int(v: &mut Value) {
    let n = match v {
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Number(n) if !n.is_u64() => n.as_f64(),
        _ => None,
    };
    if let Some(n) = n.filter(|n| n.is_finite() && *n >= 0.0) {
        *v = Value::from(n.round() as u64);
    }
}

/// Applies `fix` to `field` of every item of the list `list` (where there is one).
fn each_field(args: &mut Value, list: &str, field: &str, fix: fn(&mut Value)) {
    for item in args
        .get_mut(list)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(v) = item.get_mut(field) {
            fix(v);
        }
    }
}

/// A lone string where a list is expected becomes a list of one; `null` an empty list.
fn lenient_list(v: &mut Value) {
    match v {
        Value::String(s) if s.trim().is_empty() => *v = Value::Array(vec![]),
        Value::String(_) => *v = Value::Array(vec![v.take()]),
        Value::Null => *v = Value::Array(vec![]),
        _ => {}
    }
}

const SEVERITY: &[(&[&str], &str)] = &[
    (
        &[
            "critical", "blocker", "major", "severe", "error", "p0", "p1",
        ],
        "high",
    ),
    (&["moderate", "warning", "warn", "normal", "p2"], "medium"),
    (
        &[
            "minor",
            "nit",
            "nitpick",
            "info",
            "trivial",
            "suggestion",
            "style",
            "p3",
        ],
        "low",
    ),
];

pub fn parse_plan(args: &serde_json::Value) -> Result<Plan, String> {
    let mut args = args.clone();
    for m in args
        .get_mut("milestones")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        each_field(m, "features", "fulfills", lenient_list);
    }
    // Every problem at once, each at its path: one round to fix them all.
    let mut problems = crate::mission::plan_check::problems(&args);
    problems.extend(super::args_check::unknown_fields(
        &submit_plan().parameters,
        &args,
    ));
    if !problems.is_empty() {
        return Err(crate::mission::plan_check::report(&problems));
    }
    let plan: Plan = serde_json::from_value(args).map_err(|e| format!("invalid plan: {e}"))?;
    plan.validate().map_err(|e| format!("invalid plan: {e}"))?;
    Ok(plan)
}

pub fn parse_handoff(args: &serde_json::Value) -> Result<WorkerReport, String> {
    let mut args = args.clone();
    if let Some(v) = args.get_mut("status") {
        synonym(
            v,
            &[
                (
                    &[
                        "completed",
                        "complete",
                        "success",
                        "succeeded",
                        "successful",
                        "finished",
                        "ok",
                        "implemented",
                    ],
                    "done",
                ),
                (
                    &[
                        "failed",
                        "failure",
                        "incomplete",
                        "in_progress",
                        "partially_done",
                        "partial_success",
                        "wip",
                    ],
                    "partial",
                ),
                (
                    &["stuck", "cannot_proceed", "impossible", "error"],
                    "blocked",
                ),
            ],
        );
    }
    for key in ["issues", "deviations"] {
        if let Some(v) = args.get_mut(key) {
            lenient_list(v);
        }
    }
    checked(&submit_handoff(), "handoff", args)
}

pub fn parse_fixes(args: &serde_json::Value) -> Result<Fixes, String> {
    let mut args = args.clone();
    each_field(&mut args, "features", "fulfills", lenient_list);
    checked(&submit_fixes(), "answer", args)
}

/// Every problem against the tool's schema at once (unknown fields included, see
/// `args_check`), then serde for what the schema cannot say.
fn checked<T: serde::de::DeserializeOwned>(
    tool: &ToolSpec,
    what: &str,
    args: Value,
) -> Result<T, String> {
    let problems = super::args_check::check(&tool.parameters, &args);
    if !problems.is_empty() {
        return Err(super::args_check::report(what, &tool.name, &problems));
    }
    serde_json::from_value(args).map_err(|e| format!("invalid {what}: {e}"))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub verdict: Verdict,
    #[serde(default)]
    pub findings: Vec<crate::mission::Finding>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub results: Vec<crate::mission::TestResult>,
}

pub fn submit_review() -> ToolSpec {
    spec(
        "submit_review",
        "End the review: `fail` when a high-severity finding stands.",
        json!({
            "type": "object",
            "properties": {
                "verdict": {"type": "string", "enum": ["pass", "fail"]},
                "findings": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "severity": {"type": "string", "enum": ["high", "medium", "low"]},
                        "path": {"type": "string"}, "line": {"type": "integer"}, "message": {"type": "string"}
                    },
                    "required": ["severity", "message"]
                }}
            },
            "required": ["verdict", "findings"]
        }),
    )
}

pub fn submit_report() -> ToolSpec {
    spec(
        "submit_report",
        "End the user test with a verdict and evidence for every assertion you were given.",
        json!({
            "type": "object",
            "properties": {
                "results": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"assertion_id": {"type": "string"}, "pass": {"type": "boolean"}, "evidence": {"type": "string"}},
                    "required": ["assertion_id", "pass", "evidence"]
                }}
            },
            "required": ["results"]
        }),
    )
}

pub fn parse_review(args: &serde_json::Value) -> Result<Review, String> {
    let mut args = args.clone();
    if let Some(v) = args.get_mut("verdict") {
        synonym(
            v,
            &[
                (
                    &[
                        "passed", "approve", "approved", "ok", "lgtm", "accept", "accepted", "true",
                    ],
                    "pass",
                ),
                (
                    &[
                        "failed",
                        "reject",
                        "rejected",
                        "changes_requested",
                        "request_changes",
                        "false",
                    ],
                    "fail",
                ),
            ],
        );
    }
    // No findings is a fine answer, however it is spelt.
    if let Some(obj) = args.as_object_mut()
        && obj.get("findings").is_none_or(Value::is_null)
    {
        obj.insert("findings".into(), Value::Array(vec![]));
    }
    for f in args
        .get_mut("findings")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(v) = f.get_mut("severity") {
            synonym(v, SEVERITY);
        }
        if let Some(v) = f.get_mut("line") {
            lenient_int(v);
        }
    }
    checked(&submit_review(), "review", args)
}

pub fn parse_report(args: &serde_json::Value) -> Result<Report, String> {
    let mut args = args.clone();
    each_field(&mut args, "results", "pass", lenient_bool);
    checked(&submit_report(), "report", args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_enough_words_are_accepted() {
        let h = parse_handoff(&json!({"status": "Completed", "summary": "s", "issues": "one"}))
            .unwrap();
        assert_eq!(h.status, crate::mission::HandoffStatus::Done);
        assert_eq!(h.issues, ["one"]);
        let h = parse_handoff(&json!({"status": "incomplete", "summary": "s"})).unwrap();
        assert_eq!(h.status, crate::mission::HandoffStatus::Partial);
        let r = parse_review(&json!({"verdict": "LGTM", "findings": [
            {"severity": "Critical", "message": "a", "line": "12"},
            {"severity": "moderate", "message": "b", "line": 3.0},
            {"severity": "nit", "message": "c"}
        ]}))
        .unwrap();
        assert_eq!(r.verdict, Verdict::Pass);
        let sev: Vec<&str> = r.findings.iter().map(|f| f.severity.as_str()).collect();
        assert_eq!(sev, ["high", "medium", "low"]);
        assert_eq!(r.findings[0].line, Some(12));
        assert_eq!(r.findings[1].line, Some(3));
        let rep = parse_report(&json!({"results": [
            {"assertion_id": "a1", "pass": "true", "evidence": "e"},
            {"assertion_id": "a2", "pass": "no", "evidence": "e"}
        ]}))
        .unwrap();
        assert!(rep.results[0].pass && !rep.results[1].pass);
        // Still refused: what means nothing.
        assert!(parse_review(&json!({"verdict": "maybe", "findings": []})).is_err());
        assert!(
            parse_review(
                &json!({"verdict": "pass", "findings": [{"severity": "spicy", "message": "x"}]})
            )
            .is_err()
        );
    }
}

#[cfg(test)]
mod located {
    use super::*;

    #[test]
    fn every_submit_tool_names_all_problems_with_paths() {
        let e = parse_review(&json!({"verdict": "pass", "findings": [
            {"severity": "high", "mesage": "typo"},
            {"severity": "low", "message": "m", "line": "twelve"}
        ], "summary": "x"}))
        .unwrap_err();
        assert!(e.starts_with("the review has 4 problems"), "{e}");
        for want in [
            "findings[0].message: is missing",
            "findings[0].mesage: is not a field here; did you mean `message`?",
            "findings[1].line: must be an integer",
            "summary: is not a field here",
        ] {
            assert!(e.contains(want), "{want} not in {e}");
        }
        let e = parse_handoff(&json!({"status": "done", "sumary": "s"})).unwrap_err();
        assert!(e.contains("summary: is missing") && e.contains("did you mean `summary`"));
        let e =
            parse_report(&json!({"results": [{"assertion_id": "a1", "pass": true}]})).unwrap_err();
        assert!(e.contains("results[0].evidence: is missing"), "{e}");
        let e = parse_fixes(
            &json!({"features": [{"id": "f", "title": "t", "fulfills": "a1"}], "notes": ""}),
        )
        .unwrap_err();
        assert!(
            e.contains("features[0].description: is missing") && e.contains("did you mean `note`"),
            "{e}"
        );
        // A plan's unknown field is named with the rest of its problems.
        let e = parse_plan(&json!({"milestones": [{"id": "m1", "title": "M", "features": [
            {"id": "f1", "title": "F", "description": "d", "fulfills": ["a1"], "expected_behaviour": "x"}
        ]}], "assertions": [{"id": "a1", "text": "t", "kind": "review"}]}))
        .unwrap_err();
        assert!(
            e.contains("milestones[0].features[0].expected_behaviour: is not a field here; did you mean `expected_behavior`?"),
            "{e}"
        );
        // A review without findings is still a fine answer.
        assert!(parse_review(&json!({"verdict": "pass"})).is_ok());
    }
}
