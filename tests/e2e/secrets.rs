//! Secrets stay secret: the idempotency-key bucket, which anyone with
//! access to NATS can read, holds no password and nothing that lets them
//! test a guess of one; and a key still tells one request from another.

use futures::StreamExt;
use resourcify_eventstore::IdempotencyKeys;
use resourcify_testkit::{TestApp, spawn_app};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "tr0ub4dor and three more words";

/// Every value stored in the namespace's idempotency-key bucket.
async fn idempotency_entries(app: &TestApp) -> Vec<Vec<u8>> {
    let bucket = app
        .store
        .jetstream()
        .get_key_value(app.namespace.bucket(IdempotencyKeys::BUCKET))
        .await
        .expect("the bucket exists");
    let mut keys = bucket.keys().await.unwrap();
    let mut values = Vec::new();
    while let Some(key) = keys.next().await {
        if let Some(value) = bucket.get(key.unwrap()).await.unwrap() {
            values.push(value.to_vec());
        }
    }
    values
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn idempotency_fingerprints_hold_no_password_and_still_tell_requests_apart(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let sign_up = |password: &str| {
        let body = json!({"username": "ada", "email": "ada@example.org", "password": password});
        app.request(
            reqwest::Method::POST,
            "/v1/users",
            Some(&body),
            None,
            Some("sign-up-1"),
        )
    };
    let first = sign_up(PASSWORD).await;
    assert_eq!(first.status, 201, "{first:#?}");
    // The same request again: the same answer.
    let again = sign_up(PASSWORD).await;
    assert_eq!(again.status, 201, "{again:#?}");
    assert_eq!(again.body, first.body);
    // The same key with another password is another request.
    sign_up(NEW_PASSWORD).await.assert_problem(422);

    let position = first.position();
    let login = app.login("ada", PASSWORD, position).await;
    let ada = login.body["access_token"].as_str().unwrap().to_owned();
    let change = app
        .request(
            reqwest::Method::PUT,
            "/v1/me/password",
            Some(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})),
            Some(&ada),
            Some("password-1"),
        )
        .await;
    assert!(change.status.is_success(), "{change:#?}");

    // What the fingerprints were before they were keyed: a UUIDv5 of the
    // request's text, password included, which anyone could recompute for
    // each guess.
    let namespace = uuid::Uuid::from_u128(0x5f1c_7d2e_4b6a_4e8f_9a3c_2d1b_0e7f_6a5c);
    let guessable = [
        format!(
            "Registration {{ username: \"ada\", email: \"ada@example.org\", password: \"{PASSWORD}\" }}"
        ),
        format!("(\"change_password\", \"{PASSWORD}\", \"{NEW_PASSWORD}\")"),
    ]
    .map(|text| uuid::Uuid::new_v5(&namespace, text.as_bytes()).to_string());

    let entries = idempotency_entries(&app).await;
    assert!(
        entries.len() >= 2,
        "both keys are recorded: {}",
        entries.len()
    );
    for entry in &entries {
        let text = String::from_utf8_lossy(entry);
        for password in [PASSWORD, NEW_PASSWORD] {
            assert!(!contains(entry, password), "{text}");
            // Nor an unkeyed hash of one, which a guess could be tested against.
            let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(password));
            assert!(!contains(entry, &digest), "{text}");
        }
        for unkeyed in &guessable {
            assert!(!contains(entry, unkeyed), "{text}");
        }
    }
}
