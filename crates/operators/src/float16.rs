//! float16 through the neural-network operators MXNet runs in float16 on the CPU (pooling,
//! activations, batch and layer normalization, softmax output, dropout): rmx's kernels for them
//! compute in float32 or float64, so [`Float16Via32`] wraps such an operator: given float16
//! inputs, it computes in float32 on converted copies and converts the results back. Output 0
//! takes input 0's dtype; the others are float16 when every float input is (pure float16),
//! else float32 (BatchNorm's float16 data with float32 parameters keeps float32 statistics and
//! parameter gradients, as MXNet does). Without float16 inputs it only forwards.

use std::sync::Arc;

use rmx_engine::BoxError;
use rmx_kernels::{elementwise, DType, Shape, Storage};

use crate::attrs::Attrs;
use crate::error::Result;
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{BlockKernel, HostCallback, OpCtx, Operator, Tensor, TensorDesc};

/// The operators wrapped (forward and backward).
pub const FLOAT16_VIA_FLOAT32: &[&str] = &[
    "Pooling", "_backward_Pooling", "Activation", "_backward_Activation", "LeakyReLU", "_backward_LeakyReLU",
    "BatchNorm", "_backward_BatchNorm", "SoftmaxOutput", "_backward_SoftmaxOutput", "Dropout",
    "LayerNorm", "_backward_LayerNorm", "L2Normalization", "_backward_L2Normalization",
];

pub struct Float16Via32(pub Box<dyn Operator>);

fn widened(d: &TensorDesc) -> TensorDesc {
    TensorDesc { shape: d.shape.clone(), dtype: if d.dtype == DType::F16 { DType::F32 } else { d.dtype } }
}

impl Float16Via32 {
    /// The dtype each output has, from the inner operator's float32 answer.
    fn narrowed(&self, inputs: &[TensorDesc], inner: Vec<TensorDesc>) -> Vec<TensorDesc> {
        let floats: Vec<DType> = inputs.iter().map(|d| d.dtype).filter(|d| d.is_float()).collect();
        let pure = !floats.is_empty() && floats.iter().all(|&d| d == DType::F16);
        let first_f16 = inputs.first().is_some_and(|d| d.dtype == DType::F16);
        inner
            .into_iter()
            .enumerate()
            .map(|(k, d)| {
                let half = d.dtype == DType::F32 && (pure || (k == 0 && first_f16));
                TensorDesc { shape: d.shape, dtype: if half { DType::F16 } else { d.dtype } }
            })
            .collect()
    }
}

/// A float32 copy of a float16 tensor (or a zeroed float32 buffer for an output).
fn scratch(t: &Tensor, fill: bool, keep: &mut Vec<Storage>) -> std::result::Result<Tensor, BoxError> {
    let buf = Storage::zeroed(t.numel() * DType::F32.size(), t.ctx())?;
    // SAFETY: `buf` holds `numel` float32 elements and lives in `keep` until the computation ends.
    let mut w = unsafe { Tensor::new(buf.base(), Shape::from_slice(&t.shape), DType::F32, t.ctx()) };
    keep.push(buf);
    if fill {
        elementwise::cast(t, &mut w)?;
    }
    Ok(w)
}

/// A second view of `t` for the computation that holds it (the caller converts through it).
fn alias(t: &Tensor) -> Tensor {
    // SAFETY: the same elements as `t`, used only while `t`'s computation runs, never at the
    // same time as a borrow of `t`.
    unsafe { Tensor::new(t.ptr(), t.shape.clone(), t.dtype, t.ctx()) }
}

impl Operator for Float16Via32 {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if !inputs.iter().any(|d| d.dtype == DType::F16) {
            return self.0.infer(inputs);
        }
        let wide: Vec<TensorDesc> = inputs.iter().map(widened).collect();
        Ok(self.narrowed(inputs, self.0.infer(&wide)?))
    }

    fn compute(&self, ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if !inputs.iter().chain(outputs.iter()).any(|t| t.dtype == DType::F16) {
            return self.0.compute(ctx, inputs, outputs);
        }
        let mut keep = Vec::new();
        let ins: Vec<Tensor> = inputs.iter().map(|t| if t.dtype == DType::F16 { scratch(t, true, &mut keep) } else { Ok(alias(t)) }).collect::<std::result::Result<_, _>>()?;
        let mut outs: Vec<Tensor> = outputs.iter().map(|t| if t.dtype == DType::F16 { scratch(t, false, &mut keep) } else { Ok(alias(t)) }).collect::<std::result::Result<_, _>>()?;
        self.0.compute(ctx, &ins, &mut outs)?;
        for (o, w) in outputs.iter_mut().zip(&outs) {
            if o.dtype == DType::F16 {
                elementwise::cast(w, o)?;
            }
        }
        // Inputs the operator writes (moving statistics) go back in their own dtype.
        for i in self.0.mutated_inputs() {
            if inputs[i].dtype == DType::F16 {
                elementwise::cast(&ins[i], &mut alias(&inputs[i]))?;
            }
        }
        Ok(())
    }

    fn uses_rng(&self) -> bool {
        self.0.uses_rng()
    }
    fn num_outputs(&self) -> usize {
        self.0.num_outputs()
    }
    fn num_visible_outputs(&self) -> usize {
        self.0.num_visible_outputs()
    }
    fn output_names(&self) -> Vec<String> {
        self.0.output_names()
    }
    fn input_names(&self) -> Option<Vec<&'static str>> {
        self.0.input_names()
    }
    fn input_init(&self, name: &str) -> Option<&'static str> {
        self.0.input_init(name)
    }
    fn mutated_inputs(&self) -> Vec<usize> {
        self.0.mutated_inputs()
    }
    fn inplace_option(&self) -> Vec<(usize, usize)> {
        self.0.inplace_option()
    }
    fn elementwise_backward(&self, attrs: &Attrs) -> Option<Result<Box<dyn Operator>>> {
        self.0.elementwise_backward(attrs)
    }
    fn block_kernel(&self) -> Option<BlockKernel> {
        self.0.block_kernel()
    }
    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        self.0.complete_inputs(known)
    }
    fn complete_dtypes(&self, known: &[Option<DType>]) -> Vec<Option<DType>> {
        self.0.complete_dtypes(known)
    }
    fn host_callback(&self) -> Option<Arc<dyn HostCallback>> {
        self.0.host_callback()
    }
    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        self.0.gradient(g, args)
    }
}
