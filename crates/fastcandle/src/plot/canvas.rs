//! What every plot draws on: a white RGB canvas that plotters' bitmap backend draws lines on
//! and our text renderer (the data layer's embedded DejaVu, [`Font`]) writes on, saved as a PNG
//! atomically; the fonts and colours the plots share; errors that name the file.

use crate::error::{Error, Result};
use fastcandle_data::vision::show::{Face, Font, save_png};
use plotters::backend::{BitMapBackend, RGBPixel};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::fmt::Display;
use std::path::Path;

/// A drawing area over a whole [`Canvas`].
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a, RGBPixel>, Shift>;

/// Tick labels.
pub(crate) const TICK: Font = Font {
    face: Face::Sans,
    px: 15.0,
};
/// Axis labels and legends.
pub(crate) const LABEL: Font = Font {
    face: Face::Sans,
    px: 17.0,
};
/// Titles.
pub(crate) const TITLE: Font = Font {
    face: Face::SansBold,
    px: 19.0,
};

/// Black.
pub(crate) const INK: [u8; 3] = [0, 0, 0];
/// The grey of notes and of the lines where fits start.
pub(crate) const GREY: [u8; 3] = [110, 110, 110];

/// An error about the plot written to `path`.
pub(crate) fn plot_error(path: &Path, reason: impl Display) -> Error {
    Error::Plot {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Turns any error into one about the plot at a path ([`plot_error`]).
pub(crate) trait AtPath<T> {
    /// This result, its error about the plot written to `path`.
    fn at(self, path: &Path) -> Result<T>;
}

impl<T, E: Display> AtPath<T> for std::result::Result<T, E> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|e| plot_error(path, e))
    }
}

/// matplotlib's `tab10` colour `i` (`C0`, `C1`, ...), as the data layer's class colours.
pub(crate) fn tab10(i: usize) -> [u8; 3] {
    fastcandle_data::vision::class_colour(i as u32)
}

/// `rgb` as plotters' colour.
pub(crate) fn rgb(c: [u8; 3]) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

