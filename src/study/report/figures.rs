//! The report's SVG figures (plotters, SVG backend only: text is written as SVG `<text>` in a
//! generic sans-serif family, no font files are read). Per dataset:
//!
//! * `error_vs_days_<dataset>.svg`: test error against wet-lab days with 95% bands (the paper's
//!   Figure 3): active learning at `cycle x days_per_cycle` days, one-shot methods' full budget at
//!   one round (dashed level across the plot).
//! * `error_by_cycle_<dataset>.svg`: test error against the cycle (training-set size) per method.
//! * `stability_<dataset>.svg`: mean pairwise Jaccard of the final selections across seeds within
//!   a fold and across folds.
//! * `noise_<dataset>.svg` (with more than one noise level): test error of the graph methods
//!   against the graph noise.

use super::stats::Estimate;
use super::summary::{Aggregates, PRIMARY};
use super::Record;
use crate::error::{Error, Result};
use crate::study::config::StudyMethod;
use crate::study::folder::StudyDir;
use crate::study::plan::noise_label;
use plotters::coord::Shift;
use plotters::prelude::*;

const W: u32 = 900;
const H: u32 = 560;
const FONT: &str = "sans-serif";

/// The colour of a method (fixed, so every figure agrees).
pub fn colour(m: StudyMethod) -> RGBColor {
    match m {
        StudyMethod::Graphreach => RGBColor(31, 119, 180),
        StudyMethod::Maxspec => RGBColor(148, 103, 189),
        StudyMethod::Random => RGBColor(110, 110, 110),
        StudyMethod::Typiclust => RGBColor(255, 127, 14),
        StudyMethod::AcsFw => RGBColor(44, 160, 44),
        StudyMethod::Hybrid => RGBColor(214, 39, 40),
    }
}

fn draw_err<E: std::fmt::Display>(e: E) -> Error {
    Error::invalid(format!("cannot draw a figure: {e}"))
}

/// The dataset's display name: `NAME (synthetic)` for simulated data.
pub fn display_name(sd: &StudyDir, dataset: &str) -> String {
    if sd.info(dataset).synthetic { format!("{dataset} (SYNTHETIC data)") } else { dataset.to_string() }
}

fn range(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.02).max(1e-9);
    ((lo - pad).max(if lo >= 0.0 { 0.0 } else { f64::NEG_INFINITY }), hi + pad)
}

fn root(buf: &mut String) -> DrawingArea<SVGBackend<'_>, Shift> {
    let r = SVGBackend::with_string(buf, (W, H)).into_drawing_area();
    let _ = r.fill(&WHITE);
    r
}

/// A line with a 95% band: `points` are (x, estimate x 10^3).
type Curve = (StudyMethod, Vec<(f64, Estimate)>);

#[allow(clippy::too_many_arguments)]
fn line_figure(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    x_range: (f64, f64),
    curves: &[Curve],
    levels: &[(StudyMethod, Estimate, f64)],
    reference: Option<(&str, f64)>,
    x_fmt: &dyn Fn(&f64) -> String,
) -> Result<String> {
    let mut buf = String::new();
    {
        let r = root(&mut buf);
        let ys = curves
            .iter()
            .flat_map(|c| c.1.iter().flat_map(|(_, e)| [e.mean, e.lo, e.hi]))
            .chain(levels.iter().flat_map(|l| [l.1.mean, l.1.lo, l.1.hi]))
            .chain(reference.map(|r| r.1));
        let (y0, y1) = range(ys);
        let mut chart = ChartBuilder::on(&r)
            .caption(title, (FONT, 22))
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x_range.0..x_range.1, y0..y1)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(x_fmt)
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 13))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(draw_err)?;
        if let Some((label, y)) = reference {
            chart
                .draw_series(DashedLineSeries::new(vec![(x_range.0, y), (x_range.1, y)], 3, 5, BLACK.stroke_width(1)))
                .map_err(draw_err)?
                .label(label)
                .legend(|(x, y)| {
                    // Dashed like the line it names.
                    let st = BLACK.stroke_width(1);
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (3, 0)], st)
                        + PathElement::new(vec![(8, 0), (11, 0)], st)
                        + PathElement::new(vec![(16, 0), (19, 0)], st)
                });
        }
        for (m, est, x) in levels {
            let c = colour(*m);
            chart
                .draw_series(DashedLineSeries::new(vec![(x_range.0, est.mean), (x_range.1, est.mean)], 8, 5, c.stroke_width(2)))
                .map_err(draw_err)?
                .label(format!("{} (one-shot, full budget)", m.as_str()))
                .legend(move |(x, y)| {
                    let st = c.stroke_width(2);
                    EmptyElement::at((x, y)) + PathElement::new(vec![(0, 0), (8, 0)], st) + PathElement::new(vec![(13, 0), (21, 0)], st)
                });
            if est.lo.is_finite() {
                chart.draw_series(std::iter::once(ErrorBar::new_vertical(*x, est.lo, est.mean, est.hi, c.filled().stroke_width(2), 12))).map_err(draw_err)?;
            }
            chart.draw_series(std::iter::once(Circle::new((*x, est.mean), 5, c.filled()))).map_err(draw_err)?;
        }
        for (m, pts) in curves {
            let c = colour(*m);
            let band: Vec<(f64, f64)> = pts
                .iter()
                .filter(|p| p.1.lo.is_finite())
                .map(|p| (p.0, p.1.hi))
                .chain(pts.iter().rev().filter(|p| p.1.lo.is_finite()).map(|p| (p.0, p.1.lo)))
                .collect();
            if band.len() >= 4 {
                chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.15).filled()))).map_err(draw_err)?;
            }
            chart
                .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1.mean)), c.stroke_width(2)))
                .map_err(draw_err)?
                .label(m.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(2)));
            chart.draw_series(pts.iter().map(|p| Circle::new((p.0, p.1.mean), 4, c.filled()))).map_err(draw_err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(draw_err)?;
        r.present().map_err(draw_err)?;
    }
    Ok(buf)
}

