//! The ONNX export's structure: a well-formed graph (every value defined before use, in
//! topological order), standard operators only, the documented inputs and outputs, the
//! model's gains folded into the constants. The numbers themselves are checked against
//! onnxruntime by `tools/check_onnx.py` (a CI step).

mod common;

use std::collections::HashSet;

use fauxto_interop::onnx::proto::{
    tensor_shape_proto::dimension::Value as DimValue, type_proto, ModelProto,
};
use fauxto_interop::onnx::{export_generator, OnnxOptions, OPSET};
use fauxto_interop::{import, ImportOptions};
use prost::Message;

/// Operators of the default ONNX domain the exporter may use.
const STANDARD_OPS: &[&str] = &[
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Sqrt",
    "Reciprocal",
    "ReduceMean",
    "Gemm",
    "MatMul",
    "LeakyRelu",
    "Concat",
    "Reshape",
    "Conv",
    "ConvTranspose",
    "Clip",
    "Transpose",
    "Floor",
    "Cast",
    "Identity",
];

fn export(file: &str, options: &OnnxOptions) -> (ModelProto, fauxto_nn::GeneratorConfig) {
    let imported = import(&common::fixture_bytes(file), &ImportOptions::default()).unwrap();
    let bytes = export_generator(&imported.state.sub("G_ema"), &imported.generator, options)
        .expect("export");
    (
        ModelProto::decode(bytes.as_slice()).expect("valid protobuf"),
        imported.generator,
    )
}

fn dims(model: &ModelProto, name: &str, outputs: bool) -> Vec<String> {
    let graph = model.graph.as_ref().unwrap();
    let list = if outputs { &graph.output } else { &graph.input };
    let info = list
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no {name}"));
    let Some(type_proto::Value::TensorType(t)) = &info.r#type.as_ref().unwrap().value else {
        panic!("{name}: not a tensor")
    };
    t.shape
        .as_ref()
        .unwrap()
        .dim
        .iter()
        .map(|d| match d.value.as_ref().unwrap() {
            DimValue::DimValue(v) => v.to_string(),
            DimValue::DimParam(p) => p.clone(),
        })
        .collect()
}

fn assert_well_formed(model: &ModelProto) {
    assert_eq!(model.opset_import[0].version, OPSET);
    let graph = model.graph.as_ref().unwrap();
    let mut defined: HashSet<&str> = graph.input.iter().map(|v| v.name.as_str()).collect();
    defined.extend(graph.initializer.iter().map(|t| t.name.as_str()));
    let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        initializers.len(),
        graph.initializer.len(),
        "initializer names are unique"
    );
    for node in &graph.node {
        assert!(
            STANDARD_OPS.contains(&node.op_type.as_str()),
            "non-standard operator {}",
            node.op_type
        );
        for input in &node.input {
            assert!(
                defined.contains(input.as_str()),
                "{}: `{input}` used before defined",
                node.name
            );
        }
        for output in &node.output {
            assert!(defined.insert(output.as_str()), "`{output}` defined twice");
        }
    }
    for out in &graph.output {
        assert!(
            defined.contains(out.name.as_str()),
            "output {} is never computed",
            out.name
        );
    }
}

#[test]
fn conditional_generator_exports_a_well_formed_graph_with_dynamic_batch() {
    let (model, cfg) = export("cond.pkl", &OnnxOptions::default());
    assert_well_formed(&model);
    assert_eq!(dims(&model, "z", false), ["batch", &cfg.z_dim.to_string()]);
    assert_eq!(dims(&model, "c", false), ["batch", "4"]);
    assert!(dims(&model, "truncation_psi", false).is_empty(), "scalar ψ");
    assert_eq!(dims(&model, "img", true), ["batch", "3", "16", "16"]);
    assert_eq!(dims(&model, "pixels", true), ["batch", "16", "16", "3"]);
    let graph = model.graph.unwrap();
    let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
    // One transposed convolution per upsampling layer and per image upsampling (8, 16).
    assert_eq!(ops.iter().filter(|o| **o == "ConvTranspose").count(), 4);
    assert_eq!(
        ops.iter().filter(|o| **o == "Clip").count(),
        1,
        "no conv clamp, only pixels"
    );
}

#[test]
fn fixed_batch_preview_resolution_and_clamp() {
    let options = OnnxOptions {
        batch: Some(3),
        resolution: Some(8),
        psi: 0.5,
        metadata: vec![("fauxto.model".into(), "fp16".into())],
    };
    let (model, _) = export("fp16.pkl", &options);
    assert_well_formed(&model);
    let inputs: Vec<_> = model
        .graph
        .as_ref()
        .unwrap()
        .input
        .iter()
        .map(|i| i.name.clone())
        .collect();
    assert_eq!(
        inputs,
        ["z", "truncation_psi"],
        "no label input for an unconditional model"
    );
    assert_eq!(dims(&model, "z", false), ["3", "32"]);
    assert_eq!(dims(&model, "img", true), ["3", "3", "8", "8"]);
    assert_eq!(model.metadata_props[0].value, "fp16");
    let graph = model.graph.unwrap();
    let psi = graph
        .initializer
        .iter()
        .find(|t| t.name == "truncation_psi")
        .unwrap();
    assert_eq!(psi.raw_data, 0.5f32.to_le_bytes());
    // conv_clamp 256: every synthesis layer and toRGB of blocks 4 and 8 is clamped.
    let clips = graph.node.iter().filter(|n| n.op_type == "Clip").count();
    assert_eq!(clips, 1 + (1 + 1) + (2 + 1), "layers + toRGBs + pixels");
}

#[test]
fn impossible_resolutions_are_refused() {
    let imported = import(
        &common::fixture_bytes("cond.pkl"),
        &ImportOptions::default(),
    )
    .unwrap();
    for res in [2, 12, 32] {
        let options = OnnxOptions {
            resolution: Some(res),
            ..Default::default()
        };
        let err = export_generator(&imported.state.sub("G_ema"), &imported.generator, &options)
            .expect_err("refused");
        assert!(err.to_string().contains("blocks"), "{err}");
    }
}
