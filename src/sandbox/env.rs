//! The environment a confined process gets: an allowlist, not a blocklist of
//! secret-looking names.

/// Variables a command sees, when set in the runner's environment: what shells, locales
/// and toolchains need. Everything else — API keys, tokens, database URLs under any name —
/// stays out unless `[sandbox] env_pass` names it.
pub const ENV_ALLOWED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "GOPATH",
    "GOROOT",
    "GOCACHE",
    "GOMODCACHE",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYENV_ROOT",
    "NVM_DIR",
    "JAVA_HOME",
    "GRADLE_USER_HOME",
    "PKG_CONFIG_PATH",
    "XDG_CACHE_HOME",
];

/// The locale categories of POSIX and glibc: named one by one, because a prefix would let
/// any `LC_ANYTHING=secret` through.
pub const LOCALE_VARS: &[&str] = &[
    "LC_ALL",
    "LC_CTYPE",
    "LC_COLLATE",
    "LC_MESSAGES",
    "LC_MONETARY",
    "LC_NUMERIC",
    "LC_TIME",
    "LC_PAPER",
    "LC_NAME",
    "LC_ADDRESS",
    "LC_TELEPHONE",
    "LC_MEASUREMENT",
    "LC_IDENTIFICATION",
];

/// Is `name` passed to commands (allowlist, locale categories, or `[sandbox] env_pass`)?
pub fn env_allowed(name: &str, pass: &[String]) -> bool {
    ENV_ALLOWED.contains(&name) || LOCALE_VARS.contains(&name) || pass.iter().any(|p| p == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_categories_pass_by_name_never_by_prefix() {
        assert!(env_allowed("LC_ALL", &[]));
        assert!(env_allowed("LC_CTYPE", &[]));
        assert!(!env_allowed("LC_ANYTHING", &[]));
        assert!(!env_allowed("LC_SECRET_TOKEN", &[]));
        assert!(env_allowed("LC_SECRET_TOKEN", &["LC_SECRET_TOKEN".into()]));
        assert!(!env_allowed("OPENAI_API_KEY", &[]));
    }
}
