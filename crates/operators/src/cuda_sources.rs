//! Every kernel the CUDA path compiles at run time, listed from the operators' own function
//! types: each elementwise function's map, zip, scalar and broadcast kernels and its gradient's,
//! each reduction, fused chains, each optimizer update and the gathers, in each dtype they run
//! in. Each comes with the CPU loop it must agree with ([`Reference`]), run on the same values.
//!
//! `tests/test_cuda_sources.py` compiles the whole list with NVRTC for `sm_90` on a machine
//! without a GPU (a kernel that does not compile fails CI, not the GPU), and runs the kernels'
//! arithmetic on the host against their references.

use std::sync::Arc;

use rmx_kernels::cuda::source::{self, Expr, KernelSource, Reduction};
use rmx_kernels::fused::{self, BlockKernel, Operand, Step};
use rmx_kernels::gather::{self as gathers, IndexMode, TakePlan};
use rmx_kernels::update::{self, UpdateFn};
use rmx_kernels::{elementwise, reduce, with_dtype, BinaryFn, Context, DType, Element, ReduceFn, Storage, Tensor, UnaryFn};

use crate::ops::binary_math::{scaled_grad, BinaryGrad};
use crate::ops::{unary_backward, UnaryGrad};

/// The float dtypes: the gradients' and the float-only operators'.
pub const FLOATS: [DType; 3] = [DType::F16, DType::F32, DType::F64];

/// How a kernel is called: which arrays it takes, in its parameter order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `(x, y, n)`
    Map,
    /// `(a, b, y, n)`
    Zip,
    /// `(x, s, y, n)`: `f(x, s)`
    Scalar,
    /// `(x, s, y, n)`: `f(s, x)`
    ScalarFirst,
    /// `(a, b, y, n, dims)`
    Broadcast,
    /// `(dy, x, y, dx, n)`
    UnaryBackward,
    /// `(dy, a, b, da, db, n)`
    BinaryBackward,
    /// `(x, y, n, len, inner)`
    Reduce,
    /// `(in0, ..., y, n)`
    Fused(usize),
    /// `(weight, grad, s0, ..., out, n, inplace, params)` with this many states.
    Update(usize),
    /// The same with float32 states and the float32 master weight after them.
    MixedUpdate(usize),
    /// `(x, idx, y, n, axis, inner, k, mode, err, bad)`
    Take,
    /// `(x, idx, y, n, axis, inner, k, mode, err, bad)`, `k` unused
    Pick,
    /// `(idx, y, n, depth, on, off)`
    OneHot,
    /// `(dy, idx, dx, n, axis, inner, k, mode, err, bad)`: [`Kind::Take`]'s adjoint, adding
    /// into a zeroed `dx` (`n` counts `dy`'s elements)
    TakeBackward,
    /// The same for a pick, `k` unused
    PickBackward,
    /// `(idx, dims, blocks, n, m, err, bad)`: gather_nd's block of each index tuple
    NdBlocks,
    /// `(x, y, blocks, n, inner)`
    GatherNd,
    /// `(x, y, blocks, n, inner)`, adding into a zeroed `y`
    ScatterNdAdd,
}

/// The CPU's result for a kernel's inputs (as float64 values the dtype holds exactly), the
/// scalar operand (for an update: non-zero for `out=weight`) and the `(outer, len, inner)` view
/// of a reduction: one output array per array the kernel writes (an update's output, then its
/// states).
pub type Reference = Arc<dyn Fn(&[Vec<f64>], f64, [usize; 3]) -> Vec<Vec<f64>> + Send + Sync>;

/// One kernel of the list.
pub struct Listed {
    pub source: KernelSource,
    pub kind: Kind,
    pub dtype: DType,
    /// `None` where the kernel has no one-to-one CPU loop (the broadcast kernels, whose
    /// arithmetic is the zip's and whose indexing the test checks against NumPy).
    pub reference: Option<Reference>,
    /// The values of the kernel's `params` argument (an update's hyperparameters), else empty.
    pub args: Vec<f64>,
}

/// The whole list, in a fixed order.
pub fn all() -> Vec<Listed> {
    let mut out = Vec::new();
    crate::ops::cuda_kernels(&mut out);
    chains(&mut out);
    gather_kernels(&mut out);
    out
}

