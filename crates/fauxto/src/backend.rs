//! Choosing where the networks run: `--device cpu` (burn's Flex backend) or
//! `--device cuda` (burn's CUDA backend, kernels compiled at run time by NVRTC).

use clap::ValueEnum;

/// The compute device a command runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DeviceKind {
    /// The CPU, all cores.
    #[default]
    Cpu,
    /// The first NVIDIA GPU (needs a build with the `cuda` feature and an NVIDIA driver).
    Cuda,
}

/// The CPU backend.
pub type Cpu = burn::backend::Flex;

/// The CUDA backend.
#[cfg(feature = "cuda")]
pub type Gpu = burn::backend::Cuda;

/// Runs the generic function `$f::<Backend>(&device, args…)` on the chosen device.
#[macro_export]
macro_rules! on_device {
    ($kind:expr, $f:ident ( $($arg:expr),* $(,)? )) => {{
        match $kind {
            $crate::backend::DeviceKind::Cpu => {
                $f::<$crate::backend::Cpu>(&Default::default(), $($arg),*)
            }
            $crate::backend::DeviceKind::Cuda => {
                #[cfg(feature = "cuda")]
                {
                    $crate::backend::check_cuda()?;
                    $f::<$crate::backend::Gpu>(&Default::default(), $($arg),*)
                }
                #[cfg(not(feature = "cuda"))]
                {
                    anyhow::bail!("this fauxto was built without CUDA support; rebuild with `--features cuda` or use `--device cpu`")
                }
            }
        }
    }};
}

/// Fails with a clear message when no CUDA driver can be loaded, instead of a panic deep
/// inside the backend.
#[cfg(feature = "cuda")]
pub fn check_cuda() -> anyhow::Result<()> {
    let found = ["libcuda.so.1", "libcuda.so"].iter().any(|lib| {
        // SAFETY: loading the NVIDIA driver library runs only its initialisers.
        unsafe { libloading_probe(lib) }
    });
    if found {
        Ok(())
    } else {
        anyhow::bail!("no NVIDIA driver found (libcuda.so.1 cannot be loaded); use `--device cpu`")
    }
}

#[cfg(feature = "cuda")]
unsafe fn libloading_probe(name: &str) -> bool {
    use std::ffi::CString;
    extern "C" {
        fn dlopen(filename: *const std::os::raw::c_char, flag: i32) -> *mut std::ffi::c_void;
    }
    const RTLD_LAZY: i32 = 1;
    let c = CString::new(name).expect("no NUL");
    !dlopen(c.as_ptr(), RTLD_LAZY).is_null()
}
