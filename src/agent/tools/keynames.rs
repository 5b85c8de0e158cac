//! Key names for `send_keys`, in any common spelling: `<C-c>`, `<ctrl+c>`, `<Ctrl-C>`,
//! `<S-Tab>`, `<C-Left>`, `<PageDown>`, `<Page Down>`, `<M-x>`, `<Alt+Enter>`… are turned
//! into the bytes an xterm sends. A `<…>` that is not a key is an error listing the names,
//! never typed literally (a literal `<` is `<lt>`).

/// The named keys, for error messages and the tool's description.
pub const KEY_NAMES: &str = "<Enter>/<Return>, <Esc>/<Escape>, <Tab>, <BS>/<Backspace>, <Del>/<Delete>, <Insert>, <Space>, <Up> <Down> <Left> <Right>, <Home> <End>, <PageUp>/<PgUp>, <PageDown>/<PgDn>, <F1>…<F12>, <lt> (a literal <); modifiers before a key, joined by - or +: C-/Ctrl-, S-/Shift-, M-/Alt-/Meta- (e.g. <C-c>, <ctrl+c>, <S-Tab>, <C-Left>, <Alt+Enter>, <Page Down>)";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Mods {
    ctrl: bool,
    shift: bool,
    alt: bool,
}

impl Mods {
    /// The xterm modifier parameter (`1 + shift + 2·alt + 4·ctrl`), `None` without any.
    fn param(self) -> Option<u8> {
        let m = u8::from(self.shift) + 2 * u8::from(self.alt) + 4 * u8::from(self.ctrl);
        (m > 0).then_some(m + 1)
    }
}

/// Splits `Ctrl+Shift-Left` into its modifiers and its key.
fn split(name: &str) -> Option<(Mods, String)> {
    let name = name.trim();
    let sep = |c: char| c == '-' || c == '+';
    // A key that is itself `-` or `+` (`<C-->`, `<Alt++>`).
    let (mods_part, key) = match name.char_indices().rev().nth(1) {
        Some((i, c)) if sep(c) && name.ends_with(sep) && i > 0 => (&name[..i], &name[i + 1..]),
        _ => match name.rfind(sep) {
            Some(i) if i + 1 < name.len() => (&name[..i], &name[i + 1..]),
            _ => ("", name),
        },
    };
    let mut mods = Mods::default();
    for m in mods_part.split(sep).filter(|m| !m.is_empty()) {
        match m.trim().to_ascii_lowercase().as_str() {
            "c" | "ctrl" | "control" | "ctl" => mods.ctrl = true,
            "s" | "shift" => mods.shift = true,
            "m" | "a" | "alt" | "meta" | "opt" | "option" => mods.alt = true,
            _ => return None,
        }
    }
    Some((mods, key.to_string()))
}

/// The bytes of one named key; `app_cursor` is the application cursor mode that less and
/// vim switch on (unmodified arrows then send `ESC O A`).
pub fn named_key(name: &str, app_cursor: bool) -> Option<Vec<u8>> {
    let (mods, key) = split(name)?;
    let flat: String = key
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    let esc = |mut v: Vec<u8>| {
        if mods.alt {
            v.insert(0, 0x1b);
        }
        v
    };
    // Cursor-style keys: `ESC [ X`, or `ESC [ 1 ; m X` with modifiers.
    let cursor = |c: u8| match mods.param() {
        Some(m) => format!("\x1b[1;{m}{}", c as char).into_bytes(),
        None if app_cursor => vec![0x1b, b'O', c],
        None => vec![0x1b, b'[', c],
    };
    let ss3 = |c: u8| match mods.param() {
        Some(m) => format!("\x1b[1;{m}{}", c as char).into_bytes(),
        None => vec![0x1b, b'O', c],
    };
    let tilde = |n: &str| match mods.param() {
        Some(m) => format!("\x1b[{n};{m}~").into_bytes(),
        None => format!("\x1b[{n}~").into_bytes(),
    };
    let bytes = match flat.as_str() {
        "enter" | "return" | "cr" => esc(b"\r".to_vec()),
        "tab" if mods.shift => b"\x1b[Z".to_vec(),
        "tab" => esc(b"\t".to_vec()),
        "esc" | "escape" => esc(b"\x1b".to_vec()),
        "bs" | "backspace" if mods.ctrl => esc(b"\x08".to_vec()),
        "bs" | "backspace" => esc(b"\x7f".to_vec()),
        "space" if mods.ctrl => esc(vec![0]),
        "space" => esc(b" ".to_vec()),
        "lt" if mods == Mods::default() => b"<".to_vec(),
        "del" | "delete" => tilde("3"),
        "insert" | "ins" => tilde("2"),
        "pageup" | "pgup" => tilde("5"),
        "pagedown" | "pgdn" => tilde("6"),
        "up" => cursor(b'A'),
        "down" => cursor(b'B'),
        "right" => cursor(b'C'),
        "left" => cursor(b'D'),
        "home" => cursor(b'H'),
        "end" => cursor(b'F'),
        "f1" => ss3(b'P'),
        "f2" => ss3(b'Q'),
        "f3" => ss3(b'R'),
        "f4" => ss3(b'S'),
        "f5" => tilde("15"),
        "f6" => tilde("17"),
        "f7" => tilde("18"),
        "f8" => tilde("19"),
        "f9" => tilde("20"),
        "f10" => tilde("21"),
        "f11" => tilde("23"),
        "f12" => tilde("24"),
        _ => {
            // One character with modifiers (`C-c`, `M-x`, `S-a`); its case is kept
            // unless Ctrl folds it or Shift raises it.
            let mut chars = key.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return None;
            };
            if mods == Mods::default() {
                return None; // `<x>` alone is no key name
            }
            let c = if mods.shift {
                c.to_ascii_uppercase()
            } else {
                c
            };
            if mods.ctrl {
                let b = u8::try_from(c.to_ascii_lowercase()).ok()?;
                let code = match b {
                    b'a'..=b'z' => b - b'a' + 1,
                    b'@' | b' ' | b'2' => 0,
                    b'[' | b'3' => 0x1b,
                    b'\\' | b'4' => 0x1c,
                    b']' | b'5' => 0x1d,
                    b'^' | b'6' => 0x1e,
                    b'_' | b'/' | b'7' => 0x1f,
                    b'?' | b'8' => 0x7f,
                    _ => return None,
                };
                esc(vec![code])
            } else {
                let mut buf = [0u8; 4];
                esc(c.encode_utf8(&mut buf).as_bytes().to_vec())
            }
        }
    };
    Some(bytes)
}

