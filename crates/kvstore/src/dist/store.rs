//! `DistKVStore`: a worker's `dist_sync`, `dist_device_sync` and `dist_async` store. Values pushed
//! from several devices are first summed on this machine (the local store's reduction), then
//! sent; every send and receive is an asynchronous engine operation (`push_async`) that holds the
//! array it reads or writes until the network is done with it, so communication overlaps
//! computation and no worker thread waits on a socket. Keys of at least
//! `MXNET_KVSTORE_BIGARRAY_BOUND` elements are split across all servers, smaller ones go to
//! server `(key * 9973) % num_servers` (MXNet's rule).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use rmx_engine::{engine, BoxError, Completion, Context, FnProperty, Var};
use rmx_graph::NDArray;
use rmx_kernels::DType;

use super::client::{Client, RecvPtr};
use super::codec::{codes_len, dtype_refused, quantize_2bit};
use super::config::DistConfig;
use super::frame::FLAG_2BIT;
use crate::copy::copy_into;
use crate::error::{KVStoreError, Result};
use crate::key::{Key, KeyId, Keys};
use crate::kind::StoreKind;
use crate::reduce::Reducer;

/// How the servers apply pushes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DistMode {
    Sync,
    DeviceSync,
    Async,
}

impl DistMode {
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "dist_sync" | "dist" => Ok(DistMode::Sync),
            "dist_device_sync" => Ok(DistMode::DeviceSync),
            "dist_async" => Ok(DistMode::Async),
            "dist_sync_device" => Ok(DistMode::DeviceSync),
            other => Err(KVStoreError::Unsupported(format!("kvstore '{other}': the distributed stores are dist_sync, dist_device_sync and dist_async"))),
        }
    }
}

/// The server and element range of one part of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    pub server: usize,
    pub start: usize,
    pub end: usize,
}

/// MXNet's placement: small arrays on one server, `(key * 9973) % num_servers`; big ones split
/// evenly (rounded) across all servers. A server holds at most one part of a key, under the key
/// itself, so that its optimizer sees the key's own index (multipliers, update counts, states).
pub fn partition(key: i64, numel: usize, num_servers: usize, bound: usize) -> Vec<Part> {
    if numel < bound {
        let server = (key.wrapping_mul(9973)).rem_euclid(num_servers as i64) as usize;
        return vec![Part { server, start: 0, end: numel }];
    }
    let at = |i: usize| (numel as f64 / num_servers as f64 * i as f64).round() as usize;
    (0..num_servers).map(|i| Part { server: i, start: at(i), end: at(i + 1) }).filter(|p| p.end > p.start).collect()
}

struct KeyMeta {
    key: Key,
    shape: Vec<usize>,
    dtype: DType,
    parts: Vec<Part>,
    /// A host array of the key's shape: what is sent when a pushed value cannot be read in place,
    /// and what a pull receives into when its output cannot be written in place.
    wire: NDArray,
    /// Orders this key's sends and receives (a pull after a push reaches the server after it).
    var: Var,
    /// 2-bit compression's error feedback.
    residual: Arc<Mutex<Vec<f32>>>,
}

pub struct DistKVStore {
    mode: DistMode,
    client: Arc<Client>,
    keys: Keys,
    meta: HashMap<KeyId, KeyMeta>,
    reducer: Reducer,
    threshold: Option<f32>,
    optimizer_set: bool,
}

type Groups = Vec<(KeyId, Key, Vec<NDArray>)>;

impl DistKVStore {
    /// Joins the job the environment describes (blocks until every process registered).
    pub fn new(name: &str) -> Result<Self> {
        let mode = DistMode::from_name(name)?;
        let cfg = DistConfig::from_env()?;
        let client = Client::connect(&cfg, mode != DistMode::Async)?;
        let kind = if mode == DistMode::DeviceSync { StoreKind::Device } else { StoreKind::Local };
        Ok(DistKVStore { mode, client: Arc::new(client), keys: Keys::default(), meta: HashMap::new(), reducer: Reducer::new(kind, Context::cpu(0)), threshold: None, optimizer_set: false })
    }

    pub fn mode(&self) -> DistMode {
        self.mode
    }

    pub fn rank(&self) -> usize {
        self.client.rank()
    }

    pub fn num_workers(&self) -> usize {
        self.client.num_workers()
    }

    pub fn num_servers(&self) -> usize {
        self.client.servers.len()
    }

    pub fn barrier(&self) -> Result<()> {
        self.client.barrier()
    }

