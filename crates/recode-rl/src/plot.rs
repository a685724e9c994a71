//! PNG plots of a run's metrics (`recode plot RUN_DIR`): reward, KL and completion length
//! against step.
//!
//! Drawn with `plotters`' bitmap backend into memory, encoded with `png`, written atomically.
//! Text uses DejaVu Sans embedded in the binary (the `dejavu` crate, rendered by `ab_glyph`),
//! so no system font or font library is needed.
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;

use crate::metrics::StepMetrics;

/// Size of every plot in pixels.
pub const PLOT_SIZE: (u32, u32) = (960, 540);

/// Why a plot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{path}: drawing failed: {message}")]
    Draw { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// One line on a plot: a label and its `(step, value)` points.
struct Series {
    label: String,
    points: Vec<(f64, f64)>,
    color: RGBColor,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The bytes are a valid TrueType font shipped by the `dejavu` crate; a failure here
        // would surface as a drawing error naming the missing font.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Writes `reward.png`, `kl.png` and `length.png` into `out_dir` (which must exist) and
/// returns their paths. `kl.png` says so on the plot when the run recorded no KL (β = 0 or SFT).
pub fn plot_run(metrics: &[StepMetrics], out_dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    register_font();
    let step = |m: &StepMetrics| m.step as f64;

    let mut reward = vec![Series {
        label: "reward (total)".into(),
        points: metrics.iter().map(|m| (step(m), m.reward_mean)).collect(),
        color: COLORS[0],
    }];
    let components: std::collections::BTreeSet<&String> =
        metrics.iter().flat_map(|m| m.reward_components.keys()).filter(|k| *k != "total").collect();
    for (i, name) in components.into_iter().enumerate() {
        reward.push(Series {
            label: name.clone(),
            points: metrics.iter().filter_map(|m| m.reward_components.get(name).map(|c| (step(m), c.mean))).collect(),
            color: COLORS[(i + 1) % COLORS.len()],
        });
    }
    let band: Vec<(f64, f64, f64)> =
        metrics.iter().map(|m| (step(m), m.reward_mean - m.reward_std, m.reward_mean + m.reward_std)).collect();
    let kl = vec![Series {
        label: "KL (k3, per token)".into(),
        points: metrics.iter().filter_map(|m| m.kl.map(|kl| (step(m), kl))).collect(),
        color: COLORS[3],
    }];
    let length = vec![
        Series {
            label: "mean".into(),
            points: metrics.iter().map(|m| (step(m), m.completion_length_mean)).collect(),
            color: COLORS[0],
        },
        Series {
            label: "max".into(),
            points: metrics.iter().map(|m| (step(m), m.completion_length_max as f64)).collect(),
            color: COLORS[1],
        },
    ];

    let steps: Vec<f64> = metrics.iter().map(step).collect();
    let plots = [
        ("reward.png", "Reward (mean, band = ± std of total)", "reward", reward, Some(band), None),
        ("kl.png", "KL to the reference", "KL", kl, None, Some("no KL recorded (β = 0 or SFT)")),
        ("length.png", "Completion length", "tokens", length, None, None),
    ];
    let mut written = Vec::new();
    for (file, title, y_label, series, band, empty_note) in plots {
        let path = out_dir.join(file);
        let png = render(title, y_label, &steps, &series, band.as_deref(), empty_note)
            .map_err(|message| PlotError::Draw { path: path.clone(), message })?;
        recode_data::write_atomic(&path, &png).map_err(|source| PlotError::Io { path: path.clone(), source })?;
        written.push(path);
    }
    Ok(written)
}

/// `(min, max)` padded by 5 % (or ±1 when flat).
fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let pad = if lo.abs() > 1e-12 { lo.abs() * 0.1 } else { 1.0 };
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

/// Draws one plot and returns it as PNG bytes.
fn render(
    title: &str,
    y_label: &str,
    steps: &[f64],
    series: &[Series],
    band: Option<&[(f64, f64, f64)]>,
    empty_note: Option<&str>,
) -> Result<Vec<u8>, String> {
    let (width, height) = PLOT_SIZE;
    let mut pixels = vec![0u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (x0, x1) = padded_range(steps.iter().copied());
        let y_values = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
        let band_values = band.into_iter().flatten().flat_map(|b| [b.1, b.2]);
        let (y0, y1) = padded_range(y_values.chain(band_values));
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(72)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        // Steps are integers: no decimals unless the range is too short for whole-number ticks.
        let step_decimals = if x1 - x0 >= 5.0 { 0 } else { 1 };
        let step_label = move |x: &f64| format!("{x:.step_decimals$}");
        chart
            .configure_mesh()
            .x_label_formatter(&step_label)
            .x_desc("step")
            .y_desc(y_label)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(|e| e.to_string())?;
        if let Some(band) = band.filter(|b| b.len() >= 2) {
            let outline: Vec<(f64, f64)> =
                band.iter().map(|b| (b.0, b.2)).chain(band.iter().rev().map(|b| (b.0, b.1))).collect();
            chart
                .draw_series(std::iter::once(Polygon::new(outline, COLORS[0].mix(0.15))))
                .map_err(|e| e.to_string())?;
        }
        let mut any_points = false;
        for s in series {
            if s.points.is_empty() {
                continue;
            }
            any_points = true;
            let color = s.color;
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(s.label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            // Points as well, so a run of one step still shows.
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 2, color.filled())))
                .map_err(|e| e.to_string())?;
        }
        if any_points {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(|e| e.to_string())?;
        } else if let Some(note) = empty_note {
            root.draw(&Text::new(
                note.to_string(),
                ((width / 2 - 160) as i32, (height / 2) as i32),
                ("sans-serif", 20),
            ))
            .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    encode_png(&pixels, width, height).map_err(|e| e.to_string())
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_padded_and_flat_ones_widened() {
        assert_eq!(padded_range([0.0, 10.0].into_iter()), (-0.5, 10.5));
        assert_eq!(padded_range([2.0].into_iter()), (1.8, 2.2));
        assert_eq!(padded_range([0.0, 0.0].into_iter()), (-1.0, 1.0));
        assert_eq!(padded_range(std::iter::empty()), (0.0, 1.0));
        assert_eq!(padded_range([f64::NAN, 1.0, 3.0].into_iter()), (0.9, 3.1));
    }

    /// Decodes a PNG to RGB rows.
    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        (info.width, info.height, buf)
    }

    /// Dark pixels (text and axes are black) in rows `rows` of an RGB image.
    fn dark_pixels(width: u32, rgb: &[u8], rows: std::ops::Range<u32>) -> usize {
        let row_bytes = width as usize * 3;
        rgb[rows.start as usize * row_bytes..rows.end as usize * row_bytes]
            .chunks(3)
            .filter(|p| p.iter().all(|&c| c < 100))
            .count()
    }

    #[test]
    fn text_is_rendered_with_the_embedded_font() {
        register_font();
        let series = [Series { label: "total".into(), points: vec![(1.0, 0.5), (2.0, 1.5)], color: COLORS[0] }];
        let titled = render("Reward over steps", "reward", &[1.0, 2.0], &series, None, None).unwrap();
        let untitled = render("", "reward", &[1.0, 2.0], &series, None, None).unwrap();
        let (width, height, titled) = decode(&titled);
        assert_eq!((width, height), PLOT_SIZE);
        let (_, _, untitled) = decode(&untitled);
        // The caption's glyphs are the only dark pixels in the top strip.
        assert!(dark_pixels(width, &titled, 0..40) > 100, "no caption text drawn");
        assert_eq!(dark_pixels(width, &untitled, 0..40), 0);
        // Tick labels and the axis description below the x axis.
        // The x axis description ("step") in the bottom strip, below the tick labels.
        assert!(dark_pixels(width, &titled, height - 30..height) > 20, "no axis text drawn");
    }

    #[test]
    fn an_empty_series_shows_its_note() {
        register_font();
        let empty = [Series { label: "KL".into(), points: Vec::new(), color: COLORS[3] }];
        let note = render("KL", "KL", &[1.0, 2.0], &empty, None, Some("no KL recorded")).unwrap();
        let bare = render("KL", "KL", &[1.0, 2.0], &empty, None, None).unwrap();
        let (width, height, note) = decode(&note);
        let (_, _, bare) = decode(&bare);
        let middle = height / 2 - 30..height / 2 + 30;
        assert!(dark_pixels(width, &note, middle.clone()) > dark_pixels(width, &bare, middle) + 50);
    }
}
