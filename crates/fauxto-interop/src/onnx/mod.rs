//! Export to ONNX: the generator as a graph of standard operators ([`generator`]), built
//! with a small graph builder ([`builder`]) and written with `prost` from the subset of
//! ONNX's protobuf schema it needs ([`proto`]).

pub mod builder;
pub mod generator;
pub mod proto;

pub use generator::{export_generator, OnnxOptions, IR_VERSION, OPSET};
