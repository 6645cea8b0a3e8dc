//! `Context`: the device an operation runs on, a device kind and an ordinal, as MXNet's `Context`.

use std::fmt;

/// The kind of device. The discriminants are MXNet's `dev_type` codes, which `.params` files store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceKind {
    Cpu = 1,
    Gpu = 2,
    CpuPinned = 3,
    CpuShared = 5,
}

impl DeviceKind {
    /// MXNet's `dev_type` code (1 cpu, 2 gpu, 3 cpu_pinned, 5 cpu_shared).
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The kind with MXNet's `dev_type` code, if there is one.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            1 => Some(Self::Cpu),
            2 => Some(Self::Gpu),
            3 => Some(Self::CpuPinned),
            5 => Some(Self::CpuShared),
            _ => None,
        }
    }

    /// MXNet's name for the kind, as `repr(mx.cpu())` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
            Self::CpuPinned => "cpu_pinned",
            Self::CpuShared => "cpu_shared",
        }
    }

    /// Host memory of every flavour runs on the CPU worker pools.
    pub fn is_host(self) -> bool {
        !matches!(self, Self::Gpu)
    }
}

/// A device: kind plus ordinal. `cpu(0)` and `cpu(1)` are distinct devices with their own worker
/// pools, as in MXNet, which is what lets data parallelism be tried on one machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Context {
    pub kind: DeviceKind,
    pub ordinal: u32,
}

impl Context {
    pub const fn cpu(ordinal: u32) -> Self {
        Self { kind: DeviceKind::Cpu, ordinal }
    }

    pub const fn gpu(ordinal: u32) -> Self {
        Self { kind: DeviceKind::Gpu, ordinal }
    }
}

impl Default for Context {
    fn default() -> Self {
        Self::cpu(0)
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.kind.name(), self.ordinal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_print_like_mxnet() {
        for kind in [DeviceKind::Cpu, DeviceKind::Gpu, DeviceKind::CpuPinned, DeviceKind::CpuShared] {
            assert_eq!(DeviceKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(DeviceKind::from_code(4), None);
        assert_eq!(Context::gpu(1).to_string(), "gpu(1)");
        assert_eq!(Context::default().to_string(), "cpu(0)");
    }
}
