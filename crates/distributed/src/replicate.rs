//! Data-parallel building blocks: identical replicas at the start, summed gradients after
//! every backward pass, fingerprints of what must agree.

use glassbox_autograd::Var;
use glassbox_nn::Module;
use glassbox_tensor::Tensor;

use crate::comm::{fingerprint, Communicator};
use crate::error::Result;

/// Copies rank 0's parameters and buffers (BatchNorm running statistics) to every rank,
/// in one broadcast. The module structures must already agree (see [`structure_print`]).
pub fn broadcast_module(comm: &dyn Communicator, module: &dyn Module) -> Result<()> {
    if comm.size() == 1 {
        return Ok(());
    }
    let vars = state_vars(module);
    let mut flat = Vec::with_capacity(vars.iter().map(|v| v.with_value(Tensor::len)).sum());
    for v in &vars {
        v.with_value(|t| flat.extend(t.contiguous().to_vec()));
    }
    comm.broadcast_f32(0, &mut flat);
    let mut at = 0;
    for v in &vars {
        let shape = v.shape();
        let n: usize = shape.iter().product();
        v.set_value(Tensor::from_vec(flat[at..at + n].to_vec(), &shape)?);
        at += n;
    }
    Ok(())
}

/// Sums the gradients of `params` over every rank together with the small vector `extra`
/// (sample count, loss sum, ...) in one all-reduce, then divides every gradient by
/// `extra[0]` after the sum, i.e. by the global sample count when each rank passes its
/// local count there and gradients of its loss *sum*. Missing gradients count as zeros.
/// Returns the summed `extra`.
pub fn all_reduce_gradients(
    comm: &dyn Communicator,
    params: &[Var],
    extra: &[f32],
) -> Result<Vec<f32>> {
    let sizes: Vec<usize> = params.iter().map(|p| p.with_value(Tensor::len)).collect();
    let total: usize = sizes.iter().sum();
    let mut flat = Vec::with_capacity(total + extra.len());
    for (p, &n) in params.iter().zip(&sizes) {
        match p.grad() {
            Some(g) => flat.extend_from_slice(g.contiguous().as_slice().expect("contiguous")),
            None => flat.resize(flat.len() + n, 0.0),
        }
    }
    flat.extend_from_slice(extra);
    comm.all_reduce_sum_f32(&mut flat);
    let summed = flat[total..].to_vec();
    let scale = match summed.first() {
        Some(&c) if c > 0.0 => 1.0 / c,
        _ => 1.0,
    };
    let mut at = 0;
    for (p, &n) in params.iter().zip(&sizes) {
        let g: Vec<f32> = flat[at..at + n].iter().map(|&v| v * scale).collect();
        p.set_grad(Some(Tensor::from_vec(g, &p.shape())?));
        at += n;
    }
    Ok(summed)
}

/// Fingerprint of a module's structure: parameter and buffer names and shapes, in order.
pub fn structure_print(module: &dyn Module) -> u32 {
    let mut s = String::new();
    for (name, v) in module.named_parameters() {
        s.push_str(&format!("p {name} {:?};", v.shape()));
    }
    for (name, v) in module.named_buffers() {
        s.push_str(&format!("b {name} {:?};", v.shape()));
    }
    fingerprint(s.as_bytes())
}

/// Fingerprint of a module's parameter and buffer values (bit patterns), in order.
pub fn values_print(module: &dyn Module) -> u32 {
    let mut bytes = Vec::new();
    for v in state_vars(module) {
        v.with_value(|t| {
            for x in t.contiguous().to_vec() {
                bytes.extend_from_slice(&x.to_bits().to_le_bytes());
            }
        });
    }
    fingerprint(&bytes)
}

/// Fingerprint of `f32` values (bit patterns) with their shape.
pub fn array_print<'a>(shape: &[usize], values: impl IntoIterator<Item = &'a f32>) -> u32 {
    let mut bytes = format!("{shape:?}").into_bytes();
    for x in values {
        bytes.extend_from_slice(&x.to_bits().to_le_bytes());
    }
    fingerprint(&bytes)
}

fn state_vars(module: &dyn Module) -> Vec<Var> {
    module
        .named_parameters()
        .into_iter()
        .chain(module.named_buffers())
        .map(|(_, v)| v)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::SingleProcess;
    use glassbox_nn::{BatchNorm, Linear, Sequential};
    use glassbox_tensor::rng::Rng;

    #[test]
    fn gradients_are_divided_by_the_summed_count() {
        let p = Var::parameter(Tensor::zeros(&[2]));
        p.set_grad(Some(Tensor::from_vec(vec![3.0, -6.0], &[2]).unwrap()));
        let q = Var::parameter(Tensor::zeros(&[1]));
        let extra =
            all_reduce_gradients(&SingleProcess, &[p.clone(), q.clone()], &[3.0, 7.5]).unwrap();
        assert_eq!(extra, [3.0, 7.5]);
        assert_eq!(p.grad().unwrap().to_vec(), [1.0, -2.0]);
        assert_eq!(q.grad().unwrap().to_vec(), [0.0]);
    }

    #[test]
    fn prints_see_structure_and_values() {
        let mut rng = Rng::new(1);
        let a = Sequential::new()
            .add(Linear::new(3, 2, true, &mut rng).unwrap())
            .add(BatchNorm::new_1d(2).unwrap());
        let b = Sequential::new()
            .add(Linear::new(3, 2, true, &mut rng).unwrap())
            .add(BatchNorm::new_1d(2).unwrap());
        let c = Sequential::new().add(Linear::new(3, 3, true, &mut rng).unwrap());
        assert_eq!(structure_print(&a), structure_print(&b));
        assert_ne!(structure_print(&a), structure_print(&c));
        assert_ne!(values_print(&a), values_print(&b));
        broadcast_module(&SingleProcess, &a).unwrap();
        assert_eq!(
            array_print(&[2], &[1.0, 2.0]),
            array_print(&[2], &[1.0, 2.0])
        );
        assert_ne!(
            array_print(&[2], &[1.0, 2.0]),
            array_print(&[1, 2], &[1.0, 2.0])
        );
    }
}
