//! fastai's `dls.show_batch()` and `learn.show_results()` for tables: rows decoded back to
//! what the CSV said (categories by name, continuous values un-normalised, the target by class
//! name), as a polars `DataFrame`, and [`FullTable`] to print every row and column of one.
//!
//! ```no_run
//! # use fastcandle::tabular::prelude::*;
//! # use fastcandle::tabular::FullTable;
//! # fn main() -> fastcandle::Result<()> {
//! # let dls = TabularDataLoaders::from_csv("adult.csv").y_names(["salary"]).build()?;
//! println!("{}", FullTable(&dls.show_batch(10)?));
//! let learn = tabular_learner(&dls)?;
//! println!("{}", FullTable(&learn.show_results(10)?));
//! # Ok(())
//! # }
//! ```

use super::learner::predict_data;
use super::{TabularDataLoaders, TabularLearner};
use crate::error::{Error, Result};
use fastcandle_data::{DataFrame, TabularData};
use polars::prelude::{Column, DataType};
use std::fmt;

impl TabularDataLoaders {
    /// fastai's `dls.show_batch()`: the first `n` rows of the first training batch (epoch 0's
    /// shuffle), decoded: categorical columns by name (`#na#` for a missing or unseen value),
    /// FillMissing's `<col>_na` flags as booleans, continuous columns un-normalised (a missing
    /// value shows as the training median it was filled with), then the target by class name.
    ///
    /// `n` larger than the batch gives the whole batch (the batch size, or every training row
    /// when there are fewer); `n = 0` gives the columns without rows. Print it with
    /// `println!("{df}")`, or with [`FullTable`] to see every column.
    pub fn show_batch(&self, n: usize) -> Result<DataFrame> {
        let loader = self.loaders();
        let rows: Vec<usize> = loader
            .train_order(0)
            .into_iter()
            .take(n.min(self.bs()))
            .collect();
        Ok(self.processor().decode(loader.train_data(), &rows)?)
    }
}

impl TabularLearner {
    /// fastai's `learn.show_results()`: the first `n` validation rows decoded as in
    /// [`TabularDataLoaders::show_batch`] (the target included), and a `<target>_pred` column
    /// with the model's prediction: the class name for classification, the value (`f32`) for
    /// regression.
    ///
    /// `n` larger than the validation set gives every validation row; `n = 0` gives the
    /// columns without rows. The rows are those of the loaders the learner was built on.
    pub fn show_results(&self, n: usize) -> Result<DataFrame> {
        let valid = self.loader.valid_data();
        let k = n.min(valid.n_rows);
        let rows: Vec<usize> = (0..k).collect();
        let mut df = self.processor.decode(valid, &rows)?;
        let first = TabularData {
            cats: valid.cats[..k * valid.n_cat].to_vec(),
            conts: valid.conts[..k * valid.n_cont].to_vec(),
            ys: None,
            n_rows: k,
            n_cat: valid.n_cat,
            n_cont: valid.n_cont,
        };
        let preds = predict_data(
            self.learn.model.as_ref(),
            &self.processor,
            self.learn.dls.device(),
            first,
        )?;
        let name = format!("{}_pred", self.processor.y_name().unwrap_or("target"));
        let column = if self.processor.is_classification() {
            let labels: Vec<&str> = preds.iter().map(|p| p.label.as_str()).collect();
            Column::new(name.as_str().into(), labels)
        } else {
            let values: Vec<f32> = preds
                .iter()
                .map(|p| p.probs.first().copied().unwrap_or(f32::NAN))
                .collect();
            Column::new(name.as_str().into(), values)
        };
        df.with_column(column)
            .map_err(|e| Error::Invalid(format!("show_results: {e}")))?;
        Ok(df)
    }
}

/// Prints every row and column of a `DataFrame` as a plain table, where polars' `Display`
/// elides past 8 columns and 10 rows: text left-aligned, numbers right-aligned, and each float
/// column with as few decimals (at most six) as shows all its values, as pandas prints them.
///
/// `println!("{}", FullTable(&dls.show_batch(10)?))`.
pub struct FullTable<'a>(pub &'a DataFrame);

impl fmt::Display for FullTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let columns: Vec<(String, Vec<String>, bool)> = self
            .0
            .columns()
            .iter()
            .map(|c| {
                let numeric = c.dtype().is_primitive_numeric();
                (c.name().to_string(), cells(c), numeric)
            })
            .collect();
        let widths: Vec<usize> = columns
            .iter()
            .map(|(name, cells, _)| {
                cells
                    .iter()
                    .chain(std::iter::once(name))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cell: &dyn Fn(usize) -> String| {
            let parts: Vec<String> = columns
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(j, ((_, _, numeric), &w))| {
                    if *numeric {
                        format!("{:>w$}", cell(j))
                    } else {
                        format!("{:<w$}", cell(j))
                    }
                })
                .collect();
            parts.join("  ").trim_end().to_string()
        };
        writeln!(f, "{}", line(&|j| columns[j].0.clone()))?;
        for i in 0..self.0.height() {
            writeln!(f, "{}", line(&|j| columns[j].1[i].clone()))?;
        }
        Ok(())
    }
}