/// `<Enter>`, `<Up>`, `<ctrl+c>`… become the bytes a terminal sends; the rest is literal.
/// An unknown `<Name>` is an error listing the known ones, and nothing is typed.
pub fn key_bytes(keys: &str, app_cursor: bool) -> Result<Vec<u8>, String> {
    static NAMED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^<([A-Za-z][^<>\n]{0,31})>").expect("a valid pattern")
    });
    let mut out = Vec::new();
    let mut rest = keys;
    while !rest.is_empty() {
        if let Some(m) = NAMED.captures(rest) {
            let name = &m[1];
            let bytes = named_key(name, app_cursor).ok_or_else(|| {
                format!("unknown key <{name}>; named keys are {KEY_NAMES}. Nothing was typed.")
            })?;
            out.extend(bytes);
            rest = &rest[m[0].len()..];
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        let mut buf = [0u8; 4];
        out.extend(c.encode_utf8(&mut buf).as_bytes());
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Vec<u8> {
        key_bytes(s, false).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn every_common_spelling_of_a_key_is_the_same_key() {
        for s in [
            "<C-c>",
            "<c-c>",
            "<ctrl+c>",
            "<Ctrl-C>",
            "<CTRL+c>",
            "<Control-c>",
        ] {
            assert_eq!(k(s), [3], "{s}");
        }
        for s in [
            "<PageDown>",
            "<Page Down>",
            "<page_down>",
            "<PgDn>",
            "<pagedown>",
        ] {
            assert_eq!(k(s), b"\x1b[6~", "{s}");
        }
        assert_eq!(k("<S-Tab>"), b"\x1b[Z");
        assert_eq!(k("<shift+tab>"), b"\x1b[Z");
        assert_eq!(k("<C-Left>"), b"\x1b[1;5D");
        assert_eq!(k("<ctrl+shift+right>"), b"\x1b[1;6C");
        assert_eq!(k("<M-x>"), b"\x1bx");
        assert_eq!(k("<Alt+Enter>"), b"\x1b\r");
        assert_eq!(k("<C-PageUp>"), b"\x1b[5;5~");
        assert_eq!(k("<S-F1>"), b"\x1b[1;2P");
        // `-` and `+` as keys themselves.
        assert_eq!(k("<M-->"), b"\x1b-");
        assert_eq!(k("<Alt++>"), b"\x1b+");
        assert!(
            key_bytes("<C-->", false).is_err(),
            "Ctrl with `-` has no code: refused"
        );
    }

    #[test]
    fn unknown_names_are_errors_and_text_stays_text() {
        for bad in ["<ctrl+cc>", "<Hyper-x>", "<PageSideways>", "<div>"] {
            let e = key_bytes(bad, false).unwrap_err();
            assert!(
                e.contains("unknown key") && e.contains("<S-Tab>"),
                "{bad}: {e}"
            );
        }
        assert_eq!(k("a<b and 1 < 2 <lt>x>"), b"a<b and 1 < 2 <x>");
        assert_eq!(k("ls<Enter>"), b"ls\r");
        assert_eq!(key_bytes("<Up>", true).unwrap(), b"\x1bOA");
        assert_eq!(key_bytes("<C-Up>", true).unwrap(), b"\x1b[1;5A");
    }
}