    /// Sends `optimizer` (a typed description) to every server, which then updates on pushes.
    pub fn set_optimizer(&mut self, description: &str) -> Result<()> {
        self.client.command("optimizer", description)?;
        self.optimizer_set = true;
        Ok(())
    }

    /// Turns on 2-bit compression of pushes (`{"type": "2bit", "threshold": t}`).
    pub fn set_gradient_compression(&mut self, threshold: f32) -> Result<()> {
        if threshold.is_nan() || threshold <= 0.0 {
            return Err(KVStoreError::Unsupported(format!("2bit compression needs a positive threshold, got {threshold}")));
        }
        self.client.command("compression", &format!("{{\"type\": \"2bit\", \"threshold\": {threshold}}}"))?;
        self.threshold = Some(threshold);
        Ok(())
    }

    /// Every key as the servers hold it: the key, its id on the wire, shape, dtype and parts
    /// (what a checkpoint of the servers' optimizer states is cut and joined by).
    pub fn layout(&self) -> Vec<(Key, KeyId, Vec<usize>, DType, Vec<Part>)> {
        let mut keys: Vec<_> = self.meta.iter().map(|(id, m)| (m.key.clone(), *id, m.shape.clone(), m.dtype, m.parts.clone())).collect();
        keys.sort_by_key(|k| k.1);
        keys
    }

    /// Each server's optimizer states (the bytes its host's updater wrote), once this worker's
    /// sends and receives are done.
    pub fn optimizer_states(&self) -> Result<Vec<Vec<u8>>> {
        self.settle()?;
        let mut held = vec![0u64; self.client.servers.len()];
        for m in self.meta.values() {
            for p in &m.parts {
                held[p.server] += ((p.end - p.start) * m.dtype.size()) as u64;
            }
        }
        self.client.rt.block_on(async {
            let mut out = Vec::new();
            for (s, bytes) in self.client.servers.iter().zip(held) {
                out.push(s.states(super::frame::MAX_CONTROL + 8 * bytes).await?);
            }
            Ok(out)
        })
    }

    /// Replaces each server's optimizer states with its entry of `bodies` (one per server).
    pub fn set_optimizer_states(&self, bodies: &[Vec<u8>]) -> Result<()> {
        if bodies.len() != self.client.servers.len() {
            return Err(KVStoreError::Unsupported(format!("optimizer states for {} servers in a job of {}", bodies.len(), self.client.servers.len())));
        }
        self.settle()?;
        self.client.rt.block_on(async {
            for (s, body) in self.client.servers.iter().zip(bodies) {
                s.set_states(body).await?;
            }
            Ok(())
        })
    }

    /// Waits for this worker's sends and receives of every key.
    fn settle(&self) -> Result<()> {
        self.client.job.check()?;
        for m in self.meta.values() {
            engine().wait_for_var(&m.var).map_err(rmx_graph::GraphError::from)?;
        }
        Ok(())
    }

    /// Ends this worker's part: the job ends once every worker called it.
    pub fn finish(&self) -> Result<()> {
        engine().wait_all().map_err(rmx_graph::GraphError::from)?;
        self.client.finish()
    }

    /// Records each key; rank 0 sends the values to the servers; then every worker waits for
    /// the others (MXNet's init: push from rank 0, then a barrier).
    pub fn init(&mut self, pairs: &[(Key, NDArray)]) -> Result<()> {
        self.client.job.check()?;
        let mut sent = Vec::new();
        for (key, val) in pairs {
            let id = self.keys.id_for_init(key)?;
            if self.meta.contains_key(&id) {
                return Err(KVStoreError::DuplicateInit(key.clone()));
            }
            if !matches!(val.dtype(), DType::F32 | DType::F64) {
                return Err(dtype_refused(val.dtype()));
            }
            let numel = val.numel();
            let cfg = &self.client.cfg;
            let parts = partition(id, numel, self.client.servers.len(), cfg.bigarray_bound);
            let wire = NDArray::zeros(&[numel], val.dtype(), Context::cpu(0))?;
            let meta = KeyMeta { key: key.clone(), shape: val.shape().to_vec(), dtype: val.dtype(), parts, wire, var: engine().new_var(), residual: Arc::default() };
            if self.rank() == 0 {
                copy_into(&flat(val)?, &meta.wire)?;
                self.send_init(id, &meta)?;
                sent.push(meta.var.clone());
            }
            self.meta.insert(id, meta);
        }
        for var in sent {
            engine().wait_for_var(&var).map_err(rmx_graph::GraphError::from)?;
        }
        self.client.barrier()
    }

