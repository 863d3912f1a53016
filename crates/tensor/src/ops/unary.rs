//! Elementwise unary math, activations and the derivative helpers autograd needs.
//!
//! Every function here returns a new contiguous tensor and cannot fail.

use crate::ops::fastmath::{
    dispatched_inplace, exp_f32, exp_inplace, sigmoid_fast, sigmoid_inplace, tanh_fast,
};
use crate::tensor::Tensor;

/// The error function in f32, branch-free so that loops over it vectorise (GELU runs it
/// on every hidden unit of a Transformer's feed-forward block).
///
/// The rational minimax fit `x·P(x²)/Q(x²)` on `[-4, 4]` (degrees 13/8; the coefficients
/// of Eigen's `generic_fast_erf_float`, also used by XLA and TVM for GELU): 10 Horner
/// steps and one division, about 3× cheaper than a series plus an `erfc` tail
/// with its exponential. Absolute error below 5e-7 over the line, relative error below
/// 5e-7 (checked against f64 in the tests); outside `[-4, 4]`, and at `±∞`, the result is
/// exactly `±1`; NaN gives NaN.
// max/min chains as in `exp_f32` (clippy's clamp suggestion changes codegen).
#[allow(clippy::manual_clamp)]
#[inline(always)]
pub fn erf_f32(x: f32) -> f32 {
    // A min/max chain lowers to two plain instructions; a NaN becomes -4 here and is
    // restored at the end.
    let z = x.max(-4.0).min(4.0);
    let z2 = z * z;
    let mut p = ERF_NUM[0];
    for c in &ERF_NUM[1..] {
        p = p * z2 + c;
    }
    let mut q = ERF_DEN[0];
    for c in &ERF_DEN[1..] {
        q = q * z2 + c;
    }
    let v = (z * p / q).max(-1.0).min(1.0);
    if x.is_nan() {
        x
    } else {
        v
    }
}

/// Numerator of [`erf_f32`], `x¹³ … x¹` coefficients (in `x²`, highest first).
#[allow(clippy::excessive_precision)]
const ERF_NUM: [f32; 7] = [
    -2.726_142_258_013_06e-10,
    2.770_681_424_959_02e-8,
    -2.101_024_020_825_08e-6,
    -5.692_506_394_623_46e-5,
    -7.349_906_303_268_55e-4,
    -2.954_599_808_540_25e-3,
    -1.609_603_332_624_15e-2,
];

/// Denominator of [`erf_f32`], `x⁸ … x⁰` coefficients (in `x²`, highest first).
#[allow(clippy::excessive_precision)]
const ERF_DEN: [f32; 5] = [
    -1.456_607_184_649_96e-5,
    -2.133_740_552_789_05e-4,
    -1.682_826_974_382_03e-3,
    -7.373_329_167_204_68e-3,
    -1.426_473_905_141_89e-2,
];

/// Numerically stable logistic sigmoid of one value.
#[inline]
pub fn sigmoid_f32(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_C: f32 = 0.044_715;
const INV_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// Exact GELU of one value, `0.5 x (1 + erf(x/√2))` (what [`Tensor::gelu`] maps).
#[inline(always)]
pub fn gelu_f32(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_f32(x * INV_SQRT_2))
}

/// Tanh-approximated GELU of one value (what [`Tensor::gelu_tanh`] maps).
#[inline(always)]
pub fn gelu_tanh_f32(x: f32) -> f32 {
    0.5 * x * (1.0 + tanh_fast(SQRT_2_OVER_PI * (x + GELU_C * x * x * x)))
}

/// d/dx of the exact GELU at one value: `Φ(x) + x φ(x)`.
#[inline(always)]
pub fn gelu_grad_f32(x: f32) -> f32 {
    let cdf = 0.5 * (1.0 + erf_f32(x * INV_SQRT_2));
    cdf + x * INV_SQRT_2PI * exp_f32(-0.5 * x * x)
}

