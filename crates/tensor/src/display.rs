//! `Debug`/`Display` (NumPy-like, summarised when large) and serde (shape + data).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::tensor::Tensor;

/// Axes longer than this are summarised as `first 3, ..., last 3`.
const EDGE: usize = 3;
/// Tensors with more elements than this are summarised.
const SUMMARY_THRESHOLD: usize = 1000;

fn fmt_rec(
    t: &ndarray::ArrayViewD<'_, f32>,
    f: &mut fmt::Formatter<'_>,
    depth: usize,
    summarise: bool,
    prec: usize,
) -> fmt::Result {
    if t.ndim() == 0 {
        return write!(f, "{:.*}", prec, t[[] as [usize; 0]]);
    }
    let n = t.shape()[0];
    let idx: Vec<Option<usize>> = if summarise && n > 2 * EDGE {
        (0..EDGE)
            .map(Some)
            .chain([None])
            .chain((n - EDGE..n).map(Some))
            .collect()
    } else {
        (0..n).map(Some).collect()
    };
    write!(f, "[")?;
    for (j, i) in idx.iter().enumerate() {
        if j > 0 {
            if t.ndim() == 1 {
                write!(f, ", ")?;
            } else {
                write!(f, ",\n{}", " ".repeat(depth + 1))?;
            }
        }
        match i {
            Some(i) => fmt_rec(
                &t.index_axis(ndarray::Axis(0), *i),
                f,
                depth + 1,
                summarise,
                prec,
            )?,
            None => write!(f, "...")?,
        }
    }
    write!(f, "]")
}

impl fmt::Display for Tensor {
    /// Prints nested brackets like NumPy; `{:.2}` sets the precision (default 4). Tensors
    /// with more than 1000 elements show the first and last 3 entries of each axis.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prec = f.precision().unwrap_or(4);
        let summarise = self.len() > SUMMARY_THRESHOLD;
        fmt_rec(&self.as_array(), f, 0, summarise, prec)
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor(shape={:?}, ", self.shape())?;
        fmt::Display::fmt(self, f)?;
        write!(f, ")")
    }
}

#[derive(Serialize, Deserialize)]
struct Repr {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Serialize for Tensor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Repr {
            shape: self.shape().to_vec(),
            data: self.to_vec(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Tensor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = Repr::deserialize(d)?;
        Tensor::from_vec(r.data, &r.shape).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_small_and_large() {
        let t = Tensor::from_vec(vec![1., 2., 3., 4.], &[2, 2]).unwrap();
        assert_eq!(format!("{t:.1}"), "[[1.0, 2.0],\n [3.0, 4.0]]");
        assert_eq!(format!("{}", Tensor::scalar(0.5)), "0.5000");
        let big = Tensor::arange(0.0, 2000.0, 1.0).unwrap();
        assert_eq!(format!("{big:.0}"), "[0, 1, 2, ..., 1997, 1998, 1999]");
        assert!(format!("{t:?}").starts_with("Tensor(shape=[2, 2], "));
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let t = Tensor::from_vec(vec![1., 2., 3., 4., 5., 6.], &[3, 2])
            .unwrap()
            .t();
        let s = serde_json::to_string(&t).unwrap();
        assert_eq!(s, r#"{"shape":[2,3],"data":[1.0,3.0,5.0,2.0,4.0,6.0]}"#);
        let back: Tensor = serde_json::from_str(&s).unwrap();
        assert_eq!(back, t);
        let bad = serde_json::from_str::<Tensor>(r#"{"shape":[2,2],"data":[1.0]}"#);
        assert!(bad.unwrap_err().to_string().contains("from_vec"));
    }
}
