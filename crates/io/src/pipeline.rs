//! [`Pipeline`]: batches built on worker threads ahead of the consumer.
//!
//! The records of this part (`num_parts`/`part_index`) are visited in an order fixed by the seed
//! and the epoch; batch `k` holds positions `k*B .. (k+1)*B` of that order, the last one wrapping
//! to the start (its `pad` counts the wrapped samples). Workers take whole batches, at most
//! `prefetch` ahead of the consumer, and build each straight into the storage of new arrays;
//! the consumer takes them in order. Once every batch of an epoch has started, the workers go on
//! with the first batches of the next one, so a reset finds them ready. Every sample draws its
//! random numbers from a generator seeded by (seed, epoch, position), so a batch is the same
//! whatever thread built it.
//!
//! A record that cannot be read or decoded fails its batch with an error naming the file and
//! record, or, with `skip_corrupt`, is counted and replaced by the next record of the order.
//! Nothing here blocks forever: a worker's panic becomes that batch's error, and dropping the
//! pipeline stops and joins the workers.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rmx_engine::Context;
use rmx_graph::NDArray;
use rmx_kernels::DType;

use crate::error::{IoError, Result};
use crate::recordio::RecordReader;
use crate::source::Source;

/// Turns one record into one sample: `data` and `label` are that sample's slots in the batch.
pub trait Process: Send + Sync + 'static {
    /// The shape of one sample (without the batch axis) and its element type (f32 or u8).
    fn sample_shape(&self) -> (Vec<usize>, DType);
    fn label_width(&self) -> usize;
    fn process(&self, record: &[u8], rng: &mut StdRng, data: &mut [u8], label: &mut [f32]) -> std::result::Result<(), String>;
}

#[derive(Clone, Debug)]
pub struct Config {
    pub batch_size: usize,
    pub threads: usize,
    pub prefetch: usize,
    pub shuffle: bool,
    pub seed: u64,
    pub num_parts: usize,
    pub part_index: usize,
    /// Skip (and count) records that cannot be read or decoded instead of failing the batch.
    pub skip_corrupt: bool,
}

/// One batch: `data` (batch, sample shape...), `label` (batch, label_width) or (batch,) when the
/// width is 1, how many trailing samples are wrapped padding, and each sample's record number.
pub struct Batch {
    pub data: NDArray,
    pub label: NDArray,
    pub pad: usize,
    pub records: Vec<usize>,
    /// Corrupt records skipped while building it (counted when it is handed out, so batches
    /// built ahead for the next epoch are not counted before their epoch).
    pub skipped: usize,
}

/// One epoch's progress: its order, the next batch to start, the batches built.
struct Epoch {
    epoch: u64,
    order: Arc<Vec<usize>>,
    next: usize,
    ready: BTreeMap<usize, Result<Batch>>,
}

/// The epoch being consumed and the one after it, whose first batches are built once every
/// batch of the current one has started, so that a new epoch never starts empty.
struct State {
    cur: Epoch,
    ahead: Epoch,
    consumed: usize,
    shutdown: bool,
}

struct Shared<S: Source> {
    reader: RecordReader<S>,
    /// Offsets of this part's records; `records[i]` is the file-wide number of entry i.
    offsets: Vec<u64>,
    records: Vec<usize>,
    process: Box<dyn Process>,
    config: Config,
    state: Mutex<State>,
    changed: Condvar,
    skipped: AtomicUsize,
}

pub struct Pipeline<S: Source + 'static> {
    shared: Arc<Shared<S>>,
    workers: Vec<JoinHandle<()>>,
}

/// The records `[start, end)` of part `part` of `parts` over `n` records: MXNet's split of an
/// indexed file, `ceil(n / parts)` records per part, the last parts shorter (or empty).
pub fn part_range(n: usize, parts: usize, part: usize) -> (usize, usize) {
    let step = n.div_ceil(parts);
    ((step * part).min(n), (step * (part + 1)).min(n))
}

