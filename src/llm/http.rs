//! What both HTTP providers share: settings, one streaming POST, and the retry loop
//! (exponential backoff with jitter, `retry-after` honoured, a cut stream retried).

use std::sync::Arc;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use reqwest::header::HeaderMap;

use super::{LlmError, Response};
use crate::mission::Usage;
use crate::mission::pricing::Prices;

/// How one provider+model is reached. The key is kept out of `Debug`.
#[derive(Clone)]
pub struct HttpSettings {
    /// The provider's name in config (`anthropic`, `local`, …), for messages.
    pub provider: String,
    pub model: String,
    pub url: String,
    pub api_key: Option<String>,
    /// The longest wait for the next byte, and for the response to start.
    pub idle_timeout: Duration,
    /// The longest one attempt may take in all, however steadily it streams.
    pub total_timeout: Duration,
    pub max_retries: u32,
    pub retry_base: Duration,
    pub max_output_tokens: u32,
    /// Whether the config set `max_output_tokens`: OpenAI-compatible servers are sent a
    /// cap only then (Anthropic always needs one).
    pub output_cap_configured: bool,
    pub prices: Arc<Prices>,
    /// `[roles.R] reasoning_effort`: OpenAI's `reasoning_effort` (Chat Completions) or
    /// `reasoning.effort` (Responses).
    pub reasoning_effort: Option<String>,
    /// `[roles.R] thinking_budget_tokens`: Anthropic extended thinking.
    pub thinking_budget: Option<u32>,
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// Why one attempt failed, and whether another may succeed.
#[derive(Debug)]
pub enum Failure {
    Retry {
        after: Option<Duration>,
        error: LlmError,
        /// Tokens the provider reported (and bills) before the attempt broke.
        spent: Box<Usage>,
    },
    Fatal(LlmError),
}

impl Failure {
    /// The same failure, carrying what the broken attempt had already used.
    pub fn with_spent(self, used: Usage) -> Failure {
        match self {
            Failure::Retry { after, error, .. } => Failure::Retry {
                after,
                error,
                spent: Box::new(used),
            },
            fatal => fatal,
        }
    }
}

impl HttpSettings {
    pub fn transport(&self, message: impl Into<String>) -> LlmError {
        LlmError::Transport {
            provider: self.provider.clone(),
            model: self.model.clone(),
            message: message.into(),
        }
    }

    fn http(&self, status: u16, message: String) -> LlmError {
        LlmError::Http {
            provider: self.provider.clone(),
            model: self.model.clone(),
            status,
            message,
        }
    }

    pub fn retry(&self, message: impl Into<String>) -> Failure {
        Failure::Retry {
            after: None,
            error: self.transport(message),
            spent: Box::default(),
        }
    }

    /// The backoff before attempt `n + 1`: base × 2ⁿ, ±20 % jitter, at most a minute.
    /// How long the retries of one call may wait in all: a limit that resets later
    /// pauses the mission instead.
    pub fn retry_budget(&self) -> Duration {
        (0..=self.max_retries)
            .map(|n| self.backoff(n))
            .sum::<Duration>()
            .max(Duration::from_secs(1))
    }

    fn backoff(&self, n: u32) -> Duration {
        let exp = self.retry_base.as_secs_f64() * 2f64.powi(n.min(16) as i32);
        let jitter: f64 = rand::random_range(0.8..1.2);
        Duration::from_secs_f64((exp * jitter).min(60.0))
    }
}

/// `Authorization: Bearer <key>` (OpenAI's APIs), marked sensitive so it is never logged.
pub fn bearer(key: Option<&str>) -> Result<HeaderMap, LlmError> {
    let mut headers = HeaderMap::new();
    if let Some(key) = key {
        let mut v =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                LlmError::Unavailable("the API key holds characters a header cannot".into())
            })?;
        v.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, v);
    }
    Ok(headers)
}

pub fn client(timeout: Duration) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(30)))
        .build()
        .map_err(|e| LlmError::Unavailable(format!("cannot build the HTTP client: {e}")))
}

pub type SseStream =
    std::pin::Pin<Box<dyn Stream<Item = Result<eventsource_stream::Event, String>> + Send>>;

