use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse_str(Path::new("m.toml"), text)
}

#[test]
fn validators_borrow_a_real_orchestrator_model_but_not_a_script() {
    let real = parse(
        "[roles.orchestrator]\nprovider = \"anthropic\"\nmodel = \"big\"\n\
         [roles.worker]\nprovider = \"openai\"\nmodel = \"small\"\n\
         [roles.user_tester]\nprovider = \"openai\"\nmodel = \"qa\"\n",
    )
    .unwrap();
    assert_eq!(real.role(Role::Reviewer).unwrap().model, "big");
    assert_eq!(real.role(Role::UserTester).unwrap().model, "qa");
    assert!(!real.role_is_configured(Role::Reviewer));
    assert!(real.role_is_configured(Role::UserTester));
    let scripted = parse(
        "[roles.orchestrator]\nprovider = \"scripted\"\nmodel = \"o\"\n\
         [roles.worker]\nprovider = \"scripted\"\nmodel = \"w\"\n",
    )
    .unwrap();
    assert!(scripted.role(Role::Reviewer).is_none());
    assert!(scripted.role(Role::UserTester).is_none());
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let e = parse("[validation]\ncommands = []\nmax_fix_round = 2\n").unwrap_err();
    assert_eq!((e.line, e.key.as_str()), (3, "max_fix_round"), "{e}");
    assert!(e.to_string().starts_with("m.toml:3:"), "{e}");
}

#[test]
fn bad_value_names_the_key() {
    let e = parse("[validation]\nmax_fix_rounds = \"three\"\n").unwrap_err();
    assert_eq!((e.line, e.key.as_str()), (2, "max_fix_rounds"), "{e}");
}

#[test]
fn unknown_provider_is_located() {
    let e = parse("[roles.worker]\nprovider = \"nope\"\nmodel = \"x\"\n").unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("unknown provider `nope`"), "{e}");
}

#[test]
fn negative_budget_is_refused() {
    let e = parse("[budget]\nmax_cost_usd = -1.0\n").unwrap_err();
    assert_eq!((e.line, e.key.as_str()), (2, "budget.max_cost_usd"), "{e}");
}

#[test]
fn defaults_and_merge() {
    let c = parse("").unwrap();
    assert_eq!(c.validation.max_fix_rounds, 3);
    assert!(c.gates.approve_plan);
    let mut a: toml::Table =
        toml::from_str("[validation]\nmax_fix_rounds = 1\ncommands = [\"a\"]").unwrap();
    let b: toml::Table = toml::from_str("[validation]\nmax_fix_rounds = 5").unwrap();
    merge(&mut a, b);
    let c: Config = a.try_into().unwrap();
    assert_eq!(c.validation.max_fix_rounds, 5);
    assert_eq!(c.validation.commands, vec!["a".to_string()]);
}

#[test]
fn the_init_template_parses() {
    parse(TEMPLATE).unwrap();
}

#[test]
fn key_overrides_and_mcp_servers_are_checked_with_their_line() {
    let ok = parse("[keys]\napprove = \"A\"\nquit = \"q C-c\"\n").unwrap();
    assert_eq!(ok.keys["approve"], "A");
    let e = parse("[keys]\napprove = \"A\"\nlaunch = \"x\"\n").unwrap_err();
    assert_eq!((e.line, e.key.as_str()), (3, "keys.launch"), "{e}");
    assert!(e.to_string().contains("no such action"), "{e}");
    let e = parse("[keys]\napprove = \"p\"\n").unwrap_err();
    assert!(e.to_string().contains("bound to both"), "{e}");
    let e = parse("[mcp.servers.docs]\nurl = \"ftp://x\"\n").unwrap_err();
    assert_eq!((e.line, e.key.as_str()), (2, "mcp.servers.docs.url"), "{e}");
    let e = parse("[mcp.servers.docs]\nroles = [\"worker\"]\n").unwrap_err();
    assert!(e.to_string().contains("needs `command"), "{e}");
    let e = parse("[mcp.servers.a__b]\ncommand = [\"x\"]\n").unwrap_err();
    assert!(e.to_string().contains("server name"), "{e}");
}

/// A console attached from a fresh SSH login has no provider keys: it still gets the
/// repo's `[keys]`, `[notify]` and `[hooks]`; a runner would be refused.
#[test]
fn a_console_loads_the_config_without_the_keys() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("mission.toml");
    std::fs::write(
        &file,
        "[roles.orchestrator]\nprovider = \"anthropic\"\nmodel = \"claude\"\n\n\
         [providers.anthropic]\nkind = \"anthropic\"\napi_key_env = \"MISSION_TEST_NO_SUCH_KEY\"\n\n\
         [keys]\napprove = \"A\"\n\n[hooks]\ngate = [\"true\"]\n",
    )
    .unwrap();
    let e = Config::load(&file).unwrap_err();
    assert!(e.to_string().contains("MISSION_TEST_NO_SUCH_KEY"), "{e}");
    let c = Config::load_for_console(&file).unwrap();
    assert_eq!(c.keys["approve"], "A");
    assert_eq!(c.hooks.gate, ["true"]);
}

#[test]
fn the_templates_agent_examples_parse_when_uncommented() {
    // The commented [agents] block of `mission init`, as a user would uncomment it.
    let start = TEMPLATE.find("# [roles.worker]\n# agent").unwrap();
    let end = TEMPLATE[start..].find("# Keys are read").unwrap() + start;
    let block: String = TEMPLATE[start..end]
        .lines()
        .filter(|l| {
            regex::Regex::new(r"^# (\[[a-z_.]+\]$|[a-z_]+ = )")
                .unwrap()
                .is_match(l)
        })
        .map(|l| format!("{}\n", &l[2..]))
        .collect();
    let c = parse(&format!(
        "[roles.orchestrator]\nprovider = \"anthropic\"\nmodel = \"m\"\n{block}"
    ))
    .unwrap_or_else(|e| panic!("{e}\n{block}"));
    assert_eq!(
        c.roles.worker.as_ref().unwrap().agent.as_deref(),
        Some("codex")
    );
    assert_eq!(c.agents["claude"].env_pass, ["ANTHROPIC_API_KEY"]);
    assert_eq!(c.agents["codex"].command, ["codex-acp"]);
    // What an agent gets by name is never a command's.
    assert!(
        c.secret_env_names()
            .contains(&"ANTHROPIC_API_KEY".to_string())
    );
}
