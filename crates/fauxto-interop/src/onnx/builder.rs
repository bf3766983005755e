//! Building an ONNX graph one operator at a time: each call adds a node (or an
//! initializer) and returns the name of the value it produces.

use super::proto::{
    attribute_type, data_type, tensor_shape_proto, type_proto, AttributeProto, GraphProto,
    NodeProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

/// A dimension of a graph input or output.
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    Fixed(usize),
    /// A symbolic size fixed at run time, e.g. `batch`.
    Named(String),
}

#[derive(Debug, Default)]
pub struct GraphBuilder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    counter: usize,
    /// Prefix for generated names, e.g. `synthesis.b8`.
    scope: String,
    /// Names of the initializers so far.
    constants: std::collections::HashSet<String>,
}

pub fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: attribute_type::INT,
        ..Default::default()
    }
}

pub fn attr_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: ints.to_vec(),
        r#type: attribute_type::INTS,
        ..Default::default()
    }
}

pub fn attr_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f,
        r#type: attribute_type::FLOAT,
        ..Default::default()
    }
}

fn value_info(name: &str, elem_type: i32, dims: &[Dim], doc: &str) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Dim::Fixed(n) => tensor_shape_proto::dimension::Value::DimValue(*n as i64),
                Dim::Named(s) => tensor_shape_proto::dimension::Value::DimParam(s.clone()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type,
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
        doc_string: doc.into(),
    }
}

impl GraphBuilder {
    /// Runs `f` with generated names prefixed by `scope`.
    pub fn scoped<T>(&mut self, scope: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let saved = std::mem::replace(&mut self.scope, scope.to_string());
        let out = f(self);
        self.scope = saved;
        out
    }

    fn fresh(&mut self, hint: &str) -> String {
        self.counter += 1;
        if self.scope.is_empty() {
            format!("{hint}_{}", self.counter)
        } else {
            format!("{}/{hint}_{}", self.scope, self.counter)
        }
    }

    /// A float32 graph input.
    pub fn input(&mut self, name: &str, dims: &[Dim], doc: &str) -> String {
        self.inputs
            .push(value_info(name, data_type::FLOAT, dims, doc));
        name.to_string()
    }

    /// A float32 input with a default value: an initializer of the same name (ONNX IR ≥ 4).
    pub fn input_with_default(&mut self, name: &str, value: f32, doc: &str) -> String {
        self.inputs
            .push(value_info(name, data_type::FLOAT, &[], doc));
        self.initializers.push(TensorProto {
            dims: vec![],
            data_type: data_type::FLOAT,
            name: name.into(),
            raw_data: value.to_le_bytes().to_vec(),
        });
        name.to_string()
    }

    /// Names `value` as a graph output (through an Identity node, so any value can be one).
    pub fn output(&mut self, value: &str, name: &str, elem_type: i32, dims: &[Dim], doc: &str) {
        self.nodes.push(NodeProto {
            input: vec![value.into()],
            output: vec![name.into()],
            name: format!("{name}_identity"),
            op_type: "Identity".into(),
            attribute: vec![],
        });
        self.outputs.push(value_info(name, elem_type, dims, doc));
    }

    /// `name`, made unique among the initializers.
    fn constant_name(&mut self, name: &str) -> String {
        let mut full = name.to_string();
        while self.constants.contains(&full) {
            self.counter += 1;
            full = format!("{name}_{}", self.counter);
        }
        self.constants.insert(full.clone());
        full
    }

    /// A float32 constant (initializer), named `name` (or `name_N` if taken).
    pub fn constant(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        assert_eq!(dims.iter().product::<usize>(), data.len(), "{name}: shape");
        let full = self.constant_name(name);
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: data_type::FLOAT,
            name: full.clone(),
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        full
    }

    pub fn scalar(&mut self, name: &str, value: f32) -> String {
        self.constant(name, &[], &[value])
    }

    /// An int64 constant (shapes, axes).
    pub fn ints(&mut self, name: &str, data: &[i64]) -> String {
        let full = self.constant_name(name);
        self.initializers.push(TensorProto {
            dims: vec![data.len() as i64],
            data_type: data_type::INT64,
            name: full.clone(),
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        full
    }

    /// Adds `op(inputs, attributes)` and returns its (single) output.
    pub fn op(&mut self, op: &str, inputs: &[&str], attribute: Vec<AttributeProto>) -> String {
        let out = self.fresh(&op.to_lowercase());
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            name: out.clone(),
            op_type: op.into(),
            attribute,
        });
        out
    }

    pub fn add(&mut self, a: &str, b: &str) -> String {
        self.op("Add", &[a, b], vec![])
    }

    pub fn sub(&mut self, a: &str, b: &str) -> String {
        self.op("Sub", &[a, b], vec![])
    }

    pub fn mul(&mut self, a: &str, b: &str) -> String {
        self.op("Mul", &[a, b], vec![])
    }

    pub fn reshape(&mut self, x: &str, shape: &[i64]) -> String {
        let shape = self.ints("shape", shape);
        self.op("Reshape", &[x, &shape], vec![])
    }

    pub fn finish(self, name: &str, doc: &str) -> GraphProto {
        GraphProto {
            node: self.nodes,
            name: name.into(),
            initializer: self.initializers,
            doc_string: doc.into(),
            input: self.inputs,
            output: self.outputs,
        }
    }

    /// Number of operator nodes so far.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}
