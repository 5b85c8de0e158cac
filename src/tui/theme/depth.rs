//! How many colours the terminal shows, and the nearest colour it can show for one it
//! cannot: `#rrggbb` becomes an xterm-256 index, or one of the 16 ANSI colours.

use ratatui::style::Color;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    TrueColor,
    Indexed256,
    Ansi16,
}

impl Depth {
    /// From `COLORTERM` (truecolor, 24bit) and `TERM` (…-256color), as terminals say it.
    pub fn detect() -> Depth {
        Self::from_env(
            std::env::var("COLORTERM").ok().as_deref(),
            std::env::var("TERM").ok().as_deref(),
        )
    }

    pub fn from_env(colorterm: Option<&str>, term: Option<&str>) -> Depth {
        let colorterm = colorterm.unwrap_or("").to_ascii_lowercase();
        if colorterm == "truecolor" || colorterm == "24bit" {
            Depth::TrueColor
        } else if term.is_some_and(|t| t.contains("256color")) {
            Depth::Indexed256
        } else {
            Depth::Ansi16
        }
    }

    /// `c` as this terminal can show it.
    pub fn fit(self, c: Color) -> Color {
        match (self, c) {
            (Depth::TrueColor, c) => c,
            (Depth::Indexed256, Color::Rgb(r, g, b)) => Color::Indexed(xterm256(r, g, b)),
            (Depth::Ansi16, Color::Rgb(r, g, b)) => nearest16(r, g, b),
            (Depth::Ansi16, Color::Indexed(i)) if i >= 16 => {
                let (r, g, b) = rgb_of_index(i);
                nearest16(r, g, b)
            }
            (_, c) => c,
        }
    }
}

/// The xterm-256 index nearest to an RGB colour: the 6×6×6 cube or the grey ramp.
fn xterm256(r: u8, g: u8, b: u8) -> u8 {
    // The cube's levels are 0, 95, 135, 175, 215, 255: not evenly spaced.
    let level = |v: u8| {
        (0..6u8)
            .min_by_key(|&n| sq(v, if n == 0 { 0 } else { 55 + 40 * n }))
            .unwrap_or(0)
    };
    let cube = 16 + 36 * level(r) + 6 * level(g) + level(b);
    let avg = (r as u16 + g as u16 + b as u16) / 3;
    let grey = if avg < 8 {
        16
    } else if avg > 238 {
        231
    } else {
        232 + ((avg - 8) / 10).min(23) as u8
    };
    let dist = |i: u8| {
        let (x, y, z) = rgb_of_index(i);
        sq(r, x) + sq(g, y) + sq(b, z)
    };
    if dist(grey) < dist(cube) { grey } else { cube }
}

fn rgb_of_index(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI[i as usize].1,
        16..=231 => {
            let i = i - 16;
            let v = |n: u8| if n == 0 { 0 } else { 55 + 40 * n };
            (v(i / 36), v((i / 6) % 6), v(i % 6))
        }
        _ => {
            let g = 8 + 10 * (i - 232);
            (g, g, g)
        }
    }
}

fn sq(a: u8, b: u8) -> u32 {
    let d = a as i32 - b as i32;
    (d * d) as u32
}

/// xterm's default RGB for the 16 ANSI colours.
const ANSI: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

/// The nearest of the 16; a colour with a hue keeps one (dark green is green, not black).
fn nearest16(r: u8, g: u8, b: u8) -> Color {
    let spread = |(x, y, z): (u8, u8, u8)| x.max(y).max(z) - x.min(y).min(z);
    let chromatic = spread((r, g, b)) > 40;
    ANSI.iter()
        .filter(|(_, rgb)| !chromatic || spread(*rgb) > 40)
        .min_by_key(|(_, (x, y, z))| sq(r, *x) + sq(g, *y) + sq(b, *z))
        .map_or(Color::Reset, |(c, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_terminal_says_how_many_colours_and_rgb_falls_back() {
        assert_eq!(
            Depth::from_env(Some("truecolor"), Some("xterm")),
            Depth::TrueColor
        );
        assert_eq!(
            Depth::from_env(None, Some("screen-256color")),
            Depth::Indexed256
        );
        assert_eq!(Depth::from_env(None, Some("xterm")), Depth::Ansi16);
        let dark_green = Color::Rgb(0, 100, 0);
        assert_eq!(Depth::TrueColor.fit(dark_green), dark_green);
        assert_eq!(Depth::Indexed256.fit(dark_green), Color::Indexed(22));
        assert_eq!(
            Depth::Ansi16.fit(dark_green),
            Color::Green,
            "a hue stays a hue"
        );
        assert_eq!(Depth::Ansi16.fit(Color::Rgb(184, 134, 11)), Color::Yellow);
        assert_eq!(
            Depth::Indexed256.fit(Color::Rgb(128, 128, 128)),
            Color::Indexed(244)
        );
        assert_eq!(Depth::Ansi16.fit(Color::Rgb(250, 10, 10)), Color::LightRed);
        assert_eq!(Depth::Ansi16.fit(Color::Red), Color::Red, "names stay");
    }
}
