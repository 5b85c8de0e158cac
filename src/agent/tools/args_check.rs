//! Every problem of a submit tool's arguments at once, each at its JSON path, checked
//! against the tool's own JSON schema (the one the model was shown).
//!
//! The rule for unknown fields, the same for every submit tool: **strict, with the path**.
//! A field the schema does not name is a problem (`findings[0].sevrity: not a field here;
//! did you mean `severity`?`), because a misspelt optional field would otherwise be lost
//! without a word. The model resends once, with every problem named.
//!
//! Only the subset of JSON Schema the tool specs use is understood: `type`, `properties`,
//! `required`, `items` and `enum`. Hand-written rather than the `jsonschema` crate: that
//! crate's errors stop at the schema's words, and these messages are written for a model
//! fixing its arguments, with a suggestion for each unknown field.

use serde_json::Value;

use crate::mission::plan_check::Problem;

/// The problems of `value` against `schema`; empty when it conforms.
pub fn check(schema: &Value, value: &Value) -> Vec<Problem> {
    let mut out = vec![];
    walk(schema, value, "", &mut out);
    out
}

/// Only the unknown fields (for plans, whose other rules `plan_check` knows better).
pub fn unknown_fields(schema: &Value, value: &Value) -> Vec<Problem> {
    check(schema, value)
        .into_iter()
        .filter(|p| p.message.starts_with(UNKNOWN))
        .collect()
}

const UNKNOWN: &str = "is not a field here";

fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn walk(schema: &Value, value: &Value, path: &str, out: &mut Vec<Problem>) {
    let mut say = |message: String| {
        out.push(Problem {
            path: if path.is_empty() {
                "(arguments)".into()
            } else {
                path.to_string()
            },
            message,
        })
    };
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let names: Vec<String> = allowed.iter().map(Value::to_string).collect();
        say(format!(
            "{} is not allowed: use one of {}",
            shown(value),
            names.join(", ")
        ));
        return;
    }
    let ty = schema.get("type").and_then(Value::as_str);
    let fits = match ty {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_u64() || value.is_i64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !fits {
        let ty = ty.unwrap_or("value");
        let article = if ty.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        say(format!("must be {article} {ty}, got {}", shown(value)));
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !map.contains_key(name) {
                    out.push(Problem {
                        path: at(path, name),
                        message: "is missing".into(),
                    });
                }
            }
            let Some(props) = props else { return };
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for (key, v) in map {
                match props.get(key) {
                    // `null` for an optional field means "none", as models often say it.
                    Some(_) if v.is_null() && !required.contains(&key.as_str()) => {}
                    Some(sub) => walk(sub, v, &at(path, key), out),
                    None => {
                        let near = props
                            .keys()
                            .filter(|k| !map.contains_key(*k))
                            .map(|k| (strsim::jaro_winkler(k, key), k))
                            .filter(|(score, _)| *score > 0.8)
                            .max_by(|a, b| a.0.total_cmp(&b.0))
                            .map(|(_, k)| format!("; did you mean `{k}`?"));
                        let fields: Vec<&str> = props.keys().map(String::as_str).collect();
                        out.push(Problem {
                            path: at(path, key),
                            message: format!(
                                "{UNKNOWN}{} (the fields are: {})",
                                near.unwrap_or_default(),
                                fields.join(", ")
                            ),
                        });
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    walk(sub, v, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

pub use crate::mission::plan_check::report_for as report;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "verdict": {"type": "string", "enum": ["pass", "fail"]},
                "findings": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "severity": {"type": "string", "enum": ["high", "low"]},
                        "line": {"type": "integer"}, "message": {"type": "string"}
                    },
                    "required": ["severity", "message"]
                }}
            },
            "required": ["verdict", "findings"]
        })
    }

    #[test]
    fn every_problem_is_named_at_its_path() {
        let got: Vec<String> = check(
            &schema(),
            &json!({"verdict": "maybe", "findings": [
                {"sevrity": "high", "message": "m"},
                {"severity": "low", "message": 3, "line": "x"}
            ], "extra": 1}),
        )
        .iter()
        .map(ToString::to_string)
        .collect();
        let want = [
            "extra: is not a field here (the fields are: findings, verdict)",
            "findings[0].severity: is missing",
            "findings[0].sevrity: is not a field here; did you mean `severity`?",
            "findings[1].line: must be an integer, got \"x\"",
            "findings[1].message: must be a string, got 3",
            "verdict: \"maybe\" is not allowed: use one of \"pass\", \"fail\"",
        ];
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for w in want {
            assert!(got.iter().any(|g| g.starts_with(w)), "{w} not in {got:#?}");
        }
    }

    #[test]
    fn conforming_arguments_have_no_problems() {
        let v = json!({"verdict": "pass", "findings": [{"severity": "low", "message": "m", "line": 3}]});
        assert!(check(&schema(), &v).is_empty());
        // `null` for an optional field is "none"; for a required one, still a problem.
        let v = json!({"verdict": "pass", "findings": [{"severity": "low", "message": "m", "line": null}]});
        assert!(check(&schema(), &v).is_empty());
        let v = json!({"verdict": null, "findings": []});
        assert_eq!(check(&schema(), &v).len(), 1);
        assert_eq!(
            check(&schema(), &json!([1]))[0].to_string(),
            "(arguments): must be an object, got [1]"
        );
    }
}
