//! `FnProperty`: what kind of work a push is, which decides the worker pool that runs it.

/// The property of a pushed function, declared in MXNet's order. The threaded engine routes by it:
///
/// | property | pool |
/// | --- | --- |
/// | `Normal` | the context's compute pool (FIFO; priority ignored) |
/// | `Async` | the pushing thread, if its dependencies are met at push time; else as `Normal` |
/// | `CopyFromGpu`, `CopyToGpu` | the GPU's copy pool (by priority); on a host context, the compute pool |
/// | `CpuPrioritized` | the one CPU priority pool (by priority), used for kvstore reductions |
/// | `DeleteVar` | none: it runs on the thread that makes it ready |
/// | `GpuPrioritized` | the GPU's priority pool (by priority) |
///
/// `Async` follows MXNet's rule for `kAsync` (run inline when ready at push). rmx's pushed
/// functions report completion by returning, so there is no separate callback protocol; rmx uses
/// `Async` for operators on small arrays, whose kernels cost less than a thread handoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FnProperty {
    Normal,
    CopyFromGpu,
    CopyToGpu,
    CpuPrioritized,
    Async,
    DeleteVar,
    GpuPrioritized,
}

impl FnProperty {
    /// Parses MXNet's names (`kNormal`, `normal`, `copy_from_gpu`, ...), for the Python binding.
    pub fn parse(name: &str) -> Option<Self> {
        let key = name.trim_start_matches('k').to_ascii_lowercase().replace('_', "");
        Some(match key.as_str() {
            "normal" => Self::Normal,
            "copyfromgpu" => Self::CopyFromGpu,
            "copytogpu" => Self::CopyToGpu,
            "cpuprioritized" => Self::CpuPrioritized,
            "async" => Self::Async,
            "deletevar" => Self::DeleteVar,
            "gpuprioritized" => Self::GpuPrioritized,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::FnProperty;

    #[test]
    fn parses_mxnet_and_snake_names() {
        assert_eq!(FnProperty::parse("kCopyFromGPU"), Some(FnProperty::CopyFromGpu));
        assert_eq!(FnProperty::parse("cpu_prioritized"), Some(FnProperty::CpuPrioritized));
        assert_eq!(FnProperty::parse("normal"), Some(FnProperty::Normal));
        assert_eq!(FnProperty::parse("fast"), None);
    }
}