    fn send_init(&self, id: KeyId, meta: &KeyMeta) -> Result<()> {
        let (client, wire, parts, dtype) = (self.client.clone(), meta.wire.clone(), meta.parts.clone(), meta.dtype);
        let size = dtype.size();
        let op = Box::new(move |_: &rmx_engine::RunContext, done: Completion| {
            let base = wire.data_ptr() as usize;
            let rt = client.rt.handle().clone();
            rt.spawn(async move {
                let mut result = Ok(());
                for p in &parts {
                    // SAFETY: this operation reads `wire`, which stays alive (moved here) and
                    // unwritten until `done`.
                    let bytes = unsafe { std::slice::from_raw_parts((base + p.start * size) as *const u8, (p.end - p.start) * size) };
                    result = client.servers[p.server].init(id, dtype.flag() as u8, p.end - p.start, bytes).await;
                    if result.is_err() {
                        break;
                    }
                }
                drop(wire);
                done.done(result.map_err(|e| Box::new(e) as BoxError));
            });
        });
        engine().push_async(op, Context::cpu(0), std::slice::from_ref(meta.wire.var()), std::slice::from_ref(&meta.var), FnProperty::CpuPrioritized, 0, "KVStoreDistInit".into()).map_err(rmx_graph::GraphError::from)?;
        Ok(())
    }

    /// Sums each key's values on this machine, then sends the sum to the key's servers.
    pub fn push(&mut self, pairs: &[(Key, NDArray)], priority: i32) -> Result<()> {
        self.client.job.check()?;
        if self.mode == DistMode::Async && !self.optimizer_set {
            return Err(KVStoreError::Unsupported("dist_async applies each push with the servers' optimizer: call set_optimizer before push".into()));
        }
        for (id, key, vals) in self.grouped(pairs)? {
            let meta = &self.meta[&id];
            if vals.iter().any(|v| v.shape() != meta.shape.as_slice()) {
                return Err(KVStoreError::Shape { from: vals[0].shape().to_vec(), into: meta.shape.clone() });
            }
            let merged = self.reducer.reduce(id, &vals, Some(meta.dtype))?;
            let src = if merged.ctx() == Context::cpu(0) && merged.dtype() == meta.dtype && merged.is_contiguous() {
                merged
            } else {
                copy_into(&flat(&merged)?, &meta.wire)?;
                meta.wire.clone()
            };
            let _ = key;
            self.send_push(id, meta, src, priority)?;
        }
        Ok(())
    }

    fn send_push(&self, id: KeyId, meta: &KeyMeta, src: NDArray, priority: i32) -> Result<()> {
        let (client, parts, dtype, threshold, residual) = (self.client.clone(), meta.parts.clone(), meta.dtype, self.threshold, meta.residual.clone());
        let read = src.var().clone();
        let op = Box::new(move |_: &rmx_engine::RunContext, done: Completion| {
            let size = dtype.size();
            let base = src.data_ptr() as usize;
            // Compression runs here, on the engine's thread, while the gradient is held for reading.
            let codes: Option<Vec<Vec<u8>>> = threshold.map(|t| {
                // SAFETY: this operation reads `src` (dense f32, checked at push) until `done`.
                let grad = unsafe { std::slice::from_raw_parts(base as *const f32, src.numel()) };
                let mut res = residual.lock().unwrap_or_else(|e| e.into_inner());
                if res.len() != grad.len() {
                    *res = vec![0.0; grad.len()];
                }
                parts.iter().map(|p| {
                    let mut c = vec![0u8; codes_len(p.end - p.start)];
                    quantize_2bit(&grad[p.start..p.end], &mut res[p.start..p.end], t, &mut c);
                    c
                }).collect()
            });
            let mut codes = codes.map(|c| c.into_iter());
            let mut set = tokio::task::JoinSet::new();
            for p in &parts {
                let conn = client.servers[p.server].clone();
                let (flags, owned) = match codes.as_mut() {
                    Some(c) => (FLAG_2BIT, c.next()),
                    None => (0, None),
                };
                let (at, len) = (base + p.start * size, (p.end - p.start) * size);
                set.spawn_on(async move {
                    let data: &[u8] = match &owned {
                        Some(c) => c,
                        // SAFETY: this operation reads `src`, kept alive and unwritten until `done`.
                        None => unsafe { std::slice::from_raw_parts(at as *const u8, len) },
                    };
                    conn.push(id, flags, data).await
                }, client.rt.handle());
            }
            client.rt.spawn(async move {
                let result = join(set).await;
                drop(src);
                done.done(result.map_err(|e| Box::new(e) as BoxError));
            });
        });
        if threshold.is_some() && dtype != DType::F32 {
            return Err(KVStoreError::Unsupported(format!("2bit compression applies to float32 gradients, not {dtype}")));
        }
        engine().push_async(op, Context::cpu(0), &[read], std::slice::from_ref(&meta.var), FnProperty::CpuPrioritized, priority, "KVStoreDistPush".into()).map_err(rmx_graph::GraphError::from)?;
        Ok(())
    }

