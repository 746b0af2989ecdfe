//! HTTP helpers that read like the API's documentation.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use uuid::Uuid;

use resourcify_projector::Projection;

use crate::TestApp;

/// A response with its body already read as JSON (`Value::Null` when empty).
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body's `id`: what a command created or changed.
    pub fn id(&self) -> String {
        match self.body["id"].as_str() {
            Some(id) => id.to_owned(),
            None => panic!("no id in the answer: {self:#?}"),
        }
    }

    /// The body's `position`: where a command's event stands in the log.
    pub fn position(&self) -> u64 {
        match self.body["position"].as_u64() {
            Some(position) => position,
            None => panic!("no position in the answer: {self:#?}"),
        }
    }

    /// Asserts an RFC 9457 problem response with this status.
    pub fn assert_problem(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status: {self:#?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:#?}"
        );
        assert_eq!(self.body["status"], status, "{self:#?}");
        assert!(self.body["type"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(self.body["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(self.body["detail"].as_str().is_some_and(|t| !t.is_empty()));
        self
    }
}

/// Asserts that of concurrent attempts at one thing, exactly one created it
/// (201) and every other was refused as a conflict (409).
pub fn assert_exactly_one_created(responses: &[TestResponse]) {
    let statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    let created = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((created, refused), (1, statuses.len() - 1), "{statuses:?}");
}

/// A registered user as the API answered.
#[derive(Debug, Clone)]
pub struct Registered {
    pub user_id: Uuid,
    pub username: String,
    /// An access token of a session started right after registering.
    pub token: String,
    pub refresh_token: String,
    pub position: u64,
}

/// The password `TestApp::register` gives every user.
pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> TestResponse {
        let response = request.send().await.expect("the API answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(self.http.get(self.url(path))).await
    }

    /// GET that first waits for the views to reach `position`.
    pub async fn get_at(&self, path: &str, position: u64) -> TestResponse {
        self.send(
            self.http
                .get(self.url(path))
                .header("X-Resourcify-Min-Position", position),
        )
        .await
    }

    /// GET as the member holding `token`, once the views reach `position`.
    pub async fn get_as_at(&self, path: &str, token: &str, position: u64) -> TestResponse {
        self.send(
            self.http
                .get(self.url(path))
                .bearer_auth(token)
                .header("X-Resourcify-Min-Position", position),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> TestResponse {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    /// POST with a raw body and content type, for malformed-input tests.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: &'static str,
        token: Option<&str>,
    ) -> TestResponse {
        let mut request = self
            .http
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    /// [`Self::register`] with an owned name, for registering many at once.
    pub async fn register_as(&self, username: String) -> Registered {
        self.register(&username).await
    }

    /// Registers `username` with `<username>@example.org` and logs in,
    /// asserting both succeed.
    pub async fn register(&self, username: &str) -> Registered {
        let response = self
            .post(
                "/v1/users",
                &json!({
                    "username": username,
                    "email": format!("{username}@example.org"),
                    "password": PASSWORD,
                }),
                None,
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{response:#?}");
        let position = response.body["position"].as_u64().unwrap();
        // Logging in needs the users view. On a node without projectors, a
        // users projector runs just long enough; the other views stay put.
        let _users = match self.settings.roles.projector {
            true => None,
            false => Some(self.start_projector(Projection::Users, 100).await),
        };
        let login = self.login(username, PASSWORD, position).await;
        assert_eq!(login.status, StatusCode::OK, "{login:#?}");
        Registered {
            user_id: response.body["user_id"].as_str().unwrap().parse().unwrap(),
            username: response.body["username"].as_str().unwrap().to_owned(),
            token: login.body["access_token"].as_str().unwrap().to_owned(),
            refresh_token: login.body["refresh_token"].as_str().unwrap().to_owned(),
            position,
        }
    }

    /// `POST /v1/sessions` once the views have reached `position`.
    pub async fn login(&self, login: &str, password: &str, position: u64) -> TestResponse {
        self.send(
            self.http
                .post(self.url("/v1/sessions"))
                .header("X-Resourcify-Min-Position", position)
                .json(&json!({"login": login, "password": password})),
        )
        .await
    }

    /// Any request, with a bearer token and an `Idempotency-Key` if given.
    /// The request is built at once, so the future borrows only `self`.
    pub fn request<'app>(
        &'app self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> impl Future<Output = TestResponse> + use<'app> {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        self.send(request)
    }

    pub async fn put(&self, path: &str, token: &str) -> TestResponse {
        self.request(reqwest::Method::PUT, path, None, Some(token), None)
            .await
    }

    pub async fn put_json(&self, path: &str, body: &Value, token: &str) -> TestResponse {
        self.request(reqwest::Method::PUT, path, Some(body), Some(token), None)
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value, token: &str) -> TestResponse {
        self.request(reqwest::Method::PATCH, path, Some(body), Some(token), None)
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> TestResponse {
        self.request(reqwest::Method::DELETE, path, None, Some(token), None)
            .await
    }

    /// Makes `username` an administrator as the operator would, and returns
    /// a fresh session of theirs.
    pub async fn make_admin(&self, user: &Registered) -> Registered {
        let admin = self.grant_as_operator(&user.username, "admin").await;
        let login = self.login(&user.username, PASSWORD, admin).await;
        assert_eq!(login.status, StatusCode::OK, "{login:#?}");
        Registered {
            token: login.body["access_token"].as_str().unwrap().to_owned(),
            refresh_token: login.body["refresh_token"].as_str().unwrap().to_owned(),
            ..user.clone()
        }
    }

    /// Submits a resource with sensible defaults (a fresh URL each time) for
    /// every field not given.
    pub async fn submit(&self, token: &str, fields: Value) -> TestResponse {
        let mut body = json!({
            "title": "A resource worth reading",
            "url": format!("https://example.org/articles/{}", Uuid::now_v7()),
            "description": "Why it matters.",
            "tags": ["rust"],
            "kind": "article",
        });
        if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
            body.extend(fields);
        }
        self.post("/v1/resources", &body, Some(token)).await
    }

    /// The newest position in this test's event stream.
    pub async fn head(&self) -> u64 {
        self.store.head().await.expect("the stream answers")
    }
}
