//! `OpenAiEndpoint` against a tiny HTTP server started in the test (no network).
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use recode_data::prompt::{Message, Role, render_chatml};
use recode_generate::endpoint::{ApiMode, EndpointConfig, OpenAiEndpoint};
use recode_generate::{GenerateError, Generator, SamplingParams};
use serde_json::{Value, json};

/// What the handler answers: status and body.
type Handler = dyn Fn(&Value, usize) -> (u16, String) + Send + Sync;

struct Server {
    base: String,
    requests: Arc<Mutex<Vec<(String, Value, Option<String>)>>>,
    max_in_flight: Arc<AtomicUsize>,
}

/// Serves every connection in its own thread: reads one request, calls `handler(body, n)`
/// (n = how many requests came before), answers and closes.
fn serve(handler: impl Fn(&Value, usize) -> (u16, String) + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let count = Arc::new(AtomicUsize::new(0));
    let handler: Arc<Handler> = Arc::new(handler);
    let (reqs, max) = (requests.clone(), max_in_flight.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (handler, reqs, max, in_flight, count) =
                (handler.clone(), reqs.clone(), max.clone(), in_flight.clone(), count.clone());
            std::thread::spawn(move || {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                handle(stream, &*handler, &reqs, count.fetch_add(1, Ordering::SeqCst));
                in_flight.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Server { base, requests, max_in_flight }
}

fn handle(stream: TcpStream, handler: &Handler, reqs: &Mutex<Vec<(String, Value, Option<String>)>>, n: usize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0usize;
    let mut auth = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (key, value) = line.split_once(':').unwrap();
        match key.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap(),
            "authorization" => auth = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
    reqs.lock().unwrap().push((path, body.clone(), auth));
    let (status, answer) = handler(&body, n);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = stream.flush();
}

fn prompt(user: &str) -> Vec<Message> {
    vec![
        Message::new(Role::System, "sys"),
        Message::new(Role::User, user),
        Message::new(Role::Assistant, "Let me solve this step by step.\n<think>"),
    ]
}

fn fast(config: EndpointConfig) -> EndpointConfig {
    EndpointConfig { backoff: Duration::from_millis(10), ..config }
}

/// Echoes the prompt's user text and the seed, so the test can check order and seeds.
fn echo_completion(body: &Value, _: usize) -> (u16, String) {
    let prompt = body["prompt"].as_str().unwrap();
    let user = prompt.split("<|im_start|>user\n").nth(1).unwrap().split("<|im_end|>").next().unwrap();
    let text = format!("{user}/{}<|im_end|>", body["seed"]);
    (200, json!({"choices": [{"text": text, "finish_reason": "stop"}]}).to_string())
}

#[test]
fn completions_mode_sends_chatml_and_keeps_order() {
    let server = serve(echo_completion);
    let mut config = fast(EndpointConfig::new(format!("{}/v1/", server.base), "qwen"));
    config.api_key = Some("sekret".into());
    config.concurrency = 4;
    let endpoint = OpenAiEndpoint::new(config).unwrap();
    assert_eq!(endpoint.url(), format!("{}/v1/completions", server.base));
    let prompts: Vec<_> = (0..5).map(|i| prompt(&format!("p{i}"))).collect();
    let params = SamplingParams {
        n: 3,
        seed: 100,
        max_new_tokens: 64,
        temperature: 0.8,
        top_p: 0.95,
        top_k: 20,
        ..Default::default()
    };
    let out = endpoint.generate(&prompts, &params).unwrap();
    assert_eq!(out.len(), 5);
    for (i, samples) in out.iter().enumerate() {
        let texts: Vec<&str> = samples.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, [format!("p{i}/100"), format!("p{i}/101"), format!("p{i}/102")]);
        assert!(samples.iter().all(|c| !c.truncated));
    }
    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.len(), 15);
    let (path, body, auth) = &requests[0];
    assert_eq!(path, "/v1/completions");
    assert_eq!(auth.as_deref(), Some("Bearer sekret"));
    assert_eq!(body["model"], "qwen");
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["temperature"], 0.8);
    assert_eq!(body["top_p"], 0.95);
    assert_eq!(body["top_k"], 20);
    assert_eq!(body["n"], 1);
    assert_eq!(body["stop"], json!(["<|im_end|>"]));
    let sent = body["prompt"].as_str().unwrap();
    let user = sent.split("<|im_start|>user\n").nth(1).unwrap().split("<|im_end|>").next().unwrap();
    assert_eq!(sent, render_chatml(&prompt(user)), "exactly the training-style ChatML, prefill left open");
    assert!(server.max_in_flight.load(Ordering::SeqCst) <= 4);
}

