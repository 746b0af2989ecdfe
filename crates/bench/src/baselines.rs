//! The baselines every figure is divided by, served from this process like
//! the node under test: the HTTP stack answering a constant (its ceiling),
//! and a plain handler reading one row from an indexed Postgres table.

use std::net::SocketAddr;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Json, Path};
use poem::{Endpoint, EndpointExt, Route, get, handler};
use serde_json::{Value, json};
use sqlx::{PgPool, Row};
use uuid::Uuid;

#[handler]
fn constant() -> &'static str {
    r#"{"ok":true}"#
}

/// The resource row, as a hand-written handler would serve it: one indexed
/// lookup, serialised, no cache, no middleware.
#[handler]
async fn plain_row(Path(id): Path<Uuid>, pool: Data<&PgPool>) -> poem::Result<Json<Value>> {
    let row = sqlx::query(
        "SELECT id, title, url, description, tags, kind, author_id, created_at, updated_at,
                version, coalesce(c.votes, 0) AS votes
         FROM resources r LEFT JOIN resource_vote_counts c ON c.resource_id = r.id
         WHERE id = $1",
    )
    .bind(id)
    .fetch_one(*pool)
    .await
    .map_err(poem::error::InternalServerError)?;
    Ok(Json(json!({
        "id": row.get::<Uuid, _>("id"),
        "title": row.get::<String, _>("title"),
        "url": row.get::<String, _>("url"),
        "description": row.get::<String, _>("description"),
        "tags": row.get::<Vec<String>, _>("tags"),
        "kind": row.get::<String, _>("kind"),
        "author_id": row.get::<Uuid, _>("author_id"),
        "created_at": row.get::<chrono::DateTime<chrono::Utc>, _>("created_at"),
        "updated_at": row.get::<chrono::DateTime<chrono::Utc>, _>("updated_at"),
        "version": row.get::<i32, _>("version"),
        "votes": row.get::<i32, _>("votes"),
    })))
}

/// Serves `/constant` and `/row/{id}` on a port of its own.
pub async fn serve(pool: PgPool) -> anyhow::Result<SocketAddr> {
    let routes = Route::new()
        .at("/constant", get(constant))
        .at("/row/:id", get(plain_row))
        .data(pool);
    serve_on_loopback(routes).await
}

/// Serves `endpoint` on a free loopback port, in a task of its own.
pub async fn serve_on_loopback(endpoint: impl Endpoint + 'static) -> anyhow::Result<SocketAddr> {
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
    let addr = acceptor
        .local_addr()
        .into_iter()
        .find_map(|a| a.as_socket_addr().copied())
        .context("a socket address")?;
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(endpoint));
    Ok(addr)
}
