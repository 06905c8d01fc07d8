//! The fitted tabular processor: fastai's `TabularPandas` procs, fitted on the training rows
//! and applied unchanged to validation, test and new rows.

use super::categorify::{self, CategoryMap};
use super::column;
use super::data::TabularData;
use super::fill_missing::{self, na_name};
use super::normalize::{denormalize, mean_std, normalize};
use super::procs::Proc;
use super::target::{TargetMap, YBlock};
use crate::error::{Error, Result};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

/// What to process: the columns, the target and the procs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TabularSpec {
    /// The categorical columns.
    pub cat_names: Vec<String>,
    /// The continuous columns.
    pub cont_names: Vec<String>,
    /// The target column (one; fastai allows several).
    pub y_name: Option<String>,
    /// What kind of target it is.
    pub y_block: YBlock,
    /// The procs, in any order.
    pub procs: Vec<Proc>,
}

/// Tabular preprocessing fitted on the training rows.
///
/// The procs follow fastai exactly, and run in the order FillMissing, Categorify, Normalize:
/// - FillMissing: each continuous column with a missing value in the training rows gets its
///   training median as fill value (pandas' median) and a `<col>_na` flag column, appended to
///   the categorical columns after the user's. Unlike fastai, which fails, a missing value in
///   other rows of a column that had none in training is filled with that column's training
///   median, without a flag column.
/// - Categorify: one vocabulary per categorical column, `#na#` then the sorted unique training
///   values; missing and unseen values get code 0. Categorical columns are always encoded, as a
///   model can only take codes: listing Categorify is fastai's way of saying so.
/// - Normalize: `(x - mean) / std` with the training mean and std (ddof 0, plus `1e-7`),
///   computed after filling. Without Normalize, continuous values pass unchanged (and, without
///   FillMissing, missing ones stay NaN).
///
/// The target is classification over the sorted unique training values (no `#na#`), or
/// regression; see [`YBlock`]. The processor serialises with serde, to be saved beside a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TabularProcessor {
    user_cat_names: Vec<String>,
    cat_names: Vec<String>,
    cont_names: Vec<String>,
    y_name: Option<String>,
    procs: Vec<Proc>,
    maps: Vec<CategoryMap>,
    medians: Vec<f64>,
    na_conts: Vec<usize>,
    means: Option<Vec<f64>>,
    stds: Option<Vec<f64>>,
    target: Option<TargetMap>,
}

impl TabularProcessor {
    /// Fits the procs on `train_rows` of `df`, with the target kind decided by
    /// [`YBlock::Auto`]. `file_label` names the data in errors.
    pub fn fit<S: AsRef<str>>(
        df: &DataFrame,
        train_rows: &[usize],
        cat_names: &[S],
        cont_names: &[S],
        y_name: Option<&str>,
        procs: &[Proc],
        file_label: &str,
    ) -> Result<Self> {
        let spec = TabularSpec {
            cat_names: cat_names.iter().map(|s| s.as_ref().to_string()).collect(),
            cont_names: cont_names.iter().map(|s| s.as_ref().to_string()).collect(),
            y_name: y_name.map(String::from),
            y_block: YBlock::Auto,
            procs: procs.to_vec(),
        };
        Self::fit_spec(df, train_rows, &spec, file_label)
    }

    /// Fits the procs of `spec` on `train_rows` of `df`.
    pub fn fit_spec(
        df: &DataFrame,
        train_rows: &[usize],
        spec: &TabularSpec,
        file_label: &str,
    ) -> Result<Self> {
        let file = file_label;
        if train_rows.is_empty() {
            return Err(Error::BadSplit {
                reason: format!("{file}: there is no training row"),
            });
        }
        column::check_rows(df, train_rows, file)?;
        let all_names = spec
            .cat_names
            .iter()
            .chain(&spec.cont_names)
            .chain(&spec.y_name);
        for name in all_names {
            column::get(df, name, file)?;
        }
        let procs = Proc::in_fastai_order(&spec.procs);
        let fill = procs.contains(&Proc::FillMissing);

        let mut conts = Vec::with_capacity(spec.cont_names.len());
        let mut medians = Vec::with_capacity(spec.cont_names.len());
        let mut na_conts = Vec::new();
        for (j, name) in spec.cont_names.iter().enumerate() {
            let mut values = column::numbers(df, name, file, train_rows)?;
            let median = fill_missing::median(&values);
            if median.is_nan() {
                return Err(Error::AllMissing {
                    file: file.to_string(),
                    column: name.clone(),
                });
            }
            if fill && fill_missing::fill(&mut values, median).contains(&true) {
                na_conts.push(j);
            }
            medians.push(median);
            conts.push(values);
        }

        let mut maps = Vec::with_capacity(spec.cat_names.len() + na_conts.len());
        for name in &spec.cat_names {
            let ca = column::strings(column::get(df, name, file)?, file)?;
            let all: Vec<Option<&str>> = ca.iter().collect();
            maps.push(CategoryMap::fit(train_rows.iter().map(|&r| all[r])));
        }
        maps.extend(na_conts.iter().map(|_| CategoryMap::boolean()));
        let mut cat_names = spec.cat_names.clone();
        cat_names.extend(na_conts.iter().map(|&j| na_name(&spec.cont_names[j])));

        let (means, stds) = if procs.contains(&Proc::Normalize) {
            let (m, s): (Vec<f64>, Vec<f64>) = conts.iter().map(|v| mean_std(v)).unzip();
            (Some(m), Some(s))
        } else {
            (None, None)
        };

        let target = match &spec.y_name {
            Some(y) => Some(TargetMap::fit(df, y, spec.y_block, train_rows, file)?),
            None => None,
        };

        Ok(Self {
            user_cat_names: spec.cat_names.clone(),
            cat_names,
            cont_names: spec.cont_names.clone(),
            y_name: spec.y_name.clone(),
            procs,
            maps,
            medians,
            na_conts,
            means,
            stds,
            target,
        })
    }

