//! Text in pictures: the DejaVu fonts, embedded by the `dejavu` crate so that no system font is
//! needed, and what captions, labels and tables need from them: a string's width, wrapping to a
//! width, and drawing onto an RGB8 buffer.
//!
//! Glyphs are rasterised by `ab_glyph` here rather than through plotters' text drawing, which
//! (in plotters 0.3.7) drops each glyph's left bearing and so spaces letters unevenly (`4.2`
//! reads `4. 2`). The fonts are also registered with plotters ([`ensure_font`]) for charts
//! that let plotters write.
//!
//! A [`Font`]'s size is the height in pixels from the font's ascent to its descent (about
//! 1.16 em for DejaVu), plotters' and `ab_glyph`'s measure, so a line never needs more.

use crate::error::{Error, Result};
use ab_glyph::{Font as _, FontRef, PxScale, ScaleFont, point};
use plotters::prelude::{FontDesc, FontFamily, FontStyle};
use std::sync::{Once, OnceLock};

/// The family name DejaVu Sans (regular and bold) is registered under with plotters.
pub const FONT_FAMILY: &str = "DejaVu Sans";

/// The family name DejaVu Sans Mono is registered under with plotters.
pub const MONO_FONT_FAMILY: &str = "DejaVu Sans Mono";

/// Lines are spaced by this many font sizes (the font has no line gap of its own).
const LINE_SPACING: f64 = 1.2;

/// Registers the DejaVu fonts with plotters ([`FONT_FAMILY`] regular and bold,
/// [`MONO_FONT_FAMILY`]), once per process, so that plotters' text (a chart's caption, say)
/// can name them; [`Font::desc`] calls it.
pub fn ensure_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The fonts are compiled in and valid; were one not, plotters would fail to draw its
        // text with `FontUnavailable`, an error its drawing calls return.
        let _ =
            plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT_FAMILY, FontStyle::Bold, dejavu::sans::bold());
        let _ = plotters::style::register_font(
            MONO_FONT_FAMILY,
            FontStyle::Normal,
            dejavu::sans_mono::regular(),
        );
    });
}

/// Which of the embedded fonts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// DejaVu Sans.
    Sans,
    /// DejaVu Sans Bold.
    SansBold,
    /// DejaVu Sans Mono.
    Mono,
}

impl Face {
    /// The parsed font, `None` if the embedded file could not be read (it can).
    fn font(self) -> Option<&'static FontRef<'static>> {
        static FONTS: OnceLock<[Option<FontRef<'static>>; 3]> = OnceLock::new();
        let fonts = FONTS.get_or_init(|| {
            [
                dejavu::sans::regular(),
                dejavu::sans::bold(),
                dejavu::sans_mono::regular(),
            ]
            .map(|bytes| FontRef::try_from_slice(bytes).ok())
        });
        fonts[self as usize].as_ref()
    }
}

/// One of the embedded fonts at a size in pixels (the height from ascent to descent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Font {
    /// Which font.
    pub face: Face,
    /// The size in pixels.
    pub px: f64,
}

impl Font {
    /// DejaVu Sans at `px` pixels.
    pub fn sans(px: f64) -> Self {
        Self {
            face: Face::Sans,
            px,
        }
    }

    /// DejaVu Sans Bold at `px` pixels.
    pub fn bold(px: f64) -> Self {
        Self {
            face: Face::SansBold,
            px,
        }
    }

    /// DejaVu Sans Mono at `px` pixels.
    pub fn mono(px: f64) -> Self {
        Self {
            face: Face::Mono,
            px,
        }
    }

