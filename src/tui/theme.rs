//! Themes are data: `themes/*.toml` embedded in the binary, a user's file read over them.
//! Widgets ask for semantic styles (`theme.failed`), never raw colours.

pub mod depth;

use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const EMBEDDED: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast-light",
        include_str!("../../themes/high-contrast-light.toml"),
    ),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
}

macro_rules! theme {
    ($($name:ident),* $(,)?) => {
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Specs { $(#[serde(default)] $name: StyleSpec,)* }

        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme { $(pub $name: Style,)* }

        impl Theme {
            fn from_specs(s: &Specs, color: bool) -> Result<Theme, String> {
                Ok(Theme { $($name: s.$name.style(color).map_err(|e| format!("{}: {e}", stringify!($name)))?,)* })
            }

            /// The theme with every colour the terminal cannot show replaced by its
            /// nearest one it can (`#rrggbb` on a 256- or 16-colour terminal).
            pub fn for_terminal(mut self, depth: depth::Depth) -> Theme {
                $(
                    self.$name.fg = self.$name.fg.map(|c| depth.fit(c));
                    self.$name.bg = self.$name.bg.map(|c| depth.fit(c));
                )*
                self
            }
        }
    };
}

theme!(
    text,
    dim,
    title,
    border,
    border_focus,
    selected,
    tab_active,
    key,
    pending,
    running,
    validating,
    done,
    failed,
    corrective,
    ok,
    warn,
    danger,
    diff_add,
    diff_del,
    diff_hunk,
    overlay,
);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    styles: Specs,
}

impl StyleSpec {
    fn style(&self, color: bool) -> Result<Style, String> {
        let mut s = Style::default();
        if color {
            if let Some(fg) = &self.fg {
                s = s.fg(Color::from_str(fg).map_err(|_| format!("unknown colour `{fg}`"))?);
            }
            if let Some(bg) = &self.bg {
                s = s.bg(Color::from_str(bg).map_err(|_| format!("unknown colour `{bg}`"))?);
            }
        }
        for (on, m) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            // Without colour, a selection must still show: reverse it.
            (
                self.reversed || (!color && self.bg.is_some()),
                Modifier::REVERSED,
            ),
        ] {
            if on {
                s = s.add_modifier(m);
            }
        }
        Ok(s)
    }
}

impl Theme {
    pub fn names() -> Vec<&'static str> {
        EMBEDDED.iter().map(|(n, _)| *n).collect()
    }

    /// A theme by name (embedded, or `$XDG_CONFIG_HOME/mission/themes/<name>.toml`) or by
    /// path. `color = false` (NO_COLOR) keeps only modifiers.
    pub fn load(name_or_path: &str, color: bool) -> Result<Theme, String> {
        Self::load_from(name_or_path, color, None)
    }

    /// `load`, also looking for `<name>.toml` in `user_themes` (the user's config dir).
    pub fn load_from(
        name_or_path: &str,
        color: bool,
        user_themes: Option<&Path>,
    ) -> Result<Theme, String> {
        if let Some((_, text)) = EMBEDDED.iter().find(|(n, _)| *n == name_or_path) {
            return Self::parse(text, color).map_err(|e| format!("theme {name_or_path}: {e}"));
        }
        let user = user_themes.map(|d| d.join(format!("{name_or_path}.toml")));
        let path = match user {
            Some(p) if p.exists() => p,
            _ => Path::new(name_or_path).to_path_buf(),
        };
        let text = std::fs::read_to_string(&path).map_err(|_| {
            format!(
                "no theme `{name_or_path}`: use one of {} or a path to a .toml file",
                Self::names().join(", ")
            )
        })?;
        Self::parse(&text, color).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn parse(text: &str, color: bool) -> Result<Theme, String> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| e.to_string())?;
        Theme::from_specs(&file.styles, color)
    }

    /// `NO_COLOR` set and non-empty means no colour (https://no-color.org).
    pub fn color_allowed() -> bool {
        std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_theme_loads_with_and_without_colour() {
        for name in Theme::names() {
            let t = Theme::load(name, true).unwrap();
            assert_ne!(t.failed, Style::default(), "{name}");
            let plain = Theme::load(name, false).unwrap();
            assert_eq!(plain.failed.fg, None, "{name}: NO_COLOR strips colours");
            assert!(
                plain.selected.add_modifier.contains(Modifier::REVERSED),
                "{name}: selection still visible"
            );
        }
    }

    #[test]
    fn a_bad_theme_says_what_is_wrong() {
        let e = Theme::parse("[styles]\nfailed = { fg = \"purpleish\" }\n", true).unwrap_err();
        assert!(e.contains("failed: unknown colour `purpleish`"), "{e}");
        let e = Theme::load("nope-not-a-theme", true).unwrap_err();
        assert!(
            e.contains("dark, light, high-contrast-light, high-contrast"),
            "{e}"
        );
    }
}
