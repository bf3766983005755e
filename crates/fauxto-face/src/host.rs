//! Where the host-side kernels apply.

use burn::tensor::backend::Backend;

/// Whether `device` belongs to burn's CPU backend, whose tensors live in this process's
/// memory. The host-side kernels (`pool`, the unfolded input layers of `im2col`) and the
/// batch splitting of the analyser pay off there; on a GPU backend they would cost a
/// transfer each way, so burn's own operations run instead.
pub fn on_cpu<B: Backend>(device: &B::Device) -> bool {
    B::name(device) == "flex"
}
