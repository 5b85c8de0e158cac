//! The plan the orchestrator submits: milestones of features, and the validation contract.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub milestones: Vec<MilestonePlan>,
    pub assertions: Vec<Assertion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MilestonePlan {
    pub id: String,
    pub title: String,
    pub features: Vec<FeaturePlan>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeaturePlan {
    pub id: String,
    pub title: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_behavior: Option<String>,
    #[serde(default)]
    pub fulfills: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AssertionKind {
    Command,
    Review,
    UserTest,
}

impl AssertionKind {
    /// The name plans and the contract use.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assertion {
    pub id: String,
    pub text: String,
    pub kind: AssertionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// Why a submitted plan cannot be accepted; the message goes back to the orchestrator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the plan has no milestones")]
    NoMilestones,
    #[error("milestone `{0}` has no features")]
    EmptyMilestone(String),
    #[error("id `{0}` is used twice; milestone, feature and assertion ids must be unique")]
    DuplicateId(String),
    #[error("feature `{feature}` fulfills unknown assertion `{assertion}`")]
    UnknownAssertion { feature: String, assertion: String },
    #[error("assertion `{0}` is of kind command but has no `command`")]
    CommandMissing(String),
    #[error("id `{0}` may only hold letters, digits, '-' and '_'")]
    BadId(String),
}

pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Plan {
    /// Checks the invariants the harness relies on (unique ids, known assertions).
    pub fn validate(&self) -> Result<(), PlanError> {
        if self.milestones.is_empty() {
            return Err(PlanError::NoMilestones);
        }
        let mut seen = std::collections::HashSet::new();
        for a in &self.assertions {
            check_id(&a.id, &mut seen)?;
            if a.kind == AssertionKind::Command
                && a.command.as_deref().is_none_or(|c| c.trim().is_empty())
            {
                return Err(PlanError::CommandMissing(a.id.clone()));
            }
        }
        for m in &self.milestones {
            check_id(&m.id, &mut seen)?;
            if m.features.is_empty() {
                return Err(PlanError::EmptyMilestone(m.id.clone()));
            }
            for f in &m.features {
                check_id(&f.id, &mut seen)?;
                check_fulfills(f, &self.assertions)?;
            }
        }
        Ok(())
    }

    pub fn feature_count(&self) -> usize {
        self.milestones.iter().map(|m| m.features.len()).sum()
    }

    pub fn assertion(&self, id: &str) -> Option<&Assertion> {
        self.assertions.iter().find(|a| a.id == id)
    }

    /// What changed from `before` (a plan sent back) to this one, by id: milestones,
    /// features and assertions added, removed or rewritten. Empty: the same plan.
    pub fn changes_from(&self, before: &Plan) -> Vec<String> {
        type Items = Vec<(String, String)>;
        fn milestones(p: &Plan) -> Items {
            let m = p.milestones.iter();
            m.map(|m| (m.id.clone(), m.title.clone())).collect()
        }
        fn features(p: &Plan) -> Items {
            let f = p.milestones.iter().flat_map(|m| &m.features);
            f.map(|f| (f.id.clone(), format!("{f:?}"))).collect()
        }
        fn assertions(p: &Plan) -> Items {
            let a = p.assertions.iter();
            a.map(|a| (a.id.clone(), format!("{a:?}"))).collect()
        }
        let mut out = vec![];
        for (kind, items) in [
            ("milestones", milestones as fn(&Plan) -> Items),
            ("features", features),
            ("assertions", assertions),
        ] {
            let (old, new) = (items(before), items(self));
            let find =
                |v: &Items, id: &str| v.iter().find(|(i, _)| i == id).map(|(_, x)| x.clone());
            let list = |v: &Items, keep: &dyn Fn(&str) -> bool| {
                let ids: Vec<&str> = v
                    .iter()
                    .map(|(i, _)| i.as_str())
                    .filter(|i| keep(i))
                    .collect();
                ids.join(", ")
            };
            for (what, ids) in [
                ("added", list(&new, &|id| find(&old, id).is_none())),
                ("removed", list(&old, &|id| find(&new, id).is_none())),
                (
                    "rewritten",
                    list(&new, &|id| {
                        find(&old, id).is_some_and(|o| Some(o) != find(&new, id))
                    }),
                ),
            ] {
                if !ids.is_empty() {
                    out.push(format!("{kind} {what}: {ids}"));
                }
            }
        }
        out
    }
}

/// Checks a feature's `fulfills` against the contract (used for corrective features too).
pub fn check_fulfills(f: &FeaturePlan, assertions: &[Assertion]) -> Result<(), PlanError> {
    for a in &f.fulfills {
        if !assertions.iter().any(|x| &x.id == a) {
            return Err(PlanError::UnknownAssertion {
                feature: f.id.clone(),
                assertion: a.clone(),
            });
        }
    }
    Ok(())
}

fn check_id(id: &str, seen: &mut std::collections::HashSet<String>) -> Result<(), PlanError> {
    if !valid_id(id) {
        return Err(PlanError::BadId(id.to_string()));
    }
    if !seen.insert(id.to_string()) {
        return Err(PlanError::DuplicateId(id.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            milestones: vec![MilestonePlan {
                id: "m1".into(),
                title: "one".into(),
                features: vec![FeaturePlan {
                    id: "m1-f1".into(),
                    title: "f".into(),
                    description: "d".into(),
                    expected_behavior: None,
                    fulfills: vec!["a1".into()],
                }],
            }],
            assertions: vec![Assertion {
                id: "a1".into(),
                text: "t".into(),
                kind: AssertionKind::Command,
                command: Some("true".into()),
            }],
        }
    }

    #[test]
    fn a_sound_plan_validates() {
        assert_eq!(plan().validate(), Ok(()));
    }

    #[test]
    fn unknown_assertion_and_duplicates_are_refused() {
        let mut p = plan();
        p.milestones[0].features[0].fulfills.push("zz".into());
        assert!(matches!(
            p.validate(),
            Err(PlanError::UnknownAssertion { .. })
        ));
        let mut p = plan();
        p.milestones[0].features[0].id = "m1".into();
        assert_eq!(p.validate(), Err(PlanError::DuplicateId("m1".into())));
        let mut p = plan();
        p.assertions[0].command = None;
        assert_eq!(p.validate(), Err(PlanError::CommandMissing("a1".into())));
        let mut p = plan();
        p.milestones[0].id = "../x".into();
        assert_eq!(p.validate(), Err(PlanError::BadId("../x".into())));
    }

    #[test]
    fn a_revised_plan_says_what_changed() {
        let f = |id: &str, d: &str| FeaturePlan {
            id: id.into(),
            title: id.into(),
            description: d.into(),
            expected_behavior: None,
            fulfills: vec![],
        };
        let m = |id: &str, features| MilestonePlan {
            id: id.into(),
            title: id.into(),
            features,
        };
        let before = Plan {
            milestones: vec![
                m("m1", vec![f("a", "x"), f("b", "y")]),
                m("m2", vec![f("c", "z")]),
            ],
            assertions: vec![],
        };
        assert!(before.changes_from(&before).is_empty(), "the same plan");
        let after = Plan {
            milestones: vec![m("m1", vec![f("a", "x2"), f("d", "w")])],
            assertions: vec![],
        };
        assert_eq!(
            after.changes_from(&before),
            [
                "milestones removed: m2",
                "features added: d",
                "features removed: b, c",
                "features rewritten: a"
            ]
        );
    }
}
