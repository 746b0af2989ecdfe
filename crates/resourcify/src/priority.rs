//! CPU priority for work that must yield to live traffic on a shared
//! machine: a replay at its default pace runs beside the API nodes it
//! rebuilds views for, and a node's projectors and news ingester run beside
//! its API; the promise is that the reads do not notice (ADR 24, ADR 25).

/// How nice (in the Unix sense) yielding work makes itself: the scheduler
/// then gives a busy live thread about nine times its share.
const YIELDING_NICENESS: i32 = 10;

/// Threads of a node's background runtime (see [`BackgroundRuntime`]).
const BACKGROUND_THREADS: usize = 2;

/// Lowers the calling thread's CPU priority, and so that of every thread
/// it starts afterwards (Linux keeps the nice value per thread and a new
/// thread inherits its creator's): call it before the runtime starts its
/// workers. Only the CPU is yielded; the replay's database work runs in
/// Postgres's processes, which the replay paces itself (`ReplayPace`).
pub fn yield_cpu_to_live_traffic() {
    if let Err(error) = lower_this_threads_priority() {
        // Not worth failing a replay for: it then competes as an equal.
        eprintln!("warning: could not lower this process's CPU priority: {error}");
    }
}

fn lower_this_threads_priority() -> std::io::Result<()> {
    #[cfg(unix)]
    rustix::process::setpriority_process(None, YIELDING_NICENESS)?;
    Ok(())
}

/// The runtime a node runs its background work on (the projectors and the
/// news ingester), apart from the one that serves requests: its threads
/// yield the CPU to the request threads, so a burst of projection work
/// waits for a core rather than the reads waiting behind it. When the
/// requests leave a core idle, the background work has it all.
///
/// Dropping it (also inside an async context, where a tokio runtime may not
/// be dropped) ends its tasks without waiting for them.
pub struct BackgroundRuntime(Option<tokio::runtime::Runtime>);

impl BackgroundRuntime {
    pub fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(BACKGROUND_THREADS)
            .thread_name("background")
            .on_thread_start(|| {
                if let Err(error) = lower_this_threads_priority() {
                    tracing::warn!(%error, "background work keeps the request threads' priority");
                }
            })
            .enable_all()
            .build()?;
        Ok(Self(Some(runtime)))
    }

    /// Where to spawn the background work.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("running until dropped").handle()
    }
}

impl std::fmt::Debug for BackgroundRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundRuntime").finish_non_exhaustive()
    }
}

impl Drop for BackgroundRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn threads_started_after_yielding_inherit_the_lower_priority() {
        // On a thread of its own, so the test harness's threads keep theirs.
        let (before, in_child) = std::thread::spawn(|| {
            let before = rustix::process::getpriority_process(None).expect("own priority");
            super::yield_cpu_to_live_traffic();
            let in_child = std::thread::spawn(|| {
                rustix::process::getpriority_process(None).expect("child's priority")
            })
            .join()
            .expect("child thread");
            (before, in_child)
        })
        .join()
        .expect("yielding thread");
        assert_eq!(in_child, (before + super::YIELDING_NICENESS).min(19));
    }

    #[test]
    fn background_work_runs_at_the_lower_priority_and_requests_keep_theirs() {
        let own = rustix::process::getpriority_process(None).expect("own priority");
        let background = super::BackgroundRuntime::start().expect("a runtime");
        let in_background = background
            .handle()
            .block_on(background.handle().spawn(async {
                rustix::process::getpriority_process(None).expect("a worker's priority")
            }))
            .expect("the task ran");
        // A thread may raise its nice value, not lower it (without privilege).
        assert_eq!(in_background, super::YIELDING_NICENESS.max(own));
        assert_eq!(
            rustix::process::getpriority_process(None).expect("own priority"),
            own
        );
    }
}