/// `$body` with `$T` the element type of float dtype `$d`: the gradients' three dtypes, so a
/// reference is compiled three times, not eight as under `with_dtype!`.
macro_rules! with_grad_float {
    ($d:expr, $T:ident => $body:expr) => {
        match $d {
            DType::F16 => {
                type $T = rmx_kernels::f16;
                $body
            }
            DType::F32 => {
                type $T = f32;
                $body
            }
            _ => {
                type $T = f64;
                $body
            }
        }
    };
}

fn to<T: Element>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::from_f64(x)).collect()
}

fn back<T: Element>(v: Vec<T>) -> Vec<f64> {
    v.into_iter().map(|x| x.to_f64()).collect()
}

/// `values` as a host array of `dtype` and `shape` (its buffer, and the kernels' view of it): the
/// references call the operators' own primitives on these, so that they run the very loops the
/// operators run (and compile none of their own).
fn host(values: &[f64], shape: &[usize], dtype: DType) -> (Storage, Tensor) {
    // The binding passes callers' lists: a view larger than its values would reach past the buffer.
    assert_eq!(values.len(), shape.iter().product::<usize>(), "{} values for shape {shape:?}", values.len());
    let storage = Storage::zeroed(values.len() * dtype.size(), Context::cpu(0)).expect("a small host buffer");
    // SAFETY: the buffer holds `values.len()` elements of `dtype` and lives as long as the view
    // (the two are returned together, the storage dropped last by the callers' bindings).
    let mut t = unsafe { Tensor::new(storage.base(), shape.into(), dtype, Context::cpu(0)) };
    with_dtype!(dtype, T => t.data_mut::<T>().copy_from_slice(&to::<T>(values)));
    (storage, t)
}

fn values(t: &Tensor) -> Vec<f64> {
    with_dtype!(t.dtype, T => t.data::<T>().iter().map(|x| x.to_f64()).collect())
}

/// The output of `f(inputs, output)` over host arrays of `dtype`, each of `shape`.
fn run(inputs: &[Vec<f64>], out_shape: &[usize], in_shape: &[usize], dtype: DType, f: impl FnOnce(&[Tensor], &mut Tensor)) -> Vec<f64> {
    let (_buffers, views): (Vec<Storage>, Vec<Tensor>) = inputs.iter().map(|v| host(v, in_shape, dtype)).unzip();
    let (_buffer, mut y) = host(&vec![0.0; out_shape.iter().product()], out_shape, dtype);
    f(&views, &mut y);
    values(&y)
}

fn push(out: &mut Vec<Listed>, source: KernelSource, kind: Kind, dtype: DType, reference: Option<Reference>) {
    out.push(Listed { source, kind, dtype, reference, args: Vec::new() });
}

/// `F`'s map kernel in `dtypes`.
pub fn map<F: UnaryFn>(name: &str, dtypes: &[DType], out: &mut Vec<Listed>) {
    for &d in dtypes {
        let r: Reference = Arc::new(move |x, _, _| {
            let n = [x[0].len()];
            vec![run(x, &n, &n, d, |i, y| elementwise::map::<F>(&i[0], y).expect("a host map"))]
        });
        push(out, source::map(name, &Expr::of_unary::<F>(d), d), Kind::Map, d, Some(r));
    }
}

/// `F`'s same-shape zip kernel in `dtypes`.
pub fn zip<F: BinaryFn>(name: &str, dtypes: &[DType], out: &mut Vec<Listed>) {
    for &d in dtypes {
        let r: Reference = Arc::new(move |x, _, _| {
            let n = [x[0].len()];
            vec![run(x, &n, &n, d, |i, y| elementwise::zip::<F>(&i[0], &i[1], y).expect("a host zip"))]
        });
        push(out, source::zip(name, &Expr::of_binary::<F>(d), d), Kind::Zip, d, Some(r));
    }
}

/// A one-input math function: its map in every dtype, its gradient in the float ones.
pub fn unary<F: UnaryGrad>(name: &str, out: &mut Vec<Listed>) {
    map::<F>(name, &DType::ALL, out);
    if F::GRAD.is_none() {
        return;
    }
    for d in FLOATS {
        let r: Reference = with_grad_float!(d, T => Arc::new(|x, _, _| {
            let (g, xs, ys) = (to::<T>(&x[0]), to::<T>(&x[1]), to::<T>(&x[2]));
            vec![back((0..g.len()).map(|i| unary_backward::<T, F>(g[i], xs[i], ys[i])).collect())]
        }));
        push(out, source::unary_backward(name, F::CUDA_GRAD, d), Kind::UnaryBackward, d, Some(r));
    }
}