fn stability_figure(title: &str, methods: &[(StudyMethod, Option<Estimate>, Option<Estimate>)]) -> Result<String> {
    let mut buf = String::new();
    {
        let r = root(&mut buf);
        let n = methods.len() as f64;
        let mut chart = ChartBuilder::on(&r)
            .caption(title, (FONT, 22))
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(-0.6..n - 0.4, 0.0..1.1)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_desc("method")
            .y_desc("mean pairwise Jaccard of final selections (1 = identical)")
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 13))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(draw_err)?;
        let shades = [("across seeds, within a fold (± sd over folds)", 1.0), ("across folds, same seed (± sd over seeds)", 0.45)];
        for (k, (label, alpha)) in shades.iter().enumerate() {
            let off = if k == 0 { -0.36 } else { 0.0 };
            let mut first = true;
            for (i, (m, within, across)) in methods.iter().enumerate() {
                let Some(e) = (if k == 0 { within } else { across }) else { continue };
                let c = colour(*m).mix(*alpha);
                let x0 = i as f64 + off;
                let s = chart.draw_series(std::iter::once(Rectangle::new([(x0, 0.0), (x0 + 0.34, e.mean)], c.filled()))).map_err(draw_err)?;
                if first {
                    let grey = RGBColor(90, 90, 90).mix(*alpha);
                    s.label(*label).legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], grey.filled()));
                    first = false;
                }
                if e.sd.is_finite() {
                    let lo = (e.mean - e.sd).max(0.0);
                    let hi = (e.mean + e.sd).min(1.0);
                    chart.draw_series(std::iter::once(ErrorBar::new_vertical(x0 + 0.17, lo, e.mean, hi, BLACK.stroke_width(1), 8))).map_err(draw_err)?;
                }
            }
        }
        for (i, (m, _, _)) in methods.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(i as f64, 0.0));
            r.draw(&Text::new(m.as_str().to_string(), (px - 4 * m.as_str().len() as i32, py + 8), (FONT, 14).into_font()))
                .map_err(draw_err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(draw_err)?;
        r.present().map_err(draw_err)?;
    }
    Ok(buf)
}

