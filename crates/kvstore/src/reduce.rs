//! The sum of the values pushed for a key, in MXNet's exact order, as engine operations: values
//! are copied (or cast) to where the sum is made, then added with `add_n` and `elemwise_add`;
//! nothing is read on the host. Each key keeps its merge buffers while the pushed values keep
//! their shapes, dtypes and devices.

use std::collections::HashMap;

use rmx_engine::Context;
use rmx_graph::{invoke, Attrs, NDArray};
use rmx_kernels::DType;

use crate::copy::copy_into;
use crate::error::Result;
use crate::key::KeyId;
use crate::kind::StoreKind;

/// MXNet's `CommCPU` adds the values after the first this many at a time.
const CPU_GROUP: usize = 4;

type Signature = Vec<(Vec<usize>, DType, Context)>;

/// Where a key's values are summed: `merged`, and a copy slot per further value (None where the
/// value can be read where it is).
struct MergeBuffer {
    signature: Signature,
    merged: NDArray,
    copies: Vec<Option<NDArray>>,
}

/// The reduction half of a store.
pub(crate) struct Reducer {
    kind: StoreKind,
    home: Context,
    buffers: HashMap<KeyId, MergeBuffer>,
    /// Elements summed on each device so far (`Device` picks the least loaded).
    load: Vec<(Context, usize)>,
}

impl Reducer {
    pub fn new(kind: StoreKind, home: Context) -> Self {
        Reducer { kind, home, buffers: HashMap::new(), load: Vec::new() }
    }

    /// The sum of `vals` (at least one) in MXNet's order; a single value is returned as is.
    /// `dtype` is the key's dtype at `init` (`Device` sums in it).
    pub fn reduce(&mut self, id: KeyId, vals: &[NDArray], dtype: Option<DType>) -> Result<NDArray> {
        if vals.len() == 1 {
            return Ok(vals[0].clone());
        }
        let kind = self.kind;
        let buf = self.merge_buffer(id, vals, dtype)?;
        let mut sources = Vec::with_capacity(vals.len() - 1);
        for (val, slot) in vals[1..].iter().zip(&buf.copies) {
            sources.push(match slot {
                Some(slot) => {
                    copy_into(val, slot)?;
                    slot.clone()
                }
                None => val.clone(),
            });
        }
        let merged = buf.merged.clone();
        copy_into(&vals[0], &merged)?;
        match kind {
            // ElementwiseSum: left to right, in place over the first value.
            StoreKind::Device => {
                add_n(&[std::slice::from_ref(&merged), &sources].concat(), Some(merged.clone()))?;
            }
            // ReduceSumCPU: in_0 += in_1 + in_2 + in_3 + in_4, four at a time.
            StoreKind::Local => {
                for group in sources.chunks(CPU_GROUP) {
                    let total = if group.len() == 1 { group[0].clone() } else { add_n(group, None)? };
                    invoke("elemwise_add", &[merged.clone(), total], &Attrs::new(), Some(vec![merged.clone()]), merged.ctx())?;
                }
            }
        }
        Ok(merged)
    }

    fn merge_buffer(&mut self, id: KeyId, vals: &[NDArray], dtype: Option<DType>) -> Result<&MergeBuffer> {
        let signature: Signature = vals.iter().map(|v| (v.shape().to_vec(), v.dtype(), v.ctx())).collect();
        if self.buffers.get(&id).is_some_and(|b| b.signature == signature) {
            return Ok(&self.buffers[&id]);
        }
        let (ctx, dtype) = match self.kind {
            StoreKind::Device => (self.least_loaded(vals), dtype.unwrap_or(vals[0].dtype())),
            StoreKind::Local => (self.home, vals[0].dtype()),
        };
        let merged = NDArray::zeros(vals[0].shape(), dtype, ctx)?;
        let copies = vals[1..]
            .iter()
            .map(|v| if v.ctx() == ctx && v.dtype() == dtype { Ok(None) } else { NDArray::zeros(v.shape(), dtype, ctx).map(Some) })
            .collect::<rmx_graph::Result<_>>()?;
        self.buffers.insert(id, MergeBuffer { signature, merged, copies });
        Ok(&self.buffers[&id])
    }

    /// The pushing device that has summed the fewest elements (the first of them on a tie);
    /// it is charged with this key's size.
    fn least_loaded(&mut self, vals: &[NDArray]) -> Context {
        let load = |ctx: Context, loads: &[(Context, usize)]| loads.iter().find(|(c, _)| *c == ctx).map_or(0, |(_, n)| *n);
        let mut best: Option<(Context, usize)> = None;
        for v in vals {
            let n = load(v.ctx(), &self.load);
            if best.is_none_or(|(_, m)| n < m) {
                best = Some((v.ctx(), n));
            }
        }
        let ctx = best.map_or(self.home, |(c, _)| c);
        match self.load.iter_mut().find(|(c, _)| *c == ctx) {
            Some((_, n)) => *n += vals[0].numel(),
            None => self.load.push((ctx, vals[0].numel())),
        }
        ctx
    }
}

/// `add_n` of `inputs` (left to right), into `out` or a new array.
fn add_n(inputs: &[NDArray], out: Option<NDArray>) -> Result<NDArray> {
    let attrs = Attrs::from_pairs([("num_args", inputs.len().to_string())]);
    let ctx = inputs[0].ctx();
    Ok(invoke("add_n", inputs, &attrs, out.map(|o| vec![o]), ctx)?.swap_remove(0))
}
