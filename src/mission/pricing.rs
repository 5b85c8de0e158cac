//! What tokens cost: a built-in table of common models (USD per million tokens), matched
//! by the longest model-name prefix, overridable per model in `[prices."<model>"]`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Usage;

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    #[serde(default)]
    pub cache_read_per_mtok: Option<f64>,
    #[serde(default)]
    pub cache_write_per_mtok: Option<f64>,
}

const fn p(input: f64, output: f64, cache_read: f64, cache_write: f64) -> Price {
    Price {
        input_per_mtok: input,
        output_per_mtok: output,
        cache_read_per_mtok: Some(cache_read),
        cache_write_per_mtok: Some(cache_write),
    }
}

/// List prices as published by the vendors (late 2025); override them in config.
const TABLE: &[(&str, Price)] = &[
    ("claude-opus-4-5", p(5.0, 25.0, 0.5, 6.25)),
    ("claude-opus-4", p(15.0, 75.0, 1.5, 18.75)),
    ("claude-sonnet-4", p(3.0, 15.0, 0.3, 3.75)),
    ("claude-3-7-sonnet", p(3.0, 15.0, 0.3, 3.75)),
    ("claude-haiku-4-5", p(1.0, 5.0, 0.1, 1.25)),
    ("claude-3-5-haiku", p(0.8, 4.0, 0.08, 1.0)),
    ("gpt-5-nano", p(0.05, 0.4, 0.005, 0.0)),
    ("gpt-5-mini", p(0.25, 2.0, 0.025, 0.0)),
    ("gpt-5", p(1.25, 10.0, 0.125, 0.0)),
    ("gpt-4.1-nano", p(0.1, 0.4, 0.025, 0.0)),
    ("gpt-4.1-mini", p(0.4, 1.6, 0.1, 0.0)),
    ("gpt-4.1", p(2.0, 8.0, 0.5, 0.0)),
    ("gpt-4o-mini", p(0.15, 0.6, 0.075, 0.0)),
    ("gpt-4o", p(2.5, 10.0, 1.25, 0.0)),
    ("o4-mini", p(1.1, 4.4, 0.275, 0.0)),
    ("o3", p(2.0, 8.0, 0.5, 0.0)),
];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prices {
    overrides: BTreeMap<String, Price>,
}

impl Prices {
    pub fn new(overrides: BTreeMap<String, Price>) -> Self {
        Prices { overrides }
    }

    /// The price of `model`: an exact override, else the longest matching prefix of the
    /// table (a vendor prefix like `anthropic/` is looked through).
    pub fn of(&self, model: &str) -> Option<Price> {
        if let Some(p) = self.overrides.get(model) {
            return Some(*p);
        }
        let bare = model.rsplit('/').next().unwrap_or(model);
        TABLE
            .iter()
            .filter(|(prefix, _)| bare.starts_with(prefix))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, p)| *p)
    }

    /// Fills `usage.cost_usd`. `fresh_in` is input tokens not read from or written to a
    /// cache.
    pub fn cost(&self, model: &str, usage: &Usage) -> f64 {
        let Some(p) = self.of(model) else { return 0.0 };
        let fresh_in = usage
            .tokens_in
            .saturating_sub(usage.cache_read_tokens + usage.cache_write_tokens);
        let per = |tokens: u64, price: f64| tokens as f64 * price / 1e6;
        per(fresh_in, p.input_per_mtok)
            + per(usage.tokens_out, p.output_per_mtok)
            + per(
                usage.cache_read_tokens,
                p.cache_read_per_mtok.unwrap_or(p.input_per_mtok),
            )
            + per(
                usage.cache_write_tokens,
                p.cache_write_per_mtok.unwrap_or(p.input_per_mtok),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_and_overrides_win_over_the_table() {
        let prices = Prices::default();
        assert_eq!(
            prices.of("gpt-5-mini-2025-08-07").unwrap().input_per_mtok,
            0.25
        );
        assert_eq!(prices.of("gpt-5").unwrap().input_per_mtok, 1.25);
        assert_eq!(
            prices
                .of("anthropic/claude-sonnet-4-5")
                .unwrap()
                .output_per_mtok,
            15.0
        );
        assert_eq!(
            prices
                .of("claude-opus-4-5-20251101")
                .unwrap()
                .input_per_mtok,
            5.0
        );
        assert_eq!(prices.of("llama3"), None);
        let custom = Prices::new([("llama3".to_string(), p(1.0, 2.0, 0.0, 0.0))].into());
        assert_eq!(custom.of("llama3").unwrap().output_per_mtok, 2.0);
    }

    #[test]
    fn cache_tokens_are_priced_apart() {
        let prices = Prices::default();
        let u = Usage {
            tokens_in: 1_000_000 + 2_000_000,
            tokens_out: 100_000,
            cost_usd: 0.0,
            cache_read_tokens: 2_000_000,
            cache_write_tokens: 0,
        };
        // 1M fresh × $3 + 2M cached × $0.30 + 0.1M out × $15
        let c = prices.cost("claude-sonnet-4-5", &u);
        assert!((c - (3.0 + 0.6 + 1.5)).abs() < 1e-9, "{c}");
        assert_eq!(prices.cost("unknown-model", &u), 0.0);
    }
}
