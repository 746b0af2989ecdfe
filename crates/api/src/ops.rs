//! Operations endpoints: liveness and readiness. Metrics are not served
//! here but on the operator address (`resourcify`'s `metrics_endpoint`,
//! ADR 15): they are for operators, not the public.

use std::collections::BTreeMap;

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use resourcify_app::Readiness;

#[derive(Tags)]
enum ApiTags {
    /// For load balancers and orchestrators.
    Operations,
}

#[derive(Debug)]
pub struct OpsApi {
    pub status: resourcify_app::Status,
}

/// An `application/health+json` document (draft-inadarei-api-health-check).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Health {
    /// `pass` or `fail`.
    pub status: String,
    /// Each check under its name (`nats`, `postgres`,
    /// `projection:<name>`, `read-replica:<n>`), as the health+json format keys them: a list of
    /// one measurement each here.
    #[oai(skip_serializing_if_is_none)]
    pub checks: Option<BTreeMap<String, Vec<HealthCheck>>>,
}

/// One dependency or projection and how it is doing.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct HealthCheck {
    /// `pass` or `fail`; `warn` for a read replica out of rotation (reads
    /// go elsewhere: the node stays ready).
    pub status: String,
    /// Why a check does not pass.
    #[oai(skip_serializing_if_is_none)]
    pub output: Option<String>,
    /// For projections: events not yet applied.
    #[oai(skip_serializing_if_is_none)]
    pub lag_events: Option<u64>,
    #[oai(skip_serializing_if_is_none)]
    pub lag_seconds: Option<f64>,
}

#[derive(ApiResponse)]
enum HealthResponse {
    #[oai(status = 200, content_type = "application/health+json")]
    Pass(Json<Health>),
    #[oai(status = 503, content_type = "application/health+json")]
    Fail(Json<Health>),
}

fn verdict(pass: bool) -> String {
    if pass { "pass" } else { "fail" }.to_owned()
}

fn readiness_document(readiness: &Readiness) -> Health {
    let check = |pass: bool| HealthCheck {
        status: verdict(pass),
        output: None,
        lag_events: None,
        lag_seconds: None,
    };
    let mut checks = BTreeMap::from([
        ("draining".to_owned(), vec![check(!readiness.draining)]),
        ("nats".to_owned(), vec![check(readiness.nats)]),
        ("postgres".to_owned(), vec![check(readiness.postgres)]),
    ]);
    checks.extend(readiness.projections.iter().map(|p| {
        (
            format!("projection:{}", p.projection),
            vec![HealthCheck {
                lag_events: Some(p.lag_events),
                lag_seconds: Some(p.lag_seconds),
                ..check(p.lag_events <= readiness.max_lag_events)
            }],
        )
    }));
    checks.extend(readiness.replicas.iter().map(|(name, state)| {
        (
            format!("read-replica:{name}"),
            vec![HealthCheck {
                status: if state.in_rotation { "pass" } else { "warn" }.to_owned(),
                output: state.out_because.map(str::to_owned),
                ..check(true)
            }],
        )
    }));
    Health {
        status: verdict(readiness.is_ready()),
        checks: Some(checks),
    }
}

#[OpenApi(tag = "ApiTags::Operations")]
impl OpsApi {
    /// Liveness: the process answers
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> HealthResponse {
        HealthResponse::Pass(Json(Health {
            status: "pass".into(),
            checks: None,
        }))
    }

    /// Readiness: NATS and Postgres answer and no projection lags too far
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self) -> HealthResponse {
        let readiness = self.status.readiness().await;
        let document = Json(readiness_document(&readiness));
        if readiness.is_ready() {
            HealthResponse::Pass(document)
        } else {
            HealthResponse::Fail(document)
        }
    }
}
