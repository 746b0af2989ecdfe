//! `resourcify admin backup` and `admin restore`: the namespace's stream
//! and buckets copied out as JetStream snapshots and put back, with what
//! was done printed for the operator.

use std::path::Path;

use resourcify_eventstore::{Namespace, RestoreOptions};

use crate::connect::connect_nats;

/// Backs the namespace up into `dir` (`resourcify admin backup --to DIR`).
pub async fn backup(nats_url: &str, namespace: Namespace, dir: &Path) -> anyhow::Result<()> {
    let client = connect_nats(nats_url).await?;
    let manifest = resourcify_eventstore::back_up(&client, &namespace, dir).await?;
    println!(
        "backed up namespace {} into {} at {}",
        manifest.namespace,
        dir.display(),
        manifest.created_at.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let width = (manifest.streams.iter())
        .map(|copy| copy.stream.len())
        .max()
        .unwrap_or(0);
    println!(
        "{:<width$} {:>10} {:>10} {:>10} {:>8} {:>12}",
        "stream", "messages", "first", "last", "gaps", "bytes"
    );
    for copy in &manifest.streams {
        println!(
            "{:<width$} {:>10} {:>10} {:>10} {:>8} {:>12}",
            copy.stream,
            copy.messages,
            copy.first_sequence,
            copy.last_sequence,
            copy.deleted,
            copy.bytes
        );
    }
    for holds in &manifest.absent {
        println!("{holds}: no such bucket here, nothing to copy");
    }
    println!(
        "manifest: {}; the views in PostgreSQL need no backup (`resourcify replay --all` rebuilds them)",
        dir.join("manifest.json").display()
    );
    Ok(())
}

/// Restores a backup from `dir` (`resourcify admin restore --from DIR`).
pub async fn restore(
    nats_url: &str,
    namespace: Namespace,
    dir: &Path,
    options: RestoreOptions,
) -> anyhow::Result<()> {
    let client = connect_nats(nats_url).await?;
    let manifest = resourcify_eventstore::read_manifest(dir).await?;
    let restored = resourcify_eventstore::restore(&client, &namespace, dir, options).await?;
    println!(
        "restored namespace {} from the backup of {}",
        manifest.namespace,
        manifest.created_at.format("%Y-%m-%dT%H:%M:%SZ")
    );
    for stream in &restored {
        let replaced = if stream.replaced {
            " (replaced the one there)"
        } else {
            ""
        };
        println!(
            "  {}: {} messages up to {}{replaced}",
            stream.stream, stream.messages, stream.last_sequence
        );
    }
    println!(
        "start the nodes on an empty database and the projectors rebuild the views from the log; \
         an existing database is healed with `resourcify replay --all`"
    );
    Ok(())
}
