//! `KVStore`: one stored array per key; `init`, `push` (merge, then the updater or assignment),
//! `pull`, `pushpull` and `broadcast`. Every data movement is an engine operation: no call here
//! waits for an array.

use std::collections::{BTreeMap, HashMap};

use rmx_engine::Context;
use rmx_graph::NDArray;
use rmx_kernels::DType;

use crate::copy::{copy_into, copy_to};
use crate::error::{KVStoreError, Result};
use crate::key::{Key, KeyId, Keys};
use crate::kind::StoreKind;
use crate::reduce::Reducer;
use crate::updater::Updater;

/// A single-machine store (`local` or `device`, see [`StoreKind`]).
///
/// As in MXNet, a single pushed value is not copied: without an updater the store keeps that
/// very array, and an updater receives it as the gradient. Stored values live on `cpu(0)`; a
/// merged gradient on another device is copied there before the updater runs.
pub struct KVStore {
    kind: StoreKind,
    home: Context,
    keys: Keys,
    stored: HashMap<KeyId, NDArray>,
    /// Each key's dtype at `init` (`Device` sums in it).
    dtypes: HashMap<KeyId, DType>,
    reducer: Reducer,
    /// Per key, the merged gradient moved to the stored value's device.
    grad_bufs: HashMap<KeyId, NDArray>,
    updater: Option<Box<dyn Updater>>,
}

/// A call's values grouped by key: `(id, the key as first given, values in the order given)`,
/// by increasing id (MXNet groups and sorts a call's pairs so).
type Groups = Vec<(KeyId, Key, Vec<NDArray>)>;

impl KVStore {
    pub fn new(kind: StoreKind) -> Self {
        let home = Context::cpu(0);
        KVStore {
            kind,
            home,
            keys: Keys::default(),
            stored: HashMap::new(),
            dtypes: HashMap::new(),
            reducer: Reducer::new(kind, home),
            grad_bufs: HashMap::new(),
            updater: None,
        }
    }

    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// Sets (or with None removes) the updater run on every push.
    pub fn set_updater(&mut self, updater: Option<Box<dyn Updater>>) {
        self.updater = updater;
    }

    pub fn has_updater(&self) -> bool {
        self.updater.is_some()
    }

    /// Stores a copy of each value under its key, in order; a key may be initialized once.
    pub fn init(&mut self, pairs: &[(Key, NDArray)]) -> Result<()> {
        for (key, val) in pairs {
            let id = self.keys.id_for_init(key)?;
            if self.stored.contains_key(&id) {
                return Err(KVStoreError::DuplicateInit(key.clone()));
            }
            self.stored.insert(id, copy_to(val, self.home)?);
            self.dtypes.insert(id, val.dtype());
        }
        Ok(())
    }

    /// Sums the values of each key and updates the stored value with the sum: the updater's
    /// call, or assignment without one (the store then holds the sum's array itself).
    pub fn push(&mut self, pairs: &[(Key, NDArray)]) -> Result<()> {
        for (id, key, vals) in self.grouped(pairs)? {
            let stored = self.stored(id, &key)?;
            let merged = self.reducer.reduce(id, &vals, self.dtypes.get(&id).copied())?;
            let Some(updater) = self.updater.as_mut() else {
                self.stored.insert(id, merged);
                continue;
            };
            let grad = if merged.ctx() == stored.ctx() { merged } else { moved(&mut self.grad_bufs, id, &merged, stored.ctx())? };
            updater.update(&key, &grad, &stored).map_err(|source| KVStoreError::Updater { key, source })?;
        }
        Ok(())
    }

    /// Copies the stored value of each key into its output array(s), on any device and dtype.
    pub fn pull(&mut self, pairs: &[(Key, NDArray)]) -> Result<()> {
        for (id, key, outs) in self.grouped(pairs)? {
            let stored = self.stored(id, &key)?;
            for out in &outs {
                copy_into(&stored, out)?;
            }
        }
        Ok(())
    }

    /// `push` of `values`, then `pull` into `outs`.
    pub fn pushpull(&mut self, values: &[(Key, NDArray)], outs: &[(Key, NDArray)]) -> Result<()> {
        self.push(values)?;
        self.pull(outs)
    }

    /// `init` with `values`, then `pull` into `outs` (a key is broadcast once).
    pub fn broadcast(&mut self, values: &[(Key, NDArray)], outs: &[(Key, NDArray)]) -> Result<()> {
        self.init(values)?;
        self.pull(outs)
    }

    /// The array stored under `key` (the very one the store holds).
    pub fn get(&mut self, key: &Key) -> Result<NDArray> {
        let id = self.keys.id(key)?;
        self.stored(id, key)
    }

    fn stored(&self, id: KeyId, key: &Key) -> Result<NDArray> {
        self.stored.get(&id).cloned().ok_or_else(|| KVStoreError::NotInited(key.clone()))
    }

    fn grouped(&mut self, pairs: &[(Key, NDArray)]) -> Result<Groups> {
        let mut groups: BTreeMap<KeyId, (Key, Vec<NDArray>)> = BTreeMap::new();
        for (key, val) in pairs {
            let id = self.keys.id(key)?;
            groups.entry(id).or_insert_with(|| (key.clone(), Vec::new())).1.push(val.clone());
        }
        Ok(groups.into_iter().map(|(id, (key, vals))| (id, key, vals)).collect())
    }
}

/// `merged` copied into the key's gradient buffer on `ctx` (made again when it no longer fits).
fn moved(bufs: &mut HashMap<KeyId, NDArray>, id: KeyId, merged: &NDArray, ctx: Context) -> Result<NDArray> {
    let fits = |b: &NDArray| b.shape() == merged.shape() && b.dtype() == merged.dtype() && b.ctx() == ctx;
    let buf = match bufs.get(&id) {
        Some(b) if fits(b) => b.clone(),
        _ => {
            let b = NDArray::zeros(merged.shape(), merged.dtype(), ctx)?;
            bufs.insert(id, b.clone());
            b
        }
    };
    copy_into(merged, &buf)?;
    Ok(buf)
}