/// A two-input math function: zip, scalar on either side and broadcast in every dtype, its
/// gradient in the float ones.
pub fn binary<F: BinaryGrad>(name: &str, out: &mut Vec<Listed>) {
    zip::<F>(name, &DType::ALL, out);
    for d in DType::ALL {
        for first in [false, true] {
            let r: Reference = Arc::new(move |x, s, _| {
                let n = [x[0].len()];
                vec![run(x, &n, &n, d, |i, y| elementwise::zip_scalar::<F>(&i[0], s, first, y).expect("a host scalar zip"))]
            });
            let kind = if first { Kind::ScalarFirst } else { Kind::Scalar };
            push(out, source::zip_scalar(name, &Expr::of_binary::<F>(d), first, d), kind, d, Some(r));
        }
        push(out, source::zip_broadcast(name, &Expr::of_binary::<F>(d), d), Kind::Broadcast, d, None);
    }
    if F::GRAD.is_none() {
        return;
    }
    for d in FLOATS {
        let r: Reference = with_grad_float!(d, T => Arc::new(|x, _, _| {
            let (g, a, b) = (to::<T>(&x[0]), to::<T>(&x[1]), to::<T>(&x[2]));
            let (da, db): (Vec<T>, Vec<T>) = (0..g.len()).map(|i| scaled_grad::<T, F>(g[i], a[i], b[i])).unzip();
            vec![back(da), back(db)]
        }));
        push(out, source::binary_backward(name, F::CUDA_GRAD, d), Kind::BinaryBackward, d, Some(r));
    }
}

/// A reduction in every dtype.
pub fn reduction<R: ReduceFn>(name: &str, out: &mut Vec<Listed>) {
    let r = Reduction { step: R::CUDA_STEP, finish: R::CUDA_FINISH, init: R::INIT, init_int: R::INIT_INT, exact_int: R::EXACT_INT };
    for d in DType::ALL {
        let reference: Reference = Arc::new(move |x, _, [outer, len, inner]| {
            vec![run(x, &[outer, inner], &[outer, len, inner], d, |i, y| reduce::reduce::<R>(&i[0], &[1], y).expect("a host reduction"))]
        });
        push(out, source::reduce(name, &r, d), Kind::Reduce, d, Some(reference));
    }
}

/// An optimizer update by `rule` in `dtype` (`mixed`: the `mp_*` form with float32 states and
/// master weight), listed with the rule's hyperparameters as its arguments; the reference runs
/// the update primitive on the same arrays, the output in the weight's buffer for `out=weight`.
pub fn update<R: UpdateFn + 'static>(name: &str, rule: R, dtype: DType, mixed: bool, out: &mut Vec<Listed>) {
    let args = rule.cuda_params();
    assert_eq!(args.len(), R::CUDA_PARAMS.len(), "{name}: CUDA_PARAMS and cuda_params differ");
    let reference: Reference = Arc::new(move |x, s, _| {
        let n = [x[0].len()];
        let (weight_buffer, weight) = host(&x[0], &n, dtype);
        let (_grad_buffer, grad) = host(&x[1], &n, dtype);
        let state_dtype = if mixed { DType::F32 } else { dtype };
        let (_state_buffers, states): (Vec<Storage>, Vec<Tensor>) = x[2..].iter().map(|v| host(v, &n, state_dtype)).unzip();
        let (_out_buffer, mut y) = host(&vec![0.0; n[0]], &n, dtype);
        if s != 0.0 {
            // SAFETY: the weight's buffer, alive until the end of this closure: `out=weight`,
            // which the primitive sees as one buffer and updates in place.
            y = unsafe { Tensor::new(weight_buffer.base(), n[..].into(), dtype, Context::cpu(0)) };
        }
        if mixed {
            update::apply_mixed(&rule, &weight, &grad, &states, &mut y).expect("a host update");
        } else {
            update::apply(&rule, &weight, &grad, &states, &mut y).expect("a host update");
        }
        std::iter::once(&y).chain(&states).map(values).collect()
    });
    let states = R::STATES;
    let kind = if mixed { Kind::MixedUpdate(states) } else { Kind::Update(states) };
    let source = source::update(name, R::CUDA, R::CUDA_PARAMS, states, mixed, dtype);
    out.push(Listed { source, kind, dtype, reference: Some(reference), args });
}

/// A dtype of each width the gathers move (any dtype of a width runs the same kernel).
const WIDTHS: [DType; 4] = [DType::I8, DType::F16, DType::I32, DType::F64];