/// d/dx of the tanh-approximated GELU at one value.
#[inline(always)]
pub fn gelu_tanh_grad_f32(x: f32) -> f32 {
    let u = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
    let t = tanh_fast(u);
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * x * x)
}

/// d/dx erf at one value: `2/√π · e^{−x²}`.
#[inline(always)]
fn erf_grad_f32(x: f32) -> f32 {
    std::f32::consts::FRAC_2_SQRT_PI * exp_f32(-x * x)
}

dispatched_inplace!(
    /// In-place [`erf_f32`] with AVX-512 / AVX2 runtime dispatch (bit-identical to the scalar
    /// function).
    erf_inplace,
    erf_f32
);
dispatched_inplace!(
    /// In-place [`gelu_f32`] with AVX-512 / AVX2 runtime dispatch (bit-identical).
    gelu_inplace,
    gelu_f32
);
dispatched_inplace!(
    /// In-place [`gelu_grad_f32`] with AVX-512 / AVX2 runtime dispatch (bit-identical).
    gelu_grad_inplace,
    gelu_grad_f32
);
dispatched_inplace!(
    /// In-place [`gelu_tanh_f32`] with AVX-512 / AVX2 runtime dispatch (bit-identical).
    gelu_tanh_inplace,
    gelu_tanh_f32
);
dispatched_inplace!(
    /// In-place [`gelu_tanh_grad_f32`] with AVX-512 / AVX2 runtime dispatch (bit-identical).
    gelu_tanh_grad_inplace,
    gelu_tanh_grad_f32
);
dispatched_inplace!(
    /// In-place [`erf_grad_f32`] with AVX-512 / AVX2 runtime dispatch (bit-identical).
    erf_grad_inplace,
    erf_grad_f32
);