/// POSTs `body` and returns its event stream, or why it failed.
pub async fn post_sse(
    client: &reqwest::Client,
    s: &HttpSettings,
    headers: HeaderMap,
    body: &serde_json::Value,
) -> Result<SseStream, Failure> {
    let send = client.post(&s.url).headers(headers).json(body).send();
    let started = std::time::Instant::now();
    let resp = match tokio::time::timeout(s.idle_timeout, send).await {
        Err(_) => {
            return Err(s.retry(format!("no response within {}s", s.idle_timeout.as_secs())));
        }
        Ok(Err(e)) => return Err(s.retry(describe(&e))),
        Ok(Ok(r)) => r,
    };
    let status = resp.status().as_u16();
    // Never the body or the headers: they hold the prompt and the key.
    tracing::info!(
        model = %s.model,
        status,
        ms = started.elapsed().as_millis() as u64,
        "provider response"
    );
    if !resp.status().is_success() {
        let after = retry_after(resp.headers());
        let resp_headers = Some(resp.headers().clone());
        let text = tokio::time::timeout(Duration::from_secs(5), resp.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let message = error_message(&text);
        // A limit that resets later than the retries would wait: the caller pauses the
        // mission until then instead of burning its attempts.
        if matches!(status, 429 | 529)
            && let Some(wait) = resp_headers
                .as_ref()
                .and_then(|h| super::reset::limit_wait(h, &text, jiff::Timestamp::now()))
            && wait > s.retry_budget()
        {
            let until = jiff::Timestamp::now()
                + jiff::SignedDuration::try_from(wait).unwrap_or(jiff::SignedDuration::ZERO);
            return Err(Failure::Fatal(LlmError::RateLimited {
                provider: s.provider.clone(),
                model: s.model.clone(),
                until,
                message,
            }));
        }
        if let Some((tokens, limit)) = super::context_overflow(status, &message) {
            return Err(Failure::Fatal(LlmError::ContextOverflow {
                provider: s.provider.clone(),
                model: s.model.clone(),
                tokens,
                limit,
                message,
            }));
        }
        let error = s.http(status, message);
        return Err(match status {
            429 | 500 | 502 | 503 | 504 | 529 => Failure::Retry {
                after,
                error,
                spent: Box::default(),
            },
            _ => Failure::Fatal(error),
        });
    }
    Ok(Box::pin(
        resp.bytes_stream()
            .eventsource()
            .map(|r| r.map_err(|e| e.to_string())),
    ))
}

/// The next event, or a retryable failure when the stream stalls or breaks.
pub async fn next_event(
    stream: &mut SseStream,
    s: &HttpSettings,
) -> Result<Option<eventsource_stream::Event>, Failure> {
    match tokio::time::timeout(s.idle_timeout, stream.next()).await {
        Err(_) => Err(s.retry(format!(
            "the stream stalled: no data for {}s",
            s.idle_timeout.as_secs()
        ))),
        Ok(None) => Ok(None),
        Ok(Some(Err(e))) => Err(s.retry(format!("the stream broke: {e}"))),
        Ok(Some(Ok(ev))) => Ok(Some(ev)),
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        msg.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    msg
}

/// `{"error": {"message": …}}` from either API, else the body's start.
fn error_message(body: &str) -> String {
    let parsed: Option<String> = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error"))
                .and_then(|m| m.as_str().map(str::to_owned))
        });
    let text = parsed.unwrap_or_else(|| body.trim().to_string());
    let text: String = text.chars().take(300).collect();
    if text.is_empty() {
        "(empty body)".into()
    } else {
        text
    }
}

/// `retry-after` in seconds or as an HTTP date, capped at two minutes.
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let raw = h.get("retry-after")?.to_str().ok()?.trim();
    let secs = match raw.parse::<f64>() {
        Ok(v) => v,
        Err(_) => {
            let at = jiff::fmt::rfc2822::DateTimeParser::new()
                .parse_timestamp(raw)
                .ok()?;
            (at.as_millisecond() - jiff::Timestamp::now().as_millisecond()).max(0) as f64 / 1000.0
        }
    };
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(120.0)))
}

/// The output limit of one call. When it cuts an answer mid-tool-call it is doubled once
/// for the retry; if the model refuses the raised limit (its own maximum is lower) it goes
/// back; a cut with no room left to give is handed to the model as it is (the agent loop
/// tells it the arguments were cut, so it can write in smaller pieces).
pub struct Room {
    base: Option<u32>,
    state: std::sync::Mutex<(Option<u32>, bool, bool)>,
}

