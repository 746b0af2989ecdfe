//! End-to-end tests against the real NATS and Postgres: each test gets its
//! own database (`#[sqlx::test]`) and its own NATS namespace (`spawn_app`).

mod accounts;
mod authorization;
mod backup;
mod bad_input;
mod batch_plans;
mod comment_votes;
mod concurrency;
mod dead_letters;
mod duplicates;
mod edge;
mod erasure;
mod event_store;
mod faults;
mod idempotency;
mod karma;
mod lists;
mod moderation;
mod monitoring;
mod my_data;
mod news;
mod no_scans;
mod openapi;
mod personal;
mod projector;
mod rate_limits;
mod read_your_writes;
mod replay;
mod replicas;
mod schemas;
mod scopes;
mod secrets;
mod sessions;
mod streams;
mod uniqueness;
mod walking_skeleton;