    /// Applies the fitted procs to `rows` of `df` (all rows when `None`). With `labelled`, the
    /// targets are encoded too; a missing one is [`Error::MissingTarget`] and a class unseen in
    /// training is [`Error::UnseenTarget`].
    pub fn process(
        &self,
        df: &DataFrame,
        rows: Option<&[usize]>,
        labelled: bool,
        file_label: &str,
    ) -> Result<TabularData> {
        let file = file_label;
        let all_rows: Vec<usize>;
        let rows = match rows {
            Some(r) => r,
            None => {
                all_rows = (0..df.height()).collect();
                &all_rows
            }
        };
        column::check_rows(df, rows, file)?;
        let n = rows.len();
        let fill = self.procs.contains(&Proc::FillMissing);

        let mut cont_cols = Vec::with_capacity(self.cont_names.len());
        let mut na_flags = Vec::with_capacity(self.na_conts.len());
        for (j, name) in self.cont_names.iter().enumerate() {
            let mut values = column::numbers(df, name, file, rows)?;
            if fill {
                let missing = fill_missing::fill(&mut values, self.medians[j]);
                if self.na_conts.contains(&j) {
                    na_flags.push(missing);
                }
            }
            if let (Some(means), Some(stds)) = (&self.means, &self.stds) {
                for x in &mut values {
                    *x = normalize(*x, means[j], stds[j]);
                }
            }
            cont_cols.push(values);
        }

        let mut cat_cols: Vec<Vec<u32>> = Vec::with_capacity(self.cat_names.len());
        for (name, map) in self.user_cat_names.iter().zip(&self.maps) {
            let ca = column::strings(column::get(df, name, file)?, file)?;
            let all: Vec<Option<&str>> = ca.iter().collect();
            let encoder = map.encoder();
            cat_cols.push(
                rows.iter()
                    .map(|&r| categorify::encode(&encoder, all[r]))
                    .collect(),
            );
        }
        for flags in na_flags {
            cat_cols.push(flags.into_iter().map(fill_missing::flag_code).collect());
        }

        let (n_cat, n_cont) = (cat_cols.len(), cont_cols.len());
        let mut cats = Vec::with_capacity(n * n_cat);
        let mut conts = Vec::with_capacity(n * n_cont);
        for i in 0..n {
            cats.extend(cat_cols.iter().map(|c| c[i]));
            conts.extend(cont_cols.iter().map(|c| c[i] as f32));
        }

        let ys = if labelled {
            match (&self.target, &self.y_name) {
                (Some(target), Some(y)) => Some(target.encode(df, y, rows, file)?),
                _ => {
                    return Err(Error::BadData {
                        what: file.to_string(),
                        reason: "labelled rows were asked for, but the processor was fitted \
                                 without a target column (y_name)"
                            .into(),
                    });
                }
            }
        } else {
            None
        };
        Ok(TabularData {
            cats,
            conts,
            ys,
            n_rows: n,
            n_cat,
            n_cont,
        })
    }

