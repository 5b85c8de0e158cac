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
                "note": {"type": "string"}
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