/// The gathers (take, pick, one_hot; Embedding's lookup is a clip-mode take) for each element
/// width and index dtype, and their scatter-add adjoints for each float dtype. A take's reference gets `[x, indices]`, the mode as `s` (0 clip, 1
/// wrap, 2 raise) and `(outer, axis, inner)`; it returns no array when the CPU raises an index
/// error. one_hot's gets `[indices]`, `on` as `s`, `off` = -2 and `(rows, depth, _)`.
fn gather_kernels(out: &mut Vec<Listed>) {
    for data in WIDTHS {
        for index in DType::ALL {
            for pick in [false, true] {
                let reference: Reference = Arc::new(move |x, s, [outer, axis, inner]| {
                    let mode = [IndexMode::Clip, IndexMode::Wrap, IndexMode::Raise][s as usize];
                    let plan = TakePlan { op: "take", outer, n: axis, inner, mode, pick };
                    let (_xb, xt) = host(&x[0], &[x[0].len()], data);
                    let (_ib, it) = host(&x[1], &[x[1].len()], index);
                    let count = if pick { outer * inner } else { outer * x[1].len() * inner };
                    let (_yb, mut yt) = host(&vec![0.0; count], &[count], data);
                    match gathers::take(&plan, &xt, &it, &mut yt) {
                        Ok(()) => vec![values(&yt)],
                        Err(_) => vec![],
                    }
                });
                let (source, kind) = if pick { (source::gather::pick(data.size(), index), Kind::Pick) } else { (source::gather::take(data.size(), index), Kind::Take) };
                out.push(Listed { source, kind, dtype: data, reference: Some(reference), args: Vec::new() });
            }
            let reference: Reference = Arc::new(move |x, on, [rows, depth, _]| {
                let (_ib, it) = host(&x[0], &[x[0].len()], index);
                let (_yb, mut yt) = host(&vec![0.0; rows * depth], &[rows, depth], data);
                gathers::one_hot(&it, on, -2.0, &mut yt).expect("a host one_hot");
                vec![values(&yt)]
            });
            out.push(Listed { source: source::gather::one_hot(data.size(), index), kind: Kind::OneHot, dtype: data, reference: Some(reference), args: Vec::new() });
        }
    }
    for dtype in FLOATS {
        for index in DType::ALL {
            for pick in [false, true] {
                out.push(scatter_add(dtype, index, pick));
            }
        }
    }
    nd_kernels(out);
}

/// gather_nd in two steps (each tuple's block, then the blocks' elements) and its scatter-add
/// adjoint. `nd_blocks`' reference gets `[idx, dims]` and returns the blocks, or no array when
/// the CPU raises; the others get `[x, blocks]` and `(count of blocks, inner, rows of y)`.
fn nd_kernels(out: &mut Vec<Listed>) {
    use rmx_kernels::cpu::gather as cpu_gather;
    for index in DType::ALL {
        let reference: Reference = Arc::new(move |x, _, _| {
            let (_ib, it) = host(&x[0], &[x[0].len()], index);
            let indices = with_dtype!(index, I => cpu_gather::indices::<I>(it.data()));
            let dims: Vec<usize> = x[1].iter().map(|&d| d as usize).collect();
            match cpu_gather::nd_blocks("gather_nd", &indices, &dims) {
                Ok(blocks) => vec![blocks.into_iter().map(|b| b as f64).collect()],
                Err(_) => vec![],
            }
        });
        out.push(Listed { source: source::gather::nd_blocks(index), kind: Kind::NdBlocks, dtype: DType::I64, reference: Some(reference), args: Vec::new() });
    }
    let blocks_of = |x: &[f64]| x.iter().map(|&b| b as usize).collect::<Vec<usize>>();
    for data in WIDTHS {
        let reference: Reference = Arc::new(move |x, _, [count, inner, _]| {
            let (_xb, xt) = host(&x[0], &[x[0].len()], data);
            let (_yb, mut yt) = host(&vec![0.0; count * inner], &[count * inner], data);
            with_dtype!(data, T => cpu_gather::gather_nd::<T>(&blocks_of(&x[1]), inner, xt.data(), yt.data_mut()));
            vec![values(&yt)]
        });
        out.push(Listed { source: source::gather::gather_nd(data.size()), kind: Kind::GatherNd, dtype: data, reference: Some(reference), args: Vec::new() });
    }
    for dtype in FLOATS {
        let reference: Reference = Arc::new(move |x, _, [_, inner, rows]| {
            let (_xb, xt) = host(&x[0], &[x[0].len()], dtype);
            let (_yb, mut yt) = host(&vec![0.0; rows * inner], &[rows * inner], dtype);
            with_grad_float!(dtype, T => cpu_gather::scatter_nd::<T>(&blocks_of(&x[1]), inner, xt.data(), yt.data_mut(), true));
            vec![values(&yt)]
        });
        out.push(Listed { source: source::gather::scatter_nd_add(dtype), kind: Kind::ScatterNdAdd, dtype, reference: Some(reference), args: Vec::new() });
    }
}

