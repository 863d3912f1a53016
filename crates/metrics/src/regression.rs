//! Regression metrics (scikit-learn definitions, single output, no sample weights).

use crate::error::{check_finite, check_lengths, Result};

fn check(metric: &'static str, y_true: &[f64], y_pred: &[f64]) -> Result<()> {
    check_lengths(metric, y_true.len(), y_pred.len())?;
    check_finite(metric, y_true)?;
    check_finite(metric, y_pred)
}

fn mean(v: impl Iterator<Item = f64>, n: usize) -> f64 {
    v.sum::<f64>() / n as f64
}

/// Mean squared error.
pub fn mean_squared_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check("mean_squared_error", y_true, y_pred)?;
    Ok(mean(
        y_true.iter().zip(y_pred).map(|(a, b)| (a - b) * (a - b)),
        y_true.len(),
    ))
}

/// Root mean squared error.
pub fn root_mean_squared_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    Ok(mean_squared_error(y_true, y_pred)?.sqrt())
}

/// Mean absolute error.
pub fn mean_absolute_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check("mean_absolute_error", y_true, y_pred)?;
    Ok(mean(
        y_true.iter().zip(y_pred).map(|(a, b)| (a - b).abs()),
        y_true.len(),
    ))
}

/// Median of the absolute errors (mean of the two middle values for an even count).
pub fn median_absolute_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check("median_absolute_error", y_true, y_pred)?;
    let mut e: Vec<f64> = y_true
        .iter()
        .zip(y_pred)
        .map(|(a, b)| (a - b).abs())
        .collect();
    e.sort_by(f64::total_cmp);
    let n = e.len();
    Ok(if n % 2 == 1 {
        e[n / 2]
    } else {
        (e[n / 2 - 1] + e[n / 2]) / 2.0
    })
}

/// `1 − num / den` with scikit-learn's `force_finite` rule for a constant `y_true`
/// (1 for a perfect fit, else 0).
fn finite_ratio_score(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        if num == 0.0 {
            1.0
        } else {
            0.0
        }
    } else {
        1.0 - num / den
    }
}

/// Coefficient of determination R².
pub fn r2_score(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check("r2_score", y_true, y_pred)?;
    let n = y_true.len();
    let m = mean(y_true.iter().copied(), n);
    let ss_res: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    let ss_tot: f64 = y_true.iter().map(|a| (a - m) * (a - m)).sum();
    Ok(finite_ratio_score(ss_res, ss_tot))
}

/// Explained variance `1 − Var(y − ŷ) / Var(y)`.
pub fn explained_variance_score(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check("explained_variance_score", y_true, y_pred)?;
    let n = y_true.len();
    let diff: Vec<f64> = y_true.iter().zip(y_pred).map(|(a, b)| a - b).collect();
    let dm = mean(diff.iter().copied(), n);
    let num = mean(diff.iter().map(|d| (d - dm) * (d - dm)), n);
    let m = mean(y_true.iter().copied(), n);
    let den = mean(y_true.iter().map(|a| (a - m) * (a - m)), n);
    Ok(finite_ratio_score(num, den))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        let t = [3.0, -0.5, 2.0, 7.0];
        let p = [2.5, 0.0, 2.0, 8.0];
        // sklearn docs: MSE 0.375, MAE 0.5, median AE 0.5, R² 0.948..., EV 0.957...
        assert!((mean_squared_error(&t, &p).unwrap() - 0.375).abs() < 1e-15);
        assert!((mean_absolute_error(&t, &p).unwrap() - 0.5).abs() < 1e-15);
        assert!((median_absolute_error(&t, &p).unwrap() - 0.5).abs() < 1e-15);
        // R² = 1 - 1.5 / 29.1875
        assert!((r2_score(&t, &p).unwrap() - (1.0 - 1.5 / 29.1875)).abs() < 1e-15);
        assert_eq!(r2_score(&[1.0, 1.0], &[1.0, 1.0]).unwrap(), 1.0);
        assert_eq!(r2_score(&[1.0, 1.0], &[1.0, 2.0]).unwrap(), 0.0);
        assert!(mean_squared_error(&t, &p[..3]).is_err());
        assert!(mean_squared_error(&[f64::NAN], &[1.0]).is_err());
        assert!(mean_squared_error(&[], &[]).is_err());
    }
}
