//! The operators, one file per operator or per true family, and `REGISTRY`, the one list of them.
//! Adding an operator: a new file with its `DEFS`, one `mod` line and one entry below.

/// The `DEFS` of a family whose members differ only in name, aliases, math type and doc:
/// `family!(inputs, params, create; "name", ["alias", ...], MathType, "doc"; ...)`.
macro_rules! family {
    ($inputs:expr, $params:expr, $create:ident; $($name:literal, [$($alias:literal),*], $f:ty, $doc:literal;)*) => {
        pub static DEFS: &[crate::operator::OpDef] = &[$(crate::operator::OpDef {
            name: $name,
            aliases: &[$($alias),*],
            doc: $doc,
            inputs: $inputs,
            params: $params,
            create: $create::<$f>,
        }),*];
    };
}

/// `listed!(kind, include_str!("this_file.rs"), "prefix!("; F, G, ...)`: a math family's
/// `cuda_kernels`, which lists `cuda_sources::kind::<F>` for each function named, and a check at
/// compile time that they are as many as the file's lines starting with `prefix`, so that a
/// function defined and not listed fails the build rather than go without a GPU kernel.
macro_rules! listed {
    ($kind:ident, $file:expr, $prefix:literal; $($f:ident),* $(,)?) => {
        pub(crate) fn cuda_kernels(out: &mut Vec<crate::cuda_sources::Listed>) {
            $( crate::cuda_sources::$kind::<$f>(stringify!($f), out); )*
        }
        const _: () = assert!(
            [$(stringify!($f)),*].len() == crate::cuda_sources::lines_starting_with($file, $prefix),
            "a function defined in this file is missing from its `listed!`"
        );
    };
}

mod arg_reduce;
mod axes;
pub mod binary_math;
mod elemwise_binary;
pub mod reduce;
mod scalar_binary;
mod broadcast_to;
mod concat;
mod expand_dims;
mod norm;
mod l2_normalization;
mod moments;
mod gather_nd;
mod softmax_cross_entropy;
mod reverse;
mod squeeze;
mod flatten;
mod repeat;
pub mod reshape;
pub mod slice;
mod split;
mod tile;
mod transpose;
mod cast;
mod clip;
mod dot;
mod init;
mod one_hot;
mod ordering;
mod random;
mod softmax;
mod take;
mod where_op;
pub mod unary_math;
mod float;
mod fully_connected;
mod activation;
mod leaky_relu;
mod dropout;
mod batch_norm;
mod softmax_output;
mod regression_output;
mod make_loss;
mod block_grad;
mod softmax_activation;
mod window;
mod convolution;
mod deconvolution;
mod pooling;
mod upsampling;
mod pad;
mod lrn;
mod sum_to_like;
mod add_n;
mod reshape_like;
mod embedding;
mod update_rule;
mod multi_sgd;
mod sgd_update;
mod sign_update;
mod adam_update;
mod rmsprop_update;
mod ftrl_update;
mod ftml_update;
mod hard_sigmoid;
mod diag;
mod space_depth;
mod shape_array;
mod fill_element;
mod histogram;
mod ravel;
mod linalg;
pub mod custom;
mod sample;
mod svm_output;
mod crop;
mod roi_pooling;
mod spatial_transformer;
mod correlation;
mod pdf;
mod slice_assign;

use crate::operator::OpDef;

pub(crate) use unary_math::{backward as unary_backward, Relu, Tanh, UnaryGrad};

/// The operators' runtime-compiled CUDA kernels, family by family (`crate::cuda_sources`).
pub(crate) fn cuda_kernels(out: &mut Vec<crate::cuda_sources::Listed>) {
    unary_math::cuda_kernels(out);
    binary_math::cuda_kernels(out);
    activation::cuda_kernels(out);
    regression_output::cuda_kernels(out);
    reduce::cuda_kernels(out);
    for updates in [sgd_update::cuda_kernels, multi_sgd::cuda_kernels, adam_update::cuda_kernels, rmsprop_update::cuda_kernels, ftml_update::cuda_kernels, ftrl_update::cuda_kernels, sign_update::cuda_kernels] {
        updates(out);
    }
}

/// Every operator family, in documentation order.
pub static REGISTRY: &[&[OpDef]] = &[
    elemwise_binary::DEFS,
    scalar_binary::DEFS,
    scalar_binary::SMOOTH_L1_DEFS,
    unary_math::DEFS,
    reduce::DEFS,
    arg_reduce::DEFS,
    reshape::DEFS,
    flatten::DEFS,
    expand_dims::DEFS,
    norm::DEFS,
    l2_normalization::DEFS,
    moments::DEFS,
    gather_nd::DEFS,
    softmax_cross_entropy::DEFS,
    squeeze::DEFS,
    reverse::DEFS,
    transpose::DEFS,
    broadcast_to::DEFS,
    tile::DEFS,
    repeat::DEFS,
    concat::DEFS,
    split::DEFS,
    slice::DEFS,
    dot::DEFS,
    take::DEFS,
    one_hot::DEFS,
    where_op::DEFS,
    ordering::DEFS,
    softmax::DEFS,
    cast::DEFS,
    clip::DEFS,
    init::DEFS,
    random::DEFS,
    fully_connected::DEFS,
    activation::DEFS,
    leaky_relu::DEFS,
    dropout::DEFS,
    batch_norm::DEFS,
    softmax_output::DEFS,
    regression_output::DEFS,
    make_loss::DEFS,
    block_grad::DEFS,
    softmax_activation::DEFS,
    convolution::DEFS,
    deconvolution::DEFS,
    pooling::DEFS,
    upsampling::DEFS,
    pad::DEFS,
    lrn::DEFS,
    sum_to_like::DEFS,
    add_n::DEFS,
    elemwise_binary::BACKWARD_DEFS,
    scalar_binary::BACKWARD_DEFS,
    unary_math::BACKWARD_DEFS,
    reshape_like::DEFS,
    embedding::DEFS,
    sgd_update::DEFS,
    multi_sgd::DEFS,
    sign_update::DEFS,
    adam_update::DEFS,
    rmsprop_update::DEFS,
    ftrl_update::DEFS,
    ftml_update::DEFS,
    hard_sigmoid::DEFS,
    diag::DEFS,
    space_depth::DEFS,
    shape_array::DEFS,
    fill_element::DEFS,
    histogram::DEFS,
    ravel::DEFS,
    linalg::DEFS,
    linalg::PACK_DEFS,
    custom::DEFS,
    sample::DEFS,
    sample::BASIC_DEFS,
    svm_output::DEFS,
    crop::DEFS,
    roi_pooling::DEFS,
    spatial_transformer::DEFS,
    correlation::DEFS,
    pdf::DEFS,
    slice_assign::DEFS,
];
