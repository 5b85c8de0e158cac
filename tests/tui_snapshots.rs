//! Every view and overlay of the console, drawn from a scripted event sequence into a
//! `TestBackend`, at 80×24 and 160×48.

use mission::mission::event::Gate;
use mission::mission::{
    CommandRecord, DiffStat, Event, EventRecord, Handoff, HandoffStatus, Limits, McpCallRecord, Op,
    Plan, Role, Usage, WorkerReport,
};
use mission::tui::app::{App, Command, GATE_GRACE, Hosting, Tab};
use mission::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn ts(sec: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_790_000_000 + sec).unwrap()
}

fn plan() -> Plan {
    serde_json::from_value(json!({
        "milestones": [
            {"id": "m1", "title": "Summary statistics", "features": [
                {"id": "m1-f1", "title": "Parse numbers", "description": "Add src/parse.rs with parse_numbers().", "fulfills": ["a1"]},
                {"id": "m1-f2", "title": "Mean and median", "description": "Add src/stats.rs with mean() and median().", "fulfills": ["a2"]}
            ]},
            {"id": "m2", "title": "A command line people can script", "features": [
                {"id": "m2-f1", "title": "JSON output", "description": "--json prints one JSON object.", "fulfills": ["a3"]}
            ]}
        ],
        "assertions": [
            {"id": "a1", "kind": "command", "text": "Parsing is unit-tested", "command": "cargo test -q parse::"},
            {"id": "a2", "kind": "command", "text": "The median of unsorted input is its middle value", "command": "printf '9 1 5' | cargo run -q | grep -qx 'median: 5'"},
            {"id": "a3", "kind": "command", "text": "--json prints one JSON object", "command": "printf '1 2' | cargo run -q -- --json"}
        ]
    }))
    .unwrap()
}

struct Script {
    events: Vec<EventRecord>,
}

impl Script {
    fn new() -> Self {
        Script { events: vec![] }
    }
    fn push(&mut self, event: Event) -> &mut Self {
        let seq = self.events.len() as u64 + 1;
        self.events.push(EventRecord {
            seq,
            ts: ts(seq as i64 * 3),
            event,
        });
        self
    }
    fn feature(&mut self, id: &str, commit: &str, commands: &[(&str, i32)]) -> &mut Self {
        let run = format!("worker-{id}");
        self.push(Event::FeatureStarted {
            feature_id: id.into(),
            attempt: 1,
            base_commit: "base".into(),
        });
        self.push(Event::AgentStarted {
            run_id: run.clone(),
            role: Role::Worker,
            model: "scripted/demo-worker".into(),
            task: format!("Feature {id}"),
            feature_id: Some(id.into()),
            external: false,
        });
        self.push(Event::AgentTurn {
            run_id: run.clone(),
            role: Role::Worker,
            usage: Usage {
                tokens_in: 2400,
                tokens_out: 310,
                cost_usd: 0.012,
                ..Default::default()
            },
            tools: vec!["run_command".into()],
            text: Some("Running the tests.".into()),
        });
        for (c, code) in commands {
            self.push(Event::CommandRan {
                run_id: run.clone(),
                command: c.to_string(),
                exit_code: Some(*code),
                duration_ms: 1234,
                timed_out: false,
                restored: vec![],
            });
        }
        if !commit.is_empty() {
            self.push(Event::HandoffSubmitted {
                feature_id: id.into(),
                attempt: 1,
                report: WorkerReport {
                    status: HandoffStatus::Done,
                    summary: "done".into(),
                    issues: vec![],
                    deviations: vec![],
                },
            });
            self.push(Event::FeatureCommitted {
                feature_id: id.into(),
                attempt: 1,
                commit: commit.into(),
                diff_stat: DiffStat {
                    files_changed: 2,
                    insertions: 41,
                    deletions: 0,
                },
                files_changed: vec!["src/lib.rs".into(), "src/stats.rs".into()],
            });
            self.push(Event::AgentFinished {
                run_id: run,
                role: Role::Worker,
                ok: true,
                error: None,
            });
        }
        self
    }
}

/// A mission mid-way: m1 failed validation once and its corrective feature is running.
/// A mission whose plan waits at the gate.
fn at_the_plan_gate(goal: &str) -> Script {
    let mut s = Script::new();
    s.push(Event::MissionStarted {
        goal: goal.into(),
        slug: "n".into(),
        branch: "mission/n".into(),
        base_commit: "b".into(),
        worktree: None,
    });
    // The baseline: a1 passes before any work (kept as a guard), a2 fails as it should.
    for (id, exit) in [("a1", 0), ("a2", 101)] {
        let a = plan().assertions.into_iter().find(|a| a.id == id).unwrap();
        s.push(Event::BaselineRan {
            assertion_id: id.into(),
            command: a.command.unwrap(),
            exit_code: Some(exit),
            duration_ms: 900,
            timed_out: false,
            output_tail: String::new(),
        });
    }
    s.push(Event::PlanSubmitted { plan: plan() });
    s.push(Event::GateOpened {
        gate: Gate::Plan,
        reason: "the plan and its contract await approval; already passing before any work: a1"
            .into(),
    });
    s
}

