//! Dynamic batching and the compute pool.
//!
//! Each loaded model version owns a [`Batcher`]: a collector thread takes queued requests,
//! merges them along the batch axis up to `max_batch_size` rows or until `max_delay` has
//! passed since the oldest one arrived, and hands the merged batch to the shared compute
//! pool (a rayon pool, never the async executor). Results are split back by row ranges and
//! sent to each waiting request. When the model version is unloaded the queue is drained
//! before the collector exits, so no accepted request is dropped.
//!
//! Deadlines: a request whose deadline has passed (its client already got 504), or whose
//! client went away, is dropped when its batch reaches a pool thread, before the model
//! runs, and again before each retry when a merged batch failed and its requests are run
//! one by one. What still runs: a model's `predict` call that has started is not
//! interrupted (`ServableModel::predict` has no cancel token; inference batches are short);
//! it runs to its end and its answer is discarded.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use ndarray::{ArrayD, Axis};
use tokio::sync::oneshot;

use crate::error::{Result, ServeError};
use crate::metrics::Metrics;
use crate::model::{Prediction, ServableModel};

/// Dynamic batching settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchingConfig {
    /// Merge concurrent requests (when `false` every request runs as its own batch).
    pub enabled: bool,
    /// Maximum rows per merged batch (a single larger request still runs, alone).
    pub max_batch_size: usize,
    /// Longest time the oldest queued request waits for others to join its batch.
    pub max_delay: Duration,
}

impl Default for BatchingConfig {
    fn default() -> Self {
        BatchingConfig {
            enabled: true,
            max_batch_size: 64,
            max_delay: Duration::from_millis(2),
        }
    }
}

/// The shared compute pool on which inference and explanation run.
pub type ComputePool = rayon::ThreadPool;

/// Builds a compute pool of `threads` threads (0 = one per available core).
pub fn compute_pool(threads: usize) -> Result<Arc<ComputePool>> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        threads
    };
    named_pool(threads, "compute")
}

/// Builds the explanation pool of `threads` threads (0 = half the cores, at least 1),
/// separate from the inference pool so a long explanation never delays inference.
pub fn explain_pool(threads: usize) -> Result<Arc<ComputePool>> {
    let threads = if threads == 0 {
        (std::thread::available_parallelism().map_or(2, |n| n.get()) / 2).max(1)
    } else {
        threads
    };
    named_pool(threads, "explain")
}

fn named_pool(threads: usize, role: &'static str) -> Result<Arc<ComputePool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| format!("glassbox-{role}-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| ServeError::Unavailable(format!("cannot start the {role} pool: {e}")))
}

/// Runs `f` on the compute pool and awaits its result without blocking the executor.
/// Panics inside `f` become [`ServeError::Model`].
pub async fn run_on_pool<T, F>(pool: &ComputePool, model: &str, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let name = model.to_string();
    pool.spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(panic_error(&name, p)));
        let _ = tx.send(r);
    });
    rx.await
        .map_err(|_| ServeError::Unavailable("compute worker stopped".into()))?
}

fn panic_error(model: &str, p: Box<dyn std::any::Any + Send>) -> ServeError {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into());
    ServeError::Model {
        model: model.to_string(),
        reason: format!("panicked: {msg}"),
    }
}

struct Job {
    input: ArrayD<f32>,
    rows: usize,
    enqueued: Instant,
    deadline: Instant,
    reply: oneshot::Sender<Result<Prediction>>,
}

/// Counting semaphore bounding the batches of one model in flight on the pool.
struct Permits {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Permits {
    fn acquire(self: &Arc<Self>) -> PermitGuard {
        let mut g = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *g == 0 {
            g = self.cv.wait(g).unwrap_or_else(|p| p.into_inner());
        }
        *g -= 1;
        PermitGuard(self.clone())
    }
}

struct PermitGuard(Arc<Permits>);

impl Drop for PermitGuard {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.cv.notify_one();
    }
}

/// The request queue of one model version.
pub struct Batcher {
    tx: mpsc::Sender<Job>,
    queue: Arc<AtomicI64>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("queued", &self.queue.load(Ordering::Relaxed))
            .finish()
    }
}

struct Worker {
    model: Arc<dyn ServableModel>,
    name: String,
    config: BatchingConfig,
    pool: Arc<ComputePool>,
    metrics: Arc<Metrics>,
    queue: Arc<AtomicI64>,
    permits: Arc<Permits>,
}

