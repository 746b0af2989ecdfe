//! Who may run which command: for each, the anonymous caller (401), the
//! wrong user or role (403), what the caller may not see (404), and the
//! caller who may (2xx). One table, run in order against one deployment.

use reqwest::Method;
use resourcify_testkit::{Registered, TestApp, spawn_app};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Anonymous,
    Author,
    Member,
    Moderator,
    Admin,
}

struct Cast {
    author: Registered,
    member: Registered,
    moderator: Registered,
    admin: Registered,
}

impl Cast {
    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anonymous => None,
            Who::Author => Some(&self.author.token),
            Who::Member => Some(&self.member.token),
            Who::Moderator => Some(&self.moderator.token),
            Who::Admin => Some(&self.admin.token),
        }
    }
}

fn id_of(response: &resourcify_testkit::TestResponse) -> String {
    assert!(response.status.is_success(), "{response:#?}");
    response.id()
}

async fn cast(app: &TestApp) -> Cast {
    let author = app.register("author").await;
    let member = app.register("member").await;
    let moderator = app.register("moderator").await;
    let admin = app.register("admin").await;
    app.grant_as_operator("moderator", "moderator").await;
    let admin = app.make_admin(&admin).await;
    Cast {
        author,
        member,
        moderator,
        admin,
    }
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn every_command_admits_exactly_who_it_should(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let cast = cast(&app).await;
    let resource = id_of(&app.submit(&cast.author.token, json!({})).await);
    let doomed = id_of(&app.submit(&cast.author.token, json!({})).await);
    let hidden = id_of(&app.submit(&cast.author.token, json!({})).await);
    let reason = json!({"reason": "Off-topic for this community."});
    let hide = app
        .request(
            Method::POST,
            &format!("/v1/resources/{hidden}/hide"),
            Some(&reason),
            Some(&cast.moderator.token),
            None,
        )
        .await;
    assert_eq!(hide.status, 200, "{hide:#?}");
    let comment = id_of(
        &app.request(
            Method::POST,
            &format!("/v1/resources/{resource}/comments"),
            Some(&json!({"body": "Worth it."})),
            Some(&cast.member.token),
            None,
        )
        .await,
    );
    let unknown = uuid::Uuid::now_v7();

    let edit = json!({"title": "A better title"});
    let body = json!({"body": "Edited."});
    let none = Value::Null;
    let bio = json!({"bio": "hi"});
    #[rustfmt::skip]
    let table: Vec<(Method, String, &Value, Who, u16)> = vec![
        // Resources: only the author edits or retracts.
        (Method::PATCH, format!("/v1/resources/{resource}"), &edit, Who::Anonymous, 401),
        (Method::PATCH, format!("/v1/resources/{resource}"), &edit, Who::Member, 403),
        (Method::PATCH, format!("/v1/resources/{resource}"), &edit, Who::Moderator, 403),
        (Method::PATCH, format!("/v1/resources/{resource}"), &edit, Who::Author, 200),
        (Method::PATCH, format!("/v1/resources/{unknown}"), &edit, Who::Author, 404),
        (Method::PATCH, format!("/v1/resources/{hidden}"), &edit, Who::Author, 404),
        (Method::DELETE, format!("/v1/resources/{doomed}"), &none, Who::Anonymous, 401),
        (Method::DELETE, format!("/v1/resources/{doomed}"), &none, Who::Member, 403),
        (Method::DELETE, format!("/v1/resources/{doomed}"), &none, Who::Author, 200),
        (Method::DELETE, format!("/v1/resources/{doomed}"), &none, Who::Author, 404),
        // Votes: one per member, never one's own, never on what one cannot see.
        (Method::PUT, format!("/v1/resources/{resource}/vote"), &none, Who::Anonymous, 401),
        (Method::PUT, format!("/v1/resources/{resource}/vote"), &none, Who::Author, 403),
        (Method::PUT, format!("/v1/resources/{resource}/vote"), &none, Who::Member, 200),
        (Method::PUT, format!("/v1/resources/{hidden}/vote"), &none, Who::Member, 404),
        (Method::PUT, format!("/v1/resources/{doomed}/vote"), &none, Who::Member, 404),
        (Method::DELETE, format!("/v1/resources/{resource}/vote"), &none, Who::Member, 200),
        // Bookmarks: one's own, of what one can see.
        (Method::PUT, format!("/v1/resources/{resource}/bookmark"), &none, Who::Anonymous, 401),
        (Method::PUT, format!("/v1/resources/{resource}/bookmark"), &none, Who::Member, 200),
        (Method::PUT, format!("/v1/resources/{hidden}/bookmark"), &none, Who::Member, 404),
        (Method::DELETE, format!("/v1/resources/{resource}/bookmark"), &none, Who::Member, 200),
        // Moderation: moderators only; staff see hidden resources.
        (Method::POST, format!("/v1/resources/{resource}/hide"), &reason, Who::Anonymous, 401),
        (Method::POST, format!("/v1/resources/{resource}/hide"), &reason, Who::Author, 403),
        (Method::POST, format!("/v1/resources/{resource}/hide"), &reason, Who::Member, 403),
        (Method::POST, format!("/v1/resources/{hidden}/hide"), &reason, Who::Moderator, 409),
        (Method::POST, format!("/v1/resources/{hidden}/restore"), &reason, Who::Member, 403),
        (Method::PUT, format!("/v1/resources/{hidden}/vote"), &none, Who::Moderator, 200),
        (Method::POST, format!("/v1/resources/{hidden}/restore"), &reason, Who::Admin, 200),
        (Method::PUT, format!("/v1/resources/{hidden}/vote"), &none, Who::Member, 200),
        // Comments: the author edits and deletes; moderators remove.
        (Method::POST, format!("/v1/resources/{resource}/comments"), &body, Who::Anonymous, 401),
        (Method::POST, format!("/v1/resources/{doomed}/comments"), &body, Who::Member, 404),
        (Method::PATCH, format!("/v1/comments/{comment}"), &body, Who::Author, 403),
        (Method::PATCH, format!("/v1/comments/{comment}"), &body, Who::Member, 200),
        (Method::DELETE, format!("/v1/comments/{comment}"), &none, Who::Author, 403),
        (Method::POST, format!("/v1/comments/{comment}/remove"), &reason, Who::Member, 403),
        (Method::POST, format!("/v1/comments/{comment}/remove"), &reason, Who::Moderator, 200),
        (Method::PATCH, format!("/v1/comments/{comment}"), &body, Who::Member, 404),
        // One's own account and sessions: a token is all it takes, and
        // nobody can act on someone else's (the path names no one).
        (Method::PATCH, "/v1/me".into(), &bio, Who::Anonymous, 401),
        (Method::PUT, "/v1/me/password".into(), &none, Who::Anonymous, 401),
        (Method::PUT, "/v1/me/followed-tags/rust".into(), &none, Who::Anonymous, 401),
        (Method::DELETE, "/v1/me/followed-tags/rust".into(), &none, Who::Anonymous, 401),
        (Method::PUT, "/v1/me/followed-users/author".into(), &none, Who::Anonymous, 401),
        (Method::DELETE, "/v1/me/followed-users/author".into(), &none, Who::Anonymous, 401),
        (Method::DELETE, "/v1/me".into(), &none, Who::Anonymous, 401),
        (Method::DELETE, "/v1/sessions/current".into(), &none, Who::Anonymous, 401),
        (Method::DELETE, "/v1/sessions".into(), &none, Who::Anonymous, 401),
        (Method::DELETE, format!("/v1/comments/{comment}"), &none, Who::Anonymous, 401),
        (Method::POST, format!("/v1/comments/{comment}/remove"), &reason, Who::Anonymous, 401),
        (Method::DELETE, format!("/v1/resources/{resource}/vote"), &none, Who::Anonymous, 401),
        (Method::DELETE, format!("/v1/resources/{resource}/bookmark"), &none, Who::Anonymous, 401),
        (Method::POST, format!("/v1/resources/{hidden}/restore"), &reason, Who::Anonymous, 401),
        // Roles: administrators only; nobody is granted "member".
        (Method::PUT, "/v1/users/member/roles/moderator".into(), &none, Who::Anonymous, 401),
        (Method::PUT, "/v1/users/member/roles/moderator".into(), &none, Who::Member, 403),
        (Method::PUT, "/v1/users/member/roles/admin".into(), &none, Who::Moderator, 403),
        // Not a role the contract knows: a malformed parameter.
        (Method::PUT, "/v1/users/member/roles/member".into(), &none, Who::Admin, 400),
        (Method::PUT, "/v1/users/nobody/roles/moderator".into(), &none, Who::Admin, 404),
        (Method::DELETE, "/v1/users/admin/roles/admin".into(), &none, Who::Admin, 409),
        (Method::DELETE, "/v1/users/member/roles/moderator".into(), &none, Who::Anonymous, 401),
        (Method::DELETE, "/v1/users/member/roles/moderator".into(), &none, Who::Moderator, 403),
        // Suspension: moderators act on members, only administrators on staff.
        (Method::PUT, "/v1/users/author/suspension".into(), &reason, Who::Anonymous, 401),
        (Method::DELETE, "/v1/users/author/suspension".into(), &none, Who::Anonymous, 401),
        (Method::DELETE, "/v1/users/author/suspension".into(), &none, Who::Member, 403),
        (Method::PUT, "/v1/users/nobody/suspension".into(), &reason, Who::Moderator, 404),
        (Method::PUT, "/v1/users/author/suspension".into(), &reason, Who::Member, 403),
        (Method::PUT, "/v1/users/admin/suspension".into(), &reason, Who::Moderator, 403),
        (Method::PUT, "/v1/users/moderator/suspension".into(), &reason, Who::Moderator, 403),
        (Method::PUT, "/v1/users/member/suspension".into(), &reason, Who::Moderator, 200),
        // A suspended member can change nothing.
        (Method::PUT, format!("/v1/resources/{resource}/vote"), &none, Who::Member, 403),
        (Method::PUT, "/v1/me/followed-tags/rust".into(), &none, Who::Member, 403),
        (Method::PATCH, "/v1/me".into(), &bio, Who::Member, 403),
        (Method::DELETE, "/v1/users/member/suspension".into(), &none, Who::Admin, 200),
        (Method::PUT, format!("/v1/resources/{resource}/vote"), &none, Who::Member, 200),
        (Method::PUT, "/v1/users/member/roles/moderator".into(), &none, Who::Admin, 200),
        (Method::POST, format!("/v1/resources/{resource}/hide"), &reason, Who::Member, 200),
    ];

    for (method, path, body, who, expected) in table {
        let body = (!body.is_null()).then_some(body);
        let response = app
            .request(method.clone(), &path, body, cast.token(who), None)
            .await;
        assert_eq!(
            response.status.as_u16(),
            expected,
            "{method} {path} as {who:?}: {response:#?}"
        );
        if expected >= 400 {
            response.assert_problem(expected);
        }
    }
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn no_one_sets_their_own_standing_or_a_resources_author(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    for sneaky in [
        json!({"bio": "hi", "roles": ["admin"]}),
        json!({"suspended": false}),
        json!({"username": "root"}),
    ] {
        let refused = app.patch("/v1/me", &sneaky, &ada.token).await;
        refused.assert_problem(422);
    }
    let resource = id_of(&app.submit(&ada.token, json!({})).await);
    for sneaky in [
        json!({"title": "Fine title", "author_id": uuid::Uuid::now_v7()}),
        json!({"votes": 1000}),
        json!({"url": "https://example.org/elsewhere"}),
    ] {
        app.patch(&format!("/v1/resources/{resource}"), &sneaky, &ada.token)
            .await
            .assert_problem(422);
    }
    let head = app.wait_until_caught_up().await;
    let me = app
        .request(
            Method::GET,
            &format!("/v1/me?min_position={head}"),
            None,
            Some(&ada.token),
            None,
        )
        .await;
    assert_eq!(me.body["roles"], json!([]));
    assert_eq!(me.body["bio"], "");
    let view = app.get_at(&format!("/v1/resources/{resource}"), head).await;
    assert_eq!(
        (view.body["version"].clone(), view.body["votes"].clone()),
        (json!(1), json!(0))
    );
}
