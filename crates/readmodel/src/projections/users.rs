//! Projection "users": credentials by username and e-mail, for login.

use resourcify_domain::DomainEvent;
use sqlx::PgConnection;

use super::Positioned;

pub(super) async fn apply(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
) -> sqlx::Result<Vec<String>> {
    let registered: Vec<_> = events
        .iter()
        .filter_map(|e| match e.event {
            DomainEvent::UserRegistered(r) => Some(r),
            _ => None,
        })
        .collect();
    if registered.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<_> = registered.iter().map(|r| r.user_id).collect();
    let usernames: Vec<_> = registered.iter().map(|r| r.username.clone()).collect();
    let emails: Vec<_> = registered.iter().map(|r| r.email.clone()).collect();
    let hashes: Vec<_> = registered.iter().map(|r| r.password_hash.clone()).collect();
    let times: Vec<_> = registered.iter().map(|r| r.registered_at).collect();
    sqlx::query!(
        "INSERT INTO user_credentials (user_id, username, email, password_hash, registered_at)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
         ON CONFLICT (user_id) DO NOTHING",
        &ids,
        &usernames,
        &emails,
        &hashes,
        &times
    )
    .execute(&mut *tx)
    .await?;
    Ok(ids.iter().map(ToString::to_string).collect())
}