impl Batcher {
    /// Starts the collector thread of `model` (named `name`, version `version`).
    pub fn start(
        model: Arc<dyn ServableModel>,
        name: &str,
        version: &str,
        config: BatchingConfig,
        pool: Arc<ComputePool>,
        metrics: Arc<Metrics>,
    ) -> Result<Batcher> {
        let (tx, rx) = mpsc::channel::<Job>();
        let queue = metrics.queue_gauge(name, version);
        let worker = Worker {
            model,
            name: name.to_string(),
            config,
            permits: Arc::new(Permits {
                free: Mutex::new(pool.current_num_threads().max(1)),
                cv: Condvar::new(),
            }),
            pool,
            metrics,
            queue: queue.clone(),
        };
        std::thread::Builder::new()
            .name(format!("glassbox-batch-{name}-{version}"))
            .spawn(move || worker.collect(rx))
            .map_err(|e| ServeError::io(format!("starting the batcher of model '{name}'"), e))?;
        Ok(Batcher { tx, queue })
    }

    /// Queues `input` (batch axis first) and waits for its rows of the prediction.
    /// `timeout` bounds the wait; a request still queued when it expires is skipped.
    pub async fn predict(&self, input: ArrayD<f32>, timeout: Duration) -> Result<Prediction> {
        let (reply, rx) = oneshot::channel();
        let now = Instant::now();
        let job = Job {
            rows: input.shape().first().copied().unwrap_or(0),
            input,
            enqueued: now,
            deadline: now + timeout,
            reply,
        };
        self.queue.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(job).is_err() {
            self.queue.fetch_sub(1, Ordering::Relaxed);
            return Err(ServeError::Unavailable("model batcher stopped".into()));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(ServeError::Unavailable("model batcher stopped".into())),
            Err(_) => Err(ServeError::Timeout {
                millis: timeout.as_millis(),
            }),
        }
    }
}

impl Worker {
    /// Collector loop: runs until every sender is gone and the queue is empty.
    fn collect(self, rx: mpsc::Receiver<Job>) {
        let mut carry: Option<Job> = None;
        loop {
            let first = match carry.take() {
                Some(j) => j,
                None => match rx.recv() {
                    Ok(j) => j,
                    Err(_) => return,
                },
            };
            let permit = self.permits.acquire();
            let mut rows = first.rows;
            let mut batch = vec![first];
            if self.config.enabled {
                let deadline = batch[0].enqueued + self.config.max_delay;
                while rows < self.config.max_batch_size {
                    let next = match rx.try_recv() {
                        Ok(j) => j,
                        Err(TryRecvError::Disconnected) => break,
                        Err(TryRecvError::Empty) => {
                            let now = Instant::now();
                            if now >= deadline {
                                break;
                            }
                            match rx.recv_timeout(deadline - now) {
                                Ok(j) => j,
                                Err(RecvTimeoutError::Timeout)
                                | Err(RecvTimeoutError::Disconnected) => break,
                            }
                        }
                    };
                    if rows + next.rows > self.config.max_batch_size {
                        carry = Some(next);
                        break;
                    }
                    rows += next.rows;
                    batch.push(next);
                }
            }
            self.queue.fetch_sub(batch.len() as i64, Ordering::Relaxed);
            let model = self.model.clone();
            let name = self.name.clone();
            let metrics = self.metrics.clone();
            self.pool.spawn(move || {
                let _permit = permit;
                run_batch(&*model, &name, &metrics, batch);
            });
        }
    }
}

fn predict_guarded(
    model: &dyn ServableModel,
    name: &str,
    input: ArrayD<f32>,
    rows: usize,
) -> Result<Prediction> {
    let p = catch_unwind(AssertUnwindSafe(|| model.predict(input)))
        .unwrap_or_else(|p| Err(panic_error(name, p)))?;
    for (out, t) in &p.outputs {
        if t.shape().first() != Some(&rows) {
            return Err(ServeError::Model {
                model: name.to_string(),
                reason: format!(
                    "output '{out}' has shape {:?}; its first dimension should be the batch size {rows}",
                    t.shape()
                ),
            });
        }
    }
    Ok(p)
}

/// The jobs still worth running: those whose client waits and whose deadline has not
/// passed. The others are answered (nobody reads it) and dropped without running.
fn live_jobs(batch: Vec<Job>) -> Vec<Job> {
    let now = Instant::now();
    let (live, expired): (Vec<Job>, Vec<Job>) = batch
        .into_iter()
        .partition(|j| !j.reply.is_closed() && j.deadline > now);
    for j in expired {
        let _ = j.reply.send(Err(ServeError::Unavailable(
            "request expired in the queue".into(),
        )));
    }
    live
}

