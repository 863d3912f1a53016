//! Datasets and a batching loader that prepares upcoming batches in parallel.

use crate::error::{DataError, Result};
use crate::rng::Rng;
use ndarray::{ArrayD, Axis};
use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver, TryRecvError};
use std::sync::Arc;

/// A random-access collection of samples that can assemble a batch from indices.
pub trait Dataset: Send + Sync + 'static {
    /// What a batch is (e.g. a pair of arrays).
    type Batch: Send + 'static;
    /// Number of samples.
    fn len(&self) -> usize;
    /// True when there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The batch made of samples `indices` (in that order). Indices are below [`Dataset::len`].
    fn batch(&self, indices: &[usize]) -> Result<Self::Batch>;
    /// The single sample `index` as a batch of one.
    fn get(&self, index: usize) -> Result<Self::Batch> {
        if index >= self.len() {
            return Err(DataError::invalid(
                "Dataset::get",
                format!("index {index} out of range for {} samples", self.len()),
            ));
        }
        self.batch(&[index])
    }
}

/// Features and targets held in memory; the first axis indexes samples.
#[derive(Debug, Clone)]
pub struct ArrayDataset<X, Y> {
    x: Arc<ArrayD<X>>,
    y: Arc<ArrayD<Y>>,
}

impl<X: Clone, Y: Clone> ArrayDataset<X, Y> {
    /// Pairs `x` and `y`, which must have the same length along axis 0.
    pub fn new(x: ArrayD<X>, y: ArrayD<Y>) -> Result<Self> {
        if x.ndim() == 0 || y.ndim() == 0 || x.shape()[0] != y.shape()[0] {
            return Err(DataError::shape(
                "ArrayDataset::new",
                "x and y with the same (non-zero rank) first dimension",
                format!("x {:?}, y {:?}", x.shape(), y.shape()),
            ));
        }
        Ok(ArrayDataset {
            x: Arc::new(x),
            y: Arc::new(y),
        })
    }

    /// The features.
    pub fn x(&self) -> &ArrayD<X> {
        &self.x
    }

    /// The targets.
    pub fn y(&self) -> &ArrayD<Y> {
        &self.y
    }
}

impl<X, Y> Dataset for ArrayDataset<X, Y>
where
    X: Clone + Send + Sync + 'static,
    Y: Clone + Send + Sync + 'static,
{
    type Batch = (ArrayD<X>, ArrayD<Y>);
    fn len(&self) -> usize {
        self.x.shape()[0]
    }
    fn batch(&self, indices: &[usize]) -> Result<Self::Batch> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(DataError::invalid(
                "ArrayDataset::batch",
                format!("index {bad} out of range for {} samples", self.len()),
            ));
        }
        Ok((
            self.x.select(Axis(0), indices),
            self.y.select(Axis(0), indices),
        ))
    }
}

/// Options of a [`DataLoader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoaderConfig {
    /// Samples per batch (at least 1).
    pub batch_size: usize,
    /// Shuffle every epoch (the order of epoch `e` depends only on `seed` and `e`).
    pub shuffle: bool,
    /// Seed of the per-epoch shuffles.
    pub seed: u64,
    /// Drop the last batch when it is smaller than `batch_size`.
    pub drop_last: bool,
    /// Number of batches prepared ahead on the rayon pool (0: prepare on demand).
    pub prefetch: usize,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        LoaderConfig {
            batch_size: 32,
            shuffle: false,
            seed: 0,
            drop_last: false,
            prefetch: 2,
        }
    }
}

/// Part `rank` of `len` items split into `parts` contiguous ranges whose sizes differ by at
/// most one (the first `len % parts` ranges are one longer). Used to shard batches and rows
/// across the processes of a distributed job; `rank` must be below `parts`.
pub fn shard_range(len: usize, rank: usize, parts: usize) -> std::ops::Range<usize> {
    let parts = parts.max(1);
    let (base, extra) = (len / parts, len % parts);
    let start = rank * base + rank.min(extra);
    let end = start + base + usize::from(rank < extra);
    start.min(len)..end.min(len)
}

/// Iterates over a [`Dataset`] in batches, preparing the next batches in parallel on the
/// rayon pool while the caller works on the current one.
#[derive(Debug)]
pub struct DataLoader<D> {
    dataset: Arc<D>,
    config: LoaderConfig,
}

impl<D: Dataset> DataLoader<D> {
    /// A loader over `dataset`. Errors if `batch_size` is 0.
    pub fn new(dataset: D, config: LoaderConfig) -> Result<Self> {
        Self::from_arc(Arc::new(dataset), config)
    }

    /// A loader over a shared dataset.
    pub fn from_arc(dataset: Arc<D>, config: LoaderConfig) -> Result<Self> {
        if config.batch_size == 0 {
            return Err(DataError::invalid(
                "DataLoader::new",
                "batch_size must be at least 1",
            ));
        }
        Ok(DataLoader { dataset, config })
    }

    /// The dataset.
    pub fn dataset(&self) -> &D {
        &self.dataset
    }

    /// The configuration.
    pub fn config(&self) -> &LoaderConfig {
        &self.config
    }

