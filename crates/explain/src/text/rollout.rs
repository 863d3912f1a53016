//! Attention rollout and attention flow (Abnar & Zuidema, 2020, "Quantifying Attention
//! Flow in Transformers").
//!
//! Both read a Transformer's attention probabilities as a graph: layer `l`'s map (heads
//! fused, the residual connection added as the identity, rows renormalised) says how much
//! each position draws on each position of the layer below.
//!
//! - **Rollout** multiplies these maps: `R = Â_L · … · Â_1`, so `R[i, j]` is the share of
//!   output position `i` that reaches input token `j` along all paths.
//! - **Flow** treats the entries as capacities and takes, for an output position `i`, the
//!   maximum flow from `i` in the top layer to each input token `j` in the bottom layer,
//!   each row normalised to sum to 1.
//!
//! **These are heuristics, not explanations.** Attention weights say where a layer read
//! from, not what mattered for the prediction: Jain & Wallace (2019, "Attention is not
//! Explanation") found attention weights often disagree with gradient and leave-one-out
//! importance, and that very different attention can give the same prediction. Rollout
//! and flow make the layer-to-layer mixing explicit but ignore the values, the feed-forward
//! blocks and the classifier. Measure them like any ranking (the
//! [`aopc`](super::aopc) comprehensiveness and sufficiency, deletion and insertion curves)
//! before reading them as token importance.

use ndarray::{Array2, Array3, Axis};

use crate::error::{ExplainError, Result};
use crate::stop::StopCheck;

const OP_ROLLOUT: &str = "attention_rollout";
const OP_FLOW: &str = "attention_flow";
const OP_MAXFLOW: &str = "max_flow_value";

/// Residual capacity below which an edge counts as saturated.
const EPS: f64 = 1e-13;

/// How the heads of one layer are fused into one map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeadFusion {
    /// The mean over heads (Abnar & Zuidema).
    #[default]
    Mean,
    /// The element-wise maximum over heads.
    Max,
    /// The element-wise minimum over heads.
    Min,
}

/// Settings of [`attention_rollout`] and [`attention_flow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolloutConfig {
    /// How heads are fused.
    pub head_fusion: HeadFusion,
    /// Add the identity to each fused map for the residual connection (`A + I`, rows then
    /// renormalised, which is `(A + I) / 2` for row-stochastic `A`), as Abnar & Zuidema do.
    pub residual: bool,
}

impl Default for RolloutConfig {
    fn default() -> Self {
        RolloutConfig {
            head_fusion: HeadFusion::Mean,
            residual: true,
        }
    }
}

/// Checks the layers: at least one, each `[heads ≥ 1, n, n]` with the same `n ≥ 1`, all
/// entries finite and non-negative. Returns `n`.
fn check_layers(op: &'static str, layers: &[Array3<f64>]) -> Result<usize> {
    let first = layers.first().ok_or(ExplainError::Empty {
        op,
        what: "attention layers",
    })?;
    let n = first.len_of(Axis(1));
    for a in layers {
        let (h, q, k) = a.dim();
        if h == 0 || q != n || k != n || n == 0 {
            return Err(ExplainError::ShapeMismatch {
                op,
                what: "attention layer (every layer must be [heads >= 1, n, n] with one n)",
                expected: vec![h.max(1), n.max(1), n.max(1)],
                found: vec![h, q, k],
            });
        }
    }
    for (l, a) in layers.iter().enumerate() {
        if let Some(((_, q, k), v)) = a.indexed_iter().find(|(_, v)| !v.is_finite() || **v < 0.0) {
            return Err(ExplainError::invalid(
                op,
                "attentions",
                format!("layer {l}, query {q}, key {k} is {v} (must be finite and >= 0)"),
            ));
        }
    }
    Ok(n)
}

