//! A diverging blue–white–red colormap (ColorBrewer RdBu, reversed).

const STOPS: [(f64, [f64; 3]); 5] = [
    (-1.0, [33.0, 102.0, 172.0]),
    (-0.5, [146.0, 197.0, 222.0]),
    (0.0, [247.0, 247.0, 247.0]),
    (0.5, [244.0, 165.0, 130.0]),
    (1.0, [178.0, 24.0, 43.0]),
];

/// Colour of `v ∈ [−1, 1]` (clamped): blue for negative, near-white at 0, red for
/// positive, linearly interpolated between five ColorBrewer RdBu stops.
pub fn diverging(v: f64) -> [u8; 3] {
    let v = if v.is_nan() { 0.0 } else { v.clamp(-1.0, 1.0) };
    let i = STOPS
        .iter()
        .rposition(|s| s.0 <= v)
        .unwrap_or(0)
        .min(STOPS.len() - 2);
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let t = (v - a.0) / (b.0 - a.0);
    std::array::from_fn(|c| (a.1[c] + t * (b.1[c] - a.1[c])).round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_middle() {
        assert_eq!(diverging(-1.0), [33, 102, 172]);
        assert_eq!(diverging(0.0), [247, 247, 247]);
        assert_eq!(diverging(1.0), [178, 24, 43]);
        assert_eq!(diverging(5.0), [178, 24, 43]);
        // halfway between 0 and 0.5 stops
        assert_eq!(diverging(0.25), [246, 206, 189]);
    }
}
