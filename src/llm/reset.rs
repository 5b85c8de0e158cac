//! When a provider's rate or usage limit resets, from whatever it says: headers of either
//! API, or the words of its error message.

use std::time::Duration;

use reqwest::header::HeaderMap;

/// How long a rate or usage limit says to wait, from every hint a provider gives: the
/// `retry-after` header (seconds or an HTTP date), Anthropic's
/// `anthropic-ratelimit-*-reset` (RFC 3339), OpenAI's `x-ratelimit-reset-*` (`1m30s`,
/// `250ms`) and a message with "resets at <time>" or "try again in <duration>". The
/// longest hint wins: every limit must have reset.
pub fn reset_wait(h: Option<&HeaderMap>, body: &str, now: jiff::Timestamp) -> Option<Duration> {
    let mut waits: Vec<Duration> = vec![];
    let until = |t: jiff::Timestamp| {
        let ms = t.as_millisecond() - now.as_millisecond();
        Duration::from_millis(ms.max(0) as u64)
    };
    if let Some(h) = h {
        for (name, value) in h {
            let Ok(v) = value.to_str() else { continue };
            let v = v.trim();
            let name = name.as_str();
            if name == "retry-after" {
                if let Ok(secs) = v.parse::<f64>() {
                    if secs.is_finite() && secs >= 0.0 {
                        waits.push(Duration::from_secs_f64(secs));
                    }
                } else if let Ok(t) = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(v) {
                    waits.push(until(t));
                }
            } else if name.starts_with("anthropic-ratelimit-") && name.ends_with("-reset") {
                if let Ok(t) = v.parse::<jiff::Timestamp>() {
                    waits.push(until(t));
                }
            } else if name.starts_with("x-ratelimit-reset")
                && let Some(d) = go_duration(v)
            {
                waits.push(d);
            }
        }
    }
    let lower = body.to_ascii_lowercase();
    if let Some(i) = lower.find("resets at ").or_else(|| lower.find("reset at ")) {
        let rest = &body[i..];
        let rest = rest.split_once(" at ").map_or("", |(_, r)| r);
        let word: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != ',' && *c != ')' && *c != '"')
            .collect();
        let word = word.trim_end_matches('.');
        if let Ok(t) = word.parse::<jiff::Timestamp>() {
            waits.push(until(t));
        } else if let Ok(secs) = word.parse::<i64>()
            && let Ok(t) = jiff::Timestamp::from_second(secs)
        {
            waits.push(until(t));
        }
    }
    if let Some(i) = lower.find("try again in ") {
        let rest = &lower[i + "try again in ".len()..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        if let Some(d) = go_duration(word.trim_end_matches('.')) {
            waits.push(d);
        }
    }
    waits.into_iter().max()
}

/// The wait a 429 asks for: `retry-after` when the provider gives it (its own answer for
/// this request), else the longest of the other hints.
pub(super) fn limit_wait(h: &HeaderMap, body: &str, now: jiff::Timestamp) -> Option<Duration> {
    match h.get("retry-after") {
        Some(_) => {
            let mut only = HeaderMap::new();
            if let Some(v) = h.get("retry-after") {
                only.insert("retry-after", v.clone());
            }
            reset_wait(Some(&only), "", now)
        }
        None => reset_wait(Some(h), body, now),
    }
}

/// `1h2m3.5s`, `250ms`, `30s`, `6m0s`, or plain seconds.
fn go_duration(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = v.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += n * unit;
        any = true;
    }
    (any && num.is_empty()).then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reset_hint_is_read_and_the_longest_wins() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset-requests", "1m30s".parse().unwrap());
        h.insert("x-ratelimit-reset-tokens", "250ms".parse().unwrap());
        assert_eq!(reset_wait(Some(&h), "", now), Some(Duration::from_secs(90)));
        let mut a = HeaderMap::new();
        let later = now + jiff::SignedDuration::from_secs(7200);
        a.insert(
            "anthropic-ratelimit-tokens-reset",
            later.to_string().parse().unwrap(),
        );
        a.insert("retry-after", "30".parse().unwrap());
        assert_eq!(
            reset_wait(Some(&a), "", now),
            Some(Duration::from_secs(7200))
        );
        let body = format!(
            r#"{{"error": {{"message": "Usage limit reached. Your limit resets at {}."}}}}"#,
            now + jiff::SignedDuration::from_secs(600)
        );
        assert_eq!(reset_wait(None, &body, now), Some(Duration::from_secs(600)));
        let unix = format!("usage limit reached|resets at {}", 1_800_000_060);
        assert_eq!(reset_wait(None, &unix, now), Some(Duration::from_secs(60)));
        assert_eq!(
            reset_wait(None, "Rate limit exceeded. Please try again in 6m0s.", now),
            Some(Duration::from_secs(360))
        );
        assert_eq!(reset_wait(None, "server overloaded", now), None);
    }
}
