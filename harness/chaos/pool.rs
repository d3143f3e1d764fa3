//! Many simulation runs on a few cores. Each run is one single-threaded deterministic
//! simulation, so runs are independent: `jobs` worker threads take the next run from a
//! shared counter, and results are handed back in run order whatever order they finish in.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// A simulation's futures nest deeply; the main thread's 8 MiB is what runs have been
/// measured with, and worker threads default to 2 MiB.
const WORKER_STACK: usize = 64 * 1024 * 1024;

/// The default `--jobs`: the cores this process may use.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `work(item)` for every item on `jobs` threads; `done(&result)` on the calling thread as
/// each finishes (for progress). Returns the results in the order of `items`.
pub fn run_all<I, T>(
    items: Vec<I>,
    jobs: usize,
    work: impl Fn(I) -> T + Sync,
    mut done: impl FnMut(&T),
) -> Vec<T>
where
    I: Send,
    T: Send,
{
    let count = items.len();
    let slots: Vec<std::sync::Mutex<Option<I>>> = items
        .into_iter()
        .map(|i| std::sync::Mutex::new(Some(i)))
        .collect();
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel::<(usize, T)>();
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, count.max(1)) {
            let sender = sender.clone();
            let (slots, next, work) = (&slots, &next, &work);
            std::thread::Builder::new()
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, move || loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = slots.get(index) else {
                        break;
                    };
                    let item = slot.lock().expect("a slot is taken once").take();
                    let Some(item) = item else { break };
                    if sender.send((index, work(item))).is_err() {
                        break;
                    }
                })
                .expect("a worker thread starts");
        }
        drop(sender);
        for (index, result) in receiver {
            done(&result);
            results[index] = Some(result);
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every item ran (a worker that panics ends the process)"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_item_order_whatever_the_jobs() {
        for jobs in [1, 2, 5, 50] {
            let mut seen = 0;
            let out = run_all((0..20u64).collect(), jobs, |i| i * i, |_| seen += 1);
            assert_eq!(out, (0..20u64).map(|i| i * i).collect::<Vec<_>>());
            assert_eq!(seen, 20);
        }
        assert!(run_all(Vec::<u8>::new(), 2, |i| i, |_| {}).is_empty());
    }
}
