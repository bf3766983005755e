//! HTTP for the studio's tests: requests with an optional API key, answers with their
//! status, headers and body, and server-sent event streams read event by event.

use std::io::{BufRead, BufReader};

use serde_json::Value;

/// An HTTP answer.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts an error answer: `status`, a JSON body with `code` and a message.
    pub fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{body:#}");
        let message = body["message"].as_str().unwrap().to_string();
        assert!(!message.is_empty());
        message
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

pub fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = response.expect("the studio answers");
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(100 << 20)
        .read_to_vec()
        .unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

pub fn get(url: &str, path: &str, key: Option<&str>) -> Answer {
    let mut request = agent().get(format!("{url}{path}"));
    if let Some(k) = key {
        request = request.header("Authorization", format!("Bearer {k}"));
    }
    answer(request.call())
}

pub fn post(url: &str, path: &str, key: Option<&str>, body: &[u8]) -> Answer {
    let mut request = agent().post(format!("{url}{path}"));
    if let Some(k) = key {
        request = request.header("Authorization", format!("Bearer {k}"));
    }
    answer(request.send(body))
}

/// POST of a JSON body.
pub fn post_json(url: &str, path: &str, key: Option<&str>, body: &Value) -> Answer {
    let mut request = agent()
        .post(format!("{url}{path}"))
        .header("Content-Type", "application/json");
    if let Some(k) = key {
        request = request.header("Authorization", format!("Bearer {k}"));
    }
    answer(request.send(body.to_string().as_bytes()))
}

/// DELETE.
pub fn delete(url: &str, path: &str, key: Option<&str>) -> Answer {
    let mut request = agent().delete(format!("{url}{path}"));
    if let Some(k) = key {
        request = request.header("Authorization", format!("Bearer {k}"));
    }
    answer(request.call())
}

/// The events of a server-sent event stream, as (event name, data), until it ends (or five
/// minutes pass, so that a stream that never ends fails the test instead of hanging it).
pub fn events(url: &str, path: &str, key: Option<&str>) -> impl Iterator<Item = (String, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(300)))
        .build()
        .into();
    let mut request = agent.get(format!("{url}{path}"));
    if let Some(k) = key {
        request = request.header("Authorization", format!("Bearer {k}"));
    }
    let response = request.call().expect("the studio answers");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let mut lines = BufReader::new(response.into_body().into_reader()).lines();
    std::iter::from_fn(move || {
        let (mut name, mut data) = (String::from("message"), String::new());
        loop {
            let line = lines.next()?.ok()?;
            if line.is_empty() {
                if !data.is_empty() {
                    return Some((name, data));
                }
                continue;
            }
            if let Some(n) = line.strip_prefix("event:") {
                name = n.trim().to_string();
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.trim_start());
            }
        }
    })
}
