//! [`OpenAiEndpoint`]: completions from any OpenAI-compatible HTTP server (vLLM, llama.cpp
//! server, SGLang, TGI, the OpenAI API itself).
//!
//! # How the prefill is sent (the choice, and why)
//!
//! Our prompts end with an open assistant message (the prefill `Let me solve this step by
//! step.\n<think>`), which the model must *continue*. Two ways are offered ([`ApiMode`]):
//!
//! * [`ApiMode::Completions`] (the default): `POST {base}/v1/completions` with the prompt
//!   rendered by [`recode_data::prompt::render_chatml`] — exactly the text the model was
//!   trained on and the local models see (spec §3.1: the same minimal ChatML for every model),
//!   whatever chat template the server has. When the last message is not from the assistant,
//!   `<|im_start|>assistant\n` is appended so the model answers. `<|im_end|>` is sent as an
//!   extra stop string (servers also stop at the model's end-of-turn token) and never
//!   appears in the returned text.
//! * [`ApiMode::Chat`]: `POST {base}/v1/chat/completions` with the messages; when the last
//!   one is from the assistant the request also carries `"continue_final_message": true,
//!   "add_generation_prompt": false` (vLLM's and SGLang's spelling; llama.cpp's server
//!   continues a final assistant message by itself). The server's own chat template is used,
//!   so the prompt text can differ from training; servers that ignore those two fields would
//!   start a *new* assistant turn. Use it for servers without `/v1/completions`.
//!
//! # Requests
//!
//! One request per (prompt, sample), with `n = 1` and `seed = params.seed + sample index`
//! (not every server supports `n > 1`, and this keeps each sample reproducible on its own);
//! [`EndpointConfig::concurrency`] requests in flight. `max_tokens`, `temperature`, `top_p`
//! and `stop` map directly; `top_k` is sent only when non-zero (vLLM and llama.cpp accept it,
//! OpenAI does not). Stop strings are kept in the text as the [`Generator`] contract says:
//! `include_stop_str_in_output` is requested (vLLM), and when a server strips the stop string
//! but names it (`stop_reason`, vLLM; `stopping_word`, llama.cpp) it is put back.
//!
//! Connection errors, timeouts, HTTP 408, 429 and 5xx are retried with exponential backoff
//! ([`EndpointConfig::retries`], [`EndpointConfig::backoff`]); other statuses fail at once,
//! with the server's message. Every error names the URL.
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use recode_data::prompt::{Message, Role, render_chatml};
use serde_json::{Value, json};

use crate::{Completion, GenerateError, Generator, SamplingParams};

/// ChatML's end of turn, an extra stop string in [`ApiMode::Completions`].
const IM_END: &str = "<|im_end|>";

/// Which API the endpoint speaks (see the [module docs](self) for the trade-off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiMode {
    /// `/v1/completions` with our ChatML text (exact prompt parity). The default.
    #[default]
    Completions,
    /// `/v1/chat/completions` with the messages (the server's chat template).
    Chat,
}

/// Where and how to reach the server. Defaults (via [`EndpointConfig::new`]): completions
/// mode, no API key, 8 requests in flight, 3 retries starting at 0.5 s backoff (doubling, at
/// most 8 s), 10 s to connect, 300 s per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// The server's base URL: `http://localhost:8000`, with or without a trailing `/v1`.
    pub base_url: String,
    /// The `model` field of every request (vLLM: the served model name).
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    pub mode: ApiMode,
    /// Requests in flight at once (at least 1).
    pub concurrency: usize,
    /// Retries of a failed request (so at most `retries + 1` attempts).
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one, capped at 8 s.
    pub backoff: Duration,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for a whole request, from connecting to the last byte of the response.
    pub request_timeout: Duration,
}

impl EndpointConfig {
    /// The defaults for `base_url` and `model`.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        EndpointConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            mode: ApiMode::Completions,
            concurrency: 8,
            retries: 3,
            backoff: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(300),
        }
    }
}

/// A [`Generator`] backed by an OpenAI-compatible server.
pub struct OpenAiEndpoint {
    config: EndpointConfig,
    url: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for OpenAiEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEndpoint").field("url", &self.url).field("model", &self.config.model).finish()
    }
}

