//! Operator tests that run through `invoke` (one test binary for all of them).

mod activation;
mod batch_norm;
mod block_grad;
mod dropout;
mod fully_connected;
mod leaky_relu;
mod make_loss;
mod regression_output;
mod softmax_activation;
mod softmax_output;
