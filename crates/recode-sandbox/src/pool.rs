//! A small worker pool: many jobs over N threads, results in input order.
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where a pool stands, given to the progress callback after each finished job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Jobs finished so far (including this one).
    pub done: usize,
    /// Jobs in all.
    pub total: usize,
    /// Time since the pool started.
    pub elapsed: Duration,
}

impl Progress {
    /// Estimated time left: the mean time per finished job times the jobs left (`None` before
    /// the first job finishes).
    pub fn eta(&self) -> Option<Duration> {
        if self.done == 0 {
            return None;
        }
        let left = self.total.saturating_sub(self.done) as u32;
        Some(self.elapsed / self.done as u32 * left)
    }
}

/// The default number of workers: the cores this process may use (at least 1).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `work(index, &item)` for every item over `jobs` threads (at least 1, at most one per
/// item) and returns the results in input order. `progress` is called once per finished job,
/// never concurrently, with the pool's progress, the job's index and its result.
/// A panic in `work` or `progress` is propagated once all threads have stopped.
pub fn map_ordered<T, R, F, P>(items: &[T], jobs: usize, work: F, progress: P) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(usize, &T) -> R + Sync,
    P: FnMut(Progress, usize, &R) + Send,
{
    let total = items.len();
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let state = Mutex::new((0usize, progress, (0..total).map(|_| None).collect::<Vec<Option<R>>>()));
    let threads = jobs.clamp(1, total.max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= total {
                        break;
                    }
                    let result = work(index, &items[index]);
                    let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
                    let (done, progress, results) = &mut *guard;
                    *done += 1;
                    let info = Progress { done: *done, total, elapsed: start.elapsed() };
                    progress(info, index, &result);
                    results[index] = Some(result);
                }
            });
        }
    });
    let (_, _, results) = state.into_inner().unwrap_or_else(|e| e.into_inner());
    results.into_iter().map(|r| r.expect("every job ran")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_results_and_progress() {
        let items: Vec<u64> = (0..50).collect();
        let mut seen = Vec::new();
        let out = map_ordered(
            &items,
            4,
            |i, x| {
                std::thread::sleep(Duration::from_millis((x * 7) % 5));
                (i as u64) * 10 + x
            },
            |p, i, r| {
                assert_eq!(*r, i as u64 * 11);
                seen.push(p.done);
                assert_eq!(p.total, 50);
            },
        );
        assert_eq!(out, (0..50).map(|x| x * 11).collect::<Vec<_>>());
        assert_eq!(seen, (1..=50).collect::<Vec<_>>());
    }

    #[test]
    fn empty_and_zero_jobs() {
        let out: Vec<u8> = map_ordered(&[] as &[u8], 0, |_, x| *x, |_, _, _| {});
        assert!(out.is_empty());
        let out = map_ordered(&[1u8, 2], 0, |_, x| x + 1, |_, _, _| {});
        assert_eq!(out, [2, 3]);
    }

    #[test]
    fn eta() {
        let p = Progress { done: 2, total: 6, elapsed: Duration::from_secs(4) };
        assert_eq!(p.eta(), Some(Duration::from_secs(8)));
    }
}
