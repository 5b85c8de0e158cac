//! Sandbox v2: a worker given hostile commands, run by the real runner with the default
//! config. Every command is written so that it leaves a `BREACH <name>` line in
//! `breaches.txt` (in the worktree) only if its attack worked; the test then checks the
//! attacks' effects from outside too (the key nowhere on disk, the runner alive and in
//! charge, nothing left running, nothing outside changed).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::*;
use serde_json::json;

const KEY: &str = "sk-hostile-0123456789abcdef";
const LC_SECRET: &str = "lc-secret-9876";
/// A directory in the host's /tmp, standing for the sockets that live there.
const CANARY: &str = "mission-hostile-canary";

/// The user namespaces this sandbox needs; where the kernel refuses them the test fails
/// (it must not pass having tested nothing) — and before any attack runs: without them,
/// `kill -9 -1` would reach this machine's processes.
fn namespaces_work() {
    if let Err(e) = mission::sandbox::namespaces::available(&bin()) {
        panic!("the sandbox's namespaces cannot be made here, so the attacks are not run: {e}");
    }
    let out = std::process::Command::new("unshare")
        .args(["-U", "-p", "-f", "-m", "true"])
        .output();
    if let Ok(out) = out {
        assert!(
            out.status.success(),
            "this machine refuses user/pid/mount namespaces ({}); the sandbox tests cannot run here",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn attacks(repo: &Path, outside: &Path, victim: u32) -> Vec<(&'static str, String)> {
    let r = repo.display();
    let o = outside.display();
    let sock = repo.join(".mission/control.sock");
    let s = sock.display();
    let bin = bin();
    let b = bin.display();
    vec![
        // 1. The key through /proc.
        ("proc-ppid-environ", "cat /proc/$PPID/environ".into()),
        ("proc-all-environ", "cat /proc/[0-9]*/environ".into()),
        ("proc-all-cmdline", "cat /proc/[0-9]*/cmdline".into()),
        ("proc-init-environ", "cat /proc/1/environ".into()),
        ("proc-self-environ", "cat /proc/self/environ".into()),
        ("proc-init-mem", "head -c 100000 /proc/1/mem".into()),
        ("proc-init-root", "ls /proc/1/root/ && echo ok".into()),
        ("proc-count", "test $(ls -d /proc/[0-9]* | wc -l) -gt 20 && echo many".into()),
        ("env-key", "env".into()),
        ("env-lc", "env | grep LC_SECRET".into()),
        // 2. The mission's controls.
        ("socket-ls", format!("ls -la {s}")),
        ("socket-python", format!("python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.connect('{s}'); print('connected')\"")),
        ("socket-binary-abort", format!("{b} abort --dir {r} --note breach && echo aborted")),
        ("socket-binary-pause", format!("{b} pause --dir {r} && echo paused")),
        ("socket-binary-say", format!("{b} say --dir {r} breach && echo said")),
        ("state-read", format!("cat {r}/.mission/events.jsonl | head -1")),
        ("state-write", format!("echo '{{}}' >> {r}/.mission/events.jsonl && echo wrote")),
        ("proc-exe", "ls -la /proc/*/exe".into()),
        // 3. Signals to the runner and to a process of the user.
        ("kill-victim", format!("kill -9 {victim} && echo killed")),
        ("stop-victim", format!("kill -STOP {victim} && echo stopped")),
        ("pkill-mission", "pkill -9 -f 'mission[ ]start' && echo killed".into()),
        ("kill-all", "kill -9 -1; echo after".into()),
        ("kill-init", "kill -9 1; kill -TERM 1; sleep 0.2; test -d /proc/1 || echo init-gone".into()),
        // 4. The host.
        ("outside-write", format!("echo x > {o}/planted && echo wrote")),
        ("outside-chmod", format!("chmod 777 {o}/keep && echo chmodded")),
        ("outside-xattr", format!("setfattr -n user.x -v 1 {o}/keep && echo set")),
        ("outside-chattr", format!("chattr +i {o}/keep && echo chattr")),
        ("worktree-chattr", "touch imm && chattr +i imm && echo chattr".into()),
        ("etc-write", "echo x >> /etc/hostname && echo wrote".into()),
        ("dev-block", "ls /dev/vda /dev/sda /dev/nvme0n1 2>/dev/null && echo found".into()),
        ("dev-mknod", "mknod ./blk b 8 0 && echo made".into()),
        ("dev-shm", "echo x > /dev/shm/mission-planted-shm; ls /dev/shm".into()),
        ("tmp-host", "ls -a /tmp /run 2>&1".into()),
        ("host-socket", format!("python3 -c \"import socket,glob; s=socket.socket(socket.AF_UNIX); s.connect(glob.glob('/tmp/{CANARY}-*/agent.sock')[0]); print('connected')\"")),
        ("mount-tmpfs", "mount -t tmpfs x /mnt && echo mounted".into()),
        ("nested-userns-umount", format!("unshare -Urm sh -c 'umount {r}/.mission && ls {r}/.mission' && echo revealed")),
        ("remount-rw", "mount -o remount,rw / && echo remounted".into()),
        // 5. Outliving the mission.
        ("setsid", "setsid -f sleep 4242; echo started".into()),
        ("nohup", "nohup sleep 4243 >/dev/null 2>&1 & echo started".into()),
        ("double-fork", "(sh -c 'sleep 4244 &' &); echo started".into()),
        // 6. The network.
        ("net-out", "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), timeout=2); print('reached')\"".into()),
        ("net-ifaces", "cat /proc/net/dev".into()),
        ("abstract-socket", "python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.connect('\\0/tmp/.X11-unix/X0'); print('connected')\"".into()),
    ]
}

/// Which output of a command shows that its attack worked (the result's first line
/// repeats the command, and is not its output).
fn breached(name: &str, result: &str, outside: &Path) -> bool {
    let output = result.split_once('\n').map_or("", |(_, rest)| rest);
    let has = |s: &str| output.contains(s);
    // The marker a command echoes on success, as a line of its own.
    let said = |s: &str| output.lines().any(|l| l.trim() == s);
    match name {
        "proc-ppid-environ" | "proc-all-environ" | "proc-all-cmdline" | "proc-init-environ"
        | "proc-self-environ" | "env-key" | "proc-init-mem" => has(KEY),
        "env-lc" => has(LC_SECRET),
        "proc-init-root" => said("ok"),
        "proc-count" => said("many"),
        "socket-ls" => has("srw"),
        "socket-python" => said("connected"),
        "socket-binary-abort" => said("aborted"),
        "socket-binary-pause" => said("paused"),
        "socket-binary-say" => said("said"),
        "state-read" => has("\"seq\""),
        "state-write" => said("wrote"),
        "proc-exe" => has("mission start") || has(&bin().display().to_string()),
        "kill-victim" => said("killed"),
        "stop-victim" => said("stopped"),
        "pkill-mission" => said("killed"),
        "kill-init" => said("init-gone"),
        "outside-write" => outside.join("planted").exists(),
        "outside-chmod" => said("chmodded"),
        "outside-xattr" => said("set"),
        "outside-chattr" | "worktree-chattr" => said("chattr"),
        "etc-write" => said("wrote"),
        "dev-block" => said("found"),
        "dev-mknod" => said("made"),
        "dev-shm" => Path::new("/dev/shm/mission-planted-shm").exists(),
        "tmp-host" => has(".X11-unix") || has("tmux-") || has("ssh-") || has(CANARY),
        "mount-tmpfs" => said("mounted"),
        "nested-userns-umount" => said("revealed"),
        "remount-rw" => said("remounted"),
        "net-out" => said("reached"),
        "net-ifaces" => has("eth") || has("ens") || has("veth"),
        "abstract-socket" | "host-socket" => said("connected"),
        _ => false,
    }
}

fn pids_of(pattern: &str) -> Vec<String> {
    let out = std::process::Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn hostile_commands_take_no_effect_and_the_mission_completes() {
    namespaces_work();
    let sb = Sandbox::new();
    let outside = sb.tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("keep"), "precious").unwrap();
    std::fs::set_permissions(outside.join("keep"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let canary = std::env::temp_dir().join(format!("{CANARY}-{}", std::process::id()));
    std::fs::create_dir_all(&canary).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(canary.join("agent.sock")).unwrap();
    // A process of the user that no agent command may signal.
    let mut victim = std::process::Command::new("sleep")
        .arg("4343")
        .spawn()
        .unwrap();
    let attacks = attacks(&sb.repo(), &outside, victim.id());
    assert!(attacks.len() >= 40, "{} attacks", attacks.len());
    let mut calls: Vec<serde_json::Value> = attacks
        .iter()
        .map(|(_, c)| call("run_command", json!({"command": c, "timeout_secs": 5})))
        .collect();
    calls.push(call(
        "run_command",
        json!({"command": "echo made > flag.txt"}),
    ));
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![turn(calls), turn(vec![done("wrote flag.txt")])]),
    ]});
    // The default config, plus a provider whose key the runner holds.
    mini_repo(
        &sb,
        script,
        "[providers.openai]\napi_key_env = \"OPENAI_API_KEY\"\n",
    );
    let out = sb.run_env(
        &["start", "Create a flag", "--headless", "--auto-approve"],
        &[
            ("OPENAI_API_KEY", KEY.as_ref()),
            ("LC_SECRET_TOKEN", LC_SECRET.as_ref()),
        ],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert_eq!(sb.status()["state"], "completed", "{log}");
    assert!(
        log.contains("namespaces"),
        "the first lines say what is enforced: {log}"
    );

    // Each command's own output, from the worker's transcript.
    let results = tool_results(&worker_transcript(&sb, "/proc/$PPID/environ"));
    assert!(results.len() > attacks.len(), "{} results", results.len());
    let mut breaches = vec![];
    for ((name, _), output) in attacks.iter().zip(&results) {
        if breached(name, output, &outside) {
            breaches.push(format!("{name}: {output}"));
        }
    }
    assert!(
        breaches.is_empty(),
        "attacks that worked:\n{}",
        breaches.join("\n---\n")
    );

    // From outside: the victim lives, nothing outside changed, nothing is left running.
    assert!(
        victim.try_wait().unwrap().is_none(),
        "the user's process was killed"
    );
    let state = std::fs::read_to_string(format!("/proc/{}/stat", victim.id())).unwrap();
    assert!(
        !state.contains(") T "),
        "the user's process was stopped: {state}"
    );
    victim.kill().unwrap();
    let _ = victim.wait();
    assert_eq!(
        std::fs::read_to_string(outside.join("keep")).unwrap(),
        "precious"
    );
    let mode = std::fs::metadata(outside.join("keep"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
    assert!(!outside.join("planted").exists());
    assert!(!Path::new("/dev/shm/mission-planted-shm").exists());
    for sleeper in ["sleep 4242", "sleep 4243", "sleep 4244"] {
        assert!(
            pids_of(sleeper).is_empty(),
            "`{sleeper}` outlived its mission"
        );
    }
    assert!(
        sb.worktree().join("flag.txt").exists(),
        "normal work still runs"
    );
    let _ = std::fs::remove_dir_all(&canary);

    // The key is nowhere: not in the state, the transcripts, the logs, the commits.
    let mut on_disk = vec![];
    for entry in walk(&sb.repo().join(".mission"))
        .into_iter()
        .chain(walk(&sb.worktree()))
    {
        if std::fs::read(&entry).is_ok_and(|b| String::from_utf8_lossy(&b).contains(KEY)) {
            on_disk.push(entry.display().to_string());
        }
    }
    assert!(on_disk.is_empty(), "the key reached {on_disk:?}");
    let history = std::process::Command::new("git")
        .args(["log", "-p", "--all"])
        .current_dir(sb.repo())
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&history.stdout).contains(KEY));
    assert!(!log.contains(KEY));
}

#[test]
fn a_fork_bomb_and_a_memory_hog_hit_their_limits_and_the_mission_goes_on() {
    namespaces_work();
    let sb = Sandbox::new();
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![
                call("run_command", json!({"command": "i=0; while [ $i -lt 200 ]; do sleep 3 & i=$((i+1)); done; wait", "timeout_secs": 20})),
                call("run_command", json!({"command": "python3 -c \"x = bytearray(2 << 30); print('allocated')\"", "timeout_secs": 20})),
                call("run_command", json!({"command": "echo made > flag.txt"})),
            ]),
            turn(vec![done("wrote flag.txt")]),
        ]),
    ]});
    mini_repo(
        &sb,
        script,
        "[sandbox]\nmax_processes = 64\nmax_memory_mb = 512\n",
    );
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert_eq!(sb.status()["state"], "completed");
    let results = tool_results(&worker_transcript(&sb, "bytearray"));
    assert!(
        results[0].contains("processes are limited to 64 (`[sandbox] max_processes`)"),
        "the fork bomb's result names the limit: {}",
        results[0]
    );
    assert!(
        results[1].contains("512 MB") && results[1].contains("max_memory_mb"),
        "the memory hog's result names the limit: {}",
        results[1]
    );
    assert!(!results[1].contains("allocated\n"), "{}", results[1]);
}

