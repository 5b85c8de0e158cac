//! The user tester drives the built program for the `user_test` assertions.

use super::*;

pub(super) async fn user_tests(
    r: &Runner,
    milestone: &str,
    round: u32,
    failures: &mut Vec<Failure>,
    checked: &mut Vec<String>,
) -> Result<(), StepStop> {
    let st = r.hub.state();
    let Some(m) = st.milestone(milestone) else {
        return Ok(());
    };
    let asked: Vec<_> = st
        .milestone_assertions(milestone)
        .into_iter()
        .filter(|a| a.kind == AssertionKind::UserTest)
        .cloned()
        .collect();
    if asked.is_empty() {
        return Ok(());
    }
    let list: String = asked
        .iter()
        .map(|a| format!("- {}: {}\n", a.id, a.text))
        .collect();
    let round_s = round.to_string();
    let task = r.prompts.render(
        "user_test_task",
        &[
            ("milestone_id", &m.id),
            ("milestone_title", &m.title),
            ("round", &round_s),
            ("goal", &st.goal),
            ("assertions", &list),
            ("agents", &agents_md(&r.layout)),
        ],
    );
    let ids: Vec<String> = asked.iter().map(|a| a.id.clone()).collect();
    let parse = |v: &serde_json::Value| {
        let rep = submit::parse_report(v)?;
        if let Some(x) = rep.results.iter().find(|x| !ids.contains(&x.assertion_id)) {
            return Err(format!(
                "invalid report: `{}` is not one of the assertions you were given ({})",
                x.assertion_id,
                ids.join(", ")
            ));
        }
        Ok(rep)
    };
    let run_id = r.run_id(Role::UserTester, &m.id);
    let toolbox = r.toolbox(Role::UserTester, Access::Test).await;
    let result = r
        .agent(
            Role::UserTester,
            &run_id,
            "user_tester",
            task,
            &toolbox,
            submit::submit_report(),
        )?
        .run(parse)
        .await?;
    drop(toolbox); // every terminal the tester left open is closed now
    let results = result.value.results;
    for a in &asked {
        match results.iter().find(|x| x.assertion_id == a.id) {
            Some(x) if x.pass => checked.push(a.id.clone()),
            Some(x) => failures.push(Failure {
                assertion_id: Some(a.id.clone()),
                check: "user test".into(),
                evidence: x.evidence.clone(),
            }),
            None => failures.push(Failure {
                assertion_id: Some(a.id.clone()),
                check: "user test".into(),
                evidence: "the user tester did not report on it".into(),
            }),
        }
    }
    r.hub.emit(Event::UserTestReported {
        milestone: milestone.to_string(),
        round,
        results,
    })?;
    Ok(())
}
