//! The demo's scripted models: an orchestrator that plans `numstat` and heals it, and
//! workers that write real code — including a real bug that a real check catches.

use serde_json::{Value, json};

const PARSE: &str = include_str!("../../demo/steps/parse.rs");
const STATS: &str = include_str!("../../demo/steps/stats.rs");
const MAIN_SUMMARY: &str = include_str!("../../demo/steps/main_summary.rs");
const MAIN_JSON: &str = include_str!("../../demo/steps/main_json.rs");
const MAIN_ERRORS: &str = include_str!("../../demo/steps/main_errors.rs");

const LIB_HEADER: &str = "//! numstat: summary statistics for a list of numbers.\n";

pub const A1: &str = r#"test "$(printf '1 2 3 4\n' | cargo run -q)" = "$(printf 'count: 4\nmean: 2.5\nmedian: 2.5')""#;
pub const A2: &str = r#"printf '9\n1\n5\n' | cargo run -q | grep -qx 'median: 5'"#;
pub const A3: &str =
    r#"printf '1 2\n' | cargo run -q -- --json | grep -qx '{"count":2,"mean":1.5,"median":1.5}'"#;
pub const A4: &str = r#"out=$(printf '1\nabc\n' | cargo run -q 2>&1); test $? -eq 2 && printf '%s' "$out" | grep -q 'line 2: "abc" is not a number'"#;
pub const A5: &str = r#"cargo run -q -- --help | grep -q '^Usage: numstat'"#;
pub const A6: &str = r#"cargo test -q parse:: 2>&1 | grep -q 'test result: ok. [1-9]'"#;

fn call(name: &str, arguments: Value) -> Value {
    json!({"name": name, "arguments": arguments})
}

fn turn(text: &str, calls: Vec<Value>) -> Value {
    json!({"text": text, "tool_calls": calls})
}

fn entry(role: &str, task_contains: &str, turns: Vec<Value>) -> Value {
    json!({"role": role, "task_contains": task_contains, "turns": turns})
}

fn feature(id: &str, title: &str, description: &str, fulfills: &[&str]) -> Value {
    json!({"id": id, "title": title, "description": description, "fulfills": fulfills})
}

fn handoff(summary: &str, issues: &[&str]) -> Value {
    call(
        "submit_handoff",
        json!({"status": "done", "summary": summary, "issues": issues, "deviations": []}),
    )
}

fn cargo_test() -> Value {
    call("run_command", json!({"command": "cargo test -q"}))
}

fn plan() -> Value {
    json!({
        "milestones": [
            {"id": "m1", "title": "Summary statistics", "features": [
                feature("m1-f1", "Parse numbers",
                    "Add src/parse.rs with `parse_numbers(&str) -> Result<Vec<f64>, ParseError>`: whitespace- and newline-separated numbers; a ParseError names the 1-based line and the token. Unit-test separators and errors.",
                    &["a6"]),
                feature("m1-f2", "Mean and median",
                    "Add src/stats.rs with `mean(&[f64]) -> Option<f64>` and `median(&[f64]) -> Option<f64>` (None for no numbers; the median of an even count is the mean of the two middle values).",
                    &["a1", "a2"]),
                feature("m1-f3", "Print a summary",
                    "Make src/main.rs read all of stdin, parse it and print `count: N`, `mean: M`, `median: D` on separate lines (only the count when there are no numbers). Errors go to stderr.",
                    &["a1", "a2"]),
            ]},
            {"id": "m2", "title": "A command line people can script", "features": [
                feature("m2-f1", "JSON output",
                    "`--json` prints one line `{\"count\":N,\"mean\":M,\"median\":D}`, with null for mean and median when there are no numbers.",
                    &["a3", "a8"]),
                feature("m2-f2", "Clear errors",
                    "Bad input and unknown options exit with code 2, and the message names the line and the token (`line 2: \"abc\" is not a number`).",
                    &["a4"]),
                feature("m2-f3", "Usage text",
                    "`--help` and `-h` print a usage text starting with `Usage: numstat` and exit 0.",
                    &["a5", "a7"]),
            ]},
        ],
        "assertions": [
            {"id": "a1", "kind": "command", "text": "Sorted input is summarised as count, mean and median", "command": A1},
            {"id": "a2", "kind": "command", "text": "The median of unsorted input is its middle value", "command": A2},
            {"id": "a3", "kind": "command", "text": "--json prints one JSON object", "command": A3},
            {"id": "a4", "kind": "command", "text": "Bad input exits 2 and names the line", "command": A4},
            {"id": "a5", "kind": "command", "text": "--help explains usage", "command": A5},
            {"id": "a6", "kind": "command", "text": "Parsing is unit-tested and the tests pass", "command": A6},
            {"id": "a7", "kind": "user_test", "text": "Typing numbers into the running program and ending the input shows their summary"},
            {"id": "a8", "kind": "review", "text": "The command line refuses every argument it does not know"},
        ]
    })
}