    /// Number of batches per epoch.
    pub fn n_batches(&self) -> usize {
        let (n, b) = (self.dataset.len(), self.config.batch_size);
        if self.config.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// The sample order of epoch `epoch` (identity without shuffling).
    pub fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        let n = self.dataset.len();
        if self.config.shuffle {
            Rng::derive(self.config.seed, epoch).permutation(n)
        } else {
            (0..n).collect()
        }
    }

    /// The batches of epoch `epoch`, in order.
    pub fn epoch(&self, epoch: u64) -> EpochIter<D> {
        self.epoch_shard(epoch, 0, 1)
    }

    /// Replica `rank`'s shard of every batch of epoch `epoch`, for data-parallel training
    /// over `replicas` processes: the batches are those of [`DataLoader::epoch`] (the same
    /// seeded order on every replica) and each is split into `replicas` contiguous parts by
    /// [`shard_range`]. A shard may be empty when a batch has fewer samples than replicas.
    /// `epoch_shard(e, 0, 1)` is `epoch(e)`.
    pub fn epoch_shard(&self, epoch: u64, rank: usize, replicas: usize) -> EpochIter<D> {
        let order = self.epoch_order(epoch);
        let b = self.config.batch_size;
        let mut chunks: VecDeque<Vec<usize>> = order.chunks(b).map(<[usize]>::to_vec).collect();
        if self.config.drop_last && chunks.back().is_some_and(|c| c.len() < b) {
            chunks.pop_back();
        }
        if replicas > 1 {
            for c in chunks.iter_mut() {
                let r = shard_range(c.len(), rank, replicas);
                c.truncate(r.end);
                c.drain(..r.start);
            }
        }
        let mut it = EpochIter {
            dataset: Arc::clone(&self.dataset),
            chunks,
            pending: VecDeque::new(),
            prefetch: self.config.prefetch,
        };
        it.fill();
        it
    }
}

/// The batches of one epoch (see [`DataLoader::epoch`]).
#[derive(Debug)]
pub struct EpochIter<D: Dataset> {
    dataset: Arc<D>,
    chunks: VecDeque<Vec<usize>>,
    pending: VecDeque<Receiver<Result<D::Batch>>>,
    prefetch: usize,
}

impl<D: Dataset> EpochIter<D> {
    /// Starts background work until `prefetch` batches are in flight.
    fn fill(&mut self) {
        while self.pending.len() < self.prefetch {
            let Some(idx) = self.chunks.pop_front() else {
                break;
            };
            let (tx, rx) = sync_channel(1);
            let ds = Arc::clone(&self.dataset);
            rayon::spawn(move || {
                // The receiver may be gone if the caller dropped the iterator early.
                let _ = tx.send(ds.batch(&idx));
            });
            self.pending.push_back(rx);
        }
    }
}

/// Waits for a prefetched batch. On a rayon worker thread (e.g. inside a parallel
/// cross-validation) it keeps running other rayon jobs while waiting, so the batch job it
/// waits for can never be starved of a worker.
fn wait<B>(rx: &Receiver<Result<B>>) -> Result<B> {
    let stopped =
        || DataError::Dataset("a batch worker stopped without a result (it panicked)".into());
    if rayon::current_thread_index().is_none() {
        return rx.recv().unwrap_or_else(|_| Err(stopped()));
    }
    loop {
        match rx.try_recv() {
            Ok(r) => return r,
            Err(TryRecvError::Disconnected) => return Err(stopped()),
            Err(TryRecvError::Empty) => {
                if !matches!(rayon::yield_now(), Some(rayon::Yield::Executed)) {
                    std::thread::yield_now();
                }
            }
        }
    }
}

