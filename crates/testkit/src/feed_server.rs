//! A local HTTP server that serves feeds as a test tells it to: a body with
//! an ETag (answering 304 to a matching `If-None-Match`), a redirect, a slow
//! answer. It records what it was asked, so tests can check conditional
//! requests. Plain HTTP/1.1 over tokio, one request per connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the server answers one path.
#[derive(Debug, Clone)]
pub enum FeedAnswer {
    /// 200 with this body and content type; with an ETag, a matching
    /// `If-None-Match` gets 304.
    Body {
        content_type: &'static str,
        body: Vec<u8>,
        etag: Option<String>,
    },
    /// A redirect to `location`.
    Redirect(String),
    /// Waits this long before answering 200 with an empty feed.
    Slow(Duration),
}

impl FeedAnswer {
    pub fn body(content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self::Body {
            content_type,
            body: body.into(),
            etag: None,
        }
    }

    pub fn with_etag(content_type: &'static str, body: impl Into<Vec<u8>>, etag: &str) -> Self {
        Self::Body {
            content_type,
            body: body.into(),
            etag: Some(etag.to_owned()),
        }
    }
}

/// A request the server received: its path, `If-None-Match`, and the
/// status it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    pub path: String,
    pub if_none_match: Option<String>,
    pub status: u16,
}

#[derive(Debug, Default)]
struct State {
    answers: HashMap<String, FeedAnswer>,
    /// Paths as requests for them arrive, before any answer.
    arrived: Vec<String>,
    seen: Vec<SeenRequest>,
}

/// The server; it stops when dropped.
#[derive(Debug)]
pub struct FeedServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    /// Counts every request as it arrives, so a test can wait for one.
    arrivals: watch::Receiver<usize>,
    task: JoinHandle<()>,
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FeedServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a local port");
        let addr = listener.local_addr().expect("a bound address");
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        let (arrived, arrivals) = watch::channel(0);
        let arrived = Arc::new(arrived);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, shared.clone(), arrived.clone()));
            }
        });
        Self {
            addr,
            state,
            arrivals,
            task,
        }
    }

    /// `host:port`, for `RESOURCIFY_NEWS_ALLOW_HOSTS`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn answer(&self, path: &str, answer: FeedAnswer) {
        let mut state = self.state.lock().expect("the feed server's state");
        state.answers.insert(path.to_owned(), answer);
    }

    /// How many requests for `path` have arrived, answered or not (a
    /// [`FeedAnswer::Slow`] one is under way until it is [`Self::seen`]).
    pub fn arrived(&self, path: &str) -> usize {
        let state = self.state.lock().expect("the feed server's state");
        state.arrived.iter().filter(|p| *p == path).count()
    }

    /// Waits until a request for `path` has arrived (answered or not);
    /// fails after `within`.
    pub async fn until_arrived(&self, path: &str, within: Duration) {
        let mut arrivals = self.arrivals.clone();
        let arrived = arrivals.wait_for(|_| self.arrived(path) > 0);
        let waited = tokio::time::timeout(within, arrived).await;
        assert!(
            matches!(waited, Ok(Ok(_))),
            "no request for {path} within {within:?}"
        );
    }

    pub fn seen(&self, path: &str) -> Vec<SeenRequest> {
        let state = self.state.lock().expect("the feed server's state");
        state
            .seen
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

async fn serve(
    mut socket: tokio::net::TcpStream,
    state: Arc<Mutex<State>>,
    arrived: Arc<watch::Sender<usize>>,
) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let head = String::from_utf8_lossy(&request);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let if_none_match = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("if-none-match")
            .then(|| value.trim().to_owned())
    });
    let answer = {
        let mut state = state.lock().expect("the feed server's state");
        state.arrived.push(path.clone());
        state.answers.get(&path).cloned()
    };
    arrived.send_modify(|count| *count += 1);
    let (status, headers, body): (u16, Vec<(String, String)>, Vec<u8>) = match answer {
        None => (404, vec![], b"not found".to_vec()),
        Some(FeedAnswer::Body {
            content_type,
            body,
            etag,
        }) => match etag {
            Some(etag) if if_none_match.as_deref() == Some(etag.as_str()) => {
                (304, vec![("ETag".into(), etag)], vec![])
            }
            etag => {
                let mut headers = vec![("Content-Type".to_owned(), content_type.to_owned())];
                headers.extend(etag.map(|e| ("ETag".to_owned(), e)));
                (200, headers, body)
            }
        },
        Some(FeedAnswer::Redirect(location)) => (302, vec![("Location".into(), location)], vec![]),
        Some(FeedAnswer::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            (
                200,
                vec![],
                b"<rss version=\"2.0\"><channel></channel></rss>".to_vec(),
            )
        }
    };
    state
        .lock()
        .expect("the feed server's state")
        .seen
        .push(SeenRequest {
            path,
            if_none_match,
            status,
        });
    let mut response = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.write_all(&body).await;
    let _ = socket.shutdown().await;
}