/// The fused, residual-augmented, row-normalised map `Â_l` `[n, n]` of every layer (rows
/// are queries). Rows that are all zero (without the residual) stay zero.
pub fn augmented_attention(
    layers: &[Array3<f64>],
    config: &RolloutConfig,
) -> Result<Vec<Array2<f64>>> {
    let n = check_layers(OP_ROLLOUT, layers)?;
    Ok(layers
        .iter()
        .map(|a| {
            let mut m = match config.head_fusion {
                HeadFusion::Mean => a.mean_axis(Axis(0)).expect("heads >= 1"),
                HeadFusion::Max => a.fold_axis(Axis(0), f64::NEG_INFINITY, |&m, &v| m.max(v)),
                HeadFusion::Min => a.fold_axis(Axis(0), f64::INFINITY, |&m, &v| m.min(v)),
            };
            if config.residual {
                for i in 0..n {
                    m[[i, i]] += 1.0;
                }
            }
            for mut row in m.outer_iter_mut() {
                let s = row.sum();
                if s > 0.0 {
                    row /= s;
                }
            }
            m
        })
        .collect())
}

/// Attention rollout: `R = Â_L · … · Â_1` `[n, n]` (row `i`: output position `i`'s
/// rolled-out attention over the input tokens; for a BERT classifier, row 0 is `[CLS]`).
///
/// `layers[l]` is layer `l`'s attention probabilities `[heads, n, n]` (queries × keys), the
/// first layer first; padding must be cut off (real tokens only). A heuristic: see the
/// [module documentation](self).
pub fn attention_rollout(layers: &[Array3<f64>], config: &RolloutConfig) -> Result<Array2<f64>> {
    let aug = augmented_attention(layers, config)?;
    let mut r = aug[0].clone();
    for a in &aug[1..] {
        r = a.dot(&r);
    }
    Ok(r)
}

/// Attention flow: for each position in `outputs`, the maximum flow from that position in
/// the top layer to every input token in the bottom layer of the layered graph whose
/// edges `(l + 1, i) → (l, j)` have capacity `Â_l[i, j]`; each row is normalised to sum
/// to 1 (as Abnar & Zuidema's code does). Returns `[outputs.len(), n]`.
///
/// One maximum flow per (output, input) pair: `stop` is asked before each. A heuristic: see
/// the [module documentation](self).
pub fn attention_flow(
    layers: &[Array3<f64>],
    outputs: &[usize],
    config: &RolloutConfig,
    stop: &StopCheck,
) -> Result<Array2<f64>> {
    let aug = augmented_attention(layers, config).map_err(|e| rename(e, OP_FLOW))?;
    let n = aug[0].nrows();
    if let Some(&o) = outputs.iter().find(|&&o| o >= n) {
        return Err(ExplainError::FeatureOutOfRange {
            op: OP_FLOW,
            feature: o,
            features: n,
        });
    }
    let n_layers = aug.len();
    let mut edges = Vec::new();
    for (l, a) in aug.iter().enumerate() {
        for ((i, j), &c) in a.indexed_iter() {
            if c > 0.0 {
                edges.push(((l + 1) * n + i, l * n + j, c));
            }
        }
    }
    let mut graph = FlowGraph::new(n * (n_layers + 1), &edges);
    let mut out = Array2::zeros((outputs.len(), n));
    for (r, &o) in outputs.iter().enumerate() {
        let source = n_layers * n + o;
        for j in 0..n {
            if stop.should_stop() {
                return Err(ExplainError::Stopped { op: OP_FLOW });
            }
            out[[r, j]] = graph.max_flow(source, j);
        }
        let mut row = out.row_mut(r);
        let s = row.sum();
        if s > 0.0 {
            row /= s;
        }
    }
    Ok(out)
}

fn rename(e: ExplainError, op: &'static str) -> ExplainError {
    match e {
        ExplainError::Empty { what, .. } => ExplainError::Empty { op, what },
        ExplainError::ShapeMismatch {
            what,
            expected,
            found,
            ..
        } => ExplainError::ShapeMismatch {
            op,
            what,
            expected,
            found,
        },
        ExplainError::InvalidArgument { field, reason, .. } => {
            ExplainError::InvalidArgument { op, field, reason }
        }
        other => other,
    }
}

