//! The process-wide choice between the ops' own CPU kernels and their composed forms.
//!
//! Each op of this module has a kernel of its own for `f32` tensors on the CPU and a composed
//! form, built from candle's ops, that runs on every device and dtype (it is what CUDA and
//! Metal compute). [`set_force_generic`] (or `FASTCANDLE_GENERIC_OPS=1` in the environment)
//! makes the CPU take the composed forms too, so that the tests which compare the ops with
//! PyTorch check what a GPU computes, on a machine without one.

use candle_core::{DType, Tensor};
use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable read once, at the first op, when [`set_force_generic`] was not
/// called: `1`, `true`, `yes` or `on` force the composed forms; unset, empty, `0`, `false`,
/// `no` or `off` keep the CPU kernels.
pub const GENERIC_OPS_ENV: &str = "FASTCANDLE_GENERIC_OPS";

const UNSET: u8 = 0;
const NATIVE: u8 = 1;
const GENERIC: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(UNSET);

/// Forces the composed (device-generic) forms of every op on the CPU (`true`), or gives the
/// CPU its own kernels back (`false`, the default), for the whole process. It overrides
/// [`GENERIC_OPS_ENV`].
pub fn set_force_generic(on: bool) {
    MODE.store(if on { GENERIC } else { NATIVE }, Ordering::Relaxed);
}

/// Whether the composed forms are forced (by [`set_force_generic`] or [`GENERIC_OPS_ENV`]).
pub fn generic_forced() -> bool {
    match MODE.load(Ordering::Relaxed) {
        NATIVE => false,
        GENERIC => true,
        _ => {
            let on = parse_env(std::env::var(GENERIC_OPS_ENV).ok().as_deref());
            // A racing `set_force_generic` wins over the environment.
            let mode = if on { GENERIC } else { NATIVE };
            let _ = MODE.compare_exchange(UNSET, mode, Ordering::Relaxed, Ordering::Relaxed);
            MODE.load(Ordering::Relaxed) == GENERIC
        }
    }
}

/// Reads the variable's value. A value other than the documented ones forces the composed
/// forms and says so once on stderr: they are correct everywhere, only slower.
fn parse_env(value: Option<&str>) -> bool {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        None => false,
        Some(v) if matches!(v.as_str(), "" | "0" | "false" | "no" | "off") => false,
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => true,
        Some(v) => {
            eprintln!(
                "{GENERIC_OPS_ENV}={v:?} is not one of 1/true/yes/on or 0/false/no/off: \
                 taking it as on (the composed forms of the ops)"
            );
            true
        }
    }
}

/// Whether `t` is a half-precision (`f16` or `bf16`) tensor on the CPU, where candle 0.11 has
/// no convolution kernel for it: the convolutions widen such an input to f32.
pub fn cpu_half(t: &Tensor) -> bool {
    t.device().is_cpu() && matches!(t.dtype(), DType::F16 | DType::BF16)
}

/// Whether an op may run its own CPU kernel on these tensors: all `f32` on the CPU, and the
/// composed forms not forced.
pub fn native_f32(tensors: &[&Tensor]) -> bool {
    !generic_forced()
        && tensors
            .iter()
            .all(|t| t.device().is_cpu() && t.dtype() == DType::F32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_value_is_read_as_documented() {
        for v in [
            None,
            Some(""),
            Some("0"),
            Some("false"),
            Some(" OFF "),
            Some("no"),
        ] {
            assert!(!parse_env(v), "{v:?}");
        }
        for v in [
            Some("1"),
            Some("true"),
            Some("Yes"),
            Some("on"),
            Some("maybe"),
        ] {
            assert!(parse_env(v), "{v:?}");
        }
    }
}
