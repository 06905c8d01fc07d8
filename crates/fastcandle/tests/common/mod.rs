//! What the application tests share.

/// Checks that a builder, built by `build(bs, valid_pct)` into its error's text (`None` when
/// it builds), refuses `bs` 0 and `valid_pct` 1.5 with errors naming the option, and builds
/// with `bs` 2 and `valid_pct` 0.25.
pub fn check_option_errors(build: impl Fn(usize, f64) -> Option<String>) {
    assert_eq!(
        build(0, 0.25).as_deref(),
        Some("bs: the batch size must be at least 1, got 0")
    );
    let e = build(2, 1.5).expect("valid_pct 1.5 is refused");
    assert!(e.starts_with("valid_pct: ") && e.contains("1.5"), "{e}");
    assert_eq!(build(2, 0.25), None);
}