/// The value of a maximum flow from `source` to `sink` in the directed graph on nodes
/// `0..n_nodes` with edges `(from, to, capacity)` (parallel edges add up). Dinic's
/// algorithm in `f64`.
pub fn max_flow_value(
    n_nodes: usize,
    edges: &[(usize, usize, f64)],
    source: usize,
    sink: usize,
) -> Result<f64> {
    for &node in &[source, sink] {
        if node >= n_nodes {
            return Err(ExplainError::FeatureOutOfRange {
                op: OP_MAXFLOW,
                feature: node,
                features: n_nodes,
            });
        }
    }
    if source == sink {
        return Err(ExplainError::invalid(
            OP_MAXFLOW,
            "sink",
            format!("equals the source ({source})"),
        ));
    }
    for (e, &(u, v, c)) in edges.iter().enumerate() {
        if u >= n_nodes || v >= n_nodes || !c.is_finite() || c < 0.0 {
            return Err(ExplainError::invalid(
                OP_MAXFLOW,
                "edges",
                format!(
                    "edge {e} ({u} -> {v}, capacity {c}) needs nodes below {n_nodes} and a \
                     finite capacity >= 0"
                ),
            ));
        }
    }
    Ok(FlowGraph::new(n_nodes, edges).max_flow(source, sink))
}

/// A residual graph for repeated maximum-flow runs on the same capacities.
struct FlowGraph {
    /// Edge ids leaving each node (an edge `e` and its reverse `e ^ 1` are stored together).
    adj: Vec<Vec<usize>>,
    to: Vec<usize>,
    capacity: Vec<f64>,
    residual: Vec<f64>,
    level: Vec<usize>,
    next: Vec<usize>,
}

impl FlowGraph {
    fn new(n: usize, edges: &[(usize, usize, f64)]) -> Self {
        let mut g = FlowGraph {
            adj: vec![Vec::new(); n],
            to: Vec::with_capacity(2 * edges.len()),
            capacity: Vec::with_capacity(2 * edges.len()),
            residual: Vec::new(),
            level: vec![usize::MAX; n],
            next: vec![0; n],
        };
        for &(u, v, c) in edges {
            g.adj[u].push(g.to.len());
            g.to.push(v);
            g.capacity.push(c);
            g.adj[v].push(g.to.len());
            g.to.push(u);
            g.capacity.push(0.0);
        }
        g
    }

    /// Dinic: blocking flows along breadth-first level graphs, from fresh capacities.
    fn max_flow(&mut self, s: usize, t: usize) -> f64 {
        self.residual.clone_from(&self.capacity);
        let mut total = 0.0;
        while self.levels(s, t) {
            self.next.iter_mut().for_each(|x| *x = 0);
            loop {
                let f = self.push(s, t, f64::INFINITY);
                if f <= EPS {
                    break;
                }
                total += f;
            }
        }
        total
    }

    fn levels(&mut self, s: usize, t: usize) -> bool {
        self.level.iter_mut().for_each(|l| *l = usize::MAX);
        self.level[s] = 0;
        let mut queue = std::collections::VecDeque::from([s]);
        while let Some(u) = queue.pop_front() {
            for &e in &self.adj[u] {
                let v = self.to[e];
                if self.residual[e] > EPS && self.level[v] == usize::MAX {
                    self.level[v] = self.level[u] + 1;
                    queue.push_back(v);
                }
            }
        }
        self.level[t] != usize::MAX
    }

