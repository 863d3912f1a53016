//! The backward pass: an iterative topological traversal of the recorded graph.
//!
//! 1. Starting from the output, walk the intermediate values that require a gradient,
//!    taking each one's [`OpRecord`] and counting how many recorded consumers it has
//!    (a pointer-keyed map built once per pass gives each node an index into plain `Vec`s).
//! 2. Kahn's algorithm: a node runs its backward step once all of its consumers have sent
//!    their gradient. Leaf gradients are accumulated straight into the leaf.
//! 3. Records are dropped as their step finishes (or put back with `retain_graph`).
//!
//! Nothing recurses, so a chain of any length backpropagates in constant stack space.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use glassbox_tensor::Tensor;

use crate::error::{AutogradError, Result};
use crate::var::{lock, Node, OpRecord, Var};

/// Hasher for node addresses: one multiply, no SipHash.
#[derive(Default)]
struct PtrHasher(u64);

impl Hasher for PtrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        let h = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }
}

type PtrMap = HashMap<usize, u32, BuildHasherDefault<PtrHasher>>;

/// Marks an input edge that leads to a leaf or to a value without gradient.
const NOT_INTERIOR: u32 = u32::MAX;

fn addr(v: &Var) -> usize {
    Arc::as_ptr(&v.0) as *const Node as usize
}

/// Adds `g` into an optional accumulator.
pub(crate) fn accumulate(slot: &mut Option<Tensor>, g: Tensor) -> Result<()> {
    match slot {
        None => *slot = Some(g),
        Some(acc) => *acc = acc.try_add(&g)?,
    }
    Ok(())
}

/// Adds `g` into a value's stored gradient. Stored gradients are always contiguous (a
/// broadcast view from a sum's backward is materialised), so optimizers can use
/// `as_slice` on them.
fn accumulate_into_var(v: &Var, g: Tensor) -> Result<()> {
    let g = if g.is_contiguous() { g } else { g.contiguous() };
    accumulate(&mut lock(&v.0.grad), g)
}

/// Takes the record of an interior node, or reports that the graph was freed.
fn take_record(v: &Var) -> Result<OpRecord> {
    lock(&v.0.record)
        .take()
        .ok_or(AutogradError::GraphFreed { op: v.0.op_name })
}

/// Runs a backward pass from `root`.
pub(crate) fn backward(root: &Var, upstream: Option<&Tensor>, retain_graph: bool) -> Result<()> {
    let root_shape = root.shape();
    if !root.requires_grad() {
        return Err(AutogradError::NoGradient { shape: root_shape });
    }
    let seed = match upstream {
        Some(u) => {
            if u.shape() != root_shape.as_slice() {
                return Err(AutogradError::GradShape {
                    op: "backward_with",
                    expected: root_shape,
                    found: u.shape().to_vec(),
                });
            }
            u.clone()
        }
        None => {
            if root_shape.iter().product::<usize>() != 1 {
                return Err(AutogradError::NonScalarBackward { shape: root_shape });
            }
            Tensor::ones(&root_shape)
        }
    };
    if root.is_leaf() {
        return accumulate_into_var(root, seed);
    }

    // Phase 1: discover interior nodes and count their consumers.
    let mut index = PtrMap::default();
    let mut nodes: Vec<(Var, OpRecord)> = Vec::new();
    let mut pending: Vec<u32> = Vec::new();
    // For node i, edges[edge_start[i]..edge_start[i + 1]] are its inputs' node indices.
    let mut edges: Vec<u32> = Vec::new();
    let mut edge_start: Vec<usize> = Vec::new();

    let root_record = take_record(root)?;
    index.insert(addr(root), 0);
    nodes.push((root.clone(), root_record));
    pending.push(0);
    let mut i = 0;
    while i < nodes.len() {
        edge_start.push(edges.len());
        let n_inputs = nodes[i].1.inputs.len();
        for k in 0..n_inputs {
            let input = nodes[i].1.inputs[k].clone();
            if !input.requires_grad() || input.is_leaf() {
                edges.push(NOT_INTERIOR);
                continue;
            }
            let key = addr(&input);
            if let Some(&j) = index.get(&key) {
                pending[j as usize] += 1;
                edges.push(j);
                continue;
            }
            let record = match take_record(&input) {
                Ok(r) => r,
                Err(e) => {
                    restore(nodes);
                    return Err(e);
                }
            };
            let j = nodes.len() as u32;
            index.insert(key, j);
            nodes.push((input, record));
            pending.push(1);
            edges.push(j);
        }
        i += 1;
    }
    edge_start.push(edges.len());
    drop(index);

    // Phase 2: Kahn's algorithm from the root.
    let result = run(&nodes, &pending, &edges, &edge_start, seed);
    if retain_graph {
        restore(nodes);
    }
    result
}

fn run(
    nodes: &[(Var, OpRecord)],
    pending: &[u32],
    edges: &[u32],
    edge_start: &[usize],
    seed: Tensor,
) -> Result<()> {
    let mut pending = pending.to_vec();
    let mut grads: Vec<Option<Tensor>> = vec![None; nodes.len()];
    grads[0] = Some(seed);
    let mut ready: Vec<u32> = vec![0];
    while let Some(i) = ready.pop() {
        let i = i as usize;
        let (var, record) = &nodes[i];
        let my_edges = &edges[edge_start[i]..edge_start[i + 1]];
        let grad = grads[i].take();
        let input_grads = match &grad {
            Some(g) => {
                if var.0.retain.load(Ordering::Relaxed) {
                    accumulate_into_var(var, g.clone())?;
                }
                let out = record.op.backward(g, &record.inputs)?;
                if out.len() != record.inputs.len() {
                    return Err(AutogradError::GradCount {
                        op: record.op.name(),
                        expected: record.inputs.len(),
                        found: out.len(),
                    });
                }
                out
            }
            None => Vec::new(),
        };
        let mut input_grads = input_grads.into_iter();
        for (input, &edge) in record.inputs.iter().zip(my_edges) {
            let gi = input_grads.next().flatten();
            if !input.requires_grad() {
                continue;
            }
            if let Some(gi) = &gi {
                let ok = input.with_value(|t| t.shape() == gi.shape());
                if !ok {
                    return Err(AutogradError::GradShape {
                        op: record.op.name(),
                        expected: input.shape(),
                        found: gi.shape().to_vec(),
                    });
                }
            }
            if edge == NOT_INTERIOR {
                if let Some(gi) = gi {
                    accumulate_into_var(input, gi)?;
                }
                continue;
            }
            let j = edge as usize;
            if let Some(gi) = gi {
                accumulate(&mut grads[j], gi)?;
            }
            pending[j] -= 1;
            if pending[j] == 0 {
                ready.push(edge);
            }
        }
    }
    Ok(())
}

/// Puts taken records back (after an error, or with `retain_graph`).
fn restore(nodes: Vec<(Var, OpRecord)>) {
    for (var, record) in nodes {
        *lock(&var.0.record) = Some(record);
    }
}
