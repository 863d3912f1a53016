//! Structural checks of a [`Report`] before it is written.

use crate::error::ReportError;
use crate::model::{AttributionMap, GrayImage, Report};

/// Largest accepted image or map side, in pixels (a guard against absurd allocations).
pub const MAX_IMAGE_SIDE: usize = 4096;

impl Report {
    /// Checks that every section is self-consistent: the confusion matrix is square and
    /// matches its class names, images and maps have `width * height` values, CV metrics
    /// have the same number of folds, curves have as many scores as fractions.
    ///
    /// [`Report::render_html`] never fails (it shows a notice in place of an invalid part);
    /// [`Report::write_html`] calls this first and refuses to write an invalid report.
    pub fn validate(&self) -> Result<(), ReportError> {
        if let Some(t) = &self.text_explanations {
            t.validate()?;
        }
        if let Some(cm) = &self.confusion {
            let n = cm.classes.len();
            if cm.counts.len() != n {
                return Err(ReportError::length(
                    "confusion matrix",
                    "counts (rows)",
                    n,
                    cm.counts.len(),
                ));
            }
            for (i, row) in cm.counts.iter().enumerate() {
                if row.len() != n {
                    return Err(ReportError::length(
                        "confusion matrix",
                        &format!("counts[{i}] (columns)"),
                        n,
                        row.len(),
                    ));
                }
            }
        }
        if let Some(cv) = &self.cross_validation {
            if let Some(first) = cv.metrics.first() {
                for m in &cv.metrics {
                    if m.fold_scores.len() != first.fold_scores.len() {
                        return Err(ReportError::length(
                            "cross validation",
                            &format!("metrics[{:?}].fold_scores", m.name),
                            first.fold_scores.len(),
                            m.fold_scores.len(),
                        ));
                    }
                }
            }
        }
        for (i, ex) in self.image_explanations.iter().enumerate() {
            let section = format!("image explanations[{i}]");
            check_image(&ex.image, &section)?;
            for (j, map) in ex.attributions.iter().enumerate() {
                check_map(
                    map,
                    &format!("{section}.attributions[{j}] ({:?})", map.method),
                )?;
            }
        }
        if let Some(checks) = &self.checks {
            for (i, curve) in checks.curves.iter().enumerate() {
                for s in &curve.series {
                    if s.scores.len() != s.fractions.len() {
                        return Err(ReportError::length(
                            format!("checks.curves[{i}] series {:?}", s.name),
                            "scores",
                            s.fractions.len(),
                            s.scores.len(),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_dims(
    width: usize,
    height: usize,
    len: usize,
    section: &str,
    field: &str,
) -> Result<(), ReportError> {
    if width == 0 || height == 0 {
        return Err(ReportError::invalid(
            section,
            "width/height",
            format!("{width}x{height} is empty"),
        ));
    }
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(ReportError::invalid(
            section,
            "width/height",
            format!("{width}x{height} exceeds the {MAX_IMAGE_SIDE}-pixel limit"),
        ));
    }
    if len != width * height {
        return Err(ReportError::length(section, field, width * height, len));
    }
    Ok(())
}

/// Checks an image's shape against its pixel count.
pub(crate) fn check_image(image: &GrayImage, section: &str) -> Result<(), ReportError> {
    check_dims(
        image.width,
        image.height,
        image.pixels.len(),
        section,
        "image.pixels",
    )
}

/// Checks a map's shape against its value count.
pub(crate) fn check_map(map: &AttributionMap, section: &str) -> Result<(), ReportError> {
    check_dims(map.width, map.height, map.values.len(), section, "values")
}
