//! The memory planner: decides, before anything is allocated, which entries of a bound graph
//! share a buffer. It simulates the execution order once, keeping for every buffer the number of
//! reads still to come; a buffer whose count reaches zero goes back to a free pool and a later
//! entry takes it. The strategies of the seed design:
//!
//! - `none`: one buffer per entry.
//! - `inplace`: an operator writes its output over an input it declares safe to overwrite
//!   ([`Operator::inplace_option`]) when that input has no other reader left; freed buffers are
//!   reused by later entries that fit in them.
//! - `coshare`: nodes on one dependency path can never run at the same time, so they share
//!   storage: the graph is split into paths ([`color`]) and a freed buffer goes back to the pool of
//!   its path, where later entries of the same path take it, the buffer growing to the largest.
//! - `both` (the default): in-place writes, and freed buffers reused by any node, growing to fit:
//!   the best fit over every pool, the node's own path first among equal fits.
//!
//! Entries bound to the user's arrays (arguments, their gradients, auxiliary states) are not
//! planned. Outputs are kept alive to the end. The pass runs in O((V + E) log V).
//!
//! [`Operator::inplace_option`]: crate::Operator::inplace_option

mod color;

use std::collections::BTreeSet;

use rmx_operators::error::{GraphError, Result};
use rmx_operators::operator::TensorDesc;

/// How the planner shares buffers (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryStrategy {
    None,
    Inplace,
    Coshare,
    Both,
}

/// The environment variable that picks the default strategy.
pub const STRATEGY_ENV: &str = "RMX_MEMORY_STRATEGY";

impl MemoryStrategy {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(Self::None),
            "inplace" => Ok(Self::Inplace),
            "coshare" => Ok(Self::Coshare),
            "both" => Ok(Self::Both),
            other => Err(GraphError::Invalid(format!("memory strategy must be 'none', 'inplace', 'coshare' or 'both', got '{other}'"))),
        }
    }

    /// `RMX_MEMORY_STRATEGY`, or `both` when it is unset.
    pub fn from_env() -> Result<Self> {
        match std::env::var(STRATEGY_ENV) {
            Ok(s) => Self::parse(s.trim()).map_err(|e| GraphError::Invalid(format!("{STRATEGY_ENV}: {e}"))),
            Err(_) => Ok(Self::Both),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Inplace => "inplace",
            Self::Coshare => "coshare",
            Self::Both => "both",
        }
    }

    fn in_place(self) -> bool {
        matches!(self, Self::Inplace | Self::Both)
    }

    fn grows(self) -> bool {
        matches!(self, Self::Coshare | Self::Both)
    }
}

/// One node of the execution as the planner sees it.
pub struct Step<'a> {
    pub inputs: &'a [usize],
    pub outputs: &'a [usize],
    /// `(input, output)` positions the operator may write in place.
    pub inplace: Vec<(usize, usize)>,
}

/// Which buffer each entry lives in, and each buffer's size.
#[derive(Clone, Debug)]
pub struct MemoryPlan {
    pub strategy: MemoryStrategy,
    /// Per entry: its buffer, or `None` for entries bound to the user's arrays and entries no
    /// step makes (fused away).
    pub block_of: Vec<Option<usize>>,
    pub block_bytes: Vec<usize>,
}

impl MemoryPlan {
    pub fn total_bytes(&self) -> usize {
        self.block_bytes.iter().sum()
    }
}

/// A buffer may serve entries from 1/`MATCH_RANGE` to `MATCH_RANGE` times its size: beyond
/// that, sharing wastes more than it saves.
const MATCH_RANGE: usize = 16;
/// At most this many paths get a pool of their own; the rest of the graph shares one.
const MAX_PATHS: usize = 16;

/// Free buffers as `(bytes, id)`, one pool per path (one pool in all without co-sharing).
struct Pools {
    free: Vec<BTreeSet<(usize, usize)>>,
}

impl Pools {
    /// The best free buffer for `bytes` in pool `p`: the smallest at least as large, else (when
    /// buffers may grow) the largest smaller one.
    fn find(&self, p: usize, bytes: usize, grows: bool) -> Option<(usize, usize)> {
        let pool = &self.free[p];
        let above = pool.range((bytes, 0)..).next().filter(|&&(b, _)| b <= bytes.saturating_mul(MATCH_RANGE));
        let below = || pool.range(..(bytes, 0)).next_back().filter(|&&(b, _)| b.saturating_mul(MATCH_RANGE) >= bytes);
        above.or_else(|| if grows { below() } else { None }).copied()
    }
}

/// How much a free buffer of `size` wastes for `bytes`: what it holds unused, or what it must
/// grow by (a growth costs new memory, so it ranks after any buffer that already fits).
fn fit_cost(size: usize, bytes: usize) -> (bool, usize) {
    if size >= bytes { (false, size - bytes) } else { (true, bytes - size) }
}

struct Planner<'a> {
    strategy: MemoryStrategy,
    descs: &'a [TensorDesc],
    block_of: Vec<Option<usize>>,
    block_bytes: Vec<usize>,
    /// Reads still to come of the entry living in each buffer (`usize::MAX`: kept to the end).
    pending: Vec<usize>,
    pools: Pools,
}

