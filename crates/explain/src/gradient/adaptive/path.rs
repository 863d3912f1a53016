//! The refinement state of one input's path (its evaluated points, open and pending
//! pieces, the accumulated integral) and the tests and estimates of one piece.

/// Pieces narrower than this (in `α`) are not split further: f32 path points cannot
/// resolve them.
pub(super) const MIN_WIDTH: f64 = 1e-6;
/// Relative tolerance under which two gradients count as equal.
const GRAD_EQ: f64 = 1e-5;
/// Kink probes sit at most this fraction of the piece away from the fitted kink.
pub(super) const PROBE: f64 = 1.0 / 64.0;
/// Size of the f32 rounding floor of the residual tests, relative to the largest `|F|`
/// of the start rule (differences of f32 outputs are only known to a few ulps of it).
pub(super) const NOISE: f64 = 1e-6;

/// A point of one input's path: `α`, the target output and the input gradient there.
pub(super) struct Point {
    pub alpha: f64,
    pub f: f64,
    /// `φ = G·d`, the derivative of `F` along the path.
    pub phi: f64,
    /// Emptied once no open piece needs it.
    pub g: Vec<f32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Try the flat and single-kink tests first.
    Kink,
    /// Evaluate the midpoint.
    Bisect,
}

/// An open piece of the path between two evaluated points.
#[derive(Clone, Copy)]
pub(super) struct Piece {
    pub a: usize,
    pub b: usize,
    pub mode: Mode,
}

/// A piece waiting for new evaluations.
pub(super) enum Pending {
    Kink { piece: Piece, p1: usize, p2: usize },
    Mid { piece: Piece, m: usize },
}

/// One input's refinement state.
pub(super) struct Path {
    /// `x − baseline`, f64.
    pub d: Vec<f64>,
    pub points: Vec<Point>,
    pub open: Vec<Piece>,
    pub pending: Vec<Pending>,
    /// `∫ G` over the accepted pieces.
    pub acc: Vec<f64>,
    pub evals: usize,
    /// Largest `|F|` of the start rule.
    pub fscale: f64,
    /// [`AdaptiveIgConfig::resolution`](super::AdaptiveIgConfig::resolution).
    pub max_width: f64,
    /// Set when a piece was closed before meeting its share of the tolerance.
    pub cut: bool,
    pub tol: f64,
}

/// Whether two gradients are equal up to f32 rounding.
fn grad_eq(u: &[f32], v: &[f32]) -> bool {
    let mut scale = 0f32;
    let mut diff = 0f32;
    for (&a, &b) in u.iter().zip(v) {
        scale = scale.max(a.abs()).max(b.abs());
        diff = diff.max((a - b).abs());
    }
    (diff as f64) <= GRAD_EQ * scale as f64
}

/// What the tests of one piece found.
pub(super) struct Ends<'p> {
    pub a: &'p Point,
    pub b: &'p Point,
    pub h: f64,
    /// `F(b) − F(a)`.
    pub df: f64,
    pub phi_a: f64,
    pub phi_b: f64,
    /// Share of the tolerance plus the f32 rounding floor.
    pub allowed: f64,
}

impl Path {
    pub(super) fn ends(&self, piece: Piece) -> Ends<'_> {
        let (a, b) = (&self.points[piece.a], &self.points[piece.b]);
        let h = b.alpha - a.alpha;
        let (phi_a, phi_b) = (a.phi, b.phi);
        let noise = NOISE * (self.fscale + h * (phi_a.abs() + phi_b.abs()));
        Ends {
            a,
            b,
            h,
            df: b.f - a.f,
            phi_a,
            phi_b,
            allowed: 0.5 * self.tol * h + noise,
        }
    }

    /// Adds `scale · g` to the accumulator.
    pub(super) fn add(&mut self, scale: f64, point: usize) {
        let g = &self.points[point].g;
        for (a, &v) in self.acc.iter_mut().zip(g) {
            *a += scale * v as f64;
        }
    }

    /// Whether the piece is one linear region (equal end gradients, consistent values).
    pub(super) fn is_flat(&self, piece: Piece) -> bool {
        let e = self.ends(piece);
        e.h <= self.max_width
            && grad_eq(&e.a.g, &e.b.g)
            && (e.df - 0.5 * e.h * (e.phi_a + e.phi_b)).abs() <= e.allowed
    }

    /// The single-kink position inside the piece, if the hypothesis places one there.
    pub(super) fn kink(&self, piece: Piece) -> Option<f64> {
        let e = self.ends(piece);
        let jump = e.phi_a - e.phi_b;
        if !(jump.abs() > 1e-9 * (e.phi_a.abs() + e.phi_b.abs()) && jump.is_finite()) {
            return None;
        }
        let c = e.a.alpha + (e.df - e.h * e.phi_b) / jump;
        (c > e.a.alpha && c < e.b.alpha).then_some(c)
    }

    /// `Σ_j |d_j| |G_j(b) − G_j(a)|`: how much the attribution rate changes across a piece.
    pub(super) fn spread(&self, piece: Piece) -> f64 {
        let (a, b) = (&self.points[piece.a].g, &self.points[piece.b].g);
        a.iter()
            .zip(b)
            .zip(&self.d)
            .map(|((&u, &v), d)| (d * (u as f64 - v as f64)).abs())
            .sum()
    }

    /// Accepts a piece with the trapezoid rule.
    pub(super) fn accept_trapezoid(&mut self, piece: Piece) {
        let h = self.points[piece.b].alpha - self.points[piece.a].alpha;
        self.add(0.5 * h, piece.a);
        self.add(0.5 * h, piece.b);
    }

    /// Closes a piece with its best estimate: the kink integral if the hypothesis applies,
    /// else the trapezoid.
    pub(super) fn close(&mut self, piece: Piece) {
        match self.kink(piece) {
            Some(c) => {
                let (a, b) = (self.points[piece.a].alpha, self.points[piece.b].alpha);
                self.add(c - a, piece.a);
                self.add(b - c, piece.b);
            }
            None => self.accept_trapezoid(piece),
        }
    }

    pub(super) fn new_point(&mut self, alpha: f64, requests: &mut Vec<usize>) -> usize {
        let k = self.points.len();
        self.points.push(Point {
            alpha,
            f: 0.0,
            phi: 0.0,
            g: Vec::new(),
        });
        requests.push(k);
        k
    }

    /// Simpson's rule on `[a, b]` with midpoint `m` is accepted when its residual and the
    /// Richardson estimate of the half-trapezoids' error are within the piece's share.
    pub(super) fn simpson_ok(&self, piece: Piece, m: usize) -> bool {
        let e = self.ends(piece);
        let gm = &self.points[m].g;
        let (mut richardson, mut simpson) = (0.0, 0.0);
        for (((&ga, &gb), &g), &d) in e.a.g.iter().zip(&e.b.g).zip(gm).zip(&self.d) {
            let (ga, gb, g) = (ga as f64, gb as f64, g as f64);
            // T₂ − T₁ = h/4 (2 G(m) − G(a) − G(b)).
            richardson += (d * e.h * 0.25 * (2.0 * g - ga - gb)).abs() / 3.0;
            simpson += d * e.h * (ga + 4.0 * g + gb) / 6.0;
        }
        e.h <= self.max_width && richardson <= e.allowed && (e.df - simpson).abs() <= e.allowed
    }
}