    /// Rows `rows` of processed `data` back to their values, as a table (fastai's `decode`, for
    /// `show_batch` and `show_results`): the categorical columns by name ([`NA`](super::NA) for
    /// code 0), the `<col>_na` flags as booleans, the continuous columns un-normalised (`f32`),
    /// and the target by class name (or value, `f32`) when `data` is labelled; in the order of
    /// [`Self::cat_names`], [`Self::cont_names`], then the target.
    ///
    /// Categories and targets come back exactly. Continuous values come back as exactly as the
    /// `f32` processed values allow: within about `1e-7 * std` of the column's std for a
    /// normalised column. Data of another shape than this processor's, a row past `data`, or a
    /// code past its vocabulary is [`Error::BadData`].
    pub fn decode(&self, data: &TabularData, rows: &[usize]) -> Result<DataFrame> {
        let what = "decoding processed rows";
        data.check(what)?;
        let bad = |reason: String| Error::BadData {
            what: what.to_string(),
            reason,
        };
        if (data.n_cat, data.n_cont) != (self.cat_names.len(), self.cont_names.len()) {
            return Err(bad(format!(
                "the rows have {} categorical and {} continuous columns, the processor {} and {}",
                data.n_cat,
                data.n_cont,
                self.cat_names.len(),
                self.cont_names.len()
            )));
        }
        if let Some(r) = rows.iter().find(|&&r| r >= data.n_rows) {
            return Err(bad(format!("row {r} asked for, of {} rows", data.n_rows)));
        }
        let mut columns = Vec::with_capacity(data.n_cat + data.n_cont + 1);
        for (j, (name, map)) in self.cat_names.iter().zip(&self.maps).enumerate() {
            let codes: Vec<u32> = rows.iter().map(|&r| data.cat_row(r)[j]).collect();
            if let Some(c) = codes.iter().find(|&&c| c as usize >= map.len()) {
                return Err(bad(format!(
                    "code {c} in `{name}` is past its vocabulary of {}",
                    map.len()
                )));
            }
            let column = if j < self.user_cat_names.len() {
                let values: Vec<&str> = codes.iter().filter_map(|&c| map.decode(c)).collect();
                Column::new(name.as_str().into(), values)
            } else {
                let flags: Vec<Option<bool>> =
                    codes.into_iter().map(fill_missing::decode_flag).collect();
                Column::new(name.as_str().into(), flags)
            };
            columns.push(column);
        }
        for (j, name) in self.cont_names.iter().enumerate() {
            // Un-normalised in f64, rounded to the 7 digits of the column's std that an f32
            // normalised value carries, and given back as f32: 34 and 23438, not 34.000001
            // and 23438.002.
            let values: Vec<f32> = rows
                .iter()
                .map(|&r| {
                    let x = f64::from(data.cont_row(r)[j]);
                    let x = match (&self.means, &self.stds) {
                        (Some(m), Some(s)) => {
                            let step = 10f64.powi(s[j].abs().max(1e-30).log10().floor() as i32 - 6);
                            (denormalize(x, m[j], s[j]) / step).round() * step
                        }
                        _ => x,
                    };
                    x as f32
                })
                .collect();
            columns.push(Column::new(name.as_str().into(), values));
        }
        if let (Some(ys), Some(target), Some(y)) = (&data.ys, &self.target, &self.y_name) {
            columns.push(target.decode(ys, rows, y)?);
        }
        DataFrame::new(rows.len(), columns).map_err(|e| bad(e.to_string()))
    }

    /// The categorical columns: the user's, then the `<col>_na` flags FillMissing added.
    pub fn cat_names(&self) -> &[String] {
        &self.cat_names
    }

    /// The continuous columns.
    pub fn cont_names(&self) -> &[String] {
        &self.cont_names
    }

    /// The target column.
    pub fn y_name(&self) -> Option<&str> {
        self.y_name.as_deref()
    }

    /// The procs, in the order they run.
    pub fn procs(&self) -> &[Proc] {
        &self.procs
    }

    /// The vocabulary size of each categorical column (in [`Self::cat_names`] order), `#na#`
    /// included: the embedding sizes a model needs.
    pub fn cardinalities(&self) -> Vec<usize> {
        self.maps.iter().map(CategoryMap::len).collect()
    }

    /// The vocabulary of the categorical column `col` (`#na#` first).
    pub fn vocab(&self, col: &str) -> Option<&[String]> {
        let i = self.cat_names.iter().position(|c| c == col)?;
        Some(self.maps[i].vocab())
    }

    /// The target classes (sorted unique training values, no `#na#`), for classification.
    pub fn classes(&self) -> Option<&[String]> {
        match &self.target {
            Some(TargetMap::Classes(c)) => Some(c),
            _ => None,
        }
    }

    /// Whether the target is a category.
    pub fn is_classification(&self) -> bool {
        matches!(self.target, Some(TargetMap::Classes(_)))
    }

    /// The training median of each continuous column (the FillMissing fill values).
    pub fn medians(&self) -> &[f64] {
        &self.medians
    }

    /// The training mean of each continuous column, with Normalize.
    pub fn means(&self) -> Option<&[f64]> {
        self.means.as_deref()
    }

    /// The training std (ddof 0, plus `1e-7`) of each continuous column, with Normalize.
    pub fn stds(&self) -> Option<&[f64]> {
        self.stds.as_deref()
    }
}