#[test]
fn the_network_is_off_by_default_with_a_hint_and_on_when_configured() {
    namespaces_work();
    let host_net = std::fs::read_link("/proc/self/ns/net").unwrap();
    for (extra, shared) in [("", false), ("[sandbox]\nnetwork = true\n", true)] {
        let sb = Sandbox::new();
        let script = json!({"entries": [
            entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", flag_plan())])]),
            entry("worker", "Feature m1-f1:", vec![
                turn(vec![
                    call("run_command", json!({"command": "readlink /proc/self/ns/net > flag.txt"})),
                    call("run_command", json!({"command": "python3 -c \"import socket; socket.getaddrinfo('example.com', 80)\""})),
                ]),
                turn(vec![done("wrote flag.txt")]),
            ]),
        ]});
        mini_repo(&sb, script, extra);
        let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
        let log = text(&out);
        assert_eq!(out.status.code(), Some(0), "{log}");
        let seen = std::fs::read_to_string(sb.worktree().join("flag.txt")).unwrap();
        assert_eq!(
            seen.trim() == host_net.to_string_lossy(),
            shared,
            "{extra}: {seen}"
        );
        if shared {
            assert!(log.contains("network: on"), "{log}");
        } else {
            assert!(log.contains("network: off"), "{log}");
            let results = tool_results(&worker_transcript(&sb, "getaddrinfo"));
            assert!(
                results[1].contains("`[sandbox] network = true`"),
                "a failed lookup names the setting: {}",
                results[1]
            );
        }
    }
}

