//! Choosing the device a model trains on.

use crate::error::{Error, Result};
use candle_core::Device;
use std::fmt;
use std::str::FromStr;

/// Which device to use, as a user names it (`auto`, `cpu`, `cuda`, `cuda:1`, `metal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// CUDA if this build has it and a GPU answers, else Metal likewise, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// A CUDA GPU by ordinal (needs the `cuda` cargo feature).
    Cuda(usize),
    /// A Metal GPU by ordinal (needs the `metal` cargo feature).
    Metal(usize),
}

impl DeviceChoice {
    /// Opens the device. `Auto` never fails: it falls back to the CPU.
    pub fn device(self) -> Result<Device> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Auto => {
                if candle_core::utils::cuda_is_available()
                    && let Ok(d) = Device::new_cuda(0)
                {
                    return Ok(d);
                }
                if candle_core::utils::metal_is_available()
                    && let Ok(d) = Device::new_metal(0)
                {
                    return Ok(d);
                }
                Ok(Device::Cpu)
            }
            DeviceChoice::Cuda(i) => {
                if !candle_core::utils::cuda_is_available() {
                    return Err(Error::DeviceUnavailable {
                        name: self.to_string(),
                        reason: "this build has no CUDA support: build with `--features cuda`"
                            .into(),
                    });
                }
                Device::new_cuda(i).map_err(|e| Error::DeviceUnavailable {
                    name: self.to_string(),
                    reason: e.to_string(),
                })
            }
            DeviceChoice::Metal(i) => {
                if !candle_core::utils::metal_is_available() {
                    return Err(Error::DeviceUnavailable {
                        name: self.to_string(),
                        reason: "this build has no Metal support: build with `--features metal`"
                            .into(),
                    });
                }
                Device::new_metal(i).map_err(|e| Error::DeviceUnavailable {
                    name: self.to_string(),
                    reason: e.to_string(),
                })
            }
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Auto => write!(f, "auto"),
            DeviceChoice::Cpu => write!(f, "cpu"),
            DeviceChoice::Cuda(0) => write!(f, "cuda"),
            DeviceChoice::Cuda(i) => write!(f, "cuda:{i}"),
            DeviceChoice::Metal(0) => write!(f, "metal"),
            DeviceChoice::Metal(i) => write!(f, "metal:{i}"),
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let (kind, ordinal) = match s.split_once(':') {
            Some((k, o)) => {
                let o = o.parse::<usize>().map_err(|_| Error::DeviceUnavailable {
                    name: s.into(),
                    reason: "the ordinal after `:` must be a number".into(),
                })?;
                (k, o)
            }
            None => (s, 0),
        };
        match kind.to_ascii_lowercase().as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(ordinal)),
            "metal" | "mps" => Ok(DeviceChoice::Metal(ordinal)),
            _ => Err(Error::DeviceUnavailable {
                name: s.into(),
                reason: "expected one of auto, cpu, cuda[:N], metal[:N]".into(),
            }),
        }
    }
}

/// A short human name for an open device (`cpu`, `cuda:0`, `metal:0`).
pub fn device_name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_names() {
        for (s, d) in [
            ("auto", DeviceChoice::Auto),
            ("cpu", DeviceChoice::Cpu),
            ("cuda", DeviceChoice::Cuda(0)),
            ("cuda:1", DeviceChoice::Cuda(1)),
            ("metal", DeviceChoice::Metal(0)),
        ] {
            assert_eq!(s.parse::<DeviceChoice>().unwrap(), d);
            assert_eq!(d.to_string(), s);
        }
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
    }

    #[test]
    fn auto_always_opens_and_cpu_is_cpu() {
        assert!(DeviceChoice::Auto.device().is_ok());
        assert!(DeviceChoice::Cpu.device().unwrap().is_cpu());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_feature_says_how_to_get_it() {
        let err = DeviceChoice::Cuda(0).device().unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }
}
