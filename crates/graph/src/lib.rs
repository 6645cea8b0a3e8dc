//! What rmx computes: the `Operator` trait and its one registry (one file per operator under
//! `ops/`), `NDArray` with imperative invocation through the engine, `Symbol` and `Graph`, the
//! passes (shape and type inference, gradient, pruning, fusion, memory planning) and the executor.
//!
//! It knows the engine and kernels crates. The NDArray and Symbol issues fill it.
