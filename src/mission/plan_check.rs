//! Every problem of a submitted plan at once, each at its JSON path
//! (`milestones[1].features[0].fulfills[2]`) with the value found, so a model fixes the
//! whole plan in one round instead of resending it once per problem.
//!
//! Rules: required fields present and of the right type; ids valid and unique; every
//! `fulfills` names an assertion; every assertion is fulfilled by some feature and every
//! feature fulfils some assertion (coverage); a `command` assertion has its command.
//! Unknown fields are problems too, named by `agent::tools::args_check` (one rule for
//! every submit tool: strict, with the path).

use std::collections::HashMap;

use serde_json::Value;

use super::plan::valid_id;

/// One problem: where, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The problems of `plan` (the `submit_plan` arguments); empty when it is sound.
pub fn problems(plan: &Value) -> Vec<Problem> {
    let mut out = vec![];
    let mut say = |path: String, message: String| out.push(Problem { path, message });
    let shown = |v: &Value| {
        let s = v.to_string();
        if s.chars().count() > 60 {
            format!("{}…", s.chars().take(60).collect::<String>())
        } else {
            s
        }
    };
    let Some(root) = plan.as_object() else {
        say(
            "(plan)".into(),
            format!(
                "must be an object with `milestones` and `assertions`, got {}",
                shown(plan)
            ),
        );
        return out;
    };
    // Ids: where each was first seen.
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut id_at =
        |say: &mut dyn FnMut(String, String), path: String, v: Option<&Value>| -> Option<String> {
            match v {
                None => {
                    say(path, "is missing (an id: letters, digits, `-`, `_`)".into());
                    None
                }
                Some(Value::String(id)) if !valid_id(id) => {
                    say(
                        path,
                        format!("`{id}` is not a valid id (letters, digits, `-`, `_`; at most 64)"),
                    );
                    None
                }
                Some(Value::String(id)) => {
                    if let Some(first) = ids.get(id) {
                        say(
                            path,
                            format!("`{id}` is used already at {first}; ids must be unique"),
                        );
                    } else {
                        ids.insert(id.clone(), path);
                    }
                    Some(id.clone())
                }
                Some(other) => {
                    say(path, format!("must be a string, got {}", shown(other)));
                    None
                }
            }
        };
    let text = |say: &mut dyn FnMut(String, String),
                path: String,
                v: Option<&Value>,
                required: bool| match v {
        None if required => say(path, "is missing".into()),
        None => {}
        Some(Value::String(s)) if required && s.trim().is_empty() => {
            say(path, "must not be empty".into())
        }
        Some(Value::String(_)) => {}
        Some(other) => say(path, format!("must be a string, got {}", shown(other))),
    };

    // Assertions first, so that `fulfills` can be checked against them.
    let mut assertion_ids: Vec<(String, String)> = vec![];
    match root.get("assertions") {
        None => say(
            "assertions".into(),
            "is missing (the validation contract: a list of assertions)".into(),
        ),
        Some(Value::Array(list)) => {
            if list.is_empty() {
                say(
                    "assertions".into(),
                    "is empty: the contract needs at least one assertion".into(),
                );
            }
            for (i, a) in list.iter().enumerate() {
                let at = format!("assertions[{i}]");
                let Some(obj) = a.as_object() else {
                    say(at, format!("must be an object, got {}", shown(a)));
                    continue;
                };
                if let Some(id) = id_at(&mut say, format!("{at}.id"), obj.get("id")) {
                    assertion_ids.push((id, at.clone()));
                }
                text(&mut say, format!("{at}.text"), obj.get("text"), true);
                match obj.get("kind").and_then(Value::as_str) {
                    Some("command") => match obj.get("command") {
                        Some(Value::String(c)) if !c.trim().is_empty() => {}
                        Some(Value::String(_)) | None => say(
                            format!("{at}.command"),
                            "a `command` assertion needs the shell command whose exit code is its verdict".into(),
                        ),
                        Some(other) => say(format!("{at}.command"), format!("must be a string, got {}", shown(other))),
                    },
                    Some("review" | "user_test") => {}
                    Some(other) => say(
                        format!("{at}.kind"),
                        format!("`{other}` is not a kind: use \"command\", \"review\" or \"user_test\""),
                    ),
                    None => say(
                        format!("{at}.kind"),
                        match obj.get("kind") {
                            None => "is missing: \"command\", \"review\" or \"user_test\"".into(),
                            Some(v) => format!("must be \"command\", \"review\" or \"user_test\", got {}", shown(v)),
                        },
                    ),
                }
            }
        }
        Some(other) => say(
            "assertions".into(),
            format!("must be a list, got {}", shown(other)),
        ),
    }

    let mut fulfilled: HashMap<String, bool> = assertion_ids
        .iter()
        .map(|(id, _)| (id.clone(), false))
        .collect();
    match root.get("milestones") {
        None => say(
            "milestones".into(),
            "is missing (a list of milestones, each with features)".into(),
        ),
        Some(Value::Array(list)) => {
            if list.is_empty() {
                say(
                    "milestones".into(),
                    "is empty: a plan needs at least one milestone".into(),
                );
            }
            for (i, m) in list.iter().enumerate() {
                let at = format!("milestones[{i}]");
                let Some(obj) = m.as_object() else {
                    say(at, format!("must be an object, got {}", shown(m)));
                    continue;
                };
                id_at(&mut say, format!("{at}.id"), obj.get("id"));
                text(&mut say, format!("{at}.title"), obj.get("title"), true);
                let features = match obj.get("features") {
                    Some(Value::Array(f)) if f.is_empty() => {
                        say(
                            format!("{at}.features"),
                            "is empty: a milestone needs at least one feature".into(),
                        );
                        continue;
                    }
                    Some(Value::Array(f)) => f,
                    None => {
                        say(format!("{at}.features"), "is missing".into());
                        continue;
                    }
                    Some(other) => {
                        say(
                            format!("{at}.features"),
                            format!("must be a list, got {}", shown(other)),
                        );
                        continue;
                    }
                };
                for (j, f) in features.iter().enumerate() {
                    let at = format!("{at}.features[{j}]");
                    let Some(obj) = f.as_object() else {
                        say(at, format!("must be an object, got {}", shown(f)));
                        continue;
                    };
                    id_at(&mut say, format!("{at}.id"), obj.get("id"));
                    text(&mut say, format!("{at}.title"), obj.get("title"), true);
                    text(
                        &mut say,
                        format!("{at}.description"),
                        obj.get("description"),
                        true,
                    );
                    text(
                        &mut say,
                        format!("{at}.expected_behavior"),
                        obj.get("expected_behavior"),
                        false,
                    );
                    // One id, or a comma-separated string, is taken as a list (models do).
                    let list: Vec<Value> = match obj.get("fulfills") {
                        Some(Value::Array(l)) => l.clone(),
                        Some(Value::String(s)) => s
                            .split(',')
                            .map(|x| Value::String(x.trim().to_string()))
                            .filter(|x| x.as_str() != Some(""))
                            .collect(),
                        None => vec![],
                        Some(other) => {
                            say(
                                format!("{at}.fulfills"),
                                format!("must be a list of assertion ids, got {}", shown(other)),
                            );
                            continue;
                        }
                    };
                    if list.is_empty() {
                        say(
                            format!("{at}.fulfills"),
                            "is empty: every feature fulfils at least one assertion (what would show it is done?)".into(),
                        );
                    }
                    for (k, a) in list.iter().enumerate() {
                        match a.as_str() {
                            Some(id) => match fulfilled.get_mut(id) {
                                Some(seen) => *seen = true,
                                None => say(
                                    format!("{at}.fulfills[{k}]"),
                                    format!(
                                        "`{id}` is not an assertion id (known: {})",
                                        known(&assertion_ids)
                                    ),
                                ),
                            },
                            None => say(
                                format!("{at}.fulfills[{k}]"),
                                format!("must be an assertion id, got {}", shown(a)),
                            ),
                        }
                    }
                }
            }
        }
        Some(other) => say(
            "milestones".into(),
            format!("must be a list, got {}", shown(other)),
        ),
    }
    for (id, at) in &assertion_ids {
        if fulfilled.get(id) == Some(&false) {
            say(
                at.clone(),
                format!(
                    "`{id}` is fulfilled by no feature: name it in some feature's `fulfills`, or drop it"
                ),
            );
        }
    }
    out
}

