//! lr_find's suggestions against fastai's own `valley`, `slide`, `minimum` and `steep` on
//! recorded curves (`scripts/reference/lr_find_reference.py` wrote the numbers: a real curve
//! fastai recorded on the Adult sample, and a made curve that ends in NaN).

use fastcandle_train::lr_find::suggest;

#[test]
fn suggestions_match_fastai_on_recorded_curves() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/lr_find_reference.json"
    ))
    .unwrap();
    let curves: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (name, c) in curves.as_object().unwrap() {
        let lrs: Vec<f64> = c["lrs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let losses: Vec<f32> = c["losses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().map(|x| x as f32).unwrap_or(f32::NAN))
            .collect();
        let num_it = c["num_it"].as_u64().unwrap() as usize;
        let s = suggest(&lrs, &losses, num_it).unwrap();
        let fastai = &c["fastai"];
        let got = [
            ("valley", s.valley),
            ("minimum", s.minimum),
            ("steep", s.steep),
            ("slide", s.slide.unwrap()),
        ];
        for (k, v) in got {
            let want = fastai[k].as_f64().unwrap();
            assert!(
                ((v - want) / want).abs() < 1e-6,
                "{name} {k}: {v} against fastai's {want}"
            );
        }
    }
}

#[test]
fn a_curve_too_short_suggests_nothing_and_slide_needs_sixteen_points() {
    let lrs: Vec<f64> = (0..20).map(|i| 1e-5 * 1.5f64.powi(i)).collect();
    let losses: Vec<f32> = (0..20).map(|i| 1.0 - 0.01 * i as f32).collect();
    // 100 batches asked, 20 ran: points 10..15 are left, too few for slide.
    let s = suggest(&lrs, &losses, 100).unwrap();
    assert!(s.slide.is_none());
    assert_eq!(s.named().len(), 3);
    // Nothing left once the first tenth and the last five points go.
    assert!(suggest(&lrs[..12], &losses[..12], 100).is_none());
    // A NaN at the first point kept leaves nothing either.
    let mut nan = losses.clone();
    nan[10] = f32::NAN;
    assert!(suggest(&lrs, &nan, 100).is_none());
}