    fn push(&mut self, u: usize, t: usize, limit: f64) -> f64 {
        if u == t {
            return limit;
        }
        while self.next[u] < self.adj[u].len() {
            let e = self.adj[u][self.next[u]];
            let v = self.to[e];
            if self.residual[e] > EPS && self.level[v] == self.level[u] + 1 {
                let f = self.push(v, t, limit.min(self.residual[e]));
                if f > EPS {
                    self.residual[e] -= f;
                    self.residual[e ^ 1] += f;
                    return f;
                }
            }
            self.next[u] += 1;
        }
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Random row-stochastic attention `[heads, n, n]`.
    fn random_layer(rng: &mut Rng, heads: usize, n: usize) -> Array3<f64> {
        let mut a = Array3::from_shape_fn((heads, n, n), |_| rng.uniform() + 0.01);
        for mut head in a.outer_iter_mut() {
            for mut row in head.outer_iter_mut() {
                let s = row.sum();
                row /= s;
            }
        }
        a
    }

    /// Plain nested-vector matrices, independent of ndarray's `dot`.
    fn direct_rollout(layers: &[Array3<f64>]) -> Vec<Vec<f64>> {
        let (h, n, _) = layers[0].dim();
        let fused: Vec<Vec<Vec<f64>>> = layers
            .iter()
            .map(|a| {
                (0..n)
                    .map(|i| {
                        (0..n)
                            .map(|j| {
                                let mean = (0..h).map(|k| a[[k, i, j]]).sum::<f64>() / h as f64;
                                0.5 * mean + if i == j { 0.5 } else { 0.0 }
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let mut r = fused[0].clone();
        for a in &fused[1..] {
            let mut next = vec![vec![0.0; n]; n];
            for i in 0..n {
                for j in 0..n {
                    for k in 0..n {
                        next[i][j] += a[i][k] * r[k][j];
                    }
                }
            }
            r = next;
        }
        r
    }

    #[test]
    fn rollout_is_the_product_of_half_residual_head_means() {
        let mut rng = Rng::new(11);
        let layers: Vec<Array3<f64>> = (0..3).map(|_| random_layer(&mut rng, 4, 5)).collect();
        let r = attention_rollout(&layers, &RolloutConfig::default()).unwrap();
        let want = direct_rollout(&layers);
        for i in 0..5 {
            for j in 0..5 {
                assert!((r[[i, j]] - want[i][j]).abs() < 1e-14, "{i},{j}");
            }
            // Products of row-stochastic maps are row-stochastic.
            assert!((r.row(i).sum() - 1.0).abs() < 1e-12);
        }
        // Max fusion without the residual: one layer gives its renormalised head maximum.
        let cfg = RolloutConfig {
            head_fusion: HeadFusion::Max,
            residual: false,
        };
        let one = attention_rollout(&layers[..1], &cfg).unwrap();
        let (i, j) = (2, 3);
        let max_ij = (0..4).map(|k| layers[0][[k, i, j]]).fold(0.0, f64::max);
        let row_sum: f64 = (0..5)
            .map(|c| (0..4).map(|k| layers[0][[k, i, c]]).fold(0.0, f64::max))
            .sum();
        assert!((one[[i, j]] - max_ij / row_sum).abs() < 1e-14);
    }

    /// Minimum cut by enumerating every node set containing the source and not the sink:
    /// by the max-flow/min-cut theorem it equals the maximum flow.
    fn min_cut(n: usize, edges: &[(usize, usize, f64)], s: usize, t: usize) -> f64 {
        let mut best = f64::INFINITY;
        for bits in 0u32..(1 << n) {
            let inside = |v: usize| bits & (1 << v) != 0;
            if !inside(s) || inside(t) {
                continue;
            }
            let cut: f64 = edges
                .iter()
                .filter(|&&(u, v, _)| inside(u) && !inside(v))
                .map(|&(_, _, c)| c)
                .sum();
            best = best.min(cut);
        }
        best
    }

    #[test]
    fn max_flow_equals_the_enumerated_minimum_cut() {
        let mut rng = Rng::new(5);
        for trial in 0..40 {
            let n = 3 + trial % 6;
            let edges: Vec<(usize, usize, f64)> = (0..3 * n)
                .map(|_| (rng.below(n), rng.below(n), rng.uniform()))
                .filter(|&(u, v, _)| u != v)
                .collect();
            let (s, t) = (0, n - 1);
            let f = max_flow_value(n, &edges, s, t).unwrap();
            let c = min_cut(n, &edges, s, t);
            assert!((f - c).abs() < 1e-12, "trial {trial}: flow {f}, cut {c}");
        }
    }

    #[test]
    fn attention_flow_matches_enumerated_cuts_of_the_layered_graph() {
        let mut rng = Rng::new(2);
        let (n, n_layers) = (3, 2);
        let layers: Vec<Array3<f64>> = (0..n_layers)
            .map(|_| random_layer(&mut rng, 2, n))
            .collect();
        let flow = attention_flow(
            &layers,
            &[0, 2],
            &RolloutConfig::default(),
            &StopCheck::never(),
        )
        .unwrap();
        // The graph written out directly: node (layer, position) = layer * n + position,
        // capacities (mean over heads + identity) / 2.
        let mut edges = Vec::new();
        for (l, a) in layers.iter().enumerate() {
            for i in 0..n {
                for j in 0..n {
                    let mean = (a[[0, i, j]] + a[[1, i, j]]) / 2.0;
                    let c = 0.5 * mean + if i == j { 0.5 } else { 0.0 };
                    edges.push(((l + 1) * n + i, l * n + j, c));
                }
            }
        }
        for (r, &o) in [0usize, 2].iter().enumerate() {
            let raw: Vec<f64> = (0..n)
                .map(|j| min_cut(n * (n_layers + 1), &edges, n_layers * n + o, j))
                .collect();
            let total: f64 = raw.iter().sum();
            for j in 0..n {
                let want = raw[j] / total;
                assert!((flow[[r, j]] - want).abs() < 1e-12, "output {o}, input {j}");
            }
        }
        // With one layer each input is reached by a single edge: flow equals rollout.
        let one = attention_flow(
            &layers[..1],
            &[0, 1, 2],
            &RolloutConfig::default(),
            &StopCheck::never(),
        )
        .unwrap();
        let roll = attention_rollout(&layers[..1], &RolloutConfig::default()).unwrap();
        assert!((&one - &roll).iter().all(|d| d.abs() < 1e-12));
    }

    #[test]
    fn bad_attentions_and_a_fired_stop_are_errors() {
        let mut rng = Rng::new(0);
        let a = random_layer(&mut rng, 2, 4);
        let b = random_layer(&mut rng, 2, 3);
        let err = attention_rollout(&[a.clone(), b], &RolloutConfig::default()).unwrap_err();
        assert!(matches!(err, ExplainError::ShapeMismatch { found, .. } if found == vec![2, 3, 3]));
        let mut neg = a.clone();
        neg[[1, 2, 0]] = -0.5;
        let err = attention_rollout(&[neg], &RolloutConfig::default()).unwrap_err();
        assert!(
            err.to_string().contains("layer 0, query 2, key 0 is -0.5"),
            "{err}"
        );
        assert!(matches!(
            attention_rollout(&[], &RolloutConfig::default()),
            Err(ExplainError::Empty { .. })
        ));
        let cfg = RolloutConfig::default();
        let err =
            attention_flow(std::slice::from_ref(&a), &[4], &cfg, &StopCheck::never()).unwrap_err();
        assert!(matches!(
            err,
            ExplainError::FeatureOutOfRange { feature: 4, .. }
        ));
        let err = attention_flow(&[a], &[0], &cfg, &StopCheck::new(|| true)).unwrap_err();
        assert!(matches!(err, ExplainError::Stopped { op: OP_FLOW }));
        assert!(max_flow_value(2, &[(0, 1, f64::NAN)], 0, 1).is_err());
        assert!(max_flow_value(2, &[(0, 1, 1.0)], 0, 0).is_err());
        assert_eq!(
            max_flow_value(3, &[(0, 1, 2.0), (1, 2, 0.5)], 0, 2).unwrap(),
            0.5
        );
    }
}