fn mix(mut x: u64) -> u64 {
    // splitmix64's finalizer: neighbouring (seed, epoch, position) give unrelated streams.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl<S: Source + 'static> Pipeline<S> {
    /// `offsets` are every record's start in the file (from the `.idx` file or a scan).
    pub fn new(reader: RecordReader<S>, offsets: Vec<u64>, process: Box<dyn Process>, config: Config) -> Result<Self> {
        if config.batch_size == 0 {
            return Err(IoError::Invalid("batch_size must be positive".into()));
        }
        if config.num_parts == 0 || config.part_index >= config.num_parts {
            return Err(IoError::Invalid(format!("part_index {} must be below num_parts {}", config.part_index, config.num_parts)));
        }
        let (start, end) = part_range(offsets.len(), config.num_parts, config.part_index);
        if start == end {
            return Err(IoError::Invalid(format!("{}: part {} of {} holds no records ({} in the file)", reader.source().name(), config.part_index, config.num_parts, offsets.len())));
        }
        let n = end - start;
        let state = State { cur: Epoch::new(0, n, &config), ahead: Epoch::new(1, n, &config), consumed: 0, shutdown: false };
        let shared = Arc::new(Shared { reader, offsets: offsets[start..end].to_vec(), records: (start..end).collect(), process, config, state: Mutex::new(state), changed: Condvar::new(), skipped: AtomicUsize::new(0) });
        let workers = (0..shared.config.threads.max(1))
            .map(|i| {
                let s = shared.clone();
                std::thread::Builder::new().name(format!("rmx-io-{i}")).spawn(move || s.work()).map_err(|e| IoError::Pipeline(e.to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Pipeline { shared, workers })
    }

    pub fn num_samples(&self) -> usize {
        self.shared.offsets.len()
    }

    pub fn num_batches(&self) -> usize {
        self.shared.num_batches()
    }

    /// Records skipped so far (with `skip_corrupt`) in the batches handed out.
    pub fn num_skipped(&self) -> usize {
        self.shared.skipped.load(Ordering::Relaxed)
    }

    /// The next batch of this epoch, `None` after the last.
    pub fn next_batch(&self) -> Option<Result<Batch>> {
        let mut st = self.shared.lock();
        if st.consumed >= self.num_batches() {
            return None;
        }
        let k = st.consumed;
        loop {
            if let Some(b) = st.cur.ready.remove(&k) {
                if let Ok(batch) = &b {
                    self.shared.skipped.fetch_add(batch.skipped, Ordering::Relaxed);
                }
                st.consumed += 1;
                self.shared.changed.notify_all();
                return Some(b);
            }
            st = self.shared.changed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Starts the next epoch (a new order when shuffling), keeping the batches already built
    /// for it; the rest of the current epoch is dropped.
    pub fn reset(&self) {
        let mut st = self.shared.lock();
        let after = Epoch::new(st.ahead.epoch + 1, self.num_samples(), &self.shared.config);
        st.cur = std::mem::replace(&mut st.ahead, after);
        st.consumed = 0;
        self.shared.changed.notify_all();
    }
}

impl Epoch {
    fn new(epoch: u64, n: usize, config: &Config) -> Self {
        let mut order: Vec<usize> = (0..n).collect();
        if config.shuffle {
            order.shuffle(&mut StdRng::seed_from_u64(mix(config.seed ^ mix(epoch))));
        }
        Epoch { epoch, order: Arc::new(order), next: 0, ready: BTreeMap::new() }
    }
}

impl<S: Source> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn num_batches(&self) -> usize {
        self.offsets.len().div_ceil(self.config.batch_size)
    }

    /// The next batch to build: (epoch, batch, order), or None when the window is full.
    fn pick(&self, st: &mut State) -> Option<(u64, usize, Arc<Vec<usize>>)> {
        let nb = self.num_batches();
        let outstanding = st.cur.next.saturating_sub(st.consumed) + st.ahead.next;
        if outstanding >= self.config.prefetch.max(1) {
            return None;
        }
        let e = if st.cur.next < nb {
            &mut st.cur
        } else if st.ahead.next < nb {
            &mut st.ahead
        } else {
            return None;
        };
        e.next += 1;
        Some((e.epoch, e.next - 1, e.order.clone()))
    }

    fn work(&self) {
        loop {
            let (epoch, k, order) = {
                let mut st = self.lock();
                loop {
                    if st.shutdown {
                        return;
                    }
                    if let Some(job) = self.pick(&mut st) {
                        break job;
                    }
                    st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                }
            };
            let built = catch_unwind(AssertUnwindSafe(|| self.build(epoch, k, &order)))
                .unwrap_or_else(|p| Err(IoError::Pipeline(p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "a worker panicked".into()))));
            let mut st = self.lock();
            // A batch of an epoch that a reset skipped is dropped.
            if st.cur.epoch == epoch {
                st.cur.ready.insert(k, built);
            } else if st.ahead.epoch == epoch {
                st.ahead.ready.insert(k, built);
            }
            self.changed.notify_all();
        }
    }

    fn build(&self, epoch: u64, k: usize, order: &[usize]) -> Result<Batch> {
        let bs = self.config.batch_size;
        let n = order.len();
        let (shape, dtype) = self.process.sample_shape();
        let lw = self.process.label_width();
        let per = shape.iter().product::<usize>() * dtype.size();
        let mut full = vec![bs];
        full.extend_from_slice(&shape);
        let positions: Vec<usize> = (k * bs..(k + 1) * bs).map(|p| p % n).collect();
        let pad = ((k + 1) * bs).saturating_sub(n);
        let mut labels = vec![0f32; bs * lw];
        let mut record = Vec::new();
        let mut used = Vec::with_capacity(bs);
        let mut skipped = 0;
        let cpu = Context::cpu(0);
        let (data, filled) = NDArray::new_host_with(&full, dtype, cpu, |bytes| -> Result<()> {
            for (j, &p) in positions.iter().enumerate() {
                let (data, label) = (&mut bytes[j * per..(j + 1) * per], &mut labels[j * lw..(j + 1) * lw]);
                used.push(self.sample_or_skip(epoch, p, order, &mut record, data, label, &mut skipped)?);
            }
            Ok(())
        })
        .map_err(|e| IoError::Pipeline(e.to_string()))?;
        filled?;
        let label_shape: Vec<usize> = if lw == 1 { vec![bs] } else { vec![bs, lw] };
        let label_bytes: Vec<u8> = labels.iter().flat_map(|v| v.to_le_bytes()).collect();
        let label = NDArray::from_bytes(&label_shape, DType::F32, cpu, &label_bytes).map_err(|e| IoError::Pipeline(e.to_string()))?;
        Ok(Batch { data, label, pad, records: used, skipped })
    }

    /// The sample at position `p` of the order; with `skip_corrupt`, a record that cannot be
    /// read or decoded is counted in `skipped` and the next position's record taken instead.
    /// Returns the record number used.
    #[allow(clippy::too_many_arguments)]
    fn sample_or_skip(&self, epoch: u64, p: usize, order: &[usize], record: &mut Vec<u8>, data: &mut [u8], label: &mut [f32], skipped: &mut usize) -> Result<usize> {
        let n = order.len();
        for k in 0..n {
            let q = (p + k) % n;
            match self.sample(epoch, q, order[q], record, data, label) {
                Ok(number) => return Ok(number),
                Err(e @ (IoError::Decode { .. } | IoError::Format { .. })) if self.config.skip_corrupt => {
                    *skipped += 1;
                    if k + 1 == n {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("an order is never empty")
    }

    /// Reads record `i` and turns it into the sample at position `p` (whose random stream it uses).
    fn sample(&self, epoch: u64, p: usize, i: usize, record: &mut Vec<u8>, data: &mut [u8], label: &mut [f32]) -> Result<usize> {
        let number = self.records[i];
        let path = || self.reader.source().name().to_string();
        self.reader.read_into(self.offsets[i], number, record)?.ok_or_else(|| IoError::Format {
            path: path(),
            record: number,
            offset: self.offsets[i],
            message: "the offset lies at the end of the file (a stale .idx file?)".into(),
        })?;
        let mut rng = StdRng::seed_from_u64(mix(self.config.seed ^ mix(epoch ^ mix(p as u64))));
        self.process.process(record, &mut rng, data, label).map_err(|message| IoError::Decode { path: path(), record: number, message })?;
        Ok(number)
    }
}

impl<S: Source + 'static> Drop for Pipeline<S> {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.changed.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
