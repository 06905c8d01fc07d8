//! `report.html`: one static page that shows a whole run, made from the files the run left in
//! its folder (settings, metrics, the epoch table, the pictures, the interpretation).
//!
//! The page has no script and loads nothing from the network: the CSS is inline and the pictures
//! are the run's own PNGs by relative name, so the folder can be copied, zipped or opened from a
//! file browser and still shows everything. Every file is optional but a malformed one is an
//! error naming it, as a report that silently dropped a section would mislead.

mod html;
mod read;

use anyhow::{Context, Result};
use html::{compact, count, escape, fixed4, percent, url};
use read::{CodeScore, History, Interp, LrFind};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The pictures a run may draw, in the order the page shows them, each with a caption.
const FIGURES: [(&str, &str); 7] = [
    (
        "batch.png",
        "A training batch as the model sees it (show_batch; sound as spectrograms, low \
         frequencies at the bottom)",
    ),
    ("loss.png", "Training and validation loss"),
    (
        "sched.png",
        "Learning rate and momentum over the training batches",
    ),
    (
        "lr_find.png",
        "Learning-rate finder: loss against learning rate",
    ),
    ("results.png", "Predictions on validation items"),
    (
        "confusion_matrix.png",
        "Confusion matrix on the validation set (rows actual, columns predicted)",
    ),
    (
        "top_losses.png",
        "Validation items with the highest loss (predicted, actual, loss, probability)",
    ),
];

/// A segmentation run's caption of `file`, where it differs from a classifier's.
fn segmentation_caption(file: &str) -> Option<&'static str> {
    match file {
        "results.png" => Some("Validation images: image | true mask | predicted mask"),
        "confusion_matrix.png" => Some(
            "Pixel confusion matrix on the validation set (rows actual, columns predicted; each \
             row's shares)",
        ),
        "top_losses.png" => Some(
            "Validation images with the highest loss: image | true mask | predicted mask, the \
             loss and the share of pixels right",
        ),
        _ => None,
    }
}

/// The settings shown first, in this order; the summary's other keys follow alphabetically.
const SETTINGS_FIRST: [&str; 10] = [
    "task",
    "data",
    "arch",
    "pretrained",
    "size",
    "seed",
    "device",
    "epochs",
    "bs",
    "lr",
];

/// The run's data files the page links to when they are there.
const DATA_FILES: [&str; 6] = [
    "summary.json",
    "history.csv",
    "interp.json",
    "per_code.csv",
    "lr_find.json",
    "model.safetensors",
];

