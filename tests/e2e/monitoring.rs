//! Metrics, health and readiness, request ids, and the database guards.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use resourcify::{NodeSettings, Roles};
use resourcify_readmodel::PoolSettings;
use resourcify_testkit::{
    metric_sample as sample, operator_metrics_url, scrape, spawn_api_only, spawn_app,
    spawn_app_configured,
};
use serde_json::json;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn metrics_expose_every_family_after_a_small_workload(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_configured(db, |s: &mut NodeSettings| {
        // Every query counts as slow here, so the family has samples.
        s.slow_query = Duration::ZERO;
        s.api.rate_limits.logins = "1/min".parse().unwrap();
    })
    .await;
    let user = app.register("ada").await;
    let submitted = app.submit(&user.token, json!({})).await;
    let id = submitted.body["id"].as_str().unwrap();
    let position = submitted.position();
    let first = app.get_at(&format!("/v1/resources/{id}"), position).await;
    assert_eq!(first.header("x-cache"), Some("miss"));
    let second = app.get(&format!("/v1/resources/{id}")).await;
    assert_eq!(second.header("x-cache"), Some("hit"));
    let credentials = json!({"login": "ada", "password": "correct horse battery"});
    app.post("/v1/sessions", &credentials, None).await;
    app.post("/v1/sessions", &credentials, None)
        .await
        .assert_problem(429);

    let metrics = &app.metrics().await;
    let positive = [
        "resourcify_http_requests_total{route=\"getResource\",method=\"GET\",status=\"2xx\"}",
        "resourcify_http_request_duration_seconds_count{route=\"submitResource\",method=\"POST\",status=\"2xx\"}",
        "resourcify_db_query_duration_seconds_count{query=\"resource_by_id\"}",
        "resourcify_db_slow_queries_total{query=\"resource_by_id\"}",
        "resourcify_cache_requests_total{cache=\"resource\",result=\"hit\"}",
        "resourcify_cache_requests_total{cache=\"resource\",result=\"miss\"}",
        "resourcify_rate_limited_requests_total{budget=\"logins\"}",
        "resourcify_events_appended_total{type=\"resourcify.resource.submitted.v2\"}",
        "resourcify_nats_connected",
        "resourcify_postgres_connected",
    ];
    for family in positive {
        let value = sample(metrics, family);
        assert!(
            value.is_some_and(|v| v > 0.0),
            "{family}: {value:?}\n{metrics}"
        );
    }
    let present = [
        "resourcify_db_long_running_queries",
        "resourcify_projection_checkpoint{projection=\"resources\"}",
        "resourcify_projection_head{projection=\"resources\"}",
        "resourcify_projection_lag_events{projection=\"users\"}",
        "resourcify_projection_lag_seconds{projection=\"users\"}",
        "resourcify_dead_letters_total{projection=\"resources\"}",
        "resourcify_projection_lost_commits_total{projection=\"resources\"}",
        "resourcify_postgres_pool_connections{state=\"open\"}",
    ];
    for family in present {
        assert!(
            sample(metrics, family).is_some(),
            "{family} missing\n{metrics}"
        );
    }
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn metrics_are_served_on_the_operator_address_and_the_public_port_answers_404(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    // As any path the API does not have: nothing about the node's activity.
    let public = app.get("/metrics").await;
    public.assert_problem(404);
    assert!(
        !public.body.to_string().contains("resourcify_"),
        "{public:#?}"
    );
    let document = app.get("/openapi.json").await.body;
    assert!(document["paths"].get("/metrics").is_none());

    let metrics = app.metrics().await;
    assert!(metrics.contains("# HELP resourcify_http_requests_total "));
    assert!(metrics.contains("# TYPE resourcify_http_requests_total counter"));
    // The operator address serves metrics only, never the API.
    assert_ne!(app.metrics_url, app.url("/metrics"));
    let operator = reqwest::Url::parse(&app.metrics_url).unwrap();
    let api_there = app.http.get(operator.join("/v1/resources").unwrap()).send();
    assert_eq!(api_there.await.unwrap().status(), 404);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn projector_and_ingest_nodes_serve_their_metrics_on_operator_addresses_of_their_own(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_api_only(db).await;
    app.register("ada").await;
    let projector = app.another_node_with(Roles::PROJECTOR_ONLY).await;
    let ingester = app.another_node_with(Roles::INGEST_ONLY).await;
    // The projector node is the one that brings the views up to the log.
    app.wait_until_caught_up().await;

    for (node, family) in [
        (&projector, "resourcify_projection_lost_commits_total"),
        (&ingester, "resourcify_news_fetches_total"),
    ] {
        assert_eq!(node.addr, None, "no API on this node");
        assert_ne!(node.metrics_addr, app.node.metrics_addr);
        let metrics = scrape(&operator_metrics_url(node)).await;
        assert!(metrics.contains(&format!("# HELP {family} ")), "{metrics}");
        assert!(metrics.contains(&format!("# TYPE {family} counter")));
    }

    // A node that stops closes its operator address with the rest.
    let url = operator_metrics_url(&projector);
    projector.shut_down().await;
    ingester.shut_down().await;
    assert!(
        app.http.get(&url).send().await.is_err(),
        "{url} still answers"
    );
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_query_held_up_by_a_lock_is_cancelled_counted_and_answered_with_503(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_configured(db.clone(), |s: &mut NodeSettings| {
        s.api_pool = PoolSettings {
            statement_timeout: Duration::from_millis(300),
            lock_timeout: Duration::from_secs(10),
            ..s.api_pool.clone()
        };
        s.slow_query = Duration::from_millis(100);
    })
    .await;

    // What the outage looked like: something holds the resource table.
    let mut blocker = PgConnection::connect_with(&db).await.unwrap();
    let mut tx = blocker.begin().await.unwrap();
    sqlx::query("LOCK TABLE resources IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();

    let started = std::time::Instant::now();
    let response = app.get("/v1/resources").await;
    response.assert_problem(503);
    assert!(response.header("retry-after").is_some());
    assert!(
        response.body["detail"]
            .as_str()
            .unwrap()
            .contains("resources_newest")
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cancelled, not hung"
    );

    let metrics = app.metrics().await;
    let slow = sample(
        &metrics,
        "resourcify_db_slow_queries_total{query=\"resources_newest\"}",
    );
    assert!(slow.is_some_and(|v| v >= 1.0), "{metrics}");

    tx.rollback().await.unwrap();
    assert_eq!(app.get("/v1/resources").await.status, 200);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn readyz_fails_while_a_projection_lags_and_passes_once_it_catches_up(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_configured(db.clone(), |s: &mut NodeSettings| {
        s.roles = Roles::API_ONLY;
        s.app.ready_max_lag_events = 1;
    })
    .await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status, 200);
    assert_eq!(
        health.header("content-type"),
        Some("application/health+json")
    );
    assert_eq!(health.body["status"], "pass");
    assert_eq!(
        app.get("/readyz").await.status,
        200,
        "nothing to lag behind yet"
    );

    let user = app.register("ada").await;
    app.submit(&user.token, json!({})).await;
    let lagging = app.get("/readyz").await;
    assert_eq!(lagging.status, 503, "{lagging:#?}");
    assert_eq!(lagging.body["status"], "fail");
    // Checks keyed by name, each a list of measurements (health+json).
    let checks = &lagging.body["checks"];
    let resources = &checks["projection:resources"][0];
    // The registration, its login's session and the submission.
    assert_eq!(resources["lag_events"], 3);
    assert_eq!(resources["status"], "fail");
    assert_eq!(checks["nats"][0]["status"], "pass");
    assert_eq!(checks["postgres"][0]["status"], "pass");

    let projectors = app.start_projectors(500).await;
    app.wait_until_caught_up().await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200, "{ready:#?}");
    assert_eq!(ready.body["status"], "pass");
    drop(projectors);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_request_id_is_echoed_and_recorded_on_the_event(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app_configured(db, |_| {}).await;
    let response = app
        .http
        .post(app.url("/v1/users"))
        .header("x-request-id", "req-from-the-edge")
        .json(&json!({"username": "ada", "email": "ada@example.org", "password": "long enough"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["x-request-id"].to_str().unwrap(),
        "req-from-the-edge"
    );
    let stream = app
        .store
        .jetstream()
        .get_stream(app.namespace.stream_name())
        .await
        .unwrap();
    let event = stream.get_raw_message(1).await.unwrap();
    assert_eq!(
        event.headers.get("ce-requestid").map(|v| v.as_str()),
        Some("req-from-the-edge")
    );

    // Without one (or with a hostile one), the server makes one up.
    let generated = app.get("/v1/resources").await;
    let id = generated.header("x-request-id").unwrap();
    let (prefix, counter) = id.split_once('-').unwrap();
    assert_eq!(prefix.len(), 16, "{id}");
    assert!(u64::from_str_radix(prefix, 16).is_ok() && u64::from_str_radix(counter, 16).is_ok());
    let next = app.get("/v1/resources").await;
    assert_ne!(next.header("x-request-id"), Some(id), "ids are unique");
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_cached_resource_answers_304_to_its_etag(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app_configured(db, |_| {}).await;
    let user = app.register("ada").await;
    let submitted = app.submit(&user.token, json!({})).await;
    let path = format!("/v1/resources/{}", submitted.body["id"].as_str().unwrap());
    let position = submitted.position();

    let first = app.get_at(&path, position).await;
    assert_eq!(first.status, 200);
    let etag = first.header("etag").unwrap().to_owned();
    assert_eq!(
        first.header("cache-control"),
        Some("public, max-age=0, must-revalidate")
    );
    let again = app
        .http
        .get(app.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert!(again.bytes().await.unwrap().is_empty());
}

/// Each family of a Prometheus exposition, with its `# TYPE`, and whether
/// it has a `# HELP`.
fn families(metrics: &str) -> BTreeMap<String, (Option<String>, bool)> {
    let mut families: BTreeMap<String, (Option<String>, bool)> = BTreeMap::new();
    for line in metrics.lines() {
        if let Some(help) = line.strip_prefix("# HELP ") {
            let name = help.split(' ').next().unwrap();
            families.entry(name.to_owned()).or_default().1 = true;
        } else if let Some(kind) = line.strip_prefix("# TYPE ") {
            let (name, kind) = kind.split_once(' ').unwrap();
            families.entry(name.to_owned()).or_default().0 = Some(kind.to_owned());
        }
    }
    families
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_fresh_node_lists_every_metric_family_with_help_and_type(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    // The first request: nothing has been read, written, fetched or replayed.
    let metrics = app.metrics().await;
    let exported = families(&metrics);
    let catalogue: BTreeSet<&str> = resourcify::metric_families().collect();
    assert_eq!(
        catalogue.len(),
        resourcify::metric_families().count(),
        "named twice"
    );
    for family in &catalogue {
        let (kind, help) = exported.get(*family).cloned().unwrap_or_default();
        assert!(
            kind.is_some() && help,
            "{family} is not listed with HELP and TYPE\n{metrics}"
        );
    }
    // Nor is anything exported that the catalogue does not name (other
    // tests of this process may have recorded by now: still only these).
    for family in exported.keys() {
        assert!(
            catalogue.contains(family.as_str()),
            "{family} is not in the catalogue"
        );
    }
    // Every projection, cache, named query and route is there with zero.
    for present in [
        "resourcify_dead_letters_pending{projection=\"news\"}",
        "resourcify_replay_eta_seconds{projection=\"resources\"}",
        "resourcify_cache_requests_total{cache=\"list\",result=\"hit\"}",
        "resourcify_db_slow_queries_total{query=\"resources_search\"}",
        "resourcify_news_fetches_total{status=\"failed\"}",
        "resourcify_rate_limited_requests_total{budget=\"signups\"}",
        "resourcify_http_requests_total{route=\"tagFeedRss\",method=\"GET\",status=\"5xx\"}",
    ] {
        assert!(
            sample(&metrics, present).is_some(),
            "{present} missing\n{metrics}"
        );
    }
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn metric_names_follow_the_prometheus_conventions(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let metrics = app.metrics().await;
    let exported = families(&metrics);
    let kind = |name: &str| exported[name].0.clone().unwrap();
    // The names a family's samples take: a histogram's are suffixed.
    let mut sample_names = BTreeMap::new();
    for name in exported.keys() {
        assert!(name.starts_with("resourcify_"), "{name}");
        let counter = kind(name) == "counter";
        assert_eq!(
            counter,
            name.ends_with("_total"),
            "{name}: only counters end in _total"
        );
        let stem = name.strip_suffix("_total").unwrap_or(name);
        let mut names = vec![stem.to_owned()];
        if kind(name) == "histogram" {
            assert!(
                name.ends_with("_seconds") || name.ends_with("_bytes"),
                "{name} has no unit"
            );
            names.extend(["_bucket", "_sum", "_count"].map(|suffix| format!("{name}{suffix}")));
        }
        for taken in names {
            if let Some(other) = sample_names.insert(taken.clone(), name.clone()) {
                panic!("{name} and {other} both use {taken}");
            }
        }
    }
    assert!(exported.contains_key("resourcify_dead_letters_total"));
    assert!(!exported.contains_key("resourcify_dead_letters"));
}

/// Every `route` label value in an exposition.
fn route_labels(metrics: &str) -> BTreeSet<String> {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once("route=\"")?.1.split_once('"'))
        .map(|(route, _)| route.to_owned())
        .collect()
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_route_label_is_an_operation_id_or_unmatched(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app_configured(db, |s: &mut NodeSettings| {
        s.api.rate_limits.logins = "1/min".parse().unwrap();
    })
    .await;
    let document = app.get("/openapi.json").await.body;
    let mut names: BTreeSet<String> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|methods| methods.as_object().unwrap().values())
        .map(|operation| operation["operationId"].as_str().unwrap().to_owned())
        .collect();
    names.extend(resourcify_api::ROUTES_BESIDE_THE_DOCUMENT.map(str::to_owned));
    names.insert(resourcify_api::UNMATCHED_ROUTE.to_owned());

    let count = |metrics: &str, route: &str, method: &str, status: &str| {
        let series = format!(
            "resourcify_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}}"
        );
        sample(metrics, &series).unwrap_or(0.0)
    };
    let before = app.metrics().await;
    let user = app.register("ada").await;
    let answers = [
        (app.get("/nowhere").await.status, "unmatched", "GET", "4xx"),
        (
            app.get("/v1/nowhere/at/all").await.status,
            "unmatched",
            "GET",
            "4xx",
        ),
        (
            app.delete("/v1/feed", &user.token).await.status,
            "unmatched",
            "DELETE",
            "4xx",
        ),
        (
            app.get("/v1/resources").await.status,
            "listResources",
            "GET",
            "2xx",
        ),
        (app.get("/docs").await.status, "docs", "GET", "2xx"),
        (
            app.get("/openapi.json").await.status,
            "openapi",
            "GET",
            "2xx",
        ),
        // Refused by the contract before any handler ran.
        (
            app.post("/v1/resources", &json!({"title": 7}), Some(&user.token))
                .await
                .status,
            "submitResource",
            "POST",
            "4xx",
        ),
        (
            app.get("/v1/resources/a%00b").await.status,
            "getResource",
            "GET",
            "4xx",
        ),
        // Refused by the rate limits before routing (the sign-up logged in).
        (
            app.post(
                "/v1/sessions",
                &json!({"login": "ada", "password": "x"}),
                None,
            )
            .await
            .status,
            "login",
            "POST",
            "4xx",
        ),
    ];
    let after = app.metrics().await;
    for (status, route, method, class) in answers {
        assert_eq!(&status.as_str()[..1], &class[..1], "{route} {method}");
        assert!(
            count(&after, route, method, class) > count(&before, route, method, class),
            "{route} {method} {class} not counted\n{after}"
        );
    }
    let labels = route_labels(&after);
    let strangers: Vec<_> = labels.difference(&names).collect();
    assert!(strangers.is_empty(), "{strangers:?} name no route");
}

/// The `.rs` files under `dir`, at any depth.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn every_metric_the_code_records_is_named_in_the_catalogue() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    let catalogue: BTreeSet<&str> = resourcify::metric_families().collect();
    let sources: Vec<(PathBuf, String)> = std::fs::read_dir(&crates)
        .unwrap()
        .flat_map(|krate| rust_files(&krate.unwrap().path().join("src")))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect();
    // A crate's catalogue is the module that lists its families; its
    // constants are the only names the recorders may use.
    let mut names = BTreeMap::new();
    for (path, text) in &sources {
        if !text.contains("pub const METRIC_FAMILIES") {
            continue;
        }
        for line in text.lines() {
            let Some(definition) = line.trim().strip_prefix("pub const ") else {
                continue;
            };
            if let Some((constant, value)) = definition.split_once(": &str = \"") {
                let value = value.trim_end_matches("\";");
                assert!(
                    catalogue.contains(value),
                    "{value} ({path:?}) is not listed"
                );
                names.insert(constant.to_owned(), value.to_owned());
            }
        }
    }
    assert_eq!(names.len(), catalogue.len(), "{names:?}");
    for (path, text) in &sources {
        if text.contains("pub const METRIC_FAMILIES") {
            continue;
        }
        for recorder in ["counter!(", "gauge!(", "histogram!("] {
            for (at, _) in text.match_indices(recorder) {
                if text[..at].ends_with("describe_") {
                    continue;
                }
                let rest = &text[at + recorder.len()..];
                let argument = rest[..rest.find([',', ')']).unwrap()].trim();
                let constant = argument.rsplit("::").next().unwrap();
                assert!(
                    names.contains_key(constant),
                    "{path:?} records {argument}, which is not a catalogue constant"
                );
            }
        }
    }
}