/// Every row of `df` as text, column by column as [`FullTable`] prints them (floats with the
/// decimals their column needs, a missing value as `None`): for pictures and reports.
pub fn frame_rows(df: &DataFrame) -> Vec<Vec<String>> {
    let columns: Vec<Vec<String>> = df.columns().iter().map(cells).collect();
    (0..df.height())
        .map(|i| columns.iter().map(|c| c[i].clone()).collect())
        .collect()
}

/// The column's values as text (a missing one as `None`, as pandas prints it).
fn cells(c: &Column) -> Vec<String> {
    const MISSING: &str = "None";
    if c.dtype().is_float() {
        let values: Vec<Option<f64>> = match c.cast(&DataType::Float64) {
            Ok(c) => c.f64().map(|ca| ca.iter().collect()).unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        return float_cells(&values, MISSING);
    }
    match c.cast(&DataType::String) {
        Ok(s) => match s.str() {
            Ok(ca) => ca
                .iter()
                .map(|v| v.unwrap_or(MISSING).to_string())
                .collect(),
            Err(_) => vec![String::new(); c.len()],
        },
        Err(_) => vec![String::new(); c.len()],
    }
}

/// Six decimals, less the trailing zeros every finite value of the column has (one decimal
/// kept): `39.0` and `40.5`, but `38.999996` and `40.000000` together.
fn float_cells(values: &[Option<f64>], missing: &str) -> Vec<String> {
    let fixed: Vec<Option<String>> = values
        .iter()
        .map(|v| v.filter(|x| x.is_finite()).map(|x| format!("{x:.6}")))
        .collect();
    let drop = fixed
        .iter()
        .flatten()
        .map(|s| s.len() - s.trim_end_matches('0').len())
        .min()
        .unwrap_or(0)
        .min(5);
    values
        .iter()
        .zip(fixed)
        .map(|(v, s)| match (v, s) {
            (_, Some(s)) => s[..s.len() - drop].to_string(),
            (Some(x), None) => format!("{x}"),
            (None, _) => missing.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabular::prelude::*;
    use std::path::Path;

    /// Rows 0-6 train, 7-9 validate. Training sizes 1.5 _ 3.25 10 7 2 4.5: median
    /// (3.25 + 4.5) / 2 = 3.875. Row 4's colour is missing, row 9's (`purple`) unseen.
    const CSV: &str = "color,size,kind\n\
        red,1.5,cat\nblue,,dog\ngreen,3.25,cat\nred,10,dog\n,7,cat\nblue,2,dog\ngreen,4.5,cat\n\
        red,6,dog\nblue,,cat\npurple,8,dog\n";
    const MEDIAN: f64 = 3.875;

    /// What each row should decode to: colour, size_na, size, kind.
    fn expected(row: usize) -> (&'static str, bool, f64, &'static str) {
        let colors = [
            "red", "blue", "green", "red", "#na#", "blue", "green", "red", "blue", "#na#",
        ];
        let sizes = [1.5, f64::NAN, 3.25, 10.0, 7.0, 2.0, 4.5, 6.0, f64::NAN, 8.0];
        let kinds = ["cat", "dog"];
        let missing = sizes[row].is_nan();
        let size = if missing { MEDIAN } else { sizes[row] };
        (colors[row], missing, size, kinds[row % 2])
    }

    fn dls(dir: &Path, y_block: YBlock) -> TabularDataLoaders {
        let path = dir.join("tiny.csv");
        std::fs::write(&path, CSV).unwrap();
        TabularDataLoaders::from_csv(&path)
            .y_names(["kind"])
            .cat_names(["color"])
            .cont_names(["size"])
            .procs([Categorify, FillMissing, Normalize])
            .y_block(y_block)
            .valid_idx([7, 8, 9])
            .bs(4)
            .seed(3)
            .device(DeviceChoice::Cpu)
            .build()
            .unwrap()
    }

    fn text(df: &DataFrame, col: &str) -> Vec<String> {
        let c = df.column(col).unwrap().str().unwrap();
        c.iter().map(|v| v.unwrap().to_string()).collect()
    }

    /// Checks that `df` holds `rows` of the CSV, decoded.
    fn assert_rows(df: &DataFrame, rows: &[usize]) {
        assert_eq!(df.height(), rows.len());
        let flags: Vec<Option<bool>> = df
            .column("size_na")
            .unwrap()
            .bool()
            .unwrap()
            .iter()
            .collect();
        let sizes: Vec<Option<f64>> = df
            .column("size")
            .unwrap()
            .f32()
            .unwrap()
            .iter()
            .map(|v| v.map(f64::from))
            .collect();
        let (colors, kinds) = (text(df, "color"), text(df, "kind"));
        for (i, &r) in rows.iter().enumerate() {
            let (color, missing, size, kind) = expected(r);
            assert_eq!(colors[i], color, "row {r}");
            assert_eq!(flags[i], Some(missing), "row {r}");
            let got = sizes[i].unwrap();
            assert!(
                (got - size).abs() < 1e-4,
                "row {r}: size {got}, want {size}"
            );
            assert_eq!(kinds[i], kind, "row {r}");
        }
    }

    #[test]
    fn show_batch_gives_back_the_rows_of_the_first_batch() {
        let dir = tempfile::tempdir().unwrap();
        let dls = dls(dir.path(), YBlock::Auto);
        let df = dls.show_batch(3).unwrap();
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, ["color", "size_na", "size", "kind"]);
        // Training rows are 0-6 in order; epoch 0 shuffles them.
        let order = dls.loaders().train_order(0);
        assert_rows(&df, &order[..3]);
        // More than a batch: the batch (bs 4). None: the columns only.
        assert_rows(&dls.show_batch(100).unwrap(), &order[..4]);
        let empty = dls.show_batch(0).unwrap();
        assert_eq!((empty.height(), empty.width()), (0, 4));
    }

    #[test]
    fn show_results_adds_the_predicted_class() {
        let dir = tempfile::tempdir().unwrap();
        let dls = dls(dir.path(), YBlock::Auto);
        let learn = tabular_learner(&dls).unwrap();
        let df = learn.show_results(2).unwrap();
        assert_rows(&df, &[7, 8]);
        let preds = text(&df, "kind_pred");
        assert_eq!(preds.len(), 2);
        for (p, row) in preds.iter().zip([("red", "6"), ("blue", "")]) {
            assert!(["cat", "dog"].contains(&p.as_str()), "{p}");
            let q = learn
                .predict_one(&[("color", row.0), ("size", row.1)])
                .unwrap();
            assert_eq!(&q.label, p);
        }
        // Too many: every validation row. None: the columns only.
        let all = learn.show_results(50).unwrap();
        assert_rows(&all, &[7, 8, 9]);
        assert_eq!(all.column("kind_pred").unwrap().len(), 3);
        let empty = learn.show_results(0).unwrap();
        assert_eq!((empty.height(), empty.width()), (0, 5));
    }

    #[test]
    fn show_results_of_a_regression_gives_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(
            &path,
            "color,size,price\nred,1,2.5\nblue,2,3.5\nred,3,1.25\nblue,4,0.5\n",
        )
        .unwrap();
        let dls = TabularDataLoaders::from_csv(&path)
            .y_names(["price"])
            .cat_names(["color"])
            .cont_names(["size"])
            .procs([Categorify, Normalize])
            .valid_idx([2, 3])
            .bs(2)
            .device(DeviceChoice::Cpu)
            .build()
            .unwrap();
        let df = tabular_learner(&dls).unwrap().show_results(5).unwrap();
        let price: Vec<f32> = df
            .column("price")
            .unwrap()
            .f32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(price, [1.25, 0.5]);
        let pred = df.column("price_pred").unwrap().f32().unwrap();
        assert_eq!(pred.len(), 2);
        assert!(pred.into_no_null_iter().all(f32::is_finite));
    }

    #[test]
    fn full_table_prints_every_column_and_row() {
        let dir = tempfile::tempdir().unwrap();
        let dls = dls(dir.path(), YBlock::Auto);
        let df = dls.show_batch(4).unwrap();
        let text = FullTable(&df).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        for name in ["color", "size_na", "size", "kind"] {
            assert!(lines[0].contains(name), "{text}");
        }
        assert!(!text.contains('…'));

        let wide: Vec<Column> = (0..12)
            .map(|j| Column::new(format!("c{j}").into(), [j as f64, 0.5]))
            .collect();
        let wide = DataFrame::new(2, wide).unwrap();
        let text = FullTable(&wide).to_string();
        assert!(text.lines().next().unwrap().ends_with("c11"), "{text}");
        assert!(text.contains("11.0"), "{text}");
        assert_eq!(
            float_cells(&[Some(39.0), Some(40.5), None, Some(f64::NAN)], "None"),
            ["39.0", "40.5", "None", "NaN"]
        );
        assert_eq!(
            float_cells(&[Some(38.999996), Some(40.0)], "None"),
            ["38.999996", "40.000000"]
        );
    }
}
