//! Text in pictures: the DejaVu fonts (embedded by the `dejavu` crate, so no system font is
//! needed) registered with plotters once, and what captions, labels and tables need from them:
//! a string's width, wrapping to a width, and drawing onto an RGB8 buffer.
//!
//! A [`Font`]'s size is plotters' size: the height in pixels from the font's ascent to its
//! descent (about 1.16 em for DejaVu), so a line of text never needs more than that.

use crate::error::{Error, Result};
use plotters::backend::{BitMapBackend, DrawingBackend, RGBPixel};
use plotters::prelude::{Color, FontDesc, FontFamily, FontStyle, RGBColor, TextStyle};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::Once;

/// The family name DejaVu Sans (regular and bold) is registered under with plotters.
pub const FONT_FAMILY: &str = "DejaVu Sans";

/// The family name DejaVu Sans Mono is registered under with plotters.
pub const MONO_FONT_FAMILY: &str = "DejaVu Sans Mono";

/// DejaVu's ascent (hhea: 1901 of 2384 units from ascent to descent): where the baseline sits
/// below the top of a line, as a share of the font size.
const ASCENT: f64 = 1901.0 / 2384.0;

/// Lines are spaced by this many font sizes (the font has no line gap of its own).
const LINE_SPACING: f64 = 1.2;

/// Registers the DejaVu fonts with plotters ([`FONT_FAMILY`] regular and bold,
/// [`MONO_FONT_FAMILY`]), once per process; every drawing function here calls it first.
pub fn ensure_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The fonts are compiled in and valid; were one not, its text would fail to draw
        // with plotters' `FontUnavailable`, which the drawing functions return.
        let _ = plotters::style::register_font(
            FONT_FAMILY,
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
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

    /// This font as plotters describes it (for charts' labels and captions).
    pub fn desc(&self) -> FontDesc<'static> {
        ensure_font();
        let (family, style) = match self.face {
            Face::Sans => (FONT_FAMILY, FontStyle::Normal),
            Face::SansBold => (FONT_FAMILY, FontStyle::Bold),
            Face::Mono => (MONO_FONT_FAMILY, FontStyle::Normal),
        };
        FontDesc::new(FontFamily::Name(family), self.px, style)
    }

    /// This font in colour `ink`, anchored at its left and at plotters' top (see
    /// [`Font::pos`]).
    pub fn style(&self, ink: [u8; 3]) -> TextStyle<'static> {
        TextStyle {
            font: self.desc(),
            color: RGBColor(ink[0], ink[1], ink[2]).to_backend_color(),
            pos: Pos::new(HPos::Left, VPos::Top),
        }
    }

    /// The width of `text` in pixels (the sum of its glyphs' advances).
    pub fn width(&self, text: &str) -> u32 {
        if text.is_empty() {
            return 0;
        }
        self.desc().box_size(text).map(|(w, _)| w).unwrap_or(0)
    }

    /// The height of a line of text in pixels, spacing included.
    pub fn line_height(&self) -> u32 {
        (self.px * LINE_SPACING).ceil() as u32
    }

    /// The position to give plotters' text drawing (with [`Font::style`]'s anchor) so that a
    /// line whose box ([`Font::line_height`]) starts at `(x, top)` is drawn in it: plotters'
    /// glyphs hang from half a size above their baseline.
    pub fn pos(&self, x: i32, top: i32) -> (i32, i32) {
        let pad = (self.line_height() as f64 - self.px) / 2.0;
        (x, top + (pad + (ASCENT - 0.5) * self.px).round() as i32)
    }

    /// `text` in lines no wider than `width` pixels: split at each `'\n'`, then wrapped at
    /// spaces; a word wider than `width` is broken between characters. An empty line stays.
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
    /// height) pixels, its line box's top left corner at `(x, top)`; what falls outside the
    /// buffer is left out.
    pub fn draw(
        &self,
        canvas: &mut [u8],
        size: (u32, u32),
        text: &str,
        (x, top): (i32, i32),
        ink: [u8; 3],
    ) -> Result<()> {
        let fail = |reason: String| Error::BadData {
            what: format!("writing `{text}` in a picture"),
            reason,
        };
        let mut backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(canvas, size)
            .map_err(|e| fail(e.to_string()))?;
        backend
            .draw_text(text, &self.style(ink), self.pos(x, top))
            .map_err(|e| fail(e.to_string()))
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

    /// The rows and columns of `buf` (`w` wide) holding ink darker than mid grey.
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
        f.draw(&mut buf, (w as u32, h as u32), "ÉHgy|", (x, top), [0, 0, 0])
            .unwrap();
        let (x0, y0, x1, y1) = ink_box(&buf, w).expect("ink");
        let bottom = top as usize + f.line_height() as usize;
        assert!(y0 >= top as usize && y1 < bottom, "ink rows {y0}..{y1}, box {top}..{bottom}");
        assert!(x0 >= x as usize && x1 <= x as usize + f.width("ÉHgy|") as usize);
        // The bold face is registered, and differs.
        let mut bold = vec![255u8; w * h * 3];
        Font::bold(20.0)
            .draw(&mut bold, (w as u32, h as u32), "ÉHgy|", (x, top), [0, 0, 0])
            .unwrap();
        assert_ne!(buf, bold);
    }
}