impl<D: Dataset> Iterator for EpochIter<D> {
    type Item = Result<D::Batch>;
    fn next(&mut self) -> Option<Self::Item> {
        let out = match self.pending.pop_front() {
            Some(rx) => Some(wait(&rx)),
            None => self.chunks.pop_front().map(|idx| self.dataset.batch(&idx)),
        };
        self.fill();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    fn ds(n: usize) -> ArrayDataset<f32, usize> {
        let x = Array2::from_shape_fn((n, 2), |(i, j)| (i * 10 + j) as f32).into_dyn();
        let y = Array1::from_iter(0..n).into_dyn();
        ArrayDataset::new(x, y).unwrap()
    }

    #[test]
    fn shard_ranges_tile_the_batch_evenly() {
        for len in 0..20 {
            for parts in 1..6 {
                let ranges: Vec<_> = (0..parts).map(|r| shard_range(len, r, parts)).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[parts - 1].end, len);
                for w in ranges.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                    assert!(w[0].len() >= w[1].len() && w[0].len() - w[1].len() <= 1);
                }
            }
        }
        assert_eq!(shard_range(11, 3, 4), 9..11);
    }

    #[test]
    fn epoch_shards_concatenate_to_the_epoch_batches() {
        let cfg = LoaderConfig {
            batch_size: 7,
            shuffle: true,
            seed: 3,
            ..Default::default()
        };
        let l = DataLoader::new(ds(30), cfg).unwrap();
        let whole: Vec<Vec<usize>> = l
            .epoch(2)
            .map(|b| b.unwrap().1.iter().copied().collect())
            .collect();
        let shards: Vec<Vec<Vec<usize>>> = (0..3)
            .map(|r| {
                l.epoch_shard(2, r, 3)
                    .map(|b| b.unwrap().1.iter().copied().collect())
                    .collect()
            })
            .collect();
        for (i, batch) in whole.iter().enumerate() {
            let joined: Vec<usize> = (0..3).flat_map(|r| shards[r][i].clone()).collect();
            assert_eq!(&joined, batch);
        }
        assert_eq!(whole.last().unwrap().len(), 2);
    }

    #[test]
    fn batches_cover_everything_in_order() {
        let l = DataLoader::new(
            ds(10),
            LoaderConfig {
                batch_size: 4,
                ..Default::default()
            },
        )
        .unwrap();
        let ys: Vec<Vec<usize>> = l
            .epoch(0)
            .map(|b| b.unwrap().1.iter().copied().collect())
            .collect();
        assert_eq!(ys, vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]);
        assert_eq!(l.n_batches(), 3);
    }

    #[test]
    fn drop_last_and_seeded_shuffle() {
        let cfg = LoaderConfig {
            batch_size: 3,
            shuffle: true,
            seed: 9,
            drop_last: true,
            prefetch: 3,
        };
        let l = DataLoader::new(ds(10), cfg).unwrap();
        let e0: Vec<usize> = l
            .epoch(0)
            .flat_map(|b| b.unwrap().1.into_iter().collect::<Vec<_>>())
            .collect();
        assert_eq!(e0.len(), 9);
        assert_eq!(l.n_batches(), 3);
        let again: Vec<usize> = l
            .epoch(0)
            .flat_map(|b| b.unwrap().1.into_iter().collect::<Vec<_>>())
            .collect();
        assert_eq!(e0, again);
        assert_ne!(l.epoch_order(0), l.epoch_order(1));
        // x rows travel with their targets.
        for b in l.epoch(1) {
            let (x, y) = b.unwrap();
            for (r, &t) in y.iter().enumerate() {
                assert_eq!(x[[r, 1]], (t * 10 + 1) as f32);
            }
        }
    }

    /// A dataset that reports each batch request on a channel.
    struct Signalling {
        tx: std::sync::Mutex<std::sync::mpsc::Sender<Vec<usize>>>,
    }

    impl Dataset for Signalling {
        type Batch = Vec<usize>;
        fn len(&self) -> usize {
            6
        }
        fn batch(&self, indices: &[usize]) -> Result<Vec<usize>> {
            self.tx.lock().unwrap().send(indices.to_vec()).unwrap();
            Ok(indices.to_vec())
        }
    }

    #[test]
    fn next_batches_are_prepared_before_they_are_asked_for() {
        let (tx, rx) = std::sync::mpsc::channel();
        let ds = Signalling {
            tx: std::sync::Mutex::new(tx),
        };
        let cfg = LoaderConfig {
            batch_size: 2,
            prefetch: 2,
            ..Default::default()
        };
        let l = DataLoader::new(ds, cfg).unwrap();
        let mut it = l.epoch(0);
        // Before any `next`, the first two batches are built in the background.
        let timeout = std::time::Duration::from_secs(10);
        let mut early = vec![
            rx.recv_timeout(timeout).unwrap(),
            rx.recv_timeout(timeout).unwrap(),
        ];
        early.sort();
        assert_eq!(early, vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(it.next().unwrap().unwrap(), vec![0, 1]);
        // Taking the first batch started the third.
        assert_eq!(rx.recv_timeout(timeout).unwrap(), vec![4, 5]);
        assert_eq!(it.next().unwrap().unwrap(), vec![2, 3]);
        assert_eq!(it.next().unwrap().unwrap(), vec![4, 5]);
        assert!(it.next().is_none());
    }

    #[test]
    fn loaders_inside_rayon_workers_do_not_deadlock() {
        use rayon::prelude::*;
        // More concurrent loaders than pool threads, each waiting on prefetched batches.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let totals: Vec<usize> = pool.install(|| {
            (0..4u64)
                .into_par_iter()
                .map(|k| {
                    let cfg = LoaderConfig {
                        batch_size: 3,
                        shuffle: true,
                        seed: k,
                        ..Default::default()
                    };
                    let l = DataLoader::new(ds(10), cfg).unwrap();
                    l.epoch(0).map(|b| b.unwrap().1.sum()).sum()
                })
                .collect()
        });
        assert_eq!(totals, vec![45; 4]);
    }

    #[test]
    fn bad_configs_are_errors() {
        assert!(DataLoader::new(
            ds(3),
            LoaderConfig {
                batch_size: 0,
                ..Default::default()
            }
        )
        .is_err());
        let x = Array2::<f32>::zeros((3, 2)).into_dyn();
        let y = Array1::<usize>::zeros(4).into_dyn();
        assert!(ArrayDataset::new(x, y).is_err());
        assert!(ds(3).get(3).is_err());
        assert_eq!(ds(3).get(2).unwrap().1[[0]], 2);
    }
}