/// Executes one merged batch and answers every job in it.
fn run_batch(model: &dyn ServableModel, name: &str, metrics: &Metrics, batch: Vec<Job>) {
    let live = live_jobs(batch);
    if live.is_empty() {
        return;
    }
    let rows: usize = live.iter().map(|j| j.rows).sum();
    metrics.record_batch(name, rows);
    if live.len() == 1 {
        for j in live {
            let r = predict_guarded(model, name, j.input, j.rows);
            let _ = j.reply.send(r);
        }
        return;
    }
    let views: Vec<_> = live.iter().map(|j| j.input.view()).collect();
    let merged = ndarray::concatenate(Axis(0), &views);
    let result = merged
        .map_err(|e| ServeError::Model {
            model: name.to_string(),
            reason: format!("cannot merge batch: {e}"),
        })
        .and_then(|m| predict_guarded(model, name, m, rows));
    match result {
        Ok(pred) => {
            let mut start = 0;
            for j in live {
                let _ = j.reply.send(Ok(pred.rows(start, start + j.rows)));
                start += j.rows;
            }
        }
        Err(_) => {
            // One bad request must not fail its neighbours: retry each one alone (those
            // still waiting and within their deadline).
            for j in live {
                for j in live_jobs(vec![j]) {
                    let r = predict_guarded(model, name, j.input, j.rows);
                    let _ = j.reply.send(r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ExplainParams, Explanation, ModelMetadata};
    use ndarray::{Array2, IxDyn};
    use std::sync::atomic::AtomicUsize;

    /// Counts the rows it predicts; fails any batch holding a negative value, after 50 ms.
    struct Counting(AtomicUsize);

    impl ServableModel for Counting {
        fn metadata(&self) -> ModelMetadata {
            ModelMetadata::classifier("x", &[1], 2, &[])
        }
        fn predict(&self, batch: ArrayD<f32>) -> Result<Prediction> {
            if batch.iter().any(|&v| v < 0.0) {
                std::thread::sleep(Duration::from_millis(50));
                return Err(ServeError::InvalidRequest("negative".into()));
            }
            let n = batch.shape()[0];
            self.0.fetch_add(n, Ordering::Relaxed);
            Ok(Prediction::classification(
                Array2::from_elem((n, 2), 0.5),
                &["a".into(), "b".into()],
            ))
        }
        fn explain(&self, _: ArrayD<f32>, _: &ExplainParams) -> Result<Explanation> {
            Err(ServeError::Explain("none".into()))
        }
    }

    fn job(value: f32, deadline: Instant) -> (Job, oneshot::Receiver<Result<Prediction>>) {
        let (reply, rx) = oneshot::channel();
        let j = Job {
            input: ArrayD::from_elem(IxDyn(&[1, 1]), value),
            rows: 1,
            enqueued: Instant::now(),
            deadline,
            reply,
        };
        (j, rx)
    }

    #[test]
    fn expired_and_abandoned_requests_never_reach_the_model() {
        let model = Counting(AtomicUsize::new(0));
        let metrics = Metrics::default();
        let later = Instant::now() + Duration::from_secs(60);
        let past = Instant::now() - Duration::from_millis(1);
        let (live, mut live_rx) = job(1.0, later);
        let (expired, mut expired_rx) = job(1.0, past);
        let (gone, gone_rx) = job(1.0, later);
        drop(gone_rx);
        run_batch(&model, "m", &metrics, vec![live, expired, gone]);
        assert_eq!(model.0.load(Ordering::Relaxed), 1, "only the live row ran");
        assert!(live_rx.try_recv().unwrap().is_ok());
        let e = expired_rx.try_recv().unwrap().unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");

        // A failed merged batch (50 ms) retries its requests one by one; a request whose
        // 20 ms deadline passed meanwhile is not run again.
        let model = Counting(AtomicUsize::new(0));
        let (bad, mut bad_rx) = job(-1.0, later);
        let (good, mut good_rx) = job(1.0, later);
        let (late, mut late_rx) = job(1.0, Instant::now() + Duration::from_millis(20));
        run_batch(&model, "m", &metrics, vec![bad, good, late]);
        assert!(bad_rx.try_recv().unwrap().is_err());
        assert!(good_rx.try_recv().unwrap().is_ok());
        let e = late_rx.try_recv().unwrap().unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
        assert_eq!(model.0.load(Ordering::Relaxed), 1, "only the good row ran");
    }
}