/// The take's (or pick's) adjoint, Embedding's weight gradient among them. Its reference gets
/// `[dy, indices]`, the mode as `s` and `(outer, axis, inner)` of `dx`; no array when the CPU
/// raises an index error.
fn scatter_add(dtype: DType, index: DType, pick: bool) -> Listed {
    let reference: Reference = Arc::new(move |x, s, [outer, axis, inner]| {
        let mode = [IndexMode::Clip, IndexMode::Wrap, IndexMode::Raise][s as usize];
        let plan = TakePlan { op: "take", outer, n: axis, inner, mode, pick };
        let (_gb, gt) = host(&x[0], &[x[0].len()], dtype);
        let (_ib, it) = host(&x[1], &[x[1].len()], index);
        let (_yb, mut yt) = host(&vec![0.0; outer * axis * inner], &[outer * axis * inner], dtype);
        match gathers::take_backward(&plan, &gt, &it, &mut yt) {
            Ok(()) => vec![values(&yt)],
            Err(_) => vec![],
        }
    });
    let kind = if pick { Kind::PickBackward } else { Kind::TakeBackward };
    Listed { source: source::gather::take_backward(dtype, index, pick), kind, dtype, reference: Some(reference), args: Vec::new() }
}

/// Fused chains as the fusion pass builds them (from the operators' block kernels), in the
/// dtypes it fuses: a scalar step on either side, two-input steps and one-input ones. The
/// reference runs the same steps through the CPU's fused driver.
fn chains(out: &mut Vec<Listed>) {
    use crate::ops::binary_math::{Add, Mul, Sub};
    use crate::ops::{Relu, Tanh};
    let steps = vec![
        Step { kernel: BlockKernel::zip::<Mul>(), args: vec![Operand::Input(0), Operand::Input(1)] },
        Step { kernel: BlockKernel::zip_scalar::<Add>(0.5, false), args: vec![Operand::Step(0)] },
        Step { kernel: BlockKernel::map::<Tanh>(), args: vec![Operand::Step(1)] },
        Step { kernel: BlockKernel::zip_scalar::<Sub>(1.0, true), args: vec![Operand::Step(2)] },
        Step { kernel: BlockKernel::zip::<Mul>(), args: vec![Operand::Step(3), Operand::Input(2)] },
        Step { kernel: BlockKernel::map::<Relu>(), args: vec![Operand::Step(4)] },
    ];
    let steps = Arc::new(steps);
    for d in [DType::F32, DType::F64] {
        let chain = steps.clone();
        let r: Reference = Arc::new(move |x, _, _| {
            let n = x[0].len();
            if d == DType::F32 {
                let ins: Vec<Vec<f32>> = x.iter().map(|v| to::<f32>(v)).collect();
                let refs: Vec<&[f32]> = ins.iter().map(Vec::as_slice).collect();
                let mut y = vec![0f32; n];
                rmx_kernels::cpu::fused::run::<f32>(&chain, |s| &s.kernel.f32, &refs, &mut y);
                vec![back(y)]
            } else {
                let refs: Vec<&[f64]> = x.iter().map(Vec::as_slice).collect();
                let mut y = vec![0f64; n];
                rmx_kernels::cpu::fused::run::<f64>(&chain, |s| &s.kernel.f64, &refs, &mut y);
                vec![y]
            }
        });
        push(out, fused::cuda_source("mul_add_tanh_rsub_mul_relu", &steps, 3, d), Kind::Fused(3), d, Some(r));
    }
}

/// How many lines of `text` start with `prefix`, at compile time (the `listed!` check).
pub const fn lines_starting_with(text: &str, prefix: &str) -> usize {
    let (t, p) = (text.as_bytes(), prefix.as_bytes());
    let (mut count, mut i, mut line_start) = (0, 0, true);
    while i < t.len() {
        if line_start && i + p.len() <= t.len() {
            let mut j = 0;
            while j < p.len() && t[i + j] == p[j] {
                j += 1;
            }
            if j == p.len() {
                count += 1;
            }
        }
        line_start = t[i] == b'\n';
        i += 1;
    }
    count
}