/// Every figure of the report: (file name, SVG text).
pub fn draw_all(sd: &StudyDir, records: &[Record], agg: &Aggregates) -> Result<Vec<(String, String)>> {
    let p = &sd.study.config.protocol;
    let cycles = p.cycles;
    let dpc = p.days_per_cycle;
    let k = 1000.0;
    let y_desc = "test MSE, top-20 DE genes (non-dropout) x 10^3";
    let mut out = Vec::new();
    for d in &sd.study.datasets {
        let ds = d.spec.name.as_str();
        if !records.iter().any(|r| r.m.dataset == ds) {
            continue;
        }
        let name = display_name(sd, ds);
        let batch = sd.info(ds).batch;
        let est = |m: StudyMethod, noise: &str, c: usize, pred: &str| agg.get(ds, noise, m, c, pred, PRIMARY).copied().map(|e| e.scaled(k));
        let no_change: Vec<f64> = records.iter().filter(|r| r.m.dataset == ds && r.m.noise == 0.0 && r.m.cycle == cycles).map(|r| r.m.baselines.no_change.mse_top20_de_non_dropout * k).collect();
        let reference = (!no_change.is_empty()).then(|| ("no-change baseline (predicts the control mean)", no_change.iter().sum::<f64>() / no_change.len() as f64));
        // Error vs days.
        let mut curves = Vec::new();
        let mut levels = Vec::new();
        let n_one_shot = sd.study.methods.iter().filter(|m| m.one_shot()).count() as f64;
        for &m in &sd.study.methods {
            if m.one_shot() {
                if let Some(e) = est(m, "0.0", cycles, "gears") {
                    // Side by side around one round, so that overlapping intervals stay readable.
                    let x = dpc + (levels.len() as f64 - (n_one_shot - 1.0) / 2.0) * dpc * 0.06;
                    levels.push((m, e, x));
                }
            } else {
                let pts: Vec<(f64, Estimate)> = (1..=cycles).filter_map(|c| est(m, "0.0", c, "gears").map(|e| (c as f64 * dpc, e))).collect();
                if !pts.is_empty() {
                    curves.push((m, pts));
                }
            }
        }
        let title = format!("Test error vs wet-lab days: {name}");
        let x_desc = format!("wet-lab days (one round = {dpc} days; one-shot methods need one round for the whole budget)");
        let fmt = |x: &f64| format!("{x:.0}");
        out.push((
            format!("error_vs_days_{ds}.svg"),
            line_figure(&title, &x_desc, y_desc, (0.0, (cycles as f64 + 0.5) * dpc), &curves, &levels, reference, &fmt)?,
        ));
        // Error by cycle.
        let curves: Vec<Curve> = sd
            .study
            .methods
            .iter()
            .filter_map(|&m| {
                let pts: Vec<(f64, Estimate)> = (1..=cycles).filter_map(|c| est(m, "0.0", c, "gears").map(|e| (c as f64, e))).collect();
                (!pts.is_empty()).then_some((m, pts))
            })
            .collect();
        let title = format!("Test error by cycle: {name}");
        let x_desc = format!("cycle c (training set = c x {batch} perturbations)");
        let fmt = |x: &f64| if (x - x.round()).abs() < 1e-9 { format!("{x:.0}") } else { String::new() };
        out.push((
            format!("error_by_cycle_{ds}.svg"),
            line_figure(&title, &x_desc, y_desc, (0.7, cycles as f64 + 0.3), &curves, &[], reference, &fmt)?,
        ));
        // Stability.
        let bars: Vec<(StudyMethod, Option<Estimate>, Option<Estimate>)> = sd
            .study
            .methods
            .iter()
            .map(|&m| {
                let g = |metric: &str| agg.get(ds, "0.0", m, cycles, "selection", metric).copied();
                (m, g("jaccard_within_fold"), g("jaccard_across_folds"))
            })
            .collect();
        out.push((format!("stability_{ds}.svg"), stability_figure(&format!("Selection stability (final cycle): {name}"), &bars)?));
        // Noise.
        if p.graph_noise.len() > 1 {
            let mut levels_sorted = p.graph_noise.clone();
            levels_sorted.sort_by(f64::total_cmp);
            let curves: Vec<Curve> = sd
                .study
                .methods
                .iter()
                .filter(|m| m.reads_graph())
                .filter_map(|&m| {
                    let pts: Vec<(f64, Estimate)> =
                        levels_sorted.iter().filter_map(|&n| est(m, &noise_label(n), cycles, "gears").map(|e| (n * 100.0, e))).collect();
                    (!pts.is_empty()).then_some((m, pts))
                })
                .collect();
            let random = est(StudyMethod::Random, "0.0", cycles, "gears").map(|e| ("random (does not read the graph)", e.mean));
            let title = format!("Test error under graph noise (final cycle): {name}");
            let x_desc = "graph noise: % of GO-graph edges dropped and as many random edges added (selection graph only)";
            let top = levels_sorted.last().copied().unwrap_or(0.0) * 100.0;
            let fmt = |x: &f64| format!("{x:.0}");
            out.push((format!("noise_{ds}.svg"), line_figure(&title, x_desc, y_desc, (-top * 0.05, top * 1.05), &curves, &[], random, &fmt)?));
        }
    }
    Ok(out)
}
