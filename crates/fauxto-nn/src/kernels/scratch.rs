//! Working buffers kept from one kernel call to the next.
//!
//! A kernel's intermediate results can be several times the size of an activation; a fresh
//! allocation that large comes from the system as untouched pages, and the first write to
//! each page costs a fault (a fifth of a training step when every convolution allocated its
//! own). The buffers here are handed back when dropped and reused by the next call.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// Buffers kept for reuse; a few at most (a kernel call holds two or three at a time).
static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());
const KEPT: usize = 6;

/// A float buffer of at least the asked length, its contents left from earlier use: the
/// caller writes every value it reads.
pub struct Scratch {
    buffer: Vec<f32>,
    len: usize,
}

impl Scratch {
    /// A buffer of `len` floats: the smallest kept one that is large enough, else a kept one
    /// grown, else a new one.
    pub fn take(len: usize) -> Self {
        let kept = {
            let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
            let fitting = (0..pool.len())
                .filter(|&i| pool[i].len() >= len)
                .min_by_key(|&i| pool[i].len());
            match fitting {
                Some(i) => Some(pool.swap_remove(i)),
                None => pool.pop(),
            }
        };
        let mut buffer = kept.unwrap_or_default();
        if buffer.len() < len {
            buffer.resize(len, 0.0);
        }
        Scratch { buffer, len }
    }
}

impl Deref for Scratch {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        &self.buffer[..self.len]
    }
}

impl DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.buffer[..self.len]
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < KEPT {
            pool.push(std::mem::take(&mut self.buffer));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_have_the_asked_length_whatever_was_kept() {
        // Kept buffers are larger or smaller than the next ask; each ask gets its length.
        for len in [1000, 10, 5000, 0, 4999] {
            let mut buffer = Scratch::take(len);
            assert_eq!(buffer.len(), len);
            buffer.fill(len as f32);
            assert!(buffer.iter().all(|&v| v == len as f32));
        }
    }
}