/// The text of the one transcript that holds `needle`.
fn worker_transcript(sb: &Sandbox, needle: &str) -> String {
    let names = transcripts_containing(sb, needle);
    assert_eq!(names.len(), 1, "{names:?}");
    std::fs::read_to_string(sb.repo().join(".mission/transcripts").join(&names[0])).unwrap()
}

/// The tool results of a transcript, in order.
fn tool_results(transcript: &str) -> Vec<String> {
    let mut out = vec![];
    for line in transcript.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        collect_results(&v, &mut out);
    }
    out
}

fn collect_results(v: &serde_json::Value, out: &mut Vec<String>) {
    if v["role"] == "tool" || v["type"] == "tool_result" || v.get("tool_result").is_some() {
        let content = v
            .get("content")
            .or_else(|| v.get("tool_result"))
            .or_else(|| v.get("result"))
            .cloned()
            .unwrap_or_default();
        out.push(match content {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        });
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                if p.file_name().is_some_and(|n| n != ".git") {
                    stack.push(p);
                }
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// One network per mission: a server the user tester launches (in a terminal, inside the
/// sandbox's own loopback-only network) answers the tester's `http` tool, which goes
/// through the same namespace; the host's loopback does not see it.
#[test]
fn the_tester_reaches_the_server_it_launched_through_the_sandboxs_network() {
    namespaces_work();
    let sb = Sandbox::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let plan = json!({
        "milestones": [{"id": "m1", "title": "Flag", "features": [
            {"id": "m1-f1", "title": "Create the flag", "description": "write flag.txt", "fulfills": ["a1", "a2"]}
        ]}],
        "assertions": [
            {"id": "a1", "kind": "command", "text": "flag.txt exists", "command": "test -f flag.txt"},
            {"id": "a2", "kind": "user_test", "text": "the flag is served"}
        ]
    });
    let url = format!("http://127.0.0.1:{port}/flag.txt");
    let script = json!({"entries": [
        entry("orchestrator", "Plan the mission.", vec![turn(vec![call("submit_plan", plan)])]),
        entry("worker", "Feature m1-f1:", vec![
            turn(vec![call("write_file", json!({"path": "flag.txt", "content": "served-flag"}))]),
            turn(vec![done("wrote flag.txt")]),
        ]),
        entry("user_tester", "User test of milestone m1", vec![
            turn(vec![call("launch", json!({"command": format!("python3 -m http.server {port} --bind 127.0.0.1")}))]),
            turn(vec![call("wait_for", json!({"id": "t1", "text": "Serving HTTP", "timeout_secs": 30}))]),
            turn(vec![call("http", json!({"method": "GET", "url": url}))]),
            turn(vec![call("submit_report", json!({"results": [
                {"assertion_id": "a2", "pass": true, "evidence": "GET /flag.txt answered"}
            ]}))]),
        ]),
    ]});
    mini_repo(
        &sb,
        script,
        "[roles.user_tester]\nprovider = \"scripted\"\nmodel = \"t\"\n",
    );
    let out = sb.run(&["start", "Create a flag", "--headless", "--auto-approve"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let t = worker_transcript(&sb, "Serving HTTP");
    let results = tool_results(&t);
    let answer = results
        .iter()
        .find(|r| !r.contains("Serving HTTP") && r.contains("HTTP"))
        .unwrap_or_else(|| panic!("no http result: {results:#?}"));
    assert!(
        answer.contains("200") && answer.contains("served-flag"),
        "{answer}"
    );
    // Not on the host's loopback: the server lived in the sandbox's network, and is gone.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
