//! The rounds of the refinement of one path: the start rule's verdict, then rounds that
//! accept what the evaluated points allow, ask for new points (within the budget) and
//! settle the pieces those points were asked for.

use super::path::{Mode, Path, Pending, Piece, MIN_WIDTH, NOISE, PROBE};

impl Path {
    /// After the start rule's points (`α = 0`, the nodes, `α = 1`) are evaluated: accepts
    /// the Gauss–Legendre estimate if it meets the tolerance and the nodes are no further
    /// apart than the resolution, else opens every gap between the points.
    pub(super) fn start(&mut self, weights: &[f64]) {
        let last = self.points.len() - 1;
        self.fscale = self.points.iter().fold(0.0, |m, q| m.max(q.f.abs()));
        let mut gl = vec![0.0; self.d.len()];
        for (pt, w) in self.points[1..last].iter().zip(weights) {
            for (a, &g) in gl.iter_mut().zip(&pt.g) {
                *a += w * g as f64;
            }
        }
        let r = self.points[last].f
            - self.points[0].f
            - self.d.iter().zip(&gl).map(|(d, g)| d * g).sum::<f64>();
        let gap = self
            .points
            .windows(2)
            .fold(0f64, |m, w| m.max(w[1].alpha - w[0].alpha));
        if r.abs() <= self.tol && gap <= self.max_width {
            self.acc = gl;
        } else {
            self.open = (0..last)
                .map(|a| Piece {
                    a,
                    b: a + 1,
                    mode: Mode::Kink,
                })
                .collect();
        }
        self.free();
    }

    /// Accepts what can be accepted without new evaluations and requests the points the
    /// other open pieces need, within the budget.
    pub(super) fn plan(&mut self, budget: usize, requests: &mut Vec<usize>) {
        if self.open.is_empty() {
            return;
        }
        let open = std::mem::take(&mut self.open);
        let mut wanted: Vec<(Piece, Option<f64>)> = Vec::new();
        for piece in open {
            let (a, b) = (self.points[piece.a].alpha, self.points[piece.b].alpha);
            if self.is_flat(piece) {
                self.accept_trapezoid(piece);
                continue;
            }
            if b - a < 2.0 * MIN_WIDTH {
                // Too narrow to split (f32 outputs no longer locate a kink here): cut
                // short unless even a jump inside would be within half the tolerance,
                // the bound kink windows are accepted with.
                self.cut |= (b - a) * self.spread(piece) > 0.5 * self.tol;
                self.close(piece);
                continue;
            }
            let kink = if piece.mode == Mode::Kink {
                self.kink(piece)
                    .filter(|&c| c - a >= MIN_WIDTH && b - c >= MIN_WIDTH)
            } else {
                None
            };
            wanted.push((piece, kink));
        }
        let mut left = budget.saturating_sub(self.evals);
        if wanted
            .iter()
            .map(|w| 1 + w.1.is_some() as usize)
            .sum::<usize>()
            > left
        {
            // Not all fit: first the pieces across which the attribution rate changes most.
            let mut keyed: Vec<(f64, Piece, Option<f64>)> = wanted
                .into_iter()
                .map(|(p, k)| {
                    let h = self.points[p.b].alpha - self.points[p.a].alpha;
                    (h * self.spread(p), p, k)
                })
                .collect();
            keyed.sort_by(|u, v| v.0.total_cmp(&u.0));
            wanted = keyed.into_iter().map(|(_, p, k)| (p, k)).collect();
        }
        for (piece, kink) in wanted {
            let need = if kink.is_some() { 2 } else { 1 };
            if need > left {
                self.cut = true;
                self.close(piece);
                continue;
            }
            left -= need;
            let (a, b) = (self.points[piece.a].alpha, self.points[piece.b].alpha);
            match kink {
                Some(c) => {
                    let h = b - a;
                    let p1 = c - (PROBE * h).min(0.5 * (c - a));
                    let p2 = c + (PROBE * h).min(0.5 * (b - c));
                    let p1 = self.new_point(p1, requests);
                    let p2 = self.new_point(p2, requests);
                    self.pending.push(Pending::Kink { piece, p1, p2 });
                }
                None => {
                    let m = self.new_point(0.5 * (a + b), requests);
                    self.pending.push(Pending::Mid { piece, m });
                }
            }
        }
        if self.pending.is_empty() {
            self.free();
        }
    }

    /// Processes the pieces whose requested points were just evaluated.
    pub(super) fn settle(&mut self) {
        for pending in std::mem::take(&mut self.pending) {
            match pending {
                Pending::Kink { piece, p1, p2 } => {
                    let left = Piece {
                        a: piece.a,
                        b: p1,
                        mode: Mode::Bisect,
                    };
                    let window = Piece {
                        a: p1,
                        b: p2,
                        mode: Mode::Bisect,
                    };
                    let right = Piece {
                        a: p2,
                        b: piece.b,
                        mode: Mode::Bisect,
                    };
                    let verified = self.is_flat(left) && self.is_flat(right);
                    match (verified, self.kink(window)) {
                        (true, Some(_)) => {
                            self.accept_trapezoid(left);
                            self.accept_trapezoid(right);
                            // Two kinks closer than the window would go unseen: narrow
                            // it until even then the error would be within half the
                            // tolerance, or until the next probes would be closer to
                            // the kink than f32 outputs locate it (or an f32 path
                            // resolves).
                            let w = self.points[p2].alpha - self.points[p1].alpha;
                            let e = self.ends(window);
                            let blur = 4.0 * NOISE * self.fscale / (e.phi_a - e.phi_b).abs();
                            if w * self.spread(window) <= 0.5 * self.tol
                                || w * PROBE < MIN_WIDTH.max(blur)
                            {
                                self.close(window);
                            } else {
                                self.open.push(Piece {
                                    mode: Mode::Kink,
                                    ..window
                                });
                            }
                        }
                        _ => self.open.extend([left, window, right]),
                    }
                }
                Pending::Mid { piece, m } => {
                    if self.simpson_ok(piece, m) {
                        let h = self.points[piece.b].alpha - self.points[piece.a].alpha;
                        self.add(h / 6.0, piece.a);
                        self.add(4.0 * h / 6.0, m);
                        self.add(h / 6.0, piece.b);
                    } else {
                        self.open.push(Piece {
                            a: piece.a,
                            b: m,
                            mode: Mode::Kink,
                        });
                        self.open.push(Piece {
                            a: m,
                            b: piece.b,
                            mode: Mode::Kink,
                        });
                    }
                }
            }
        }
        self.free();
    }

    /// Drops the gradients no open or pending piece refers to.
    pub(super) fn free(&mut self) {
        let mut used = vec![false; self.points.len()];
        for p in &self.open {
            used[p.a] = true;
            used[p.b] = true;
        }
        for p in &self.pending {
            let (piece, extra) = match p {
                Pending::Kink { piece, p1, p2 } => (piece, [*p1, *p2]),
                Pending::Mid { piece, m } => (piece, [*m, *m]),
            };
            for k in [piece.a, piece.b, extra[0], extra[1]] {
                used[k] = true;
            }
        }
        for (pt, u) in self.points.iter_mut().zip(used) {
            if !u && !pt.g.is_empty() {
                pt.g = Vec::new();
            }
        }
    }
}