fn mid_mission() -> Script {
    let mut s = Script::new();
    s.push(Event::MissionStarted {
        goal: "Turn numstat into a working CLI with --json and clear errors".into(),
        slug: "numstat".into(),
        branch: "mission/numstat".into(),
        base_commit: "0000000000000000000000000000000000000000".into(),
        worktree: None,
    });
    s.push(Event::AgentStarted {
        run_id: "orchestrator-plan-2".into(),
        role: Role::Orchestrator,
        model: "scripted/demo-orchestrator".into(),
        task: "Plan the mission.".into(),
        feature_id: None,
        external: false,
    });
    s.push(Event::AgentTurn {
        run_id: "orchestrator-plan-2".into(),
        role: Role::Orchestrator,
        usage: Usage {
            tokens_in: 1800,
            tokens_out: 900,
            cost_usd: 0.04,
            ..Default::default()
        },
        tools: vec!["submit_plan".into()],
        text: Some("Two milestones; the contract checks behaviour through the binary.".into()),
    });
    s.push(Event::PlanSubmitted { plan: plan() });
    s.push(Event::GateOpened {
        gate: Gate::Plan,
        reason: "the plan awaits approval".into(),
    });
    s.push(Event::GateApproved {
        gate: Gate::Plan,
        auto: false,
    });
    s.push(Event::ContractFrozen { assertions: 3 });
    s.feature(
        "m1-f1",
        "1111111111111111111111111111111111111111",
        &[("cargo test -q", 0)],
    );
    s.feature(
        "m1-f2",
        "2222222222222222222222222222222222222222",
        &[("cargo test -q", 0)],
    );
    s.push(Event::ValidationStarted {
        milestone: "m1".into(),
        round: 0,
    });
    s.push(Event::CheckRan {
        milestone: "m1".into(),
        round: 0,
        assertion_id: None,
        command: "cargo test -q".into(),
        exit_code: Some(0),
        duration_ms: 900,
        timed_out: false,
        output_tail: String::new(),
    });
    s.push(Event::CheckRan {
        milestone: "m1".into(),
        round: 0,
        assertion_id: Some("a2".into()),
        command: "printf '9 1 5' | cargo run -q | grep -qx 'median: 5'".into(),
        exit_code: Some(1),
        duration_ms: 300,
        timed_out: false,
        output_tail: "count: 3\nmean: 5\nmedian: 1".into(),
    });
    s.push(Event::ValidationFinished {
        milestone: "m1".into(),
        round: 0,
        passed: false,
        failures: vec![mission::mission::Failure {
            assertion_id: Some("a2".into()),
            check: "printf '9 1 5' | cargo run -q | grep -qx 'median: 5'".into(),
            evidence: "exit 1\nmedian: 1".into(),
        }],
        checked: vec![],
    });
    s.push(Event::FixesSubmitted {
        milestone: "m1".into(),
        round: 1,
        features: vec![serde_json::from_value(json!({
            "id": "m1-fix1-1", "title": "Sort before taking the median",
            "description": "median() indexes its input as given; sort a copy first.", "fulfills": ["a2"]
        }))
        .unwrap()],
        note: "unit tests only used sorted input".into(),
    });
    s.feature(
        "m1-fix1-1",
        "",
        &[("printf '9 1 5' | cargo run -q", 0), ("cargo test -q", 101)],
    );
    s
}

