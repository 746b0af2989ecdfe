//! The lists a resource belongs to have one rule: the SQL function the
//! projection uses. `Scope`, the type reads name lists with, must agree.

use resourcify_readmodel::Scope;
use sqlx::PgPool;
use uuid::Uuid;

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn scopes_match_the_sql_function(pool: PgPool) {
    let author = Uuid::new_v4();
    let source = Uuid::new_v4();
    let tags = |list: &[&str]| list.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    let cases = [
        (None, tags(&["rust", "async"]), "article"),
        (None, tags(&[]), "video"),
        (None, tags(&["c++", "go-lang"]), "tool"),
        (Some(source), tags(&["rust"]), "article"),
        (Some(source), tags(&[]), "article"),
    ];
    for (source_id, tags, kind) in cases {
        let mut in_sql: Vec<String> = sqlx::query_scalar("SELECT resource_scopes($1, $2, $3, $4)")
            .bind(source_id)
            .bind(&tags)
            .bind(kind)
            .bind(author)
            .fetch_all(&pool)
            .await
            .expect("resource_scopes runs");
        let mut in_rust: Vec<String> = Scope::of(source_id, &tags, kind, author)
            .iter()
            .map(Scope::to_string)
            .collect();
        in_sql.sort();
        in_rust.sort();
        assert_eq!(in_rust, in_sql, "{source_id:?} {tags:?} {kind}");
    }
    // The lists reads ask for by name are among those the rule makes.
    let member = Scope::of(None, &tags(&["rust"]), "article", author);
    let news = Scope::of(Some(source), &tags(&["rust"]), "article", author);
    for scope in Scope::tagged("rust").iter().chain(&Scope::FRONT_PAGE) {
        assert!(member.contains(scope) || news.contains(scope), "{scope}");
    }
}
