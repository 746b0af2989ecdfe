//! CPU priority for work that must yield to live traffic on a shared
//! machine: a replay at its default pace runs beside the API nodes it
//! rebuilds views for, and the promise is that their reads do not notice.

/// How nice (in the Unix sense) a yielding process makes itself: the
/// scheduler then gives a busy live thread about nine times its share.
const YIELDING_NICENESS: i32 = 10;

/// Lowers the calling thread's CPU priority, and so that of every thread
/// it starts afterwards (Linux keeps the nice value per thread and a new
/// thread inherits its creator's): call it before the runtime starts its
/// workers. Only the CPU is yielded; the replay's database work runs in
/// Postgres's processes, which the replay paces itself (`ReplayPace`).
pub fn yield_cpu_to_live_traffic() {
    #[cfg(unix)]
    if let Err(error) = rustix::process::setpriority_process(None, YIELDING_NICENESS) {
        // Not worth failing a replay for: it then competes as an equal.
        eprintln!("warning: could not lower this process's CPU priority: {error}");
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
}