fn app_from(script: &Script) -> App {
    let mut app = App::new(
        Hosting::InProcess,
        Limits {
            max_cost_usd: Some(1.0),
            max_tokens: Some(40_000),
            per_role_usd: [(Role::Worker, 0.05)].into(),
            auto_resume: true,
        },
    );
    for e in &script.events {
        app.on_event(e);
    }
    app.now = script.events.last().unwrap().ts;
    let h = Handoff {
        feature_id: "m1-f2".into(),
        attempt: 1,
        run_id: "worker-m1-f2".into(),
        report: WorkerReport {
            status: HandoffStatus::Done,
            summary:
                "Added src/stats.rs with mean() and median(); both return None for no numbers."
                    .into(),
            issues: vec!["Bad input exits with 1, the same code as other failures.".into()],
            deviations: vec!["Named the module stats, not statistics.".into()],
        },
        commands: vec![
            CommandRecord {
                command: "cargo test -q".into(),
                exit_code: Some(101),
                duration_ms: 2100,
                timed_out: false,
                restored: vec![],
            },
            CommandRecord {
                command: "cargo test -q".into(),
                exit_code: Some(0),
                duration_ms: 800,
                timed_out: false,
                restored: vec![],
            },
        ],
        mcp_calls: vec![McpCallRecord {
            server: "docs".into(),
            tool: "search".into(),
            arguments: r#"{"query":"median"}"#.into(),
            ok: true,
            result: "median: the middle value of a sorted list".into(),
            duration_ms: 300,
        }],
        files_changed: vec!["src/lib.rs".into(), "src/stats.rs".into()],
        diff_stat: DiffStat {
            files_changed: 2,
            insertions: 41,
            deletions: 0,
        },
        commit: "2222222222222222222222222222222222222222".into(),
        usage: Usage {
            tokens_in: 7364,
            tokens_out: 430,
            cost_usd: 0.02,
            ..Default::default()
        },
        agent: None,
    };
    app.handoffs.insert("m1-f2".into(), h);
    app.diffs.insert(
        "m1-f2".into(),
        "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,3 +1,4 @@\n pub mod parse;\n+pub mod stats;\n".into(),
    );
    app.transcripts.insert(
        "m1-f2".into(),
        vec![
            "· tools: read_file, write_file, run_command, submit_handoff".into(),
            "▸ task: Feature m1-f2: Mean and median".into(),
            "◂ Adding src/stats.rs with mean and median.".into(),
            "  ⚙ write_file({\"path\":\"src/stats.rs\"})".into(),
            "↳   write_file: wrote src/stats.rs (41 lines)".into(),
        ],
    );
    app
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn draw(app: &App, name: &str) {
    let theme = Theme::load("dark", true).unwrap();
    for (w, h) in SIZES {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| mission::tui::views::draw(f, app, &theme))
            .unwrap();
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

/// A terminal the console is drawn into, frame after frame.
struct Screen(Terminal<TestBackend>, Theme);

impl Screen {
    fn new(w: u16, h: u16) -> Self {
        Screen(
            Terminal::new(TestBackend::new(w, h)).unwrap(),
            Theme::load("dark", true).unwrap(),
        )
    }

    /// Draws `app`: the backend as drawn, its text and its cells.
    fn draw(&mut self, app: &App) -> &TestBackend {
        let Screen(t, theme) = self;
        t.draw(|f| mission::tui::views::draw(f, app, theme))
            .unwrap();
        t.backend()
    }

    fn text(&mut self, app: &App) -> String {
        format!("{}", self.draw(app))
    }
}

fn select(app: &mut App, id: &str) {
    for _ in 0..20 {
        app.on_key(key(KeyCode::Up));
    }
    for _ in 0..20 {
        if app.selected.as_deref() == Some(id) {
            return;
        }
        app.on_key(key(KeyCode::Down));
    }
    panic!("{id} not in the tree");
}

#[test]
fn a_mission_whose_runner_died_says_stopped_not_running() {
    let mut app = app_from(&mid_mission());
    app.runner_stopped = true;
    draw(&app, "runner_stopped");
}

#[test]
fn running_feature_follows_the_worker() {
    let app = app_from(&mid_mission());
    assert_eq!(
        app.selected.as_deref(),
        Some("m1-fix1-1"),
        "the console follows the running feature"
    );
    draw(&app, "running");
}

/// The selection follows the work only while the human looks on: a search or a detail
/// pane read further down keeps its place when another agent starts.
#[test]
fn following_waits_while_the_human_reads() {
    let agent_on = |app: &mut App, f: &str, seq: u64| {
        app.on_event(&EventRecord {
            seq,
            ts: ts(seq as i64),
            event: Event::AgentStarted {
                run_id: format!("worker-{f}-{seq}"),
                role: Role::Worker,
                model: "scripted/w".into(),
                task: f.into(),
                feature_id: Some(f.into()),
                external: false,
            },
        });
    };
    let mut app = app_from(&mid_mission());
    app.on_key(key(KeyCode::Enter)); // read the running feature's detail…
    app.on_key(key(KeyCode::Char('j')));
    app.on_key(key(KeyCode::Char('j')));
    agent_on(&mut app, "m1-f1", 900);
    assert_eq!(
        app.selected.as_deref(),
        Some("m1-fix1-1"),
        "reading: it stays"
    );
    app.on_key(key(KeyCode::Char('g'))); // …back to its top: looking on again
    agent_on(&mut app, "m1-f1", 901);
    assert_eq!(
        app.selected.as_deref(),
        Some("m1-f1"),
        "looking on: it follows"
    );
}

#[test]
fn every_handoff_tab() {
    let mut app = app_from(&mid_mission());
    select(&mut app, "m1-f2");
    let cmds = app.on_key(key(KeyCode::Enter));
    assert!(cmds.is_empty(), "summary needs no load");
    for tab in Tab::ALL {
        assert_eq!(app.detail.tab, tab);
        draw(&app, &format!("handoff_{}", tab.title().to_lowercase()));
        let cmds = app.on_key(key(KeyCode::Tab));
        if matches!(app.detail.tab, Tab::Diff | Tab::Transcript) {
            assert_eq!(
                cmds,
                vec![Command::Load {
                    feature: "m1-f2".into()
                }]
            );
        }
    }
}

#[test]
fn milestone_shows_contract_and_every_validation_round() {
    let mut s = mid_mission();
    // The corrective feature lands and round 1 passes.
    s.push(Event::HandoffSubmitted {
        feature_id: "m1-fix1-1".into(),
        attempt: 1,
        report: WorkerReport {
            status: HandoffStatus::Done,
            summary: "sorted".into(),
            issues: vec![],
            deviations: vec![],
        },
    });
    s.push(Event::FeatureCommitted {
        feature_id: "m1-fix1-1".into(),
        attempt: 1,
        commit: "3333333333333333333333333333333333333333".into(),
        diff_stat: DiffStat::default(),
        files_changed: vec![],
    });
    s.push(Event::ValidationStarted {
        milestone: "m1".into(),
        round: 1,
    });
    s.push(Event::CheckRan {
        milestone: "m1".into(),
        round: 1,
        assertion_id: Some("a2".into()),
        command: "printf '9 1 5' | cargo run -q | grep -qx 'median: 5'".into(),
        exit_code: Some(0),
        duration_ms: 200,
        timed_out: false,
        output_tail: String::new(),
    });
    s.push(Event::ValidationFinished {
        milestone: "m1".into(),
        round: 1,
        passed: true,
        failures: vec![],
        checked: vec![],
    });
    s.push(Event::MilestonePassed {
        milestone: "m1".into(),
        overridden: false,
    });
    let mut app = app_from(&s);
    select(&mut app, "m1");
    draw(&app, "milestone");
}

#[test]
fn plan_gate_overlay_then_reject_with_a_note() {
    let mut s = at_the_plan_gate("Turn numstat into a CLI");
    let mut app = app_from(&s);
    draw(&app, "plan_gate");
    let gate = Some(app.state.gate_id);
    // In its first moments a gate takes no key: it is read before it is decided.
    assert!(app.on_key(key(KeyCode::Char('r'))).is_empty());
    assert!(!app.typing(), "the early key did nothing");
    std::thread::sleep(GATE_GRACE);
    assert!(app.on_key(key(KeyCode::Char('r'))).is_empty());
    for c in "split m2".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    draw(&app, "reject_note");
    let cmds = app.on_key(key(KeyCode::Enter));
    assert_eq!(
        cmds,
        vec![Command::Send(Op::Reject {
            note: "split m2".into(),
            gate,
        })]
    );
    // `a` approves from the overlay, naming the gate it shows.
    std::thread::sleep(GATE_GRACE);
    assert_eq!(
        app.on_key(key(KeyCode::Char('a'))),
        vec![Command::Send(Op::Approve { gate })]
    );
    // The runner took the note; the orchestrator's next plan says it is a revision.
    s.push(Event::GateRejected {
        gate: Gate::Plan,
        note: "split m2".into(),
    });
    s.push(Event::PlanSubmitted { plan: plan() });
    s.push(Event::GateOpened {
        gate: Gate::Plan,
        reason: "the plan and its contract await approval".into(),
    });
    let app = app_from(&s);
    draw(&app, "plan_gate_revised");
}

/// A gate that opens while a human types a message does not take the keys: the `a` of
/// the sentence stays in the box, the gate waits under it, and once the box is closed its
/// keys act only after the grace.
#[test]
fn a_gate_opening_while_typing_takes_no_key() {
    let mut app = app_from(&mid_mission());
    app.on_key(key(KeyCode::Char('m')));
    for c in "I am ".chars() {
        assert!(app.on_key(key(KeyCode::Char(c))).is_empty());
    }
    app.on_event(&EventRecord {
        seq: 999,
        ts: ts(900),
        event: Event::GateOpened {
            gate: Gate::Milestone {
                milestone: "m1".into(),
            },
            reason: "m1 passed validation".into(),
        },
    });
    for c in "approving nothing, really".chars() {
        assert!(app.on_key(key(KeyCode::Char(c))).is_empty(), "{c} acted");
    }
    assert!(app.typing(), "the box keeps the keys");
    assert!(
        app.status
            .as_ref()
            .is_some_and(|(s, _)| s.contains("waits for you")),
        "{:?}",
        app.status
    );
    app.on_key(key(KeyCode::Esc));
    assert!(
        app.on_key(key(KeyCode::Char('a'))).is_empty(),
        "just after the box closes, the gate takes no key"
    );
    std::thread::sleep(GATE_GRACE);
    assert_eq!(
        app.on_key(key(KeyCode::Char('a'))),
        vec![Command::Send(Op::Approve { gate: Some(999) })]
    );
}

#[test]
fn message_help_and_quit_overlays() {
    let mut app = app_from(&mid_mission());
    app.on_key(key(KeyCode::Char('m')));
    for c in "skip the Windows feature".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    draw(&app, "message");
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        vec![Command::Send(Op::Say {
            text: "skip the Windows feature".into()
        })]
    );
    app.on_key(key(KeyCode::Char('?')));
    draw(&app, "help");
    app.on_key(key(KeyCode::Esc));
    assert!(
        app.on_key(key(KeyCode::Char('q'))).is_empty(),
        "a running in-process mission asks first"
    );
    draw(&app, "confirm_quit");
    assert_eq!(app.on_key(key(KeyCode::Char('y'))), vec![Command::Quit]);
    assert_eq!(
        app.on_key(key(KeyCode::Char('p'))),
        vec![Command::Send(Op::Pause)]
    );
}

/// The gate of the last milestone says it finishes the mission, not that another comes;
/// keys from `[keys]` are the ones named, there and in the header.
#[test]
fn the_last_milestones_gate_says_finish_with_the_configured_keys() {
    let mut s = mid_mission();
    s.push(Event::GateOpened {
        gate: Gate::Milestone {
            milestone: "m2".into(),
        },
        reason: "m2 passed validation".into(),
    });
    let mut app = app_from(&s);
    app.keys = mission::keys::Keymap::with_overrides(
        &[("approve".to_string(), "A".to_string())]
            .into_iter()
            .collect(),
    )
    .unwrap();
    let shown = Screen::new(100, 30).text(&app);
    assert!(
        shown.contains("A: finish the mission (it is the last milestone)"),
        "{shown}"
    );
    assert!(shown.contains("A approve"), "{shown}");
    assert!(!shown.contains("next milestone"), "{shown}");
}

#[test]
fn paused_escalated_and_completed_headers() {
    let mut s = mid_mission();
    s.push(Event::Paused {
        reason: "budget reached: $1.00 spent of max_cost_usd $1.00".into(),
    });
    let app = app_from(&s);
    draw(&app, "paused");

    let mut s = mid_mission();
    s.push(Event::GateOpened {
        gate: Gate::Escalation {
            milestone: "m1".into(),
            feature: None,
        },
        reason: "milestone m1 still fails after 3 fix round(s): a2".into(),
    });
    let app = app_from(&s);
    draw(&app, "escalation");

    let mut s = Script::new();
    s.push(Event::MissionStarted {
        goal: "g".into(),
        slug: "g".into(),
        branch: "mission/g".into(),
        base_commit: "b".into(),
        worktree: None,
    });
    s.push(Event::PlanSubmitted { plan: plan() });
    s.push(Event::MissionCompleted {
        report: "/repo/.mission/report.md".into(),
    });
    let app = app_from(&s);
    draw(&app, "completed");
}

#[test]
fn attached_consoles_quit_without_asking() {
    let mut app = App::new(Hosting::Attached, Limits::default());
    for e in &mid_mission().events {
        app.on_event(e);
    }
    assert_eq!(app.on_key(key(KeyCode::Char('q'))), vec![Command::Quit]);
}

#[test]
fn the_detail_pane_never_scrolls_past_its_end() {
    let mut app = app_from(&mid_mission());
    for _ in 0..40 {
        app.on_key(key(KeyCode::PageDown));
    }
    let theme = Theme::load("dark", true).unwrap();
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| mission::tui::views::draw(f, &app, &theme))
        .unwrap();
    let screen: String = format!("{}", t.backend());
    // The last lines of the feature's detail are still there, not a blank pane.
    let detail: Vec<&str> = screen
        .lines()
        .skip(4)
        .take(12)
        .map(|l| l.split('│').nth(3).unwrap_or(""))
        .collect();
    assert!(
        detail.iter().any(|l| !l.trim().is_empty()),
        "blank detail pane after 40 PgDn:\n{screen}"
    );
}