impl OpenAiEndpoint {
    /// Checks the URL (http or https, a host) and prepares the client; nothing is sent yet.
    pub fn new(config: EndpointConfig) -> Result<Self, GenerateError> {
        let bad =
            |message: &str| GenerateError::Endpoint { url: config.base_url.clone(), message: message.to_string() };
        let trimmed = config.base_url.trim();
        let scheme = ["http://", "https://"]
            .into_iter()
            .find(|s| trimmed.starts_with(s))
            .ok_or_else(|| bad("expected an http:// or https:// URL"))?;
        let rest = trimmed[scheme.len()..].trim_end_matches('/');
        if rest.is_empty() || rest.starts_with('/') {
            return Err(bad("the URL has no host"));
        }
        let base = &trimmed[..scheme.len() + rest.len()];
        if config.model.trim().is_empty() {
            return Err(bad("no model name given"));
        }
        let base = base.strip_suffix("/v1").unwrap_or(base);
        let path = match config.mode {
            ApiMode::Completions => "/v1/completions",
            ApiMode::Chat => "/v1/chat/completions",
        };
        let url = format!("{base}{path}");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(config.request_timeout))
            .build()
            .into();
        Ok(OpenAiEndpoint { config, url, agent })
    }

    /// The full URL requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    fn error(&self, message: impl Into<String>) -> GenerateError {
        GenerateError::Endpoint { url: self.url.clone(), message: message.into() }
    }

    /// The JSON body for one sample of one prompt.
    pub fn request_body(&self, prompt: &[Message], params: &SamplingParams, sample: usize) -> Value {
        let mut body = json!({
            "model": self.config.model,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "n": 1,
            "seed": params.seed.wrapping_add(sample as u64),
            "stream": false,
        });
        let map = body.as_object_mut().expect("object");
        if params.top_k > 0 {
            map.insert("top_k".into(), json!(params.top_k));
        }
        let mut stop = params.stop.clone();
        let prefill = prompt.last().is_some_and(|m| m.role == Role::Assistant);
        match self.config.mode {
            ApiMode::Completions => {
                let mut text = render_chatml(prompt);
                if !prefill {
                    text.push_str("<|im_start|>assistant\n");
                }
                map.insert("prompt".into(), json!(text));
                if !stop.iter().any(|s| s == IM_END) {
                    stop.push(IM_END.to_string());
                }
            }
            ApiMode::Chat => {
                map.insert("messages".into(), json!(prompt));
                if prefill {
                    map.insert("continue_final_message".into(), json!(true));
                    map.insert("add_generation_prompt".into(), json!(false));
                }
            }
        }
        if !stop.is_empty() {
            map.insert("stop".into(), json!(stop));
            if !params.stop.is_empty() {
                map.insert("include_stop_str_in_output".into(), json!(true));
            }
        }
        body
    }

    /// Sends one request, retrying transient failures.
    fn request(&self, body: &str, params: &SamplingParams) -> Result<Completion, GenerateError> {
        let mut attempt = 0u32;
        loop {
            match self.attempt(body, params) {
                Ok(completion) => return Ok(completion),
                Err(Attempt::Fatal(message)) => return Err(self.error(message)),
                Err(Attempt::Transient(message)) => {
                    if attempt >= self.config.retries {
                        let tries = attempt + 1;
                        return Err(self.error(format!(
                            "{message} (gave up after {tries} attempt{})",
                            if tries == 1 { "" } else { "s" }
                        )));
                    }
                    let wait = self.config.backoff.saturating_mul(1 << attempt.min(16)).min(Duration::from_secs(8));
                    std::thread::sleep(wait);
                    attempt += 1;
                }
            }
        }
    }

    fn attempt(&self, body: &str, params: &SamplingParams) -> Result<Completion, Attempt> {
        let mut request = self.agent.post(&self.url).header("Content-Type", "application/json");
        if let Some(key) = &self.config.api_key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = request.send(body).map_err(|e| match e {
            ureq::Error::Timeout(_) => Attempt::Transient(format!("timed out: {e}")),
            ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                Attempt::Transient(format!("cannot connect: {e}"))
            }
            other => Attempt::Transient(other.to_string()),
        })?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(|e| match e {
            ureq::Error::Timeout(_) => Attempt::Transient(format!("timed out reading the response: {e}")),
            other => Attempt::Transient(format!("cannot read the response: {other}")),
        })?;
        if status != 200 {
            let message = format!("HTTP {status}: {}", server_message(&text));
            return Err(if status == 408 || status == 429 || status >= 500 {
                Attempt::Transient(message)
            } else {
                Attempt::Fatal(message)
            });
        }
        self.parse(&text, params).map_err(Attempt::Fatal)
    }

    /// The completion in a successful response body.
    fn parse(&self, text: &str, params: &SamplingParams) -> Result<Completion, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("response is not JSON ({e}): {}", snippet(text)))?;
        let choice = value
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
            .ok_or_else(|| format!("response has no `choices[0]`: {}", snippet(text)))?;
        let content = match self.config.mode {
            ApiMode::Completions => choice.get("text").and_then(Value::as_str),
            ApiMode::Chat => choice.get("message").and_then(|m| m.get("content")).and_then(Value::as_str),
        };
        let field = match self.config.mode {
            ApiMode::Completions => "choices[0].text",
            ApiMode::Chat => "choices[0].message.content",
        };
        let mut text_out = content.ok_or_else(|| format!("response has no string `{field}`"))?.to_string();
        let finish = choice.get("finish_reason").and_then(Value::as_str).unwrap_or("");
        if let Some(stripped) = text_out.strip_suffix(IM_END) {
            text_out.truncate(stripped.len());
        }
        // Put back a stop string the server stripped but named.
        let named = choice
            .get("stop_reason")
            .or_else(|| choice.get("stopping_word"))
            .or_else(|| value.get("stopping_word"))
            .and_then(Value::as_str);
        if finish == "stop"
            && let Some(word) = named
            && params.stop.iter().any(|s| s == word)
            && !text_out.ends_with(word)
        {
            text_out.push_str(word);
        }
        Ok(Completion { text: text_out, truncated: finish == "length" })
    }
}

