//! Branch-free f32 `exp` that LLVM vectorises (the libm call does not), used by `exp`,
//! `sigmoid`, `silu`, softmax and logsumexp.
//!
//! Cephes-style: `x = n·ln2 + r` with `|r| ≤ ln2/2`, a degree-6 polynomial for `e^r`, and
//! `2^n` built from exponent bits. Maximum relative error about 2e-7 (≈ 2 ulp) on
//! `[-87.3, 88.7]`; results below `e^-87.33` (subnormal, < 1.2e-38) are flushed to 0, above
//! `e^88.72` give +∞, NaN gives NaN.

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
const MAX_X: f32 = 88.722_84;
const ROUND_MAGIC: f32 = 12_582_912.0;
const MIN_X: f32 = -87.336_55;

/// `e^x` for one f32 (see the module docs for accuracy).
// max/min chains on purpose (see the body); clippy's clamp suggestion changes codegen.
#[allow(clippy::manual_clamp)]
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    // min/max rather than clamp/floor: they lower to plain SSE2 instructions (the baseline
    // x86-64 target has no `roundps`, so `floor` would be a libm call and block vectorising).
    let xc = x.max(MIN_X).min(MAX_X);
    // Round to nearest by adding 1.5·2^23: the integer lands in the low mantissa bits.
    let t = xc * LOG2E + ROUND_MAGIC;
    let n = (t - ROUND_MAGIC).max(-126.0).min(127.0);
    let r = xc - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let y = p * r * r + r + 1.0;
    // n is an exact integer in [-126, 127]; rebuild it from bits to avoid a saturating cast.
    let ni = (n + ROUND_MAGIC).to_bits() as i32 - ROUND_MAGIC.to_bits() as i32;
    let scale = f32::from_bits(((ni + 127) as u32) << 23);
    let v = y * scale;
    let v = if x > MAX_X { f32::INFINITY } else { v };
    let v = if x < MIN_X { 0.0 } else { v };
    if x.is_nan() {
        x
    } else {
        v
    }
}

/// Logistic sigmoid `1 / (1 + e^-x)` built on [`exp_f32`] (branch-free, vectorisable).
#[inline(always)]
pub fn sigmoid_fast(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

/// `tanh x` as `1 − 2 / (e^{2x} + 1)` through [`exp_f32`] (branch-free, vectorisable).
/// Absolute error below 3e-7 everywhere (relative error grows as `x → 0`, where the result
/// is within 3e-7 of `x`); exactly ±1 for `|x| ≥ 44.4`, ±∞ gives ±1, NaN gives NaN, and
/// `-0.0` gives `+0.0`.
#[inline(always)]
pub fn tanh_fast(x: f32) -> f32 {
    1.0 - 2.0 / (exp_f32(2.0 * x) + 1.0)
}

/// Which SIMD instruction set the runtime-dispatched kernels use on this CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdLevel {
    /// AVX-512F (with AVX2 and FMA).
    Avx512,
    /// AVX2 with FMA.
    Avx2Fma,
    /// Baseline code (SSE2 on x86-64), no fused multiply-add.
    Portable,
}

/// Runs `f` compiled for the widest vector unit this CPU has: the closure is inlined into
/// a function built with AVX-512 (or AVX2 + FMA) enabled, so plain loops inside it are
/// auto-vectorised for that width even though the crate itself targets baseline x86-64.
/// `f` must be pure Rust with no feature-specific intrinsics; its results are the same at
/// every level (no fused multiply-add is introduced: Rust never contracts `a * b + c`).
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        match simd_level() {
            // SAFETY: the CPU supports the features the callee is compiled for.
            SimdLevel::Avx512 => return unsafe { run_avx512(f) },
            SimdLevel::Avx2Fma => return unsafe { run_avx2(f) },
            SimdLevel::Portable => {}
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
unsafe fn run_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// The best [`SimdLevel`] this CPU supports (detected once, then cached).
pub fn simd_level() -> SimdLevel {
    use std::sync::OnceLock;
    static LEVEL: OnceLock<SimdLevel> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            if avx2 && is_x86_feature_detected!("avx512f") {
                return SimdLevel::Avx512;
            }
            if avx2 {
                return SimdLevel::Avx2Fma;
            }
        }
        SimdLevel::Portable
    })
}