/// At 60×20 the full tab titles do not fit the detail pane: short ones do, and the active
/// tab is always on screen.
#[test]
fn a_narrow_terminal_still_shows_the_active_tab() {
    let mut app = app_from(&mid_mission());
    select(&mut app, "m1-f2");
    for _ in 0..4 {
        app.on_key(key(KeyCode::Tab));
    }
    assert_eq!(app.detail.tab, Tab::Transcript);
    let theme = Theme::load("dark", false).unwrap();
    let mut t = Terminal::new(TestBackend::new(60, 20)).unwrap();
    t.draw(|f| mission::tui::views::draw(f, &app, &theme))
        .unwrap();
    let screen: String = t
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(screen.contains("Sum│Cmds│Issues│Diff│Log"), "{screen}");
}

/// `/` finds a word in the detail pane, marks every match, and `n`/`N` go from match to
/// match; Esc clears the search.
#[test]
fn search_the_detail_pane() {
    for (w, h) in SIZES {
        let mut app = app_from(&mid_mission());
        select(&mut app, "m1");
        let mut screen = Screen::new(w, h);
        let mut frame = |app: &App| screen.draw(app).clone();
        frame(&app);
        app.on_key(key(KeyCode::Char('/')));
        for c in "cargo".chars() {
            app.on_key(key(KeyCode::Char(c)));
        }
        if w == 80 {
            insta::assert_snapshot!("search_typed_80x24", frame(&app));
        }
        app.on_key(key(KeyCode::Enter));
        let (said, ok) = app.status.clone().unwrap();
        assert!(ok, "{said}");
        let total: usize = said.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(said.starts_with("“cargo”: match 1 of"), "{said}");
        assert!(total >= 2, "{said}");
        let screen = frame(&app);
        insta::assert_snapshot!(format!("search_{w}x{h}"), screen);
        let marked = screen
            .buffer()
            .content()
            .iter()
            .filter(|c| c.modifier.contains(ratatui::style::Modifier::REVERSED))
            .count();
        assert!(marked >= 5, "a match is drawn reversed");
        let first = app.detail.search_at;
        app.on_key(key(KeyCode::Char('n')));
        assert!(app.detail.search_at > first, "n goes to a later match");
        assert!(app.status.clone().unwrap().0.contains("match 2 of"));
        app.on_key(key(KeyCode::Char('N')));
        assert_eq!(app.detail.search_at, first, "N comes back");
        app.on_key(key(KeyCode::Char('N')));
        assert!(
            app.status
                .clone()
                .unwrap()
                .0
                .contains(&format!("match {total} of")),
            "N from the first wraps to the last"
        );
        app.on_key(key(KeyCode::Esc));
        assert_eq!(app.detail.search, None);
        app.on_key(key(KeyCode::Char('/')));
        for c in "no such words".chars() {
            app.on_key(key(KeyCode::Char(c)));
        }
        app.on_key(key(KeyCode::Enter));
        assert_eq!(
            app.status.clone().unwrap(),
            ("“no such words” is not in this view".to_string(), false)
        );
    }
}

