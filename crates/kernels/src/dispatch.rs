//! `dispatch!`: the one way a primitive picks its per-device module. A primitive names the tensor
//! whose device decides (its output) and gives each device's code; until the CUDA issue adds
//! the `cuda =>` arm, a GPU tensor gets [`crate::KernelError::Unsupported`] naming the primitive.

macro_rules! dispatch {
    ($what:expr, $on:expr, cpu => $cpu:expr) => {{
        let on: &$crate::Tensor = $on;
        if on.is_host() {
            $cpu;
            Ok(())
        } else {
            Err($crate::KernelError::Unsupported { what: $what, ctx: on.ctx() })
        }
    }};
}
pub(crate) use dispatch;
