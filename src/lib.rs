//! `mission`: runs a long, autonomous, multi-agent coding mission on a git repository
//! and lets one developer supervise it from a terminal.

pub mod agent;
pub mod bench;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod control;
pub mod demo;
pub mod eval;
pub mod failpoint;
pub mod fleet;
pub mod git;
pub mod hub;
pub mod keys;
pub mod layout;
pub mod link;
pub mod llm;
pub mod logging;
pub mod mission;
pub mod notify;
pub mod pipeline;
pub mod sandbox;
pub mod store;
pub mod tui;
pub mod watch;
pub mod worktree;