/// A message longer than its box scrolls its text; the prompt (marking the hidden start)
/// and the hint stay.
#[test]
fn a_long_message_keeps_its_prompt_and_hint() {
    let mut app = app_from(&mid_mission());
    app.on_key(key(KeyCode::Char('m')));
    let text = "please keep the public API unchanged and add tests for every edge case you find "
        .repeat(2);
    for c in text.chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    let screen = Screen::new(80, 24).text(&app);
    // The prompt says the start of the text is scrolled away.
    let input_row = screen.lines().find(|l| l.contains("│…")).expect(&screen);
    assert!(
        input_row.contains("case you find"),
        "the end of the text shows:\n{screen}"
    );
    assert!(screen.contains("read before its next decision"), "{screen}");
}

/// While a feature runs, its Summary follows its agent (the transcript's newest lines) and
/// the Log tab opens at the newest line; each event of the agent asks for what it added.
#[test]
fn a_running_feature_shows_its_agent_live() {
    let mut app = app_from(&mid_mission());
    let f = "m1-fix1-1";
    assert_eq!(app.selected.as_deref(), Some(f));
    let run = app.feature_runs[f].clone();
    let last = app.state.last_seq;
    let cmds = app.on_event(&EventRecord {
        seq: last + 1,
        ts: ts(95),
        event: Event::ToolUsed {
            run_id: run.clone(),
            tool: "read_file".into(),
            summary: "read_file src/stats.rs".into(),
            ok: true,
        },
    });
    assert_eq!(cmds, vec![Command::Tail { feature: f.into() }]);
    assert_eq!(app.transcript_offset(f, &run), 0);
    let lines: Vec<String> = [
        "· tools: read_file, write_file, run_command, submit_handoff",
        "▸ task: Feature m1-fix1-1: Sort before taking the median",
        "◂ Reproducing the failure first.",
        "  ⚙ run_command({\"command\":\"printf '9 1 5' | cargo run -q\"})",
        "↳   run_command: exit 0",
        "      count: 3",
        "      mean: 5",
        "      median: 1",
        "◂ The median is taken before sorting; sorting a copy first.",
        "  ⚙ read_file({\"path\":\"src/stats.rs\"})",
        "↳   read_file: pub fn median(xs: &[f64]) -> Option<f64> { let mid = xs.len() / 2; Some(xs[mid]) } // and the rest of a long line",
    ]
    .map(String::from)
    .to_vec();
    app.add_transcript(f, &run, lines, 900);
    assert_eq!(app.transcript_offset(f, &run), 900, "read on from there");
    draw(&app, "live");
    for _ in 0..4 {
        app.on_key(key(KeyCode::Tab));
    }
    assert_eq!(app.detail.tab, Tab::Transcript);
    assert_eq!(
        app.detail.scroll,
        u16::MAX,
        "the log of a running agent follows its tail"
    );
    draw(&app, "live_log");
    // Another attempt is another run: its transcript starts afresh.
    assert_eq!(app.transcript_offset(f, "worker-m1-fix1-1-2"), 0);
    assert!(!app.transcripts.contains_key(f));
}

