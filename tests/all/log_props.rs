//! Properties of the event log: what is written is read back and folds the same, and a
//! crash cutting the file at any byte never makes it unreadable.

use mission::mission::event::Gate;
use mission::mission::{Event, MissionState, Role, Usage};
use mission::store::{self, EventLog};
use proptest::prelude::*;

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        Just(Role::Orchestrator),
        Just(Role::Worker),
        Just(Role::Reviewer),
        Just(Role::UserTester)
    ]
}

fn event() -> impl Strategy<Value = Event> {
    let text = "[a-zA-Z0-9 \"\\\\\n{}:é✔-]{0,40}";
    prop_oneof![
        text.prop_map(|text| Event::MessageSaid { text }),
        text.prop_map(|reason| Event::Paused { reason }),
        Just(Event::Unpaused),
        prop::collection::vec("[a-zA-Z0-9_./ é-]{1,30}", 0..6)
            .prop_map(|paths| Event::FilesChanged { paths, more: 3 }),
        (
            text,
            role(),
            0u64..1_000_000,
            0u64..100_000,
            prop::collection::vec("[a-z_]{1,12}", 0..4)
        )
            .prop_map(
                |(run_id, role, tokens_in, tokens_out, tools)| Event::AgentTurn {
                    run_id,
                    role,
                    usage: Usage {
                        tokens_in,
                        tokens_out,
                        cost_usd: tokens_in as f64 / 1e6,
                        ..Default::default()
                    },
                    tools,
                    text: None,
                }
            ),
        (
            text,
            text,
            prop::option::of(-3i32..300),
            0u64..100_000,
            any::<bool>()
        )
            .prop_map(|(run_id, command, exit_code, duration_ms, timed_out)| {
                Event::CommandRan {
                    run_id,
                    command,
                    exit_code,
                    duration_ms,
                    timed_out,
                    restored: vec![],
                }
            }),
        ("[a-z0-9-]{1,8}", text).prop_map(|(milestone, reason)| Event::GateOpened {
            gate: Gate::Milestone { milestone },
            reason
        }),
        text.prop_map(|reason| Event::GateOpened {
            gate: Gate::Plan,
            reason
        }),
        text.prop_map(|note| Event::GateRejected {
            gate: Gate::Plan,
            note
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn written_events_read_back_and_fold_the_same(events in prop::collection::vec(event(), 0..40)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut log = EventLog::open(&path, &store::load(&path).unwrap()).unwrap();
        let written: Vec<_> = events.into_iter().map(|e| log.append(e).unwrap()).collect();
        let loaded = store::load(&path).unwrap();
        prop_assert_eq!(&loaded.events, &written);
        prop_assert_eq!(loaded.torn_tail, None);
        prop_assert_eq!(MissionState::from_events(&loaded.events), MissionState::from_events(&written));
        for (i, e) in loaded.events.iter().enumerate() {
            prop_assert_eq!(e.seq, i as u64 + 1);
        }
    }

    #[test]
    fn a_cut_at_any_byte_loses_at_most_the_last_event(
        events in prop::collection::vec(event(), 1..20),
        cut_frac in 0.0f64..1.0,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut log = EventLog::open(&path, &store::load(&path).unwrap()).unwrap();
        let written: Vec<_> = events.into_iter().map(|e| log.append(e).unwrap()).collect();
        drop(log);
        let bytes = std::fs::read(&path).unwrap();
        let cut = ((bytes.len() as f64) * cut_frac) as usize;
        std::fs::write(&path, &bytes[..cut]).unwrap();

        let loaded = store::load(&path).unwrap();
        let whole_lines = bytes[..cut].iter().filter(|&&b| b == b'\n').count();
        prop_assert_eq!(&loaded.events[..], &written[..whole_lines]);
        // The log stays appendable, numbering on from what survived.
        let mut log = EventLog::open(&path, &loaded).unwrap();
        let next = log.append(Event::Unpaused).unwrap();
        prop_assert_eq!(next.seq, whole_lines as u64 + 1);
        let again = store::load(&path).unwrap();
        prop_assert_eq!(again.events.len(), whole_lines + 1);
        prop_assert_eq!(again.torn_tail, None);
    }
}
