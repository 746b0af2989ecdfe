//! Every metric family the node exports, gathered from the crates that
//! record them. Each crate names and describes its own families beside its
//! recorders, because only there are the label values known (projections,
//! named queries, event types, routes) and a list kept up here could not be
//! used by the crates below; this is where the lists meet.

/// A crate's families, and what describes and registers them.
type Families = (&'static [&'static str], fn());

/// Every recording crate's.
const CRATES: [Families; 6] = [
    (
        resourcify_eventstore::METRIC_FAMILIES,
        resourcify_eventstore::describe_metrics,
    ),
    (
        resourcify_readmodel::METRIC_FAMILIES,
        resourcify_readmodel::describe_metrics,
    ),
    (
        resourcify_projector::METRIC_FAMILIES,
        resourcify_projector::describe_metrics,
    ),
    (
        resourcify_news::METRIC_FAMILIES,
        resourcify_news::describe_metrics,
    ),
    (
        resourcify_app::METRIC_FAMILIES,
        resourcify_app::describe_metrics,
    ),
    (
        resourcify_api::METRIC_FAMILIES,
        resourcify_api::describe_metrics,
    ),
];

/// Installs the process's recorder, before anything records (a handle made
/// earlier records nowhere), and describes every family, listing each with
/// zero for the label values known at start: a fresh node's `/metrics`
/// already has every family, with `# HELP` and `# TYPE`, so alerts can be
/// written before the first sample.
pub fn install_metrics() {
    resourcify_api::prometheus();
    for (_, describe) in CRATES {
        describe();
    }
}

/// The name of every family the node exports.
pub fn metric_families() -> impl Iterator<Item = &'static str> {
    CRATES
        .into_iter()
        .flat_map(|(families, _)| families.iter().copied())
}