impl Room {
    pub fn new(base: Option<u32>) -> Self {
        Room {
            base,
            state: std::sync::Mutex::new((base, false, false)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Option<u32>, bool, bool)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The limit to ask for now.
    pub fn now(&self) -> Option<u32> {
        self.lock().0
    }

    /// An answer was cut: whether a retry gets more room (else hand the answer back).
    pub fn grow(&self, first: u32) -> bool {
        let mut st = self.lock();
        if st.1 || st.2 {
            return false;
        }
        st.0 = Some(st.0.map_or(first, |n| n.saturating_mul(2)));
        st.1 = true;
        true
    }

    /// The request failed for good: if it asked for more room, go back and try again.
    pub fn refused(&self) -> bool {
        let mut st = self.lock();
        if !st.1 {
            return false;
        }
        *st = (self.base, false, true);
        true
    }
}

/// Called with a line to show when an attempt failed and another follows.
pub type RetryObserver<'a> = Option<&'a (dyn Fn(String) + Sync)>;

/// Called with the tokens (and their cost) of an attempt that broke after the provider
/// had reported them: they are billed whether or not a later attempt succeeds.
pub type SpentObserver<'a> = Option<&'a (dyn Fn(&Usage) + Sync)>;

/// Runs `once` until it succeeds, fails for good, or the retries are spent.
pub async fn with_retries<F, Fut>(
    s: &HttpSettings,
    observer: RetryObserver<'_>,
    spent_observer: SpentObserver<'_>,
    mut once: F,
) -> Result<Response, LlmError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Response, Failure>>,
{
    let mut attempt = 0;
    loop {
        let result = match tokio::time::timeout(s.total_timeout, once()).await {
            Ok(r) => r,
            Err(_) => Err(s.retry(format!(
                "the answer took longer than {}s in all",
                s.total_timeout.as_secs()
            ))),
        };
        match result {
            Ok(mut r) => {
                r.usage.cost_usd = s.prices.cost(&s.model, &r.usage);
                tracing::debug!(
                    model = %s.model,
                    tokens_in = r.usage.tokens_in,
                    tokens_out = r.usage.tokens_out,
                    "model answered"
                );
                return Ok(r);
            }
            Err(Failure::Fatal(e)) => {
                tracing::warn!(model = %s.model, error = %e, "model call failed");
                return Err(e);
            }
            Err(Failure::Retry {
                after,
                error,
                mut spent,
            }) => {
                if let Some(o) = spent_observer
                    && (spent.tokens_in > 0 || spent.tokens_out > 0)
                {
                    spent.cost_usd = s.prices.cost(&s.model, &spent);
                    o(&spent);
                }
                if attempt >= s.max_retries {
                    return Err(match error {
                        LlmError::Http {
                            provider,
                            model,
                            status,
                            message,
                        } => LlmError::Http {
                            provider,
                            model,
                            status,
                            message: format!("{message} (gave up after {} attempts)", attempt + 1),
                        },
                        LlmError::Transport {
                            provider,
                            model,
                            message,
                        } => LlmError::Transport {
                            provider,
                            model,
                            message: format!("{message} (gave up after {} attempts)", attempt + 1),
                        },
                        other => other,
                    });
                }
                let wait = after.unwrap_or_else(|| s.backoff(attempt));
                tracing::warn!(
                    model = %s.model,
                    attempt,
                    error = %error,
                    wait_ms = wait.as_millis() as u64,
                    "model call retried"
                );
                if let Some(o) = observer {
                    o(format!("{error}; retrying in {:.1}s", wait.as_secs_f64()));
                }
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_and_retry_after_are_read() {
        assert_eq!(
            error_message(r#"{"error":{"type":"x","message":"overloaded"}}"#),
            "overloaded"
        );
        assert_eq!(error_message(r#"{"error":"bad key"}"#), "bad key");
        assert_eq!(error_message("plain"), "plain");
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO), "a date in the past");
        let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(30);
        let date = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&soon)
            .unwrap();
        h.insert("retry-after", date.parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let s = HttpSettings {
            provider: "p".into(),
            model: "m".into(),
            url: String::new(),
            api_key: Some("sk-secret".into()),
            idle_timeout: Duration::from_secs(1),
            total_timeout: Duration::from_secs(60),
            max_retries: 3,
            retry_base: Duration::from_secs(1),
            max_output_tokens: 1,
            output_cap_configured: false,
            prices: Arc::default(),
            reasoning_effort: None,
            thinking_budget: None,
        };
        assert!(
            s.backoff(0) >= Duration::from_millis(800)
                && s.backoff(0) <= Duration::from_millis(1200)
        );
        assert!(s.backoff(3) >= Duration::from_millis(6400));
        assert_eq!(s.backoff(30), Duration::from_secs(60));
        assert!(
            !format!("{s:?}").contains("sk-secret"),
            "the key never shows in Debug"
        );
    }
}