fn review(feature: &str, look_at: &str, verdict: &str, findings: Value) -> Value {
    entry(
        "reviewer",
        &format!("Review {feature}:"),
        vec![
            turn(
                "Reading the changed code around the diff.",
                vec![call("read_file", json!({"path": look_at}))],
            ),
            turn(
                "",
                vec![call(
                    "submit_review",
                    json!({"verdict": verdict, "findings": findings}),
                )],
            ),
        ],
    )
}

const ARGS_BEFORE: &str = "    let json = match std::env::args().nth(1).as_deref() {\n        None => false,\n        Some(\"--json\") => true,\n        Some(\"--help\" | \"-h\") => {\n            println!(\"{USAGE}\");\n            return ExitCode::SUCCESS;\n        }\n        Some(other) => {\n            eprintln!(\"error: unknown option {other}\");\n            return ExitCode::from(EXIT_BAD_INPUT);\n        }\n    };\n";
const ARGS_AFTER: &str = "    let mut json = false;\n    for arg in std::env::args().skip(1) {\n        match arg.as_str() {\n            \"--json\" => json = true,\n            \"--help\" | \"-h\" => {\n                println!(\"{USAGE}\");\n                return ExitCode::SUCCESS;\n            }\n            other => {\n                eprintln!(\"error: unknown option {other}\");\n                return ExitCode::from(EXIT_BAD_INPUT);\n            }\n        }\n    }\n";

fn validators() -> Vec<Value> {
    let none = json!([]);
    vec![
        review("m1-f1", "src/parse.rs", "pass", none.clone()),
        review(
            "m1-f2",
            "src/stats.rs",
            "fail",
            json!([{"severity": "high", "path": "src/stats.rs", "line": 17,
            "message": "median() indexes the middle of the input as given; unsorted input gives a wrong median, and the tests only use sorted input"}]),
        ),
        review(
            "m1-f3",
            "src/main.rs",
            "pass",
            json!([{"severity": "low", "path": "src/main.rs",
            "message": "bad input exits with 1 like any other failure"}]),
        ),
        review("m1-fix1-1", "src/stats.rs", "pass", none.clone()),
        review(
            "m2-f1",
            "src/main.rs",
            "fail",
            json!([{"severity": "high", "path": "src/main.rs", "line": 10,
            "message": "only the first argument is looked at: `numstat --json --oops` ignores the unknown option instead of refusing it"}]),
        ),
        review("m2-f2", "src/main.rs", "pass", none.clone()),
        review("m2-f3", "src/main.rs", "pass", none.clone()),
        review("m2-fix1-1", "src/main.rs", "pass", none),
        entry(
            "user_tester",
            "User test of milestone m2",
            vec![
                turn(
                    "Starting the program the way a user would, in a terminal.",
                    vec![call("launch", json!({"command": "cargo run -q"}))],
                ),
                turn(
                    "Typing three numbers, then ending the input with Ctrl-D.",
                    vec![
                        call(
                            "send_keys",
                            json!({"id": "t1", "keys": "3 1 2<Enter><C-d>"}),
                        ),
                        call(
                            "wait_for",
                            json!({"id": "t1", "text": "median: 2", "timeout_secs": 60}),
                        ),
                    ],
                ),
                turn(
                    "The summary appeared and the program ended.",
                    vec![
                        call("read_screen", json!({"id": "t1"})),
                        call(
                            "submit_report",
                            json!({"results": [{"assertion_id": "a7", "pass": true,
                    "evidence": "typed `3 1 2`, Enter, Ctrl-D in a terminal: the screen showed count: 3, mean: 2, median: 2"}]}),
                        ),
                    ],
                ),
            ],
        ),
        entry(
            "orchestrator",
            "Fix round 1 for milestone m2",
            vec![
                turn(
                    "The reviewer of m2-f1 found that only the first argument is checked. Confirming in main.rs.",
                    vec![call("read_file", json!({"path": "src/main.rs"}))],
                ),
                turn(
                    "Confirmed: `std::env::args().nth(1)`. One corrective feature.",
                    vec![call(
                        "submit_fixes",
                        json!({
                            "features": [feature("m2-fix1-1", "Refuse every unknown argument",
                                "src/main.rs looks only at the first argument, so `numstat --json --oops` silently ignores `--oops`. Check every argument: --json sets JSON output, --help/-h print the usage, anything else is an error with exit code 2.",
                                &["a8"])],
                            "note": "From the review of m2-f1.",
                        }),
                    )],
                ),
            ],
        ),
        entry(
            "worker",
            "Feature m2-fix1-1:",
            vec![
                turn(
                    "Reproducing: an unknown second argument should be refused.",
                    vec![call(
                        "run_command",
                        json!({"command": "cargo run -q -- --json --oops < /dev/null; echo \"exit $?\""}),
                    )],
                ),
                turn(
                    "It exits 0. Checking every argument instead of the first.",
                    vec![call(
                        "edit_file",
                        json!({"path": "src/main.rs", "old_string": ARGS_BEFORE, "new_string": ARGS_AFTER}),
                    )],
                ),
                turn(
                    "Trying again, then the tests.",
                    vec![
                        call(
                            "run_command",
                            json!({"command": "cargo run -q -- --json --oops < /dev/null; test $? -eq 2"}),
                        ),
                        cargo_test(),
                    ],
                ),
                turn(
                    "Fixed.",
                    vec![handoff(
                        "src/main.rs now checks every argument: --json and --help/-h as before, anything else is refused with exit code 2. `numstat --json --oops` now fails as it should.",
                        &[],
                    )],
                ),
            ],
        ),
    ]
}