const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;\
margin:2em auto;padding:0 1em;color:#222;line-height:1.4}\
h1{font-size:1.6em;margin-bottom:.2em}\
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}\
table{border-collapse:collapse;margin:.5em 0 1em}\
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}\
td.num{text-align:right;font-variant-numeric:tabular-nums}\
figure{margin:1.2em 0}\
img{max-width:100%;height:auto;border:1px solid #ddd}\
figcaption{color:#555}\
.cm td{text-align:right;min-width:2.5em}\
.cm th.axis{text-align:center}\
.muted{color:#666}";

/// Reads what the run left in `out` and writes `out/report.html` atomically; gives its path.
///
/// Missing files leave their section out; a file that cannot be read or parsed is an error
/// naming it.
pub fn write_report(out: &Path) -> Result<PathBuf> {
    let run = Run::read(out)?;
    let path = out.join("report.html");
    fastcandle::core::tensor_io::write_atomic(&path, run.page().as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// What a run folder holds.
struct Run {
    /// The folder's name (its timestamp by default).
    name: String,
    summary: Option<Map<String, Value>>,
    history: Option<History>,
    interp: Option<Interp>,
    per_code: Option<Vec<CodeScore>>,
    lr_find: Option<LrFind>,
    /// The PNG files, by name.
    pngs: Vec<String>,
    /// The [`DATA_FILES`] present.
    files: Vec<&'static str>,
}

impl Run {
    fn read(out: &Path) -> Result<Self> {
        let listing = || format!("reading the run folder {}", out.display());
        let mut pngs = Vec::new();
        for entry in std::fs::read_dir(out).with_context(listing)? {
            let path = entry.with_context(listing)?.path();
            // A name that is not UTF-8 cannot be written into the page faithfully: left out.
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if path.is_file() && name.to_ascii_lowercase().ends_with(".png") {
                pngs.push(name.to_string());
            }
        }
        pngs.sort();
        let name = out
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| out.display().to_string());
        Ok(Self {
            name,
            summary: read::summary(out)?,
            history: read::history(out)?,
            interp: read::interp(out)?,
            per_code: read::per_code(out)?,
            lr_find: read::lr_find(out)?,
            pngs,
            files: DATA_FILES
                .into_iter()
                .filter(|f| out.join(f).is_file())
                .collect(),
        })
    }

    fn task(&self) -> &str {
        self.summary
            .as_ref()
            .and_then(|s| s.get("task"))
            .and_then(Value::as_str)
            .unwrap_or("run")
    }

    fn page(&self) -> String {
        let title = escape(&format!("{} — {}", self.task(), self.name));
        let mut body = format!("<h1>{title}</h1>\n");
        if let Some(summary) = &self.summary {
            body += &settings(summary);
            body += &metrics(summary);
        }
        if let Some(history) = &self.history {
            body += "<h2>Epochs</h2>\n";
            body += &epochs(history);
        }
        body += &self.pictures();
        body += &self.interpretation();
        if !self.files.is_empty() {
            let links: Vec<String> = self.files.iter().map(|f| link(f)).collect();
            body += &format!(
                "<h2>Files</h2>\n<p class=\"muted\">{}</p>\n",
                links.join(" · ")
            );
        }
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}</body>\n\
             </html>\n"
        )
    }

    /// The known pictures in [`FIGURES`] order, then the others by name.
    fn pictures(&self) -> String {
        let mut out = String::new();
        for (file, caption) in FIGURES {
            // A segmentation run has per-code scores and no class interpretation.
            let caption = match (&self.per_code, &self.interp) {
                (Some(_), None) => segmentation_caption(file).unwrap_or(caption),
                _ => caption,
            };
            let has_png = self.pngs.iter().any(|p| p == file);
            let suggestions = match &self.lr_find {
                Some(l) if file == "lr_find.png" => suggestions(l),
                _ => String::new(),
            };
            if has_png {
                out += &figure(file, caption, &suggestions);
            } else if !suggestions.is_empty() {
                out += &format!("<p>Learning-rate finder: {suggestions}</p>\n");
            }
        }
        for png in &self.pngs {
            if !FIGURES.iter().any(|(f, _)| f == png) {
                let stem = png[..png.len() - 4].replace(['_', '-'], " ");
                out += &figure(png, &stem, "");
            }
        }
        if out.is_empty() {
            out
        } else {
            format!("<h2>Pictures</h2>\n{out}")
        }
    }

    fn interpretation(&self) -> String {
        let mut out = String::new();
        if let Some(interp) = &self.interp {
            out += &classification(interp);
        }
        if let Some(codes) = &self.per_code {
            out += "<h3>Scores by code</h3>\n";
            out += &per_code(codes);
        }
        if out.is_empty() {
            out
        } else {
            format!("<h2>Interpretation</h2>\n{out}")
        }
    }
}

/// A link to a file of the run.
fn link(file: &str) -> String {
    format!("<a href=\"{}\">{}</a>", url(file), escape(file))
}

/// A picture, linked to itself at full size, with its caption and an already-escaped `extra`.
fn figure(file: &str, caption: &str, extra: &str) -> String {
    let (src, caption) = (url(file), escape(caption));
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!("<br>{extra}")
    };
    format!(
        "<figure><a href=\"{src}\"><img src=\"{src}\" alt=\"{caption}\"></a>\n\
         <figcaption>{caption} <span class=\"muted\">({})</span>{extra}</figcaption></figure>\n",
        escape(file)
    )
}

/// One table cell: its text (escaped here) and whether it is a number (right-aligned).
struct Cell(String, bool);

fn text(s: impl Into<String>) -> Cell {
    Cell(s.into(), false)
}

fn num(s: impl Into<String>) -> Cell {
    Cell(s.into(), true)
}

/// A table with a header row.
fn table(head: &[&str], rows: impl IntoIterator<Item = Vec<Cell>>) -> String {
    let mut out = String::from("<table>\n<tr>");
    for h in head {
        out += &format!("<th>{}</th>", escape(h));
    }
    out += "</tr>\n";
    for row in rows {
        out += "<tr>";
        for Cell(s, numeric) in row {
            let class = if numeric { " class=\"num\"" } else { "" };
            out += &format!("<td{class}>{}</td>", escape(&s));
        }
        out += "</tr>\n";
    }
    out + "</table>\n"
}

/// The summary's top-level keys but the scores (and the interpretation and epoch times, which
/// have their own sections), [`SETTINGS_FIRST`] first.
fn settings(summary: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = summary
        .keys()
        .filter(|k| {
            !matches!(
                k.as_str(),
                "metrics" | "test" | "interpretation" | "epoch_times_s" | "suggestions"
            )
        })
        .collect();
    let rank = |k: &str| {
        SETTINGS_FIRST
            .iter()
            .position(|f| *f == k)
            .unwrap_or(usize::MAX)
    };
    keys.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    let rows = keys
        .into_iter()
        .map(|k| vec![text(k.as_str()), text(compact(&summary[k]))]);
    format!("<h2>Settings</h2>\n{}", table(&["setting", "value"], rows))
}

/// The final metrics, and the test set's when there is one.
fn metrics(summary: &Map<String, Value>) -> String {
    let mut out = String::new();
    if let Some(Value::Object(m)) = summary.get("metrics") {
        out += "<h2>Final metrics</h2>\n";
        let mut m = m.clone();
        // Segmentation: the mean IoU over the codes that occur, from the interpretation.
        if let Some(iou) = summary
            .get("interpretation")
            .and_then(|i| i.get("mean_iou"))
            .filter(|v| v.is_number())
        {
            m.insert("mean_iou (void left out)".into(), iou.clone());
        }
        out += &scores(&m);
    }
    match summary.get("test") {
        // `{file|folder, rows|images, metrics: {...}}`: what was scored, then the scores.
        Some(Value::Object(t)) => {
            out += "<h2>Test metrics</h2>\n";
            let about: Vec<String> = t
                .iter()
                .filter(|(k, v)| !(k.as_str() == "metrics" && v.is_object()))
                .map(|(k, v)| format!("{k}: {}", compact(v)))
                .collect();
            if !about.is_empty() {
                out += &format!("<p class=\"muted\">{}</p>\n", escape(&about.join(", ")));
            }
            if let Some(Value::Object(m)) = t.get("metrics") {
                out += &scores(m);
            }
        }
        Some(Value::Null) | None => {}
        Some(other) => {
            out += &format!(
                "<h2>Test metrics</h2>\n<p>{}</p>\n",
                escape(&compact(other))
            )
        }
    }
    out
}

/// Scores by name, numbers to four decimals.
fn scores(m: &Map<String, Value>) -> String {
    let rows = m.iter().map(|(k, v)| {
        let value = match v.as_f64() {
            Some(x) => num(fixed4(x)),
            None => text(compact(v)),
        };
        vec![text(k.as_str()), value]
    });
    table(&["metric", "value"], rows)
}

/// The epoch table: epochs whole, times in seconds, the rest to four decimals.
fn epochs(h: &History) -> String {
    let head: Vec<&str> = h
        .header
        .iter()
        .map(|c| {
            if c == "time_s" {
                "time (s)"
            } else {
                c.as_str()
            }
        })
        .collect();
    let rows = h.rows.iter().map(|row| {
        row.iter()
            .zip(&h.header)
            .map(|(v, col)| match (v, col.as_str()) {
                (None, _) => num(""),
                (Some(x), "epoch") => num(count(*x)),
                (Some(x), "time_s") => num(format!("{x:.2}")),
                (Some(x), _) => num(fixed4(*x)),
            })
            .collect()
    });
    table(&head, rows)
}

/// The learning-rate finder's suggestions, escaped, or nothing when it made none.
fn suggestions(l: &LrFind) -> String {
    let s = &l.suggestions;
    let named: Vec<String> = [
        ("valley", s.valley),
        ("minimum", s.minimum),
        ("steep", s.steep),
        ("slide", s.slide),
    ]
    .into_iter()
    .filter_map(|(name, lr)| lr.map(|lr| format!("{name} {lr:.2e}")))
    .collect();
    if named.is_empty() {
        return String::new();
    }
    let tried = l.lrs.len().min(l.losses.len());
    let mut out = format!("suggested learning rates: {}", named.join(", "));
    if tried > 0 {
        out += &format!(" ({tried} rates tried)");
    }
    escape(&out)
}

/// A classification run's interpretation: error rate, confusion matrix, mistakes, top losses.
fn classification(i: &Interp) -> String {
    let mut out = String::new();
    if let Some(e) = i.error_rate {
        let over =
            i.n.map(|n| format!(" over {} validation items", count(n)))
                .unwrap_or_default();
        out += &format!(
            "<p>Error rate: <b>{}</b> ({}){}</p>\n",
            fixed4(e),
            escape(&percent(Some(e))),
            escape(&over)
        );
    }
    out += "<h3>Confusion matrix</h3>\n";
    out += &confusion_matrix(i);
    if !i.most_confused.is_empty() {
        out += "<h3>Most confused</h3>\n";
        let rows = i.most_confused.iter().map(|c| {
            vec![
                text(c.actual.as_str()),
                text(c.predicted.as_str()),
                num(count(c.count)),
            ]
        });
        out += &table(&["actual", "predicted", "count"], rows);
    }
    if !i.top_losses.is_empty() {
        out += "<h3>Top losses</h3>\n";
        let opt4 = |x: Option<f64>| num(x.map(fixed4).unwrap_or_default());
        let rows = i.top_losses.iter().map(|t| {
            vec![
                text(t.item.as_str()),
                text(t.actual.as_str()),
                text(t.predicted.as_str()),
                opt4(t.loss),
                opt4(t.probability),
            ]
        });
        out += &table(
            &["item", "actual", "predicted", "loss", "probability"],
            rows,
        );
    }
    out
}

/// The confusion matrix with the class names, shaded by count as fastai's plot is.
fn confusion_matrix(i: &Interp) -> String {
    let n = i.vocab.len();
    let max = i
        .confusion_matrix
        .iter()
        .flatten()
        .copied()
        .fold(0.0, f64::max);
    let mut out = format!(
        "<table class=\"cm\">\n<tr><th colspan=\"2\" rowspan=\"2\"></th>\
         <th class=\"axis\" colspan=\"{n}\">predicted</th></tr>\n<tr>"
    );
    for name in &i.vocab {
        out += &format!("<th>{}</th>", escape(name));
    }
    out += "</tr>\n";
    for (r, (name, row)) in i.vocab.iter().zip(&i.confusion_matrix).enumerate() {
        out += "<tr>";
        if r == 0 {
            out += &format!("<th class=\"axis\" rowspan=\"{n}\">actual</th>");
        }
        out += &format!("<th>{}</th>", escape(name));
        for (c, &v) in row.iter().enumerate() {
            let a = if max > 0.0 { v / max } else { 0.0 };
            let ink = if a > 0.5 { ";color:#fff" } else { "" };
            let bold = if r == c { ";font-weight:bold" } else { "" };
            out += &format!(
                "<td style=\"background:rgba(33,113,181,{a:.3}){ink}{bold}\">{}</td>",
                count(v)
            );
        }
        out += "</tr>\n";
    }
    out + "</table>\n"
}

/// A segmentation run's scores by class, IoU and pixel accuracy as percentages.
fn per_code(codes: &[CodeScore]) -> String {
    let rows = codes.iter().map(|c| {
        vec![
            num(c.code.as_str()),
            text(c.name.as_str()),
            num(percent(c.iou)),
            num(percent(c.pixel_accuracy)),
            num(c.pixels.as_str()),
            num(c.predicted_pixels.as_str()),
        ]
    });
    table(
        &[
            "code",
            "name",
            "IoU",
            "pixel accuracy",
            "pixels",
            "predicted pixels",
        ],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// A class name that must be escaped.
    const ODD: &str = "<cat & dog>";

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn summary_and_history(dir: &Path) {
        write(
            dir,
            "summary.json",
            r#"{"task": "pets", "data": "/data/pets", "arch": "resnet34", "seed": 42,
                "bs": 64, "lr": 0.002, "epochs": 1,
                "metrics": {"train_loss": 0.31, "valid_loss": 0.2, "error_rate": 0.05},
                "test": {"folder": "/data/test", "images": 10,
                         "metrics": {"test_loss": 0.25, "error_rate": 0.1}},
                "epoch_times_s": [12.5, 10.25], "wall_s": 30.123456,
                "skipped_files": []}"#,
        );
        write(
            dir,
            "history.csv",
            "epoch,train_loss,valid_loss,error_rate,time_s\n\
             0,0.9,0.5,0.12,12.5\n1,0.31,0.2,0.05,10.25\n",
        );
    }

    fn full_run(dir: &Path) {
        summary_and_history(dir);
        for (png, _) in FIGURES {
            write(dir, png, "not really a png");
        }
        write(dir, "layer 1 & 2.png", "");
        write(dir, "notes.txt", "");
        write(
            dir,
            "interp.json",
            &serde_json::json!({
                "vocab": ["bird", ODD],
                "confusion_matrix": [[5, 1], [2, 7]],
                "most_confused": [{"actual": ODD, "predicted": "bird", "count": 2}],
                "top_losses": [{"item": "images/a&b.jpg", "actual": ODD, "predicted": "bird",
                                "loss": 3.21, "probability": 0.96}],
                "error_rate": 0.2,
                "n": 15,
            })
            .to_string(),
        );
        write(
            dir,
            "per_code.csv",
            "code,name,iou,pixel_accuracy,pixels,predicted_pixels\n\
             0,Sky,0.8123,0.9,100,95\n1,Void,,NaN,0,3\n",
        );
        write(
            dir,
            "lr_find.json",
            r#"{"suggestions": {"valley": 0.00144, "minimum": 0.0025, "steep": 0.0002,
                "slide": null}, "lrs": [1e-7, 1e-6], "losses": [2.0, 1.9]}"#,
        );
    }

    /// Every `src="..."` and `href="..."` value, percent-decoded.
    fn links(page: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for attr in ["src", "href"] {
            let open = format!("{attr}=\"");
            let mut rest = page;
            while let Some(i) = rest.find(&open) {
                rest = &rest[i + open.len()..];
                let end = rest.find('"').expect("a closed attribute");
                out.push((attr.to_string(), decode(&rest[..end])));
                rest = &rest[end..];
            }
        }
        out
    }

    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn pngs(dir: &Path) -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".png"))
            .collect()
    }

    #[test]
    fn a_full_run_gives_a_page_linking_every_picture_and_only_files_that_exist() {
        let dir = tempfile::tempdir().unwrap();
        full_run(dir.path());
        let path = write_report(dir.path()).unwrap();
        assert_eq!(path, dir.path().join("report.html"));
        let page = std::fs::read_to_string(&path).unwrap();

        let links = links(&page);
        for (_, target) in &links {
            assert!(!target.contains('/'), "{target}: not a name in the folder");
            assert!(
                dir.path().join(target).is_file(),
                "{target}: linked, absent"
            );
        }
        let srcs: BTreeSet<String> = links
            .iter()
            .filter(|(a, _)| a == "src")
            .map(|(_, t)| t.clone())
            .collect();
        assert_eq!(srcs, pngs(dir.path()));
        assert!(page.contains("src=\"layer%201%20%26%202.png\""), "{page}");
        assert!(page.contains("href=\"interp.json\""));
        assert!(!page.contains("model.safetensors"));

        // The known pictures in their order, the others after.
        let at = |s: &str| page.find(&format!("src=\"{s}\"")).unwrap();
        let order: Vec<usize> = FIGURES.iter().map(|(f, _)| at(f)).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert!(at("layer%201%20%26%202.png") > at("top_losses.png"));
        for caption in [
            "Training and validation loss",
            "Predictions on validation items",
        ] {
            assert!(page.contains(caption), "{caption}");
        }

        // Escaped text: class names, items, file names.
        assert!(!page.contains(ODD));
        assert!(page.contains("&lt;cat &amp; dog&gt;"));
        assert!(page.contains("images/a&amp;b.jpg"));
        assert!(page.contains("layer 1 &amp; 2.png"));

        // Settings, scores, epochs, suggestions, interpretation.
        assert!(page.contains("<title>pets — "));
        assert!(page.contains("<td>resnet34</td>"));
        // Epoch times are the epoch table's last column, not a setting.
        assert!(!page.contains("[12.5, 10.25]"));
        assert!(
            page.contains("<td class=\"num\">0.0500</td>"),
            "final metric"
        );
        assert!(
            page.contains("<td class=\"num\">0.1000</td>"),
            "test metric"
        );
        assert!(page.contains("folder: /data/test, images: 10"));
        assert!(page.contains("<th>time (s)</th>"));
        assert!(page.contains("<td class=\"num\">12.50</td>"));
        assert!(page.contains("<td class=\"num\">0.3100</td>"));
        assert!(page.contains("valley 1.44e-3, minimum 2.50e-3, steep 2.00e-4"));
        assert!(!page.contains("slide"));
        assert!(page.contains(">actual</th>") && page.contains(">predicted</th>"));
        assert!(page.contains("Error rate: <b>0.2000</b> (20.00%) over 15 validation items"));
        assert!(page.contains("<td class=\"num\">3.2100</td><td class=\"num\">0.9600</td>"));
        assert!(page.contains("<td>Sky</td><td class=\"num\">81.23%</td>"));
        assert!(page.contains("<td>Void</td><td class=\"num\">—</td><td class=\"num\">—</td>"));

        // Static and offline.
        assert!(!page.contains("<script") && !page.contains("http"));
    }

    #[test]
    fn summary_and_history_alone_give_a_page() {
        let dir = tempfile::tempdir().unwrap();
        summary_and_history(dir.path());
        let page = std::fs::read_to_string(write_report(dir.path()).unwrap()).unwrap();
        assert!(!page.contains("<img") && !page.contains("Interpretation"));
        assert!(page.contains("<h2>Epochs</h2>"));
        let links = links(&page);
        assert_eq!(links.len(), 2, "{links:?}");
        for (_, target) in links {
            assert!(dir.path().join(target).is_file());
        }
    }

    #[test]
    fn a_segmentation_run_captions_its_masks() {
        let dir = tempfile::tempdir().unwrap();
        full_run(dir.path());
        std::fs::remove_file(dir.path().join("interp.json")).unwrap();
        let page = std::fs::read_to_string(write_report(dir.path()).unwrap()).unwrap();
        assert!(page.contains("image | true mask | predicted mask, the loss"));
        assert!(page.contains("Pixel confusion matrix"));
        assert!(!page.contains("(predicted, actual, loss, probability)"));
        assert!(page.contains("<h3>Scores by code</h3>"));
    }

    #[test]
    fn suggestions_without_their_picture_are_still_listed() {
        let dir = tempfile::tempdir().unwrap();
        full_run(dir.path());
        std::fs::remove_file(dir.path().join("lr_find.png")).unwrap();
        let page = std::fs::read_to_string(write_report(dir.path()).unwrap()).unwrap();
        assert!(!page.contains("lr_find.png"));
        assert!(page.contains("valley 1.44e-3"));
    }

    #[test]
    fn a_malformed_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        full_run(dir.path());
        write(
            dir.path(),
            "interp.json",
            r#"{"vocab": ["a"], "confusion_matrix": "#,
        );
        let e = format!("{:#}", write_report(dir.path()).unwrap_err());
        assert!(e.contains("interp.json"), "{e}");
        assert!(!dir.path().join("report.html").exists());
        write(
            dir.path(),
            "interp.json",
            r#"{"vocab": ["a"], "confusion_matrix": [[1]]}"#,
        );
        write(dir.path(), "lr_find.json", "[]");
        let e = format!("{:#}", write_report(dir.path()).unwrap_err());
        assert!(e.contains("lr_find.json"), "{e}");
        write(dir.path(), "lr_find.json", r#"{"suggestions": {}}"#);
        write(dir.path(), "summary.json", "[1, 2]");
        let e = format!("{:#}", write_report(dir.path()).unwrap_err());
        assert!(e.contains("summary.json"), "{e}");
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("no-such-run");
        let e = format!("{:#}", write_report(&gone).unwrap_err());
        assert!(e.contains("no-such-run"), "{e}");
    }
}