/// With `[console] mouse` on, the wheel scrolls the pane under the pointer and a click
/// focuses a pane or selects the plan's row; with it off (the default) the mouse does
/// nothing.
#[test]
fn the_mouse_scrolls_the_pane_under_it_and_clicks_select() {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let at = |kind, column, row| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let mut app = app_from(&mid_mission());
    select(&mut app, "m1");
    let mut screen = Screen::new(80, 24);
    let mut frame = |app: &App| screen.text(app);
    frame(&app);
    // The detail pane is right of column 30, rows 2..17 at 80×24.
    let wheel_detail = at(MouseEventKind::ScrollDown, 50, 8);
    assert!(app.on_mouse(wheel_detail).is_empty());
    assert_eq!(app.detail.scroll, 0, "off by default");
    app.mouse = true;
    app.on_mouse(wheel_detail);
    assert_eq!(
        app.detail.scroll, 3,
        "a wheel notch scrolls the detail three rows"
    );
    app.on_mouse(at(MouseEventKind::ScrollUp, 50, 8));
    assert_eq!(app.detail.scroll, 0);
    // The activity feed reads back under the wheel.
    app.on_mouse(at(MouseEventKind::ScrollUp, 20, 20));
    assert_eq!(app.activity.back(), 3);
    // The plan's rows: m1 is row 3 on screen, m1-f2 two below it.
    let screen = frame(&app);
    let row = screen.lines().position(|l| l.contains("m1-f2")).unwrap() as u16;
    app.on_mouse(at(MouseEventKind::Down(MouseButton::Left), 10, row));
    assert_eq!(app.selected.as_deref(), Some("m1-f2"));
    assert_eq!(app.focus, mission::tui::app::Focus::Tree);
    app.on_mouse(at(MouseEventKind::ScrollDown, 10, row));
    assert_eq!(
        app.selected.as_deref(),
        Some("m1-fix1-1"),
        "the wheel moves the selection"
    );
    app.on_mouse(at(MouseEventKind::Down(MouseButton::Left), 50, 8));
    assert_eq!(app.focus, mission::tui::app::Focus::Detail);
    // Nothing acts behind an overlay.
    app.on_key(key(KeyCode::Char('?')));
    app.on_mouse(at(MouseEventKind::Down(MouseButton::Left), 10, row));
    assert_eq!(app.selected.as_deref(), Some("m1-fix1-1"));
}