/// `pub fn $name(xs: &mut [f32])` applying the `#[inline(always)]` scalar function `$f` to
/// every element, built with [`dispatched!`] (so bit-identical to `$f` at every level).
macro_rules! dispatched_inplace {
    ($(#[$doc:meta])* $name:ident, $f:ident) => {
        $crate::ops::fastmath::dispatched! {
            $(#[$doc])*
            pub fn $name(xs: &mut [f32]) {
                // A plain loop: `for_each` with a closure is not inlined here, and then runs
                // at baseline width (the GELU gradient measured 3× slower that way).
                for x in xs.iter_mut() {
                    *x = $f(*x);
                }
            }
        }
    };
}

/// Defines `fn $name(args) -> R` that runs `$body` compiled for the widest vector unit this
/// CPU has (AVX-512, else AVX2 + FMA, else baseline). The body is an `#[inline(always)]`
/// inner function, so it and every `#[inline(always)]` function it calls (the lane
/// reductions of `ops::rowmath`, [`exp_f32`], ...) are compiled at that width; anything else
/// it calls runs at the baseline width. Results are the same at every level (Rust never
/// contracts `a * b + c` into an FMA). Arguments must not be `impl Trait` closures: a call
/// through `Fn` is not inlined across the feature boundary.
macro_rules! dispatched {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            {
                use $crate::ops::fastmath::{simd_level, SimdLevel};
                #[target_feature(enable = "avx512f,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                match simd_level() {
                    // SAFETY: `simd_level` reported the features these functions enable.
                    SimdLevel::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    SimdLevel::Avx2Fma => return unsafe { avx2($($arg),*) },
                    SimdLevel::Portable => {}
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use dispatched;

// The unary ops of `ops::unary` that are heavy enough to matter (GELU and its gradient)
// build their kernels with `dispatched_inplace!` too. A mapped closure passed through `Tensor::map`
// runs at baseline (SSE2) width: LLVM does not inline a non-`always` callee into a
// feature-enabled function, so only a direct call of an `#[inline(always)]` function, as
// here, is compiled 8 or 16 lanes wide.
pub(crate) use dispatched_inplace;

dispatched_inplace!(
    /// In-place [`sigmoid_fast`] over a slice, with AVX-512 / AVX2 runtime dispatch.
    sigmoid_inplace,
    sigmoid_fast
);

dispatched_inplace!(
    /// In-place [`exp_f32`] over a slice, with AVX-512 / AVX2 runtime dispatch (bit-identical
    /// to the scalar function: no operation is contracted into an FMA).
    exp_inplace,
    exp_f32
);

dispatched_inplace!(
    /// In-place [`tanh_fast`] over a slice, with AVX-512 / AVX2 runtime dispatch.
    tanh_inplace,
    tanh_fast
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_relative_error_is_small() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.5 {
            let want = (x as f64).exp();
            let got = exp_f32(x) as f64;
            worst = worst.max(((got - want) / want).abs());
            x += 0.001_37;
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(-1e4), 0.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert!((exp_f32(88.7) as f64 - 88.7f64.exp()).abs() / 88.7f64.exp() < 1e-5);
    }

    #[test]
    fn sigmoid_extremes() {
        assert_eq!(sigmoid_fast(-1e4), 0.0);
        assert_eq!(sigmoid_fast(1e4), 1.0);
        assert_eq!(sigmoid_fast(0.0), 0.5);
        let x = -3.5f32;
        let want = 1.0 / (1.0 + (3.5f64).exp());
        assert!(((sigmoid_fast(x) as f64 - want) / want).abs() < 5e-7);
    }

    fn sweep() -> Vec<f32> {
        let mut xs = vec![
            0.0, -0.0, 1e-30, -1e-30, 1e-6, -1e-6, 40.0, -40.0, 44.5, -44.5,
        ];
        xs.extend([
            1e4,
            -1e4,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]);
        let mut x = -100.0f32;
        while x < 100.0 {
            xs.push(x);
            x += 0.013_7;
        }
        xs
    }

    #[test]
    fn tanh_slice_matches_f64() {
        // Length not a multiple of any SIMD width, to cover the vector tails.
        let xs = sweep();
        let mut ys = xs.clone();
        tanh_inplace(&mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            let want = (x as f64).tanh();
            assert!(
                (y as f64 - want).abs() < 3e-7,
                "tanh({x}) = {y}, want {want}"
            );
            assert_eq!(y, tanh_fast(x), "slice and scalar differ at {x}");
        }
        assert_eq!(tanh_fast(50.0), 1.0);
        assert_eq!(tanh_fast(-50.0), -1.0);
        let mut nan = [f32::NAN, 1.0];
        tanh_inplace(&mut nan);
        assert!(nan[0].is_nan());
        assert!((nan[1] as f64 - 1f64.tanh()).abs() < 3e-7);
    }

    #[test]
    fn sigmoid_slice_matches_f64() {
        let xs = sweep();
        let mut ys = xs.clone();
        sigmoid_inplace(&mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            let want = 1.0 / (1.0 + (-(x as f64)).exp());
            // Relative accuracy where the result is a normal float, absolute below that.
            let tol = (want * 5e-7).max(1e-37);
            assert!(
                (y as f64 - want).abs() <= tol,
                "sigmoid({x}) = {y}, want {want}"
            );
            assert_eq!(y, sigmoid_fast(x));
        }
        let mut nan = [f32::NAN];
        sigmoid_inplace(&mut nan);
        assert!(nan[0].is_nan());
        let mut empty: [f32; 0] = [];
        sigmoid_inplace(&mut empty);
    }

    #[test]
    fn exp_slice_matches_the_scalar_function_bit_for_bit() {
        let mut xs = sweep();
        xs.extend([
            0.0,
            -0.0,
            88.8,
            -87.4,
            -200.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]);
        let mut ys = xs.clone();
        exp_inplace(&mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            assert_eq!(y.to_bits(), exp_f32(x).to_bits(), "exp({x})");
            let want = (x as f64).exp();
            if want.is_finite() && want > 1e-37 && want < 1e38 {
                assert!(
                    ((y as f64 - want) / want).abs() < 3e-7,
                    "exp({x}) = {y}, want {want}"
                );
            }
        }
        let mut nan = [f32::NAN];
        exp_inplace(&mut nan);
        assert!(nan[0].is_nan());
    }
}
