//! The container recipe and the Kubernetes Job template, read as a cluster would read
//! them: no cluster needed.

use serde_yaml::Value;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_dockerfile_builds_in_one_stage_and_ships_the_binary_and_git_in_another() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "multi-stage: {froms:?}");
    assert!(froms[0].contains(" AS build"));
    assert!(text.contains("cargo build --release --locked"));
    assert!(text.contains("COPY --from=build /src/target/release/mission /usr/local/bin/mission"));
    assert!(text.contains("install -y --no-install-recommends git"));
    assert!(text.contains("ENTRYPOINT [\"mission\"]"));
}

#[test]
fn the_job_resumes_after_a_crash_and_never_restarts_what_needs_a_human() {
    let text = std::fs::read_to_string(root().join("deploy/kubernetes/mission-job.yaml")).unwrap();
    let job: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert!(
        spec["activeDeadlineSeconds"].as_u64().unwrap() > 0,
        "a wall-clock cap"
    );
    // Exit 3 (a human is needed), 2 (usage) and 4 (damaged record) end the Job: no retry.
    let rules = spec["podFailurePolicy"]["rules"].as_sequence().unwrap();
    let fail = rules
        .iter()
        .find(|r| r["action"] == "FailJob")
        .expect("a FailJob rule");
    assert_eq!(fail["onExitCodes"]["operator"], "In");
    assert_eq!(fail["onExitCodes"]["containerName"], "mission");
    let codes: Vec<u64> = fail["onExitCodes"]["values"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    for code in [2, 3, 4] {
        assert!(
            codes.contains(&code),
            "exit {code} must not restart: {codes:?}"
        );
    }
    // Labels the fleet finds missions by, on the Job and on its pods.
    for labels in [
        &job["metadata"]["labels"],
        &spec["template"]["metadata"]["labels"],
    ] {
        assert_eq!(labels["app.kubernetes.io/name"], "mission");
    }
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never", "podFailurePolicy needs it");
    let c = &pod["containers"][0];
    assert_eq!(c["name"], "mission");
    let script = c["args"][0].as_str().unwrap();
    assert!(
        script.contains("mission resume --headless") && script.contains("mission start"),
        "a replaced pod resumes: {script}"
    );
    // The key comes from a Secret, never written in the manifest.
    let env = c["env"].as_sequence().unwrap();
    let key = env
        .iter()
        .find(|e| e["name"] == "ANTHROPIC_API_KEY")
        .unwrap();
    assert!(key["value"].is_null());
    assert!(key["valueFrom"]["secretKeyRef"]["name"].is_string());
    assert_eq!(c["volumeMounts"][0]["mountPath"], c["workingDir"]);
}
