//! The globals a StyleGAN2-ADA network pickle or a PyTorch state dict may name, and
//! nothing else. None of them is ever called: each is read as data by this crate.

/// `(module, name)` pairs the reader accepts.
pub const ALLOWED_GLOBALS: &[(&str, &str)] = &[
    // The official persistence wrapper: `_reconstruct_persistent_obj(meta)` where `meta`
    // holds the class's source code, its name and the instance's `__dict__`.
    ("torch_utils.persistence", "_reconstruct_persistent_obj"),
    // Dicts: keyword arguments (`EasyDict`), module fields (`OrderedDict`), sets of names.
    ("dnnlib.util", "EasyDict"),
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    // How protocol 2 stores `bytes`.
    ("_codecs", "encode"),
    // Tensors and parameters.
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch", "Tensor"),
    ("torch.nn.parameter", "Parameter"),
    // Storages: embedded legacy `torch.save` blobs, and their element types.
    ("torch.storage", "_load_from_bytes"),
    ("torch", "FloatStorage"),
    ("torch", "DoubleStorage"),
    ("torch", "HalfStorage"),
    ("torch", "BFloat16Storage"),
    ("torch", "LongStorage"),
    ("torch", "IntStorage"),
    ("torch", "ShortStorage"),
    ("torch", "CharStorage"),
    ("torch", "ByteStorage"),
    ("torch", "BoolStorage"),
    // Plain attributes computed with numpy (`np.sqrt(...)` gains) in the official layers.
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "dtype"),
];
