//! Every integration test in one binary (linking one test binary per file costs CI
//! minutes on 2 cores; codex-rs keeps one per crate). Each file is a suite; `common`
//! runs the real binary in isolation. The console's snapshot tests stay in
//! `tests/tui_snapshots.rs` (their snapshot names follow that file).

mod common;

mod acp;
mod acp_real;
mod architecture;
mod bench_command;
mod cli_errors;
mod console_pty;
mod contract;
mod demo;
mod deploy;
mod docs_commands;
mod eval;
mod fleet;
mod gates;
mod healing;
mod hostile;
mod isolation;
mod log_props;
mod mcp;
mod providers;
mod real_models;
mod reasoning;
mod reliability;
mod resume;
mod sandbox;
mod screenshots;
