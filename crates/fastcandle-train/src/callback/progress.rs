use super::{Callback, Recorder};
use crate::error::Result;
use crate::learner::Learner;
use indicatif::{ProgressBar, ProgressStyle};

/// A live progress bar per phase (indicatif, shown only on a terminal) and fastai's epoch table
/// on standard output.
#[derive(Debug, Default)]
pub struct ProgressCallback {
    /// Print nothing.
    pub silent: bool,
    bar: Option<ProgressBar>,
    header_done: bool,
}

/// Formats seconds as fastai does (`mm:ss`).
pub fn format_time(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// The header of the epoch table for the Recorder's value names.
fn header(names: &[String]) -> Vec<String> {
    let mut head = vec!["epoch".to_string()];
    head.extend(names.iter().cloned());
    head.push("time".into());
    head
}

impl ProgressCallback {
    fn start_bar(&mut self, n: usize, what: &str, quiet: bool) {
        if self.silent || quiet {
            return;
        }
        let bar = ProgressBar::new(n as u64);
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} [{elapsed}<{eta}] {msg}")
                // Invariant: the template is a constant that indicatif parses.
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(what.to_string());
        self.bar = Some(bar);
    }

    /// One line of the epoch table: each cell left-aligned in its column, a column being 12
    /// characters or its header's length and two more, as fastai's table keeps long metric
    /// names apart; a cell wider than its column still keeps two spaces before the next.
    fn row(cells: &[String], header: &[String]) -> String {
        let line: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let width = header.get(i).map_or(12, |h| (h.len() + 2).max(12));
                let width = width.max(c.chars().count() + 2);
                format!("{c:<width$}")
            })
            .collect();
        line.join("").trim_end().to_string()
    }

    /// A value of the table: six decimals as fastai's, in scientific notation from a million
    /// on (a diverging loss), `nan` for NaN.
    fn cell(v: f64) -> String {
        if v.is_nan() {
            "nan".into()
        } else if v.abs() >= 1e6 {
            format!("{v:.4e}")
        } else {
            format!("{v:.6}")
        }
    }
}

impl Callback for ProgressCallback {
    fn order(&self) -> i32 {
        60
    }

    fn before_fit(&mut self, _: &mut Learner) -> Result<()> {
        self.header_done = false;
        Ok(())
    }

    fn before_train(&mut self, learn: &mut Learner) -> Result<()> {
        let what = format!("epoch {}/{}", learn.state.epoch + 1, learn.state.n_epoch);
        self.start_bar(learn.dls.n_train_batches(), &what, learn.state.no_logging);
        Ok(())
    }

    fn before_validate(&mut self, learn: &mut Learner) -> Result<()> {
        self.start_bar(learn.dls.n_valid_batches(), "valid", learn.state.no_logging);
        Ok(())
    }

    fn after_batch(&mut self, learn: &mut Learner) -> Result<()> {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if learn.state.training {
                bar.set_message(format!("loss {:.4}", learn.state.smooth_loss));
            }
        }
        Ok(())
    }

    fn after_train(&mut self, _: &mut Learner) -> Result<()> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        Ok(())
    }

    fn after_validate(&mut self, learn: &mut Learner) -> Result<()> {
        self.after_train(learn)
    }

    fn after_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        if self.silent || learn.state.no_logging {
            return Ok(());
        }
        let Some(rec) = learn.cb::<Recorder>() else {
            return Ok(());
        };
        if !self.header_done {
            println!("{}", Self::row(&header(&rec.names), &header(&rec.names)));
            self.header_done = true;
        }
        let Some(fit) = rec.last() else { return Ok(()) };
        let (Some(values), Some(t)) = (fit.values.last(), fit.epoch_times.last()) else {
            return Ok(());
        };
        let mut cells = vec![learn.state.epoch.to_string()];
        cells.extend(values.iter().map(|&v| Self::cell(v)));
        cells.push(format_time(*t));
        println!("{}", Self::row(&cells, &header(&rec.names)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ProgressCallback;

    #[test]
    fn columns_stay_apart_at_any_magnitude() {
        let header: Vec<String> = ["epoch", "train_loss", "valid_loss", "time"]
            .map(String::from)
            .to_vec();
        let cells = vec![
            "0".to_string(),
            ProgressCallback::cell(123456789012345.0),
            ProgressCallback::cell(98765.4321),
            "00:01".to_string(),
        ];
        let line = ProgressCallback::row(&cells, &header);
        assert_eq!(line.split_whitespace().count(), 4, "{line}");
        assert_eq!(ProgressCallback::cell(123456789012345.0), "1.2346e14");
        assert_eq!(ProgressCallback::cell(0.5), "0.500000");
        assert_eq!(ProgressCallback::cell(f64::NAN), "nan");
        // Even a cell wider than its column keeps two spaces before the next.
        let wide = ProgressCallback::row(&["x".repeat(20), "y".into()], &header);
        assert_eq!(wide, format!("{}  y", "x".repeat(20)));
    }
    #[test]
    fn times_read_like_fastai() {
        assert_eq!(super::format_time(4.4), "00:04");
        assert_eq!(super::format_time(127.0), "02:07");
        assert_eq!(super::format_time(3725.0), "1:02:05");
    }

    #[test]
    fn long_metric_names_keep_their_columns_apart() {
        let names = ["train_loss", "valid_loss", "foreground_acc", "dice_multi"].map(String::from);
        let head = super::header(&names);
        let top = super::ProgressCallback::row(&head, &head);
        assert_eq!(
            top,
            "epoch       train_loss  valid_loss  foreground_acc  dice_multi  time"
        );
        let cells = ["7", "0.1", "0.2", "0.3", "0.4", "00:54"].map(String::from);
        let line = super::ProgressCallback::row(&cells, &head);
        assert_eq!(line.find("0.3"), top.find("foreground_acc"));
        assert_eq!(line.find("00:54"), top.find("time"));
    }
}