/// Each tab keeps where it was scrolled to while the selection stays; another selection
/// starts every tab at the top.
#[test]
fn each_tab_keeps_its_place() {
    let mut app = app_from(&mid_mission());
    select(&mut app, "m1-f2");
    let mut screen = Screen::new(60, 20);
    let mut frame = |app: &App| screen.text(app);
    frame(&app);
    app.on_key(key(KeyCode::Char('l')));
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.detail.scroll, 2, "the summary scrolls at 60×20");
    app.on_key(key(KeyCode::Tab));
    assert_eq!((app.detail.tab, app.detail.scroll), (Tab::Commands, 0));
    frame(&app);
    app.on_key(key(KeyCode::BackTab));
    assert_eq!(
        (app.detail.tab, app.detail.scroll),
        (Tab::Summary, 2),
        "back where it was"
    );
    frame(&app);
    app.on_key(key(KeyCode::Char('h')));
    app.on_key(key(KeyCode::Up));
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::BackTab));
    assert_eq!(app.detail.scroll, 0, "another selection starts at the top");
}

/// A console that attaches (restoring the state and the recent events) names whose each
/// activity line is, as the console that watched them live did.
#[test]
fn an_attached_console_labels_the_activity_as_a_live_one_does() {
    let s = mid_mission();
    let live = app_from(&s);
    let mut state = mission::mission::MissionState::default();
    for e in &s.events {
        state.apply(e);
    }
    let mut attached = App::new(Hosting::Attached, Limits::default());
    attached.restore(state, &s.events);
    let labels = |a: &App| {
        a.activity
            .lines()
            .map(|l| l.label.clone())
            .collect::<Vec<_>>()
    };
    assert!(labels(&live).iter().any(|l| l == "m1-f2"));
    assert_eq!(labels(&attached), labels(&live));
}

/// Pasted text goes into the open box whole, newlines as spaces; with no box open it is
/// dropped, so a pasted `a` approves nothing.
#[test]
fn a_paste_is_text_never_keys() {
    let s = at_the_plan_gate("g");
    let mut app = app_from(&s);
    app.on_paste("approve\nall of it");
    assert!(app.state.gate.is_some());
    assert!(!app.status.clone().unwrap().1, "said where pasting works");
    app.on_key(key(KeyCode::Char('m')));
    app.on_paste("Please keep m2 small.\nalso check the contract");
    let sent = app.on_key(key(KeyCode::Enter));
    assert_eq!(
        sent,
        vec![Command::Send(Op::Say {
            text: "Please keep m2 small. also check the contract".into()
        })]
    );
}

/// The gate scrolls no further than its last line, End goes there, and after Esc `w`
/// brings it back.
#[test]
fn the_gate_scrolls_within_its_plan_and_comes_back() {
    let s = at_the_plan_gate("g");
    let mut app = app_from(&s);
    let mut screen = Screen::new(80, 24);
    let mut frame = |app: &App| screen.text(app);
    frame(&app);
    for _ in 0..60 {
        app.on_key(key(KeyCode::Down));
    }
    let end = app.gate_view.end.get();
    assert!(
        end > 0 && app.gate_view.scroll == end,
        "stops at the end: {}",
        app.gate_view.scroll
    );
    assert!(frame(&app).contains("$ printf"), "the last lines show");
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.gate_view.scroll, end - 1, "one up moves at once");
    assert!(
        frame(&app).contains("(↓ for more)"),
        "the title says there is more"
    );
    app.on_key(key(KeyCode::Home));
    assert_eq!(app.gate_view.scroll, 0);
    app.on_key(key(KeyCode::End));
    assert_eq!(
        app.gate_view.scroll, end,
        "End scrolls the gate, not the plan behind it"
    );
    assert_eq!(
        app.detail.scroll, 0,
        "the detail pane under the gate did not move"
    );
    let tab = app.detail.tab;
    app.on_key(key(KeyCode::Tab));
    assert_eq!(
        app.detail.tab, tab,
        "keys do nothing unseen behind the gate"
    );
    app.on_key(key(KeyCode::Esc));
    assert!(!frame(&app).contains("Approve the plan?"));
    assert!(
        frame(&app).contains("w show it"),
        "the footer says how to bring it back"
    );
    app.on_key(key(KeyCode::Char('w')));
    assert!(frame(&app).contains("Approve the plan?"));
}

/// At 60×20 the help does not fit: it scrolls, and says so.
#[test]
fn the_help_scrolls_on_a_small_terminal() {
    let mut app = app_from(&mid_mission());
    app.on_key(key(KeyCode::Char('?')));
    let mut screen = Screen::new(60, 20);
    let mut frame = |app: &App| screen.text(app);
    let first = frame(&app);
    assert!(first.contains("↓ for more"), "{first}");
    assert!(!first.contains("closes this help"), "{first}");
    for _ in 0..30 {
        app.on_key(key(KeyCode::Down));
    }
    let last = frame(&app);
    assert!(last.contains("closes this help"), "{last}");
    assert!(last.contains("↑ for more"), "{last}");
}

/// A log on screen follows the agent that starts writing it, even when the human chose
/// the feature (the console no longer follows the work by itself).
#[test]
fn an_open_log_follows_the_agent_that_starts_on_it() {
    let mut app = app_from(&mid_mission());
    select(&mut app, "m2-f1");
    for _ in 0..4 {
        app.on_key(key(KeyCode::Tab));
    }
    assert_eq!((app.detail.tab, app.detail.scroll), (Tab::Transcript, 0));
    let last = app.state.last_seq;
    app.on_event(&EventRecord {
        seq: last + 1,
        ts: ts(95),
        event: Event::AgentStarted {
            run_id: "worker-m2-f1".into(),
            role: Role::Worker,
            model: "m".into(),
            task: "t".into(),
            feature_id: Some("m2-f1".into()),
            external: false,
        },
    });
    assert_eq!(app.selected.as_deref(), Some("m2-f1"));
    assert_eq!(app.detail.scroll, u16::MAX, "following its tail");
}

