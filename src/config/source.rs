//! Reading config files and locating a key in them for error messages.

use super::*;

pub(super) fn read_source(path: &Path) -> Result<Option<Source>, ConfigError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError {
                file: path.into(),
                line: 0,
                column: 0,
                key: String::new(),
                message: format!("cannot read: {e}"),
            });
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = std::str::from_utf8(&e.as_bytes()[..e.utf8_error().valid_up_to()])
                .unwrap_or_default();
            let (line, column, key) = position(valid, valid.len());
            return Err(ConfigError {
                file: path.into(),
                line,
                column,
                key,
                message: "not UTF-8 text (is this a TOML file?)".into(),
            });
        }
    };
    parse_source(path, &text).map(Some)
}

pub(super) fn parse_source(path: &Path, text: &str) -> Result<Source, ConfigError> {
    let spanned = |e: toml::de::Error| {
        let (line, column, key) = match e.span() {
            Some(span) => position(text, span.start),
            None => (0, 0, String::new()),
        };
        ConfigError {
            file: path.into(),
            line,
            column,
            key,
            message: e.message().trim().to_string(),
        }
    };
    let table: toml::Table = toml::from_str(text).map_err(spanned)?;
    // Checked per file so an error points into the file that holds it.
    let _: Config = toml::from_str(text).map_err(spanned)?;
    Ok(Source {
        path: path.into(),
        text: text.to_string(),
        table,
    })
}

/// 1-based line and column of a byte offset, and the key written on that line.
pub(super) fn position(text: &str, offset: usize) -> (usize, usize, String) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let line_text = text[line_start..].lines().next().unwrap_or("");
    let key = match line_text.split_once('=') {
        Some((k, _)) => k.trim().to_string(),
        None => line_text.trim().trim_matches(['[', ']']).to_string(),
    };
    (line, column, key)
}

/// Finds `key` inside `[table]` in the last source that sets it.
pub(super) fn locate(sources: &[Source], table: &str, key: &str, message: String) -> ConfigError {
    for s in sources.iter().rev() {
        let mut current = String::new();
        for (i, l) in s.text.lines().enumerate() {
            let t = l.trim();
            if t.starts_with('[') {
                current = t.trim_matches(['[', ']']).trim().to_string();
                continue;
            }
            let hit = current == table
                && t.strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='));
            if hit {
                return ConfigError {
                    file: s.path.clone(),
                    line: i + 1,
                    column: l.len() - l.trim_start().len() + 1,
                    key: format!("{table}.{key}"),
                    message,
                };
            }
        }
    }
    // A key that is missing: point at its table's header.
    for s in sources.iter().rev() {
        for (i, l) in s.text.lines().enumerate() {
            let t = l.trim();
            if t.starts_with('[') && t.trim_matches(['[', ']']).trim() == table {
                return ConfigError {
                    file: s.path.clone(),
                    line: i + 1,
                    column: l.len() - t.len() + 1,
                    key: format!("{table}.{key}"),
                    message,
                };
            }
        }
    }
    ConfigError {
        file: sources.last().map(|s| s.path.clone()).unwrap_or_default(),
        line: 0,
        column: 0,
        key: format!("{table}.{key}"),
        message,
    }
}

pub(super) fn merge(into: &mut toml::Table, from: toml::Table) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}
