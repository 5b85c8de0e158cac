//! The ending tools: an agent run ends when it calls its role's submit tool with
//! arguments that parse. Bad arguments go back to the model as a tool error.

use serde::{Deserialize, Serialize};
use serde_json::json;

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

pub fn parse_plan(args: &serde_json::Value) -> Result<Plan, String> {
    let plan: Plan =
        serde_json::from_value(args.clone()).map_err(|e| format!("invalid plan: {e}"))?;
    plan.validate().map_err(|e| format!("invalid plan: {e}"))?;
    Ok(plan)
}

pub fn parse_handoff(args: &serde_json::Value) -> Result<WorkerReport, String> {
    serde_json::from_value(args.clone()).map_err(|e| format!("invalid handoff: {e}"))
}

pub fn parse_fixes(args: &serde_json::Value) -> Result<Fixes, String> {
    serde_json::from_value(args.clone()).map_err(|e| format!("invalid fixes: {e}"))
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
    let r: Review =
        serde_json::from_value(args.clone()).map_err(|e| format!("invalid review: {e}"))?;
    if let Some(f) = r
        .findings
        .iter()
        .find(|f| !matches!(f.severity.as_str(), "high" | "medium" | "low"))
    {
        return Err(format!(
            "invalid review: severity `{}` is not high, medium or low",
            f.severity
        ));
    }
    Ok(r)
}

pub fn parse_report(args: &serde_json::Value) -> Result<Report, String> {
    serde_json::from_value(args.clone()).map_err(|e| format!("invalid report: {e}"))
}