/// Choosing a running feature shows its Summary from the top: its state, then its agent's
/// newest lines.
#[test]
fn a_running_feature_chosen_by_hand_shows_its_summary_from_the_top() {
    let mut app = app_from(&mid_mission());
    let f = "m1-fix1-1";
    let run = app.feature_runs[f].clone();
    let lines: Vec<String> = (0..40).map(|i| format!("line {i}")).collect();
    app.add_transcript(f, &run, lines, 900);
    select(&mut app, "m1-f2");
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.selected.as_deref(), Some(f));
    assert_eq!((app.detail.tab, app.detail.scroll), (Tab::Summary, 0));
    let screen = Screen::new(80, 24).text(&app);
    assert!(screen.contains("State      ▶ running"), "{screen}");
    assert!(
        screen.contains("line 39"),
        "the newest line shows: {screen}"
    );
}

/// The fleet console: who needs you first, each mission's state, host, progress, cost
/// against budget and goal, a host that does not answer marked; keys act on the
/// selection, and a decision names the gate the list showed.
#[test]
fn the_fleet_lists_who_needs_you_first() {
    use mission::mission::fleet::{Fleet, FleetMission, HostStatus};
    use mission::tui::fleet::{FleetCommand, FleetView, render};
    let m =
        |host: &str, repo: &str, goal: &str, state: &str, needs: bool, reason: &str| FleetMission {
            host: host.into(),
            repo: repo.into(),
            worktree: format!("{repo}-wt"),
            goal: goal.into(),
            state: state.into(),
            needs_you: needs,
            reason: reason.into(),
            cost_usd: 1.25,
            budget_usd: Some(10.0),
            runner_alive: true,
            started: "2026-12-04T10:00:00Z".into(),
            milestones: (1, 3),
            gate_id: needs.then_some(42),
        };
    let fleet = Fleet {
        missions: vec![
            m(
                "local",
                "/src/api",
                "Add a --json flag to the report command",
                "awaiting_approval",
                true,
                "milestone m1 approval: m1 passed validation",
            ),
            m(
                "box1",
                "/srv/web",
                "Port the settings page to the new forms",
                "running",
                false,
                "worker on m2-f3",
            ),
            m(
                "local",
                "/src/cli",
                "Rename the config keys",
                "completed",
                false,
                "completed",
            ),
        ],
        hosts: vec![
            HostStatus {
                host: "local".into(),
                reachable: true,
                error: None,
            },
            HostStatus {
                host: "box1".into(),
                reachable: true,
                error: None,
            },
            HostStatus {
                host: "box2".into(),
                reachable: false,
                error: Some("Connection refused".into()),
            },
        ],
    };
    let mut v = FleetView::new(Default::default());
    assert!(
        v.refresh(fleet.clone()).is_some(),
        "a mission newly needs you: ring"
    );
    assert!(
        v.refresh(fleet).is_none(),
        "the same one again: no second ring"
    );
    let theme = Theme::load("dark", true).unwrap();
    for (w, h) in SIZES {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| {
            render(&v, &theme, f.area(), f.buffer_mut());
        })
        .unwrap();
        insta::assert_snapshot!(format!("fleet_{w}x{h}"), t.backend());
    }
    match v.on_key(key(KeyCode::Char('a'))).as_slice() {
        [FleetCommand::Send(m, Op::Approve { gate: Some(42) })] => assert_eq!(m.repo, "/src/api"),
        other => panic!("{other:?}"),
    }
    v.on_key(key(KeyCode::Char('j')));
    match v.on_key(key(KeyCode::Enter)).as_slice() {
        [FleetCommand::Attach(m)] => assert_eq!(m.host, "box1"),
        other => panic!("{other:?}"),
    }
    assert!(
        v.on_key(key(KeyCode::Char('a'))).is_empty(),
        "nothing of it waits"
    );
    assert_eq!(v.on_key(key(KeyCode::Char('q'))), vec![FleetCommand::Quit]);
}

/// Work done by an external agent (ACP), which reports no usage: its cost is unknown, not
/// $0 — in the budget pane and in the feature's handoff.
#[test]
fn an_external_agents_cost_is_unknown_not_zero() {
    let mut app = app_from(&mid_mission());
    app.on_event(&EventRecord {
        seq: 950,
        ts: ts(950),
        event: Event::AgentStarted {
            run_id: "worker-m1-f2-950".into(),
            role: Role::Worker,
            model: "acp/codex".into(),
            task: "Feature m1-f2: Mean and median".into(),
            feature_id: Some("m1-f2".into()),
            external: true,
        },
    });
    if let Some(h) = app.handoffs.get_mut("m1-f2") {
        h.agent = Some("codex".into());
    }
    select(&mut app, "m1-f2");
    app.on_key(key(KeyCode::Enter));
    let mut big = Screen::new(160, 48);
    let text = big.text(&app);
    assert!(text.contains("unknown (external agent codex)"), "{text}");
    assert!(text.contains("$0.08/$1.00 + unknown"), "{text}");
    draw(&app, "external_agent_cost");
}
