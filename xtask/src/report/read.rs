//! Reading the files a run leaves behind; each is optional, and a malformed one is an error
//! naming it.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::Path;

/// `history.csv`: the header and one row per epoch (an empty cell is `None`).
pub struct History {
    /// `epoch,train_loss,valid_loss,<metrics...>,time_s`.
    pub header: Vec<String>,
    /// The values of each epoch, as many as the header has names.
    pub rows: Vec<Vec<Option<f64>>>,
}

/// `interp.json`, a classification run's interpretation.
#[derive(Deserialize)]
pub struct Interp {
    /// The class names, in the matrix's order.
    pub vocab: Vec<String>,
    /// Counts, rows actual, columns predicted.
    pub confusion_matrix: Vec<Vec<f64>>,
    /// The most frequent mistakes.
    #[serde(default)]
    pub most_confused: Vec<Confused>,
    /// The items with the highest loss.
    #[serde(default)]
    pub top_losses: Vec<TopLoss>,
    /// The share of items predicted wrong.
    #[serde(default)]
    pub error_rate: Option<f64>,
    /// The number of items interpreted.
    #[serde(default)]
    pub n: Option<f64>,
}

/// One pair of classes often mistaken for one another.
#[derive(Deserialize)]
pub struct Confused {
    /// The actual class.
    pub actual: String,
    /// The class predicted instead.
    pub predicted: String,
    /// How many items.
    pub count: f64,
}

/// One item with a high loss. A JSON null (serde_json's NaN) is `None`.
#[derive(Deserialize)]
pub struct TopLoss {
    /// The item: a path or a row's description.
    pub item: String,
    /// Its class.
    pub actual: String,
    /// The class predicted.
    pub predicted: String,
    /// Its loss.
    pub loss: Option<f64>,
    /// The probability of the predicted class.
    pub probability: Option<f64>,
}

/// One row of `per_code.csv`, a segmentation run's scores by class.
pub struct CodeScore {
    /// The code (the mask's value).
    pub code: String,
    /// Its class name.
    pub name: String,
    /// Intersection over union, `None` when the code never occurs.
    pub iou: Option<f64>,
    /// The share of the code's pixels predicted right.
    pub pixel_accuracy: Option<f64>,
    /// Its pixels in the validation masks.
    pub pixels: String,
    /// The pixels predicted as it.
    pub predicted_pixels: String,
}

/// `lr_find.json`: the learning-rate finder's suggestions and curve.
#[derive(Deserialize)]
pub struct LrFind {
    /// fastai's suggestions by name.
    pub suggestions: Suggestions,
    /// The learning rates tried.
    #[serde(default)]
    pub lrs: Vec<Option<f64>>,
    /// The smoothed loss at each.
    #[serde(default)]
    pub losses: Vec<Option<f64>>,
}

/// The rates fastai's `lr_find` suggests.
#[derive(Deserialize)]
pub struct Suggestions {
    /// The middle of the longest valley.
    pub valley: Option<f64>,
    /// A tenth of the rate at the minimum loss.
    pub minimum: Option<f64>,
    /// Where the loss falls fastest.
    pub steep: Option<f64>,
    /// fastai's `slide` (none when it found none).
    #[serde(default)]
    pub slide: Option<f64>,
}

/// The text of `dir/name`, `None` when there is no such file.
fn text(dir: &Path, name: &str) -> Result<Option<String>> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// `dir/name` parsed as JSON of type `T`, `None` when there is no such file.
fn json<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<Option<T>> {
    let Some(t) = text(dir, name)? else {
        return Ok(None);
    };
    let path = dir.join(name);
    serde_json::from_str(&t)
        .map(Some)
        .with_context(|| format!("{}: not a well-formed {name}", path.display()))
}

/// `summary.json`, which must be a JSON object.
pub fn summary(dir: &Path) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
    match json::<serde_json::Value>(dir, "summary.json")? {
        None => Ok(None),
        Some(serde_json::Value::Object(map)) => Ok(Some(map)),
        Some(_) => bail!("{}: not a JSON object", dir.join("summary.json").display()),
    }
}

/// `interp.json`, its matrix checked square over the vocabulary.
pub fn interp(dir: &Path) -> Result<Option<Interp>> {
    let Some(interp) = json::<Interp>(dir, "interp.json")? else {
        return Ok(None);
    };
    let n = interp.vocab.len();
    let square = interp.confusion_matrix.len() == n
        && interp.confusion_matrix.iter().all(|row| row.len() == n);
    if !square {
        bail!(
            "{}: the confusion matrix is not {n} by {n} (one row and column per class of vocab)",
            dir.join("interp.json").display()
        );
    }
    Ok(Some(interp))
}

/// `lr_find.json`.
pub fn lr_find(dir: &Path) -> Result<Option<LrFind>> {
    json(dir, "lr_find.json")
}