fn bytes(d: &TensorDesc) -> usize {
    d.shape.iter().product::<usize>() * d.dtype.size()
}

/// Plans `steps` (in execution order) over entries `descs`. `external[e]`: bound to a user's
/// array; `keep[e]`: read after the last step (the outputs).
pub fn plan(steps: &[Step], descs: &[TensorDesc], external: &[bool], keep: &[bool], strategy: MemoryStrategy) -> MemoryPlan {
    let mut reads = vec![0usize; descs.len()];
    for s in steps {
        for &e in s.inputs {
            reads[e] += 1;
        }
    }
    let (path_of, n_paths) = match strategy {
        MemoryStrategy::Coshare | MemoryStrategy::Both => color::paths(steps, descs, external, MAX_PATHS),
        _ => (vec![0; steps.len()], 1),
    };
    let mut p = Planner {
        strategy,
        descs,
        block_of: vec![None; descs.len()],
        block_bytes: Vec::new(),
        pending: Vec::new(),
        pools: Pools { free: vec![BTreeSet::new(); n_paths] },
    };
    let live_reads = |e: usize| if keep[e] { usize::MAX } else { reads[e] };
    for (k, s) in steps.iter().enumerate() {
        let path = path_of[k];
        let mut fresh = Vec::new();
        for (o, &e) in s.outputs.iter().enumerate() {
            if external[e] || p.block_of[e].is_some() {
                continue;
            }
            let b = match p.in_place_block(s, o, external) {
                Some(b) => {
                    // The input's reads at this step are still counted; the output's come after.
                    p.pending[b] = p.pending[b].saturating_add(live_reads(e));
                    b
                }
                None => {
                    let b = p.request(bytes(&descs[e]), path);
                    p.pending[b] = live_reads(e);
                    fresh.push(b);
                    b
                }
            };
            p.block_of[e] = Some(b);
        }
        for &e in s.inputs {
            if let Some(b) = p.block_of[e] {
                if p.pending[b] != usize::MAX {
                    p.pending[b] -= 1;
                    if p.pending[b] == 0 {
                        p.release(b, path);
                    }
                }
            }
        }
        // An output nobody reads is dead once its node has run.
        for b in fresh {
            if p.pending[b] == 0 {
                p.release(b, path);
            }
        }
    }
    // Entries no step makes (fused away) keep `None`: nothing reads them either.
    MemoryPlan { strategy, block_of: p.block_of, block_bytes: p.block_bytes }
}

impl Planner<'_> {
    fn new_block(&mut self, bytes: usize) -> usize {
        self.block_bytes.push(bytes);
        self.pending.push(0);
        self.block_bytes.len() - 1
    }

    /// A buffer for `bytes` made at a node of `path`.
    fn request(&mut self, bytes: usize, path: usize) -> usize {
        let found = match self.strategy {
            MemoryStrategy::None => None,
            MemoryStrategy::Inplace | MemoryStrategy::Coshare => self.pools.find(path, bytes, self.strategy.grows()).map(|f| (path, f)),
            // The best fit over every pool; between equal fits, the node's own path.
            MemoryStrategy::Both => (0..self.pools.free.len())
                .filter_map(|q| self.pools.find(q, bytes, true).map(|f| (q, f)))
                .min_by_key(|&(q, (size, _))| (fit_cost(size, bytes), q != path)),
        };
        match found {
            Some((q, (size, b))) => {
                self.pools.free[q].remove(&(size, b));
                self.block_bytes[b] = size.max(bytes);
                b
            }
            None => self.new_block(bytes),
        }
    }

    /// Puts buffer `b` back in the pool of the path whose node read it last.
    fn release(&mut self, b: usize, path: usize) {
        if self.strategy == MemoryStrategy::None {
            return;
        }
        let pool = if self.pools.free.len() > 1 { path } else { 0 };
        self.pools.free[pool].insert((self.block_bytes[b], b));
    }

    /// The buffer of an input that output `o` of step `s` may overwrite: the operator allows
    /// it, the sizes and dtypes agree, and this step holds every read left of that buffer.
    fn in_place_block(&self, s: &Step, o: usize, external: &[bool]) -> Option<usize> {
        if !self.strategy.in_place() {
            return None;
        }
        let out = &self.descs[s.outputs[o]];
        s.inplace.iter().filter(|&&(_, k)| k == o).find_map(|&(i, _)| {
            let e = *s.inputs.get(i)?;
            let b = self.block_of[e]?;
            let d = &self.descs[e];
            let reads_here = s.inputs.iter().filter(|&&x| self.block_of[x] == Some(b)).count();
            let taken = s.outputs.iter().any(|&x| self.block_of[x] == Some(b));
            let fits = !external[e] && d.dtype == out.dtype && bytes(d) == bytes(out);
            (fits && !taken && self.pending[b] == reads_here).then_some(b)
        })
    }
}

#[cfg(test)]
mod tests;