enum Attempt {
    Transient(String),
    Fatal(String),
}

/// The error message in an error body (`{"error": {"message": …}}`, `{"message": …}`,
/// `{"detail": …}`), else the start of the body.
fn server_message(body: &str) -> String {
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        let message = value
            .pointer("/error/message")
            .or_else(|| value.get("error"))
            .or_else(|| value.get("message"))
            .or_else(|| value.get("detail"));
        if let Some(message) = message {
            return match message {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
        }
    }
    snippet(body)
}

fn snippet(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None if text.is_empty() => "(empty body)".to_string(),
        None => text.to_string(),
    }
}

impl Generator for OpenAiEndpoint {
    fn describe(&self) -> String {
        let mode = match self.config.mode {
            ApiMode::Completions => "completions",
            ApiMode::Chat => "chat",
        };
        format!("{} at {} ({mode} API)", self.config.model, self.url)
    }

    fn generate(
        &self,
        prompts: &[Vec<Message>],
        params: &SamplingParams,
    ) -> Result<Vec<Vec<Completion>>, GenerateError> {
        if params.n == 0 {
            return Err(GenerateError::InvalidRequest("n = 0 completions per prompt".to_string()));
        }
        let jobs: Vec<(usize, usize)> = (0..prompts.len()).flat_map(|p| (0..params.n).map(move |s| (p, s))).collect();
        let bodies: Vec<String> =
            jobs.iter().map(|&(p, s)| self.request_body(&prompts[p], params, s).to_string()).collect();
        let results: Mutex<Vec<Option<Completion>>> = Mutex::new(vec![None; jobs.len()]);
        let first_error: Mutex<Option<(usize, GenerateError)>> = Mutex::new(None);
        let failed = AtomicBool::new(false);
        let next = AtomicUsize::new(0);
        let threads = self.config.concurrency.clamp(1, jobs.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= jobs.len() || failed.load(Ordering::Relaxed) {
                            break;
                        }
                        match self.request(&bodies[index], params) {
                            Ok(completion) => {
                                results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(completion)
                            }
                            Err(error) => {
                                failed.store(true, Ordering::Relaxed);
                                let mut slot = first_error.lock().unwrap_or_else(|e| e.into_inner());
                                if slot.as_ref().is_none_or(|(i, _)| index < *i) {
                                    *slot = Some((index, error));
                                }
                            }
                        }
                    }
                });
            }
        });
        if let Some((index, error)) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            let (prompt, sample) = jobs[index];
            return Err(match error {
                GenerateError::Endpoint { url, message } => {
                    GenerateError::Endpoint { url, message: format!("prompt {prompt}, sample {sample}: {message}") }
                }
                other => other,
            });
        }
        let mut flat = results.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter();
        let mut out = Vec::with_capacity(prompts.len());
        for _ in prompts {
            out.push((0..params.n).map(|_| flat.next().flatten().expect("every request answered")).collect());
        }
        Ok(out)
    }
}