/// The fields of one CSV line; a field in double quotes may hold commas and `""`.
fn fields(line: &str) -> Vec<String> {
    let (mut out, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}

/// A CSV file's header, and its rows each as long as the header.
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// `dir/name` as CSV, `None` when there is no such file.
fn csv(dir: &Path, name: &str) -> Result<Option<Csv>> {
    let Some(t) = text(dir, name)? else {
        return Ok(None);
    };
    let path = dir.join(name);
    let mut lines = t.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        bail!("{}: empty, with no header", path.display());
    };
    let header: Vec<String> = fields(header)
        .into_iter()
        .map(|f| f.trim().into())
        .collect();
    let rows = lines
        .enumerate()
        .map(|(i, line)| {
            let row = fields(line);
            if row.len() != header.len() {
                bail!(
                    "{}: line {} has {} fields, the header {}",
                    path.display(),
                    i + 2,
                    row.len(),
                    header.len()
                );
            }
            Ok(row)
        })
        .collect::<Result<_>>()?;
    Ok(Some(Csv { header, rows }))
}

/// A number of `file`; an empty field is `None`, text that is not a number an error.
fn number(field: &str, file: &Path, column: &str) -> Result<Option<f64>> {
    let t = field.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse()
        .map(Some)
        .with_context(|| format!("{}: `{t}` in `{column}` is not a number", file.display()))
}

/// `history.csv`.
pub fn history(dir: &Path) -> Result<Option<History>> {
    let Some(Csv { header, rows }) = csv(dir, "history.csv")? else {
        return Ok(None);
    };
    let path = dir.join("history.csv");
    let rows = rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&header)
                .map(|(v, col)| number(v, &path, col))
                .collect()
        })
        .collect::<Result<_>>()?;
    Ok(Some(History { header, rows }))
}

/// `per_code.csv`; its columns are found by name.
pub fn per_code(dir: &Path) -> Result<Option<Vec<CodeScore>>> {
    let Some(Csv { header, rows }) = csv(dir, "per_code.csv")? else {
        return Ok(None);
    };
    let path = dir.join("per_code.csv");
    let col = |name: &str| {
        header.iter().position(|h| h == name).with_context(|| {
            format!(
                "{}: no `{name}` column (the header is `{}`)",
                path.display(),
                header.join(",")
            )
        })
    };
    let [code, name, iou, acc, pixels, predicted] = [
        "code",
        "name",
        "iou",
        "pixel_accuracy",
        "pixels",
        "predicted_pixels",
    ]
    .map(col);
    let (code, name, iou, acc, pixels, predicted) = (code?, name?, iou?, acc?, pixels?, predicted?);
    let finite = |x: Option<f64>| x.filter(|x| x.is_finite());
    rows.iter()
        .map(|r| {
            Ok(CodeScore {
                code: r[code].trim().into(),
                name: r[name].trim().into(),
                iou: finite(number(&r[iou], &path, "iou")?),
                pixel_accuracy: finite(number(&r[acc], &path, "pixel_accuracy")?),
                pixels: r[pixels].trim().into(),
                predicted_pixels: r[predicted].trim().into(),
            })
        })
        .collect::<Result<_>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_be_quoted() {
        assert_eq!(
            fields(r#"1,"a, b","say ""hi""",x"#),
            ["1", "a, b", r#"say "hi""#, "x"]
        );
        assert_eq!(fields(""), [""]);
    }

    #[test]
    fn bad_history_and_per_code_name_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path().join("history.csv");
        std::fs::write(&h, "epoch,train_loss,time_s\n0,abc,1.0\n").unwrap();
        let e = format!("{:#}", history(dir.path()).err().unwrap());
        assert!(e.contains("history.csv") && e.contains("abc"), "{e}");
        std::fs::write(&h, "epoch,train_loss,time_s\n0,1.0\n").unwrap();
        let e = format!("{:#}", history(dir.path()).err().unwrap());
        assert!(e.contains("history.csv") && e.contains("line 2"), "{e}");
        std::fs::write(
            dir.path().join("per_code.csv"),
            "code,name,iou\n0,Sky,0.5\n",
        )
        .unwrap();
        let e = format!("{:#}", per_code(dir.path()).err().unwrap());
        assert!(
            e.contains("per_code.csv") && e.contains("pixel_accuracy"),
            "{e}"
        );
    }

    #[test]
    fn a_non_square_matrix_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("interp.json"),
            r#"{"vocab": ["a", "b"], "confusion_matrix": [[1, 2]]}"#,
        )
        .unwrap();
        let e = format!("{:#}", interp(dir.path()).err().unwrap());
        assert!(e.contains("interp.json") && e.contains("2 by 2"), "{e}");
    }
}
