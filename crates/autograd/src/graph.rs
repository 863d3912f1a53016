//! The backward pass: an iterative topological traversal of the recorded graph.
//!
//! 1. Starting from the output, walk the intermediate values that require a gradient,
//!    taking each one's [`OpRecord`] and counting how many recorded consumers it has.
//!    Nodes live in one `Vec` of slots; a node is found by a linear scan while the graph
//!    is small and through a pointer-keyed map (built once per pass) beyond that.
//! 2. Kahn's algorithm: a node runs its backward step once all of its consumers have sent
//!    their gradient. Leaf gradients are accumulated straight into the leaf.
//! 3. Records are dropped at the end of the pass (or put back with `retain_graph`).
//!
//! Nothing recurses, so a chain of any length backpropagates in constant stack space.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use glassbox_tensor::Tensor;

use crate::error::{AutogradError, Result};
use crate::var::{lock, OpRecord, Var};

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
    Arc::as_ptr(&v.0) as usize
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

/// One interior node of the pass.
struct Slot {
    var: Var,
    record: OpRecord,
    /// Consumers that have not yet sent their gradient.
    pending: u32,
    /// Gradient accumulated so far.
    grad: Option<Tensor>,
    /// This node's inputs are `edges[edge_start..edge_start + record.inputs.len()]`.
    edge_start: u32,
}

/// Below this many nodes a linear scan finds a node faster than hashing (and allocates
/// nothing); above it a pointer-keyed map is built.
const LINEAR_LOOKUP: usize = 16;

/// Finds the slot of the node at `key`.
fn find(slots: &[Slot], index: &mut Option<PtrMap>, key: usize) -> Option<u32> {
    if slots.len() <= LINEAR_LOOKUP {
        return slots
            .iter()
            .position(|s| addr(&s.var) == key)
            .map(|i| i as u32);
    }
    let map = index.get_or_insert_with(|| {
        slots
            .iter()
            .enumerate()
            .map(|(i, s)| (addr(&s.var), i as u32))
            .collect()
    });
    map.get(&key).copied()
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
    let mut slots: Vec<Slot> = Vec::new();
    let mut edges: Vec<u32> = Vec::new();
    let mut index: Option<PtrMap> = None;
    let root_record = take_record(root)?;
    slots.push(Slot {
        var: root.clone(),
        record: root_record,
        pending: 0,
        grad: Some(seed),
        edge_start: 0,
    });
    let mut i = 0;
    while i < slots.len() {
        slots[i].edge_start = edges.len() as u32;
        for k in 0..slots[i].record.inputs.len() {
            let input = &slots[i].record.inputs[k];
            if !input.requires_grad() || input.is_leaf() {
                edges.push(NOT_INTERIOR);
                continue;
            }
            let key = addr(input);
            if let Some(j) = find(&slots, &mut index, key) {
                slots[j as usize].pending += 1;
                edges.push(j);
                continue;
            }
            let input = input.clone();
            let record = match take_record(&input) {
                Ok(r) => r,
                Err(e) => {
                    restore(slots);
                    return Err(e);
                }
            };
            let j = slots.len() as u32;
            if let Some(map) = index.as_mut() {
                map.insert(key, j);
            }
            slots.push(Slot {
                var: input,
                record,
                pending: 1,
                grad: None,
                edge_start: 0,
            });
            edges.push(j);
        }
        i += 1;
    }
    drop(index);

    // Phase 2: Kahn's algorithm from the root.
    let result = run(&mut slots, &edges);
    if retain_graph {
        restore(slots);
    }
    result
}

fn run(slots: &mut [Slot], edges: &[u32]) -> Result<()> {
    let mut ready: Vec<u32> = vec![0];
    while let Some(i) = ready.pop() {
        let i = i as usize;
        let grad = slots[i].grad.take();
        let slot = &slots[i];
        let record = &slot.record;
        let start = slot.edge_start as usize;
        let my_edges = &edges[start..start + record.inputs.len()];
        let input_grads = match &grad {
            Some(g) => {
                if slot.var.0.retain.load(Ordering::Relaxed) {
                    accumulate_into_var(&slot.var, g.clone())?;
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
        for (k, &edge) in my_edges.iter().enumerate() {
            let gi = input_grads.next().flatten();
            let input = &slots[i].record.inputs[k];
            if !input.requires_grad() {
                continue;
            }
            if let Some(gi) = &gi {
                if !input.with_value(|t| t.shape() == gi.shape()) {
                    let record = &slots[i].record;
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
            let target = &mut slots[edge as usize];
            if let Some(gi) = gi {
                accumulate(&mut target.grad, gi)?;
            }
            target.pending -= 1;
            if target.pending == 0 {
                ready.push(edge);
            }
        }
    }
    Ok(())
}

/// Puts taken records back (after an error, or with `retain_graph`).
fn restore(slots: Vec<Slot>) {
    for slot in slots {
        *lock(&slot.var.0.record) = Some(slot.record);
    }
}