impl Tensor {
    /// `e^x` (vectorised; relative error ≲ 2e-7, see [`crate::ops::fastmath`]).
    pub fn exp(&self) -> Tensor {
        self.map_kernel(exp_inplace)
    }
    /// Natural logarithm.
    pub fn ln(&self) -> Tensor {
        self.map(f32::ln)
    }
    /// `ln(1 + x)`, accurate near 0.
    pub fn ln_1p(&self) -> Tensor {
        self.map(f32::ln_1p)
    }
    /// Square root.
    pub fn sqrt(&self) -> Tensor {
        self.map(f32::sqrt)
    }
    /// `1 / sqrt(x)`.
    pub fn rsqrt(&self) -> Tensor {
        self.map(|x| 1.0 / x.sqrt())
    }
    /// `x²`.
    pub fn square(&self) -> Tensor {
        self.map(|x| x * x)
    }
    /// `1 / x`.
    pub fn recip(&self) -> Tensor {
        self.map(|x| 1.0 / x)
    }
    /// Absolute value.
    pub fn abs(&self) -> Tensor {
        self.map(f32::abs)
    }
    /// `-x`.
    pub fn neg(&self) -> Tensor {
        self.map(|x| -x)
    }
    /// Sine.
    pub fn sin(&self) -> Tensor {
        self.map(f32::sin)
    }
    /// Cosine.
    pub fn cos(&self) -> Tensor {
        self.map(f32::cos)
    }
    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Tensor {
        self.map(f32::tanh)
    }
    /// Logistic sigmoid `1 / (1 + e^-x)`, stable for large |x| (vectorised).
    pub fn sigmoid(&self) -> Tensor {
        self.map_kernel(sigmoid_inplace)
    }
    /// `max(x, 0)`.
    pub fn relu(&self) -> Tensor {
        self.map(|x| if x > 0.0 { x } else { 0.0 })
    }
    /// `x` for `x > 0`, else `slope · x`.
    pub fn leaky_relu(&self, slope: f32) -> Tensor {
        self.map(move |x| if x > 0.0 { x } else { slope * x })
    }
    /// `x` for `x > 0`, else `alpha · (e^x − 1)`.
    pub fn elu(&self, alpha: f32) -> Tensor {
        self.map(move |x| if x > 0.0 { x } else { alpha * x.exp_m1() })
    }
    /// SiLU / swish: `x · sigmoid(x)`.
    pub fn silu(&self) -> Tensor {
        self.map(|x| x * sigmoid_fast(x))
    }
    /// Softplus `ln(1 + e^x)`, returning `x` itself above 20 (as PyTorch does).
    pub fn softplus(&self) -> Tensor {
        self.map(|x| if x > 20.0 { x } else { x.exp().ln_1p() })
    }
    /// The error function.
    pub fn erf(&self) -> Tensor {
        self.map_kernel(erf_inplace)
    }
    /// Exact GELU `x · Φ(x) = 0.5 x (1 + erf(x/√2))` (PyTorch's default `approximate="none"`).
    pub fn gelu(&self) -> Tensor {
        self.map_kernel(gelu_inplace)
    }
    /// Tanh-approximated GELU (PyTorch's `approximate="tanh"`).
    pub fn gelu_tanh(&self) -> Tensor {
        self.map_kernel(gelu_tanh_inplace)
    }
    /// `x^p` for a scalar exponent.
    pub fn powf(&self, p: f32) -> Tensor {
        if p == 2.0 {
            return self.square();
        }
        self.map(move |x| x.powf(p))
    }
    /// Clamps every element to `[lo, hi]` (NaN stays NaN).
    pub fn clamp(&self, lo: f32, hi: f32) -> Tensor {
        self.map(move |x| {
            if x < lo {
                lo
            } else if x > hi {
                hi
            } else {
                x
            }
        })
    }
    /// `x + c`.
    pub fn add_scalar(&self, c: f32) -> Tensor {
        self.map(move |x| x + c)
    }
    /// `x - c`.
    pub fn sub_scalar(&self, c: f32) -> Tensor {
        self.map(move |x| x - c)
    }
    /// `x · c`.
    pub fn mul_scalar(&self, c: f32) -> Tensor {
        self.map(move |x| x * c)
    }
    /// `x / c`.
    pub fn div_scalar(&self, c: f32) -> Tensor {
        self.map(move |x| x / c)
    }
    /// Sign: −1, 0 or 1 (NaN stays NaN).
    pub fn sign(&self) -> Tensor {
        self.map(|x| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        })
    }
    /// Step mask: 1 where `x > 0`, else 0 (the ReLU derivative).
    pub fn step(&self) -> Tensor {
        self.map(|x| if x > 0.0 { 1.0 } else { 0.0 })
    }

    // ------------------------------------------------------------ derivatives (for autograd)

    /// d/dx leaky_relu: 1 where `x > 0`, else `slope`.
    pub fn leaky_relu_grad(&self, slope: f32) -> Tensor {
        self.map(move |x| if x > 0.0 { 1.0 } else { slope })
    }
    /// d/dx elu: 1 where `x > 0`, else `alpha · e^x`.
    pub fn elu_grad(&self, alpha: f32) -> Tensor {
        self.map(move |x| if x > 0.0 { 1.0 } else { alpha * x.exp() })
    }
    /// d/dx silu: `s · (1 + x (1 − s))` with `s = sigmoid(x)`.
    pub fn silu_grad(&self) -> Tensor {
        self.map(|x| {
            let s = sigmoid_fast(x);
            s * (1.0 + x * (1.0 - s))
        })
    }
    /// d/dx softplus: `sigmoid(x)` (1 above the threshold 20).
    pub fn softplus_grad(&self) -> Tensor {
        self.map(|x| if x > 20.0 { 1.0 } else { sigmoid_fast(x) })
    }
    /// d/dx exact GELU: `Φ(x) + x φ(x)`.
    pub fn gelu_grad(&self) -> Tensor {
        self.map_kernel(gelu_grad_inplace)
    }
    /// d/dx tanh-approximated GELU.
    pub fn gelu_tanh_grad(&self) -> Tensor {
        self.map_kernel(gelu_tanh_grad_inplace)
    }
    /// d/dx erf: `2/√π · e^{−x²}`.
    pub fn erf_grad(&self) -> Tensor {
        self.map_kernel(erf_grad_inplace)
    }
    /// Mask of elements inside `[lo, hi]` (the clamp derivative): 1 inside, 0 outside.
    pub fn clamp_mask(&self, lo: f32, hi: f32) -> Tensor {
        self.map(move |x| if x >= lo && x <= hi { 1.0 } else { 0.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f64, tol: f64) -> bool {
        (a as f64 - b).abs() <= tol
    }

    /// The SIMD kernels (AVX-512 or AVX2 on CPUs that have them, 8 or 16 lanes) give the
    /// scalar functions' values bit for bit, tails and specials included, and the tensor
    /// methods built on them agree on non-contiguous input.
    #[test]
    fn simd_kernels_equal_the_scalar_functions_bit_for_bit() {
        let mut xs: Vec<f32> = (0..40_001).map(|i| (i as f32 - 20_000.0) * 4e-4).collect();
        xs.extend([
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            1e30,
            -1e30,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]);
        xs.extend([
            f32::NAN,
            0.75,
            -0.75,
            0.749_999_9,
            9.0,
            -9.0,
            88.0,
            -88.0,
            3.0,
        ]);
        type Pair = (&'static str, fn(f32) -> f32, fn(&mut [f32]));
        let pairs: [Pair; 7] = [
            ("erf", erf_f32, erf_inplace),
            ("gelu", gelu_f32, gelu_inplace),
            ("gelu_grad", gelu_grad_f32, gelu_grad_inplace),
            ("gelu_tanh", gelu_tanh_f32, gelu_tanh_inplace),
            ("gelu_tanh_grad", gelu_tanh_grad_f32, gelu_tanh_grad_inplace),
            ("erf_grad", erf_grad_f32, erf_grad_inplace),
            ("exp", exp_f32, exp_inplace),
        ];
        for (name, scalar, kernel) in pairs {
            let mut got = xs.clone();
            kernel(&mut got);
            for (&x, g) in xs.iter().zip(&got) {
                let want = scalar(x);
                assert!(
                    g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan()),
                    "{name}({x}): kernel {g}, scalar {want}"
                );
            }
        }
        let t = Tensor::from_vec(xs[..40_000].to_vec(), &[200, 200]).unwrap();
        let tt = t.try_transpose(0, 1).unwrap();
        assert!(!tt.is_contiguous());
        let want: Vec<f32> = tt.to_vec().into_iter().map(gelu_grad_f32).collect();
        assert_eq!(tt.gelu_grad().to_vec(), want);
        let want: Vec<f32> = t.to_vec().into_iter().map(gelu_f32).collect();
        assert_eq!(t.gelu().to_vec(), want);
    }

    #[test]
    fn erf_matches_known_values() {
        // erf values from Abramowitz & Stegun table 7.1.
        for (x, e) in [
            (0.0, 0.0),
            (0.5, 0.520_499_877_8),
            (1.0, 0.842_700_792_9),
            (2.0, 0.995_322_265_0),
            (-1.5, -0.966_105_146_5),
        ] {
            assert!(close(erf_f32(x), e, 5e-7), "erf({x}) = {}", erf_f32(x));
        }
    }

    /// erf in f64 by its Maclaurin series (exact to ~1e-9 for |x| ≤ 4, where the largest
    /// term is below 1e7); beyond 4, `1 − erf` is below 1.6e-8.
    fn erf_f64(x: f64) -> f64 {
        if x.abs() > 4.0 {
            return x.signum();
        }
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    }

    #[test]
    fn erf_is_within_5e_7_over_the_line_and_handles_specials() {
        let mut worst = 0.0f64;
        for i in -60_000..=60_000 {
            let x = i as f32 * 1e-4;
            worst = worst.max((erf_f32(x) as f64 - erf_f64(x as f64)).abs());
        }
        assert!(worst < 5e-7, "worst absolute error {worst}");
        // Relative accuracy near 0, where erf(x) ≈ 2x/√π.
        for x in [1e-30f32, 1e-8, 1e-3, 0.1] {
            let rel = (erf_f32(x) as f64 / erf_f64(x as f64) - 1.0).abs();
            assert!(rel < 5e-7, "erf({x}) relative error {rel}");
        }
        assert_eq!(erf_f32(f32::INFINITY), 1.0);
        assert_eq!(erf_f32(f32::NEG_INFINITY), -1.0);
        assert!(erf_f32(f32::NAN).is_nan());
    }

    #[test]
    fn activations_known_values() {
        let x = Tensor::from_vec(vec![-2.0, 0.0, 1.0], &[3]).unwrap();
        assert_eq!(x.relu().to_vec(), vec![0.0, 0.0, 1.0]);
        assert_eq!(x.leaky_relu(0.1).to_vec(), vec![-0.2, 0.0, 1.0]);
        let s = x.sigmoid().to_vec();
        assert!(close(s[0], 1.0 / (1.0 + 2f64.exp()), 1e-7));
        assert_eq!(s[1], 0.5);
        // torch.nn.functional.gelu(tensor([-2., 0., 1.])) = [-0.0455, 0, 0.8413]
        let g = x.gelu().to_vec();
        assert!(
            close(g[0], -0.045_500_263_9, 1e-6) && g[1] == 0.0 && close(g[2], 0.841_344_746, 1e-6)
        );
        // torch gelu(approximate="tanh")(1.0) = 0.8411920070648193
        assert!(close(x.gelu_tanh().to_vec()[2], 0.841_192_007, 1e-6));
        assert!(close(x.softplus().to_vec()[1], 2f64.ln(), 1e-7));
        assert!(close(x.elu(1.0).to_vec()[0], (-2f64).exp() - 1.0, 1e-7));
        assert_eq!(x.clamp(-1.0, 0.5).to_vec(), vec![-1.0, 0.0, 0.5]);
        assert_eq!(x.sign().to_vec(), vec![-1.0, 0.0, 1.0]);
        let big = Tensor::from_vec(vec![-1e4, 1e4], &[2])
            .unwrap()
            .sigmoid()
            .to_vec();
        assert_eq!(big, vec![0.0, 1.0]);
    }

    #[test]
    fn derivatives_match_central_differences() {
        let xs = [-1.7f32, -0.3, 0.4, 2.1];
        let x = Tensor::from_vec(xs.to_vec(), &[4]).unwrap();
        type F = fn(&Tensor) -> Tensor;
        let pairs: [(F, F); 5] = [
            (|t| t.gelu(), |t| t.gelu_grad()),
            (|t| t.gelu_tanh(), |t| t.gelu_tanh_grad()),
            (|t| t.silu(), |t| t.silu_grad()),
            (|t| t.softplus(), |t| t.softplus_grad()),
            (|t| t.erf(), |t| t.erf_grad()),
        ];
        for (f, df) in pairs {
            let g = df(&x).to_vec();
            for (i, &xi) in xs.iter().enumerate() {
                let h = 1e-2f64;
                let fp = f(&Tensor::scalar((xi as f64 + h) as f32)).to_vec()[0] as f64;
                let fm = f(&Tensor::scalar((xi as f64 - h) as f32)).to_vec()[0] as f64;
                let num = (fp - fm) / (2.0 * h);
                assert!(
                    (num - g[i] as f64).abs() < 1e-3,
                    "x={xi}: {num} vs {}",
                    g[i]
                );
            }
        }
    }
}