    /// This font as plotters describes it (registered by [`ensure_font`]).
    pub fn desc(&self) -> FontDesc<'static> {
        ensure_font();
        let (family, style) = match self.face {
            Face::Sans => (FONT_FAMILY, FontStyle::Normal),
            Face::SansBold => (FONT_FAMILY, FontStyle::Bold),
            Face::Mono => (MONO_FONT_FAMILY, FontStyle::Normal),
        };
        FontDesc::new(FontFamily::Name(family), self.px, style)
    }

    /// The width of `text` in pixels: its glyphs' advances and kerning, rounded up.
    pub fn width(&self, text: &str) -> u32 {
        let Some(font) = self.face.font() else {
            return 0;
        };
        let sf = font.as_scaled(PxScale::from(self.px as f32));
        let mut width = 0f32;
        let mut prev = None;
        for c in text.chars() {
            let id = sf.glyph_id(c);
            if let Some(p) = prev {
                width += sf.kern(p, id);
            }
            width += sf.h_advance(id);
            prev = Some(id);
        }
        width.ceil().max(0.0) as u32
    }

    /// The height of a line of text in pixels, spacing included.
    pub fn line_height(&self) -> u32 {
        (self.px * LINE_SPACING).ceil() as u32
    }

    /// `text` in lines no wider than `width` pixels: split at each `'\n'`, then wrapped at
    /// spaces; a word wider than `width` is broken between characters (a single character
    /// wider than `width` stays whole). An empty line stays.
    pub fn wrap(&self, text: &str, width: u32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            for word in para.split(' ').filter(|w| !w.is_empty()) {
                let joined = if line.is_empty() {
                    word.to_string()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&joined) <= width {
                    line = joined;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                line = word.to_string();
                while line.chars().nth(1).is_some() && self.width(&line) > width {
                    let cut = self.longest_prefix(&line, width);
                    lines.push(line[..cut].to_string());
                    line = line[cut..].to_string();
                }
            }
            lines.push(line);
        }
        lines
    }

    /// The byte length of the longest prefix of `word` (one character at least) no wider than
    /// `width`.
    fn longest_prefix(&self, word: &str, width: u32) -> usize {
        let mut cut = word.chars().next().map_or(0, char::len_utf8);
        for (i, c) in word.char_indices().skip(1) {
            if self.width(&word[..i + c.len_utf8()]) > width {
                break;
            }
            cut = i + c.len_utf8();
        }
        cut
    }

    /// Draws one line of `text` in `ink` on `canvas`, an RGB8 buffer of `size` (width,
    /// height) pixels, its line box ([`Font::line_height`] high, [`Font::width`] wide) with its
    /// top left corner at `(x, top)`; glyphs are anti-aliased over what is there, and what
    /// falls outside the buffer is left out.
    pub fn draw(
        &self,
        canvas: &mut [u8],
        (w, h): (u32, u32),
        text: &str,
        (x, top): (i32, i32),
        ink: [u8; 3],
    ) -> Result<()> {
        let fail = |reason: &str| Error::BadData {
            what: format!("writing `{text}` in a picture"),
            reason: reason.into(),
        };
        if canvas.len() < w as usize * h as usize * 3 {
            return Err(fail("the buffer is smaller than its size says"));
        }
        let font = self
            .face
            .font()
            .ok_or_else(|| fail("the embedded font is unreadable"))?;
        let scale = PxScale::from(self.px as f32);
        let sf = font.as_scaled(scale);
        let pad = (self.line_height() as f32 - sf.height()) / 2.0;
        let baseline = top as f32 + pad + sf.ascent();
        let mut pen = x as f32;
        let mut prev = None;
        for c in text.chars() {
            let id = sf.glyph_id(c);
            if let Some(p) = prev {
                pen += sf.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(scale, point(pen, baseline));
            pen += sf.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            let (gx, gy) = (bounds.min.x as i32, bounds.min.y as i32);
            outline.draw(|dx, dy, coverage| {
                let (px, py) = (gx + dx as i32, gy + dy as i32);
                if px < 0 || py < 0 || px >= w as i32 || py >= h as i32 {
                    return;
                }
                let i = (py as usize * w as usize + px as usize) * 3;
                let a = coverage.clamp(0.0, 1.0);
                for (dst, &k) in canvas[i..i + 3].iter_mut().zip(&ink) {
                    *dst = (*dst as f32 * (1.0 - a) + k as f32 * a).round() as u8;
                }
            });
        }
        Ok(())
    }

    /// Draws `lines` one under the other from `(x, top)` (see [`Font::draw`]).
    pub fn draw_lines(
        &self,
        canvas: &mut [u8],
        size: (u32, u32),
        lines: &[String],
        (x, top): (i32, i32),
        ink: [u8; 3],
    ) -> Result<()> {
        for (k, line) in lines.iter().enumerate() {
            let y = top + (k as u32 * self.line_height()) as i32;
            self.draw(canvas, size, line, (x, y), ink)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bounding box (x0, y0, x1, y1) of the pixels darker than mid grey in `buf`, `w`
    /// pixels wide.
    fn ink_box(buf: &[u8], w: usize) -> Option<(usize, usize, usize, usize)> {
        let mut b: Option<(usize, usize, usize, usize)> = None;
        for (i, p) in buf.chunks(3).enumerate() {
            if p[0] < 128 {
                let (x, y) = (i % w, i / w);
                b = Some(match b {
                    None => (x, y, x, y),
                    Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
                });
            }
        }
        b
    }

    #[test]
    fn widths_grow_with_text_and_size() {
        let f = Font::sans(14.0);
        assert_eq!(f.width(""), 0);
        let (a, b) = (f.width("cat"), f.width("category"));
        assert!(a > 10 && b > a, "{a} {b}");
        assert!(Font::sans(28.0).width("cat") > a);
        // Mono: every character the same advance.
        let m = Font::mono(14.0);
        assert_eq!(m.width("iiii"), m.width("WWWW"));
        // The width plotters measures, up to rounding.
        let (pw, _) = f.desc().box_size("category").unwrap();
        assert!(pw.abs_diff(b) <= 1, "{pw} {b}");
    }

    #[test]
    fn wraps_at_spaces_and_breaks_long_words() {
        let f = Font::sans(14.0);
        let w = f.width("image | truth");
        let lines = f.wrap("image | truth | prediction\n95% right", w);
        assert_eq!(lines, ["image | truth", "| prediction", "95% right"]);
        let long = "x".repeat(40);
        let lines = f.wrap(&long, f.width("xxxxxxxxxx"));
        assert_eq!(lines.len(), 4);
        assert!(lines.iter().all(|l| l.len() == 10));
        // Too narrow for one character: one character a line, never an endless loop.
        assert_eq!(f.wrap("ab", 1), ["a", "b"]);
        assert_eq!(f.wrap("", 100), [""]);
    }

    #[test]
    fn draws_inside_the_line_box() {
        let f = Font::sans(20.0);
        let (w, h) = (200usize, 60usize);
        let mut buf = vec![255u8; w * h * 3];
        let (x, top) = (10, 20);
        let text = "ÉHgy|";
        f.draw(&mut buf, (w as u32, h as u32), text, (x, top), [0, 0, 0])
            .unwrap();
        let (x0, y0, x1, y1) = ink_box(&buf, w).expect("ink");
        let bottom = top as usize + f.line_height() as usize;
        assert!(
            y0 >= top as usize && y1 < bottom,
            "ink rows {y0}..{y1}, box {top}..{bottom}"
        );
        assert!(x0 >= x as usize && x1 <= x as usize + f.width(text) as usize);
        // The bold face differs.
        let mut bold = vec![255u8; w * h * 3];
        Font::bold(20.0)
            .draw(&mut bold, (w as u32, h as u32), text, (x, top), [0, 0, 0])
            .unwrap();
        assert_ne!(buf, bold);
        // Off the buffer: left out, no panic; a short buffer is an error.
        f.draw(&mut buf, (w as u32, h as u32), text, (190, 50), [0, 0, 0])
            .unwrap();
        assert!(
            f.draw(&mut buf[..30], (w as u32, h as u32), text, (0, 0), [0; 3])
                .is_err()
        );
    }

    #[test]
    fn letters_keep_their_bearings() {
        // "l.l": the dot sits midway, not against the first `l` (plotters' spacing).
        let f = Font::sans(40.0);
        let (w, h) = (120usize, 60usize);
        let mut buf = vec![255u8; w * h * 3];
        f.draw(&mut buf, (w as u32, h as u32), "l.l", (0, 0), [0, 0, 0])
            .unwrap();
        let inked: Vec<bool> = (0..w)
            .map(|x| (0..h).any(|y| buf[(y * w + x) * 3] < 128))
            .collect();
        let runs: Vec<(usize, usize)> =
            inked
                .iter()
                .enumerate()
                .fold(Vec::new(), |mut runs: Vec<(usize, usize)>, (x, &on)| {
                    match (on, runs.last_mut()) {
                        (true, Some(r)) if r.1 + 1 == x => r.1 = x,
                        (true, _) => runs.push((x, x)),
                        _ => {}
                    }
                    runs
                });
        assert_eq!(runs.len(), 3, "{runs:?}");
        let (gap1, gap2) = (runs[1].0 - runs[0].1, runs[2].0 - runs[1].1);
        assert!(gap1.abs_diff(gap2) <= 2, "gaps {gap1} and {gap2}");
    }
}