pub fn script() -> Value {
    let lib_with_parse = format!("{LIB_HEADER}\npub mod parse;\n");
    let a4_check = call("run_command", json!({"command": A4}));
    let mut entries: Vec<Value> = vec![
        entry(
            "orchestrator",
            "Plan the mission.",
            vec![
                turn(
                    "Before planning I'll read what the crate asks of agents, and send an explorer to map the code.",
                    vec![
                        call("read_file", json!({"path": "AGENTS.md"})),
                        call(
                            "explore",
                            json!({"questions": ["How is numstat built and tested, and what does it do today?"]}),
                        ),
                    ],
                ),
                turn(
                    "Two milestones: the statistics with a plain summary, then a scriptable command line. The contract checks behaviour through the binary, with inputs the workers' own tests may not think of.",
                    vec![call("submit_plan", plan())],
                ),
            ],
        ),
        entry(
            "explorer",
            "Question: How is numstat built and tested",
            vec![
                turn(
                    "Reading the manifest and the code.",
                    vec![
                        call("read_file", json!({"path": "Cargo.toml"})),
                        call("read_file", json!({"path": "src/main.rs"})),
                        call("list_files", json!({})),
                    ],
                ),
                turn(
                    "",
                    vec![call(
                        "submit_findings",
                        json!({"findings":
                "A binary + library crate with no dependencies (edition 2021). `cargo test -q` builds and runs the tests; there are none yet. src/lib.rs is empty; src/main.rs prints `numstat: not implemented yet` and exits 1. AGENTS.md asks for pure functions in the library and I/O only in main.rs."}),
                    )],
                ),
            ],
        ),
        entry(
            "worker",
            "Feature m1-f1:",
            vec![
                turn(
                    "I'll look at the crate layout first.",
                    vec![
                        call("list_files", json!({})),
                        call("read_file", json!({"path": "src/lib.rs"})),
                    ],
                ),
                turn(
                    "The library is empty. Adding a `parse` module with tests, and exporting it.",
                    vec![
                        call(
                            "write_file",
                            json!({"path": "src/parse.rs", "content": PARSE}),
                        ),
                        call(
                            "edit_file",
                            json!({"path": "src/lib.rs", "old_string": LIB_HEADER, "new_string": lib_with_parse}),
                        ),
                    ],
                ),
                turn("Running the tests.", vec![cargo_test()]),
                turn(
                    "Tests pass.",
                    vec![handoff(
                        "Added src/parse.rs with parse_numbers(), which splits the input on whitespace and returns the numbers, or a ParseError naming the 1-based line and the bad token. Non-finite values (inf, NaN) are refused. Two unit tests cover separators and errors; cargo test passes.",
                        &[],
                    )],
                ),
            ],
        ),
        entry(
            "worker",
            "Feature m1-f2:",
            vec![
                turn(
                    "Reading the library and the agent notes.",
                    vec![
                        call("read_file", json!({"path": "src/lib.rs"})),
                        call("read_file", json!({"path": "AGENTS.md"})),
                    ],
                ),
                turn(
                    "Adding src/stats.rs with mean and median.",
                    vec![
                        call(
                            "write_file",
                            json!({"path": "src/stats.rs", "content": STATS}),
                        ),
                        call(
                            "edit_file",
                            json!({"path": "src/lib.rs", "old_string": "pub mod parse;\n", "new_string": "pub mod parse;\npub mod stats;\n"}),
                        ),
                    ],
                ),
                turn("Running the tests.", vec![cargo_test()]),
                turn(
                    "All green.",
                    vec![handoff(
                        "Added src/stats.rs with mean() and median(); both return None for no numbers. median() takes the middle element, or the mean of the two middle ones for an even count. Unit tests cover odd and even lengths and the empty case; cargo test passes.",
                        &[],
                    )],
                ),
            ],
        ),
        entry(
            "worker",
            "Feature m1-f3:",
            vec![
                turn(
                    "Let me see main.rs and the library's public functions.",
                    vec![
                        call("read_file", json!({"path": "src/main.rs"})),
                        call("search", json!({"pattern": "pub fn", "path": "src"})),
                    ],
                ),
                turn(
                    "Writing the summary printer.",
                    vec![call(
                        "write_file",
                        json!({"path": "src/main.rs", "content": MAIN_SUMMARY}),
                    )],
                ),
                turn(
                    "Trying it on the example from the contract, then the tests.",
                    vec![
                        call(
                            "run_command",
                            json!({"command": "printf '1 2 3 4\\n' | cargo run -q"}),
                        ),
                        cargo_test(),
                    ],
                ),
                turn(
                    "Works.",
                    vec![handoff(
                        "src/main.rs reads all of standard input, parses it with parse_numbers and prints count, mean and median on separate lines; with no numbers it prints only `count: 0`. A parse error goes to stderr with exit code 1. Checked by hand with `1 2 3 4`.",
                        &[
                            "Bad input exits with 1, the same code as other failures; m2 may want a distinct one.",
                        ],
                    )],
                ),
            ],
        ),
        entry(
            "orchestrator",
            "Fix round 1 for milestone m1",
            vec![
                turn(
                    "a2 fails: for 9 1 5 the binary does not print `median: 5`. The summary path is the same as for sorted input, so the fault is likely in median(). Reading it.",
                    vec![call("read_file", json!({"path": "src/stats.rs"}))],
                ),
                turn(
                    "median() indexes the middle of its input as given; it never sorts. The unit tests only used sorted input, so they could not catch it.",
                    vec![call(
                        "submit_fixes",
                        json!({
                            "features": [feature("m1-fix1-1", "Sort before taking the median",
                                "median() in src/stats.rs indexes the middle of its input as given, so unsorted input gives a wrong answer (9 1 5 gives 1 instead of 5). Sort a copy of the input with f64::total_cmp before picking the middle, and add a unit test with unsorted input of odd and even length.",
                                &["a2"])],
                            "note": "The bug slipped through because the unit tests only used sorted input.",
                        }),
                    )],
                ),
            ],
        ),
        entry(
            "worker",
            "Feature m1-fix1-1:",
            vec![
                turn(
                    "Reproducing the failure first.",
                    vec![
                        call("read_file", json!({"path": "src/stats.rs"})),
                        call(
                            "run_command",
                            json!({"command": "printf '9\\n1\\n5\\n' | cargo run -q"}),
                        ),
                    ],
                ),
                turn(
                    "It prints `median: 1`. Sorting a copy before indexing, and adding a regression test.",
                    vec![
                        call(
                            "edit_file",
                            json!({"path": "src/stats.rs",
                    "old_string": "    let mid = xs.len() / 2;\n    if xs.len() % 2 == 0 {\n        Some((xs[mid - 1] + xs[mid]) / 2.0)\n    } else {\n        Some(xs[mid])\n    }\n",
                    "new_string": "    let mut sorted = xs.to_vec();\n    sorted.sort_by(f64::total_cmp);\n    let mid = sorted.len() / 2;\n    if sorted.len() % 2 == 0 {\n        Some((sorted[mid - 1] + sorted[mid]) / 2.0)\n    } else {\n        Some(sorted[mid])\n    }\n"}),
                        ),
                        call(
                            "edit_file",
                            json!({"path": "src/stats.rs",
                    "old_string": "    #[test]\n    fn median_odd_and_even() {",
                    "new_string": "    #[test]\n    fn median_sorts_its_input() {\n        assert_eq!(median(&[9.0, 1.0, 5.0]), Some(5.0));\n        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));\n    }\n\n    #[test]\n    fn median_odd_and_even() {"}),
                        ),
                    ],
                ),
                turn(
                    "Checking the tests and the contract's command.",
                    vec![cargo_test(), call("run_command", json!({"command": A2}))],
                ),
                turn(
                    "Fixed.",
                    vec![handoff(
                        "median() now sorts a copy of its input with f64::total_cmp before taking the middle value(s). Added the regression test median_sorts_its_input with unsorted odd and even inputs; cargo test and the a2 check pass.",
                        &[],
                    )],
                ),
            ],
        ),
        entry(
            "worker",
            "Feature m2-f1:",
            vec![
                turn(
                    "Reading main.rs.",
                    vec![call("read_file", json!({"path": "src/main.rs"}))],
                ),
                turn(
                    "Adding the --json flag.",
                    vec![call(
                        "write_file",
                        json!({"path": "src/main.rs", "content": MAIN_JSON}),
                    )],
                ),
                turn(
                    "Trying both a list and empty input, then the tests.",
                    vec![
                        call(
                            "run_command",
                            json!({"command": "printf '1 2\\n' | cargo run -q -- --json"}),
                        ),
                        call(
                            "run_command",
                            json!({"command": "printf '' | cargo run -q -- --json"}),
                        ),
                        cargo_test(),
                    ],
                ),
                turn(
                    "Done.",
                    vec![handoff(
                        "--json prints {\"count\":N,\"mean\":M,\"median\":D} on one line; mean and median are null when there are no numbers. Any other argument is refused with an error.",
                        &[],
                    )],
                ),
            ],
        ),
        entry(
            "worker",
            "Feature m2-f2:",
            vec![
                turn(
                    "First I'll confirm that the contract's check fails today.",
                    vec![a4_check.clone()],
                ),
                turn(
                    "It fails (exit code 1). Making bad input and bad usage exit 2.",
                    vec![call(
                        "write_file",
                        json!({"path": "src/main.rs", "content": MAIN_ERRORS}),
                    )],
                ),
                turn("Checking again.", vec![a4_check, cargo_test()]),
                turn(
                    "Passes now.",
                    vec![handoff(
                        "Bad input and unknown options now exit with code 2 (EXIT_BAD_INPUT) instead of 1; the message names the line and the token, e.g. `error: line 2: \"abc\" is not a number`.",
                        &[],
                    )],
                ),
            ],
        ),
        entry(
            "worker",
            "Feature m2-f3:",
            vec![
                turn(
                    "Reading main.rs.",
                    vec![call("read_file", json!({"path": "src/main.rs"}))],
                ),
                turn(
                    "Adding a usage text and the --help/-h flags.",
                    vec![
                        call(
                            "edit_file",
                            json!({"path": "src/main.rs",
                    "old_string": "const EXIT_BAD_INPUT: u8 = 2;\n",
                    "new_string": "const EXIT_BAD_INPUT: u8 = 2;\n\nconst USAGE: &str = \"Usage: numstat [--json] < numbers.txt\n\nReads whitespace-separated numbers from standard input and prints their\ncount, mean and median. Bad input exits with code 2.\";\n"}),
                        ),
                        call(
                            "edit_file",
                            json!({"path": "src/main.rs",
                    "old_string": "        Some(\"--json\") => true,\n",
                    "new_string": "        Some(\"--json\") => true,\n        Some(\"--help\" | \"-h\") => {\n            println!(\"{USAGE}\");\n            return ExitCode::SUCCESS;\n        }\n"}),
                        ),
                    ],
                ),
                turn(
                    "Trying it.",
                    vec![
                        call("run_command", json!({"command": "cargo run -q -- --help"})),
                        cargo_test(),
                    ],
                ),
                turn(
                    "Done.",
                    vec![handoff(
                        "--help and -h print a usage text that starts with `Usage: numstat` and exit 0.",
                        &[],
                    )],
                ),
            ],
        ),
    ];
    entries.extend(validators());
    json!({ "entries": entries })
}