#[test]
fn chat_mode_continues_the_prefill() {
    let server = serve(|body, _| {
        let last = body["messages"].as_array().unwrap().last().unwrap()["role"].as_str().unwrap().to_string();
        let content = format!("after {last}");
        (
            200,
            json!({"choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "length"}]})
                .to_string(),
        )
    });
    let config = EndpointConfig { mode: ApiMode::Chat, ..fast(EndpointConfig::new(server.base.clone(), "m")) };
    let endpoint = OpenAiEndpoint::new(config).unwrap();
    assert!(endpoint.describe().contains("/v1/chat/completions"));
    let out = endpoint.generate(&[prompt("x")], &SamplingParams::default()).unwrap();
    assert_eq!(out[0][0].text, "after assistant");
    assert!(out[0][0].truncated, "finish_reason length means truncated");
    let requests = server.requests.lock().unwrap();
    let body = &requests[0].1;
    assert_eq!(requests[0].0, "/v1/chat/completions");
    assert_eq!(body["continue_final_message"], true);
    assert_eq!(body["add_generation_prompt"], false);
    assert_eq!(body["messages"][2]["content"], "Let me solve this step by step.\n<think>");
    assert!(body.get("top_k").is_none(), "top_k 0 is not sent");
    assert!(body.get("stop").is_none());
    // Without a prefill, no continuation flags.
    let plain = vec![Message::new(Role::User, "hi")];
    let body = endpoint.request_body(&plain, &SamplingParams::default(), 0);
    assert!(body.get("continue_final_message").is_none());
}

#[test]
fn stop_strings_are_kept() {
    let server = serve(|_, _| {
        (200, json!({"choices": [{"text": "code ", "finish_reason": "stop", "stop_reason": "</answer>"}]}).to_string())
    });
    let endpoint = OpenAiEndpoint::new(fast(EndpointConfig::new(server.base.clone(), "m"))).unwrap();
    let params = SamplingParams { stop: vec!["</answer>".into()], ..Default::default() };
    let out = endpoint.generate(&[prompt("x")], &params).unwrap();
    assert_eq!(out[0][0].text, "code </answer>");
    let body = &server.requests.lock().unwrap()[0].1;
    assert_eq!(body["stop"], json!(["</answer>", "<|im_end|>"]));
    assert_eq!(body["include_stop_str_in_output"], true);
}

#[test]
fn transient_errors_are_retried() {
    // Two 503s, then a 429, then success.
    let server = serve(|body, n| match n {
        0 | 1 => (503, json!({"error": {"message": "loading"}}).to_string()),
        2 => (429, "slow down".to_string()),
        _ => echo_completion(body, n),
    });
    let endpoint = OpenAiEndpoint::new(fast(EndpointConfig::new(server.base.clone(), "m"))).unwrap();
    let out = endpoint.generate(&[prompt("ok")], &SamplingParams::default()).unwrap();
    assert_eq!(out[0][0].text, "ok/0");
    assert_eq!(server.requests.lock().unwrap().len(), 4);
}

#[test]
fn errors_name_the_url() {
    // A 400 is not retried and carries the server's message.
    let server = serve(|_, _| (400, json!({"error": {"message": "model `m` does not exist"}}).to_string()));
    let endpoint = OpenAiEndpoint::new(fast(EndpointConfig::new(server.base.clone(), "m"))).unwrap();
    let err = endpoint.generate(&[prompt("x")], &SamplingParams::default()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, GenerateError::Endpoint { .. }));
    assert!(text.contains(&format!("{}/v1/completions", server.base)), "{text}");
    assert!(text.contains("HTTP 400: model `m` does not exist"), "{text}");
    assert_eq!(server.requests.lock().unwrap().len(), 1);

    // Persistent 500s: retries, then the last error.
    let server = serve(|_, _| (500, "boom".to_string()));
    let config = EndpointConfig { retries: 2, ..fast(EndpointConfig::new(server.base.clone(), "m")) };
    let err = OpenAiEndpoint::new(config).unwrap().generate(&[prompt("x")], &SamplingParams::default()).unwrap_err();
    assert!(err.to_string().contains("HTTP 500: boom (gave up after 3 attempts)"), "{err}");
    assert_eq!(server.requests.lock().unwrap().len(), 3);

    // Nothing listening.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = EndpointConfig { retries: 1, ..fast(EndpointConfig::new(format!("http://127.0.0.1:{port}"), "m")) };
    let err = OpenAiEndpoint::new(config).unwrap().generate(&[prompt("x")], &SamplingParams::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("endpoint http://127.0.0.1:{port}/v1/completions: prompt 0, sample 0:")),
        "{text}"
    );
    assert!(text.contains("gave up after 2 attempts"), "{text}");

    // Bad JSON in a 200 is fatal.
    let server = serve(|_, _| (200, "not json".to_string()));
    let err = OpenAiEndpoint::new(fast(EndpointConfig::new(server.base.clone(), "m")))
        .unwrap()
        .generate(&[prompt("x")], &SamplingParams::default())
        .unwrap_err();
    assert!(err.to_string().contains("response is not JSON"), "{err}");

    // Bad configuration.
    for (url, model, want) in
        [("localhost:8000", "m", "http:// or https://"), ("http://", "m", "no host"), ("http://h", " ", "no model")]
    {
        let err = OpenAiEndpoint::new(EndpointConfig::new(url, model)).unwrap_err();
        assert!(err.to_string().contains(want), "{url}: {err}");
    }
}

#[test]
fn request_timeout() {
    let server = serve(|body, _| {
        std::thread::sleep(Duration::from_millis(1500));
        echo_completion(body, 0)
    });
    let config = EndpointConfig {
        request_timeout: Duration::from_millis(200),
        retries: 1,
        ..fast(EndpointConfig::new(server.base.clone(), "m"))
    };
    let start = Instant::now();
    let err = OpenAiEndpoint::new(config).unwrap().generate(&[prompt("x")], &SamplingParams::default()).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[test]
fn requests_run_concurrently() {
    let server = serve(|body, n| {
        std::thread::sleep(Duration::from_millis(150));
        echo_completion(body, n)
    });
    let config = EndpointConfig { concurrency: 6, ..fast(EndpointConfig::new(server.base.clone(), "m")) };
    let endpoint = OpenAiEndpoint::new(config).unwrap();
    let prompts: Vec<_> = (0..12).map(|i| prompt(&format!("q{i}"))).collect();
    let start = Instant::now();
    let out = endpoint.generate(&prompts, &SamplingParams::default()).unwrap();
    let elapsed = start.elapsed();
    assert_eq!(out[11][0].text, "q11/0");
    assert!(server.max_in_flight.load(Ordering::SeqCst) >= 2, "requests overlapped");
    assert!(elapsed < Duration::from_millis(12 * 150), "{elapsed:?}: faster than one at a time");
}
