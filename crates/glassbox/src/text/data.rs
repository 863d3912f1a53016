//! Labelled texts read from a CSV (or CSV.GZ) table: one text column, one label column.

use std::collections::BTreeSet;
use std::path::Path;

use glassbox_data::split::stratified_train_test_split;
use glassbox_data::{read_csv, ColumnType, CsvOptions, Table};

use crate::error::{Error, Result};

/// Texts with class indices into `classes` (sorted class names, as read).
#[derive(Debug, Clone, PartialEq)]
pub struct TextData {
    /// The texts.
    pub texts: Vec<String>,
    /// Class index of each text.
    pub labels: Vec<usize>,
    /// Class names; `labels` index into it.
    pub classes: Vec<String>,
}

impl TextData {
    /// Reads `path` (CSV, or gzip-compressed CSV by its `.gz` name) with `text_column` as
    /// the texts and `label_column` as the classes. A missing text is the empty text; a
    /// missing label is an error naming the row. Errors name the file and column.
    pub fn from_csv(path: impl AsRef<Path>, text_column: &str, label_column: &str) -> Result<Self> {
        let path = path.as_ref();
        if text_column == label_column {
            return Err(Error::Input(format!(
                "the text column and the label column are both `{text_column}`"
            )));
        }
        let options = CsvOptions::default()
            .with_type(text_column, ColumnType::Text)
            .with_type(label_column, ColumnType::Categorical);
        let table = read_csv(path, &options)?;
        Self::from_table(&table, text_column, label_column)
    }

    /// The texts of `text_column` and the classes of `label_column` of `table` (both
    /// string columns).
    pub fn from_table(table: &Table, text_column: &str, label_column: &str) -> Result<Self> {
        let source = table.source().to_string();
        let strings = |name: &str| -> Result<&[Option<String>]> {
            table.column(name)?.as_strings().ok_or_else(|| {
                Error::Input(format!(
                    "{source}: column `{name}` must hold strings (declare it text or categorical)"
                ))
            })
        };
        let texts: Vec<String> = strings(text_column)?
            .iter()
            .map(|t| t.clone().unwrap_or_default())
            .collect();
        let raw = strings(label_column)?;
        if let Some(row) = raw.iter().position(Option::is_none) {
            return Err(Error::Input(format!(
                "{source}: column `{label_column}` has no value in data row {}",
                row + 1
            )));
        }
        let classes: Vec<String> = raw
            .iter()
            .flatten()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if classes.len() < 2 {
            return Err(Error::Input(format!(
                "{source}: column `{label_column}` needs at least 2 classes, found {classes:?}"
            )));
        }
        let labels = raw
            .iter()
            .flatten()
            .map(|l| classes.binary_search(l).expect("collected above"))
            .collect();
        Ok(TextData {
            texts,
            labels,
            classes,
        })
    }

    /// Number of texts.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// `true` when there are no texts.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// The texts at `indices` (same classes).
    pub fn subset(&self, indices: &[usize]) -> TextData {
        TextData {
            texts: indices.iter().map(|&i| self.texts[i].clone()).collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes.clone(),
        }
    }

    /// A seeded stratified split: `(train, test)` with `test_fraction` of each class in
    /// the test part (glassbox-data's `stratified_train_test_split`).
    pub fn stratified_split(&self, test_fraction: f64, seed: u64) -> Result<(TextData, TextData)> {
        let (train, test) = stratified_train_test_split(&self.labels, test_fraction, seed)?;
        Ok((self.subset(&train), self.subset(&test)))
    }

    /// The texts as `&str`.
    pub fn text_refs(&self) -> Vec<&str> {
        self.texts.iter().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(csv: &str) -> Result<TextData> {
        let options = CsvOptions::default()
            .with_type("body", ColumnType::Text)
            .with_type("label", ColumnType::Categorical);
        let t = glassbox_data::read_csv_bytes(csv.as_bytes(), "mails.csv", &options)?;
        TextData::from_table(&t, "body", "label")
    }

    #[test]
    fn reads_texts_and_sorted_classes() {
        let d = table("body,label\nhello there,ham\n,spam\nwin now,spam\n").unwrap();
        assert_eq!(d.classes, ["ham", "spam"]);
        assert_eq!(d.labels, [0, 1, 1]);
        assert_eq!(d.texts, ["hello there", "", "win now"]);
        let s = d.subset(&[2, 0]);
        assert_eq!((s.texts[0].as_str(), s.labels[0]), ("win now", 1));
    }

    #[test]
    fn bad_columns_and_labels_are_named() {
        let e = table("text,label\nhello,ham\n").unwrap_err().to_string();
        assert!(e.contains("body"), "{e}");
        let e = table("body,label\nhello,ham\nbye,\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`label`") && e.contains("row 2"), "{e}");
        let e = table("body,label\nhello,ham\nbye,ham\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 2 classes"), "{e}");
    }
}