fn known(ids: &[(String, String)]) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    ids.iter()
        .map(|(id, _)| id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The message the model reads: every problem, one per line.
pub fn report(problems: &[Problem]) -> String {
    report_for("plan", "submit_plan", problems)
}

/// `report` for any submit tool: "the review has 2 problems; …", one per line.
pub fn report_for(what: &str, tool: &str, problems: &[Problem]) -> String {
    let mut s = format!(
        "the {what} has {} problem{}; fix them all, then call {tool} again with all of its arguments:",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str(&format!("\n- {p}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_sound_plan_has_no_problems() {
        let plan = json!({
            "milestones": [{"id": "m1", "title": "One", "features": [
                {"id": "m1-f1", "title": "F", "description": "d", "fulfills": ["a1", "a2"]}
            ]}],
            "assertions": [
                {"id": "a1", "text": "t", "kind": "command", "command": "true"},
                {"id": "a2", "text": "t", "kind": "review"}
            ]
        });
        assert_eq!(problems(&plan), vec![]);
    }

    #[test]
    fn every_problem_is_found_at_its_path_in_one_answer() {
        let plan = json!({
            "milestones": [
                {"id": "m1", "title": "One", "features": [
                    {"id": "m1-f1", "title": "F", "fulfills": ["a1", "a9"]}
                ]},
                {"id": "m1", "title": "", "features": [
                    {"id": "m2-f1", "title": "G", "description": "d", "fulfills": []}
                ]}
            ],
            "assertions": [
                {"id": "a1", "text": "t", "kind": "command"},
                {"id": "a2", "text": "t", "kind": "usertest"},
                {"id": "a3", "text": "t", "kind": "review"}
            ]
        });
        let got: Vec<String> = problems(&plan).iter().map(ToString::to_string).collect();
        let want = [
            "assertions[0].command: a `command` assertion needs",
            "assertions[1].kind: `usertest` is not a kind",
            "milestones[0].features[0].description: is missing",
            "milestones[0].features[0].fulfills[1]: `a9` is not an assertion id (known: a1, a2, a3)",
            "milestones[1].id: `m1` is used already at milestones[0].id",
            "milestones[1].title: must not be empty",
            "milestones[1].features[0].fulfills: is empty",
            "assertions[1]: `a2` is fulfilled by no feature",
            "assertions[2]: `a3` is fulfilled by no feature",
        ];
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for (g, w) in got.iter().zip(want) {
            assert!(g.starts_with(w), "{g}\n  wanted {w}");
        }
        let r = report(&problems(&plan));
        assert!(r.starts_with("the plan has 9 problems"), "{r}");
    }
}
