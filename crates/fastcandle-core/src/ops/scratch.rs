//! Per-thread spare buffers for the CPU convolutions (im2col's columns, Winograd's tiles), so
//! that a convolution's work buffers take no fresh allocation and no zeroing from one call to
//! the next.

/// Spare buffers kept per thread: a convolution's backward holds up to four at once (the
/// columns and their gradient, or Winograd's transformed tiles and products).
const SPARES: usize = 4;

thread_local! {
    /// Buffers a thread's convolutions reuse from call to call (see [`Scratch`]).
    static SPARE: std::cell::RefCell<Vec<Vec<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A buffer of `len` floats borrowed from the current thread's spares and given back when
/// dropped, so that a convolution's columns take no fresh allocation and no zeroing from one
/// call to the next. Its cells hold whatever an earlier use left: write each before reading it.
pub(crate) struct Scratch {
    buf: Vec<f32>,
    len: usize,
}

impl Scratch {
    /// A buffer of `len` cells (contents unspecified). The largest spare is taken, and only
    /// grown (zeroing the new part once) when it is too short, so that buffers of different
    /// sizes taken in turn do not refill one another.
    pub(crate) fn take(len: usize) -> Self {
        if len == 0 {
            return Scratch {
                buf: Vec::new(),
                len,
            };
        }
        let mut buf = SPARE
            .with(|s| {
                let mut s = s.borrow_mut();
                let i = (0..s.len()).max_by_key(|&i| s[i].len())?;
                Some(s.swap_remove(i))
            })
            .unwrap_or_default();
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        Scratch { buf, len }
    }
}

impl std::ops::Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.buf[..self.len]
    }
}

impl std::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.buf[..self.len]
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.buf);
        if v.is_empty() {
            return;
        }
        SPARE.with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < SPARES {
                s.push(v);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_buffers_are_reused_with_the_asked_length() {
        let p = {
            let mut s = Scratch::take(1000);
            s[999] = 1.0;
            s.as_ptr()
        };
        let s = Scratch::take(10);
        assert_eq!(s.len(), 10);
        assert_eq!(s.as_ptr(), p);
    }
}