    /// Receives each key's value from its servers into the outputs (straight into a single
    /// dense host output of the key's dtype; else into the key's host buffer, then copied).
    pub fn pull(&mut self, pairs: &[(Key, NDArray)], priority: i32) -> Result<()> {
        self.client.job.check()?;
        for (id, _key, outs) in self.grouped(pairs)? {
            let meta = &self.meta[&id];
            if let Some(o) = outs.iter().find(|o| o.shape() != meta.shape.as_slice()) {
                return Err(KVStoreError::Shape { from: meta.shape.clone(), into: o.shape().to_vec() });
            }
            let direct = outs.len() == 1 && outs[0].ctx() == Context::cpu(0) && outs[0].dtype() == meta.dtype && outs[0].is_contiguous();
            let target = if direct { outs[0].clone() } else { meta.wire.clone() };
            self.recv(id, meta, target, priority)?;
            if !direct {
                for o in &outs {
                    copy_into(&meta.wire.reshape_view(o.shape()).expect("dense"), o)?;
                }
            }
        }
        Ok(())
    }

    fn recv(&self, id: KeyId, meta: &KeyMeta, target: NDArray, priority: i32) -> Result<()> {
        let (client, parts, size) = (self.client.clone(), meta.parts.clone(), meta.dtype.size());
        let write = target.var().clone();
        let op = Box::new(move |_: &rmx_engine::RunContext, done: Completion| {
            let base = target.data_ptr() as usize;
            let mut set = tokio::task::JoinSet::new();
            for p in &parts {
                let conn = client.servers[p.server].clone();
                let into = RecvPtr { ptr: (base + p.start * size) as *mut u8, len: (p.end - p.start) * size };
                set.spawn_on(async move { conn.pull(id, into).await }, client.rt.handle());
            }
            client.rt.spawn(async move {
                let result = join(set).await;
                drop(target);
                done.done(result.map_err(|e| Box::new(e) as BoxError));
            });
        });
        engine().push_async(op, Context::cpu(0), &[], &[write, meta.var.clone()], FnProperty::CpuPrioritized, priority, "KVStoreDistPull".into()).map_err(rmx_graph::GraphError::from)?;
        Ok(())
    }

    pub fn pushpull(&mut self, values: &[(Key, NDArray)], outs: &[(Key, NDArray)], priority: i32) -> Result<()> {
        self.push(values, priority)?;
        self.pull(outs, priority)
    }

    pub fn broadcast(&mut self, values: &[(Key, NDArray)], outs: &[(Key, NDArray)], priority: i32) -> Result<()> {
        self.init(values)?;
        self.pull(outs, priority)
    }

    fn grouped(&mut self, pairs: &[(Key, NDArray)]) -> Result<Groups> {
        let mut groups: BTreeMap<KeyId, (Key, Vec<NDArray>)> = BTreeMap::new();
        for (key, val) in pairs {
            let id = self.keys.id(key)?;
            if !self.meta.contains_key(&id) {
                return Err(KVStoreError::NotInited(key.clone()));
            }
            groups.entry(id).or_insert_with(|| (key.clone(), Vec::new())).1.push(val.clone());
        }
        Ok(groups.into_iter().map(|(id, (key, vals))| (id, key, vals)).collect())
    }
}

/// `a` as a one-dimensional view (a copy's source must match the flat wire buffer's shape).
fn flat(a: &NDArray) -> Result<NDArray> {
    match a.reshape_view(&[a.numel()]) {
        Some(v) => Ok(v),
        None => {
            let dense = NDArray::zeros(a.shape(), a.dtype(), a.ctx())?;
            copy_into(a, &dense)?;
            Ok(dense.reshape_view(&[a.numel()]).expect("dense"))
        }
    }
}

/// Waits for every part; the first error wins.
async fn join(mut set: tokio::task::JoinSet<Result<()>>) -> Result<()> {
    let mut first = Ok(());
    while let Some(r) = set.join_next().await {
        let r = r.unwrap_or_else(|e| Err(KVStoreError::Protocol(format!("a transfer task failed: {e}"))));
        if first.is_ok() {
            first = r;
        }
    }
    first
}
