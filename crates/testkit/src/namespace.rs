//! A NATS namespace per test, deleted when the test ends (pass or fail).

use resourcify_eventstore::Namespace;

/// Owns a fresh namespace; dropping it deletes the namespace's stream and
/// key-value buckets from the shared NATS server.
#[derive(Debug)]
pub struct NamespaceGuard {
    namespace: Namespace,
}

impl NamespaceGuard {
    pub fn new() -> Self {
        let namespace = Namespace::parse(&format!("t{}", uuid::Uuid::new_v4().simple()))
            .expect("a uuid makes a valid namespace");
        Self { namespace }
    }

    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }
}

impl Default for NamespaceGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NamespaceGuard {
    fn drop(&mut self) {
        let namespace = self.namespace.clone();
        // Drop cannot await, and the test's runtime may be shutting down, so
        // the clean-up runs on a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for clean-up");
            runtime.block_on(async {
                let Ok(client) = async_nats::connect(crate::nats_url()).await else {
                    return;
                };
                let js = async_nats::jetstream::new(client.clone());
                let _ = js.delete_stream(namespace.stream_name()).await;
                for name in resourcify_eventstore::bucket_names() {
                    let bucket = namespace.bucket(name);
                    let _ = js.delete_stream(format!("KV_{bucket}")).await;
                }
                let _ = client.flush().await;
            });
        });
        let _ = cleanup.join();
    }
}