/// A white RGB8 picture to draw on.
pub(crate) struct Canvas {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Canvas {
    /// A white canvas of `width` x `height` pixels.
    pub(crate) fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            rgb: vec![255; width as usize * height as usize * 3],
        }
    }

    /// Plotters' drawing area over the whole canvas.
    pub(crate) fn area(&mut self, path: &Path) -> Result<Area<'_>> {
        let size = (self.width, self.height);
        Ok(BitMapBackend::with_buffer_and_format(&mut self.rgb, size)
            .at(path)?
            .into_drawing_area())
    }

    /// Fills the rectangle of `w` x `h` pixels whose top left corner is `(x, y)` (clipped to
    /// the canvas).
    pub(crate) fn fill(&mut self, (x, y): (i32, i32), (w, h): (u32, u32), rgb: [u8; 3]) {
        let (x0, y0) = (x.max(0) as u32, y.max(0) as u32);
        let x1 = (x + w as i32).clamp(0, self.width as i32) as u32;
        let y1 = (y + h as i32).clamp(0, self.height as i32) as u32;
        for yy in y0..y1 {
            for xx in x0..x1 {
                self.put(xx, yy, rgb);
            }
        }
    }

    /// Draws the 1-pixel outline of the rectangle of `w` x `h` pixels at `(x, y)`.
    pub(crate) fn frame(&mut self, (x, y): (i32, i32), (w, h): (u32, u32), rgb: [u8; 3]) {
        self.fill((x, y), (w, 1), rgb);
        self.fill((x, y + h as i32 - 1), (w, 1), rgb);
        self.fill((x, y), (1, h), rgb);
        self.fill((x + w as i32 - 1, y), (1, h), rgb);
    }

    /// A disc of radius `r` centred on `(cx, cy)`, its edge anti-aliased.
    pub(crate) fn disc(&mut self, (cx, cy): (i32, i32), r: f64, rgb: [u8; 3]) {
        let reach = r.ceil() as i32 + 1;
        for y in cy - reach..=cy + reach {
            for x in cx - reach..=cx + reach {
                let d = (((x - cx).pow(2) + (y - cy).pow(2)) as f64).sqrt();
                self.blend(x, y, rgb, (r + 0.5 - d).clamp(0.0, 1.0));
            }
        }
    }

    /// A vertical dashed line at column `x` from row `y0` to row `y1`.
    pub(crate) fn dashed_vline(&mut self, x: i32, (y0, y1): (i32, i32), rgb: [u8; 3]) {
        let (dash, gap) = (6, 4);
        let mut y = y0;
        while y < y1 {
            self.fill((x, y), (1, dash.min(y1 - y) as u32), rgb);
            y += dash + gap;
        }
    }

    /// Lays an RGB8 picture of `w` x `h` pixels with its top left corner at `(x, y)`
    /// (clipped to the canvas).
    pub(crate) fn blit(&mut self, (x, y): (i32, i32), (w, h): (u32, u32), rgb: &[u8]) {
        for sy in 0..h as i32 {
            for sx in 0..w as i32 {
                let (dx, dy) = (x + sx, y + sy);
                if dx >= 0 && dy >= 0 && dx < self.width as i32 && dy < self.height as i32 {
                    let i = (sy as usize * w as usize + sx as usize) * 3;
                    self.put(dx as u32, dy as u32, [rgb[i], rgb[i + 1], rgb[i + 2]]);
                }
            }
        }
    }

    fn put(&mut self, x: u32, y: u32, rgb: [u8; 3]) {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        self.rgb[i..i + 3].copy_from_slice(&rgb);
    }

    fn blend(&mut self, x: i32, y: i32, rgb: [u8; 3], a: f64) {
        if a <= 0.0 || x < 0 || y < 0 || x >= self.width as i32 || y >= self.height as i32 {
            return;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        for (dst, &c) in self.rgb[i..i + 3].iter_mut().zip(&rgb) {
            *dst = (*dst as f64 * (1.0 - a) + c as f64 * a).round() as u8;
        }
    }

    /// Writes a line of `s` in `font`, its line box's top left corner at `(x, top)`.
    pub(crate) fn write(
        &mut self,
        font: Font,
        s: &str,
        (x, top): (i32, i32),
        ink: [u8; 3],
        path: &Path,
    ) -> Result<()> {
        let size = (self.width, self.height);
        font.draw(&mut self.rgb, size, s, (x, top), ink).at(path)
    }

    /// Writes a line of `s` centred on column `centre`, its line box's top at `top`.
    pub(crate) fn write_centred(
        &mut self,
        font: Font,
        s: &str,
        (centre, top): (i32, i32),
        ink: [u8; 3],
        path: &Path,
    ) -> Result<()> {
        let x = centre - font.width(s) as i32 / 2;
        self.write(font, s, (x, top), ink, path)
    }

    /// Writes a line of `s` in `font` turned a quarter left (read from bottom to top), in the
    /// box of [`Font::line_height`] x [`Font::width`] pixels whose top left corner is `(x,
    /// y)`; only the text's own pixels are laid on the canvas.
    pub(crate) fn write_up(
        &mut self,
        font: Font,
        s: &str,
        (x, y): (i32, i32),
        ink: [u8; 3],
        path: &Path,
    ) -> Result<()> {
        let (w, h) = (font.width(s).max(1), font.line_height());
        let mut flat = vec![255u8; w as usize * h as usize * 3];
        font.draw(&mut flat, (w, h), s, (0, 0), ink).at(path)?;
        for sy in 0..h {
            for sx in 0..w {
                let i = (sy as usize * w as usize + sx as usize) * 3;
                let p = [flat[i], flat[i + 1], flat[i + 2]];
                let (dx, dy) = (x + sy as i32, y + (w - 1 - sx) as i32);
                let inside = dx >= 0 && dy >= 0 && dx < self.width as i32;
                if p != [255; 3] && inside && dy < self.height as i32 {
                    self.put(dx as u32, dy as u32, p);
                }
            }
        }
        Ok(())
    }

    /// Writes the canvas to `path` as a PNG, atomically.
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        save_png(&self.rgb, self.width, self.height, path).at(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_stay_on_the_canvas() {
        let mut c = Canvas::new(10, 8);
        c.fill((-3, -3), (5, 5), [1, 2, 3]);
        assert_eq!(c.rgb[..3], [1, 2, 3]);
        c.frame((0, 0), (10, 8), [9, 9, 9]);
        c.disc((9, 7), 3.0, [0, 0, 0]);
        c.dashed_vline(5, (0, 8), [7, 7, 7]);
        c.fill((20, 20), (5, 5), [0, 0, 0]);
        let path = Path::new("x.png");
        c.write_up(TICK, "long text", (-2, -40), INK, path).unwrap();
        c.write(TICK, "long text", (6, 4), INK, path).unwrap();
    }
}
