//! IEC 61672-1:2013 frequency weightings.

/// A-weighting gain at `f` Hz, dB (0 dB at 1 kHz), from the standard's analytic expression
/// (annex E): R_A(f) = f₄²f⁴ / ((f²+f₁²)·√((f²+f₂²)(f²+f₃²))·(f²+f₄²)), A = 20·log10 R_A + 2.000 dB.
pub fn a_weighting_db(f: f64) -> f64 {
    20.0 * a_weighting_gain(f).log10()
}

/// A-weighting as a linear amplitude gain.
pub fn a_weighting_gain(f: f64) -> f64 {
    const F1: f64 = 20.598_997;
    const F2: f64 = 107.652_65;
    const F3: f64 = 737.862_23;
    const F4: f64 = 12_194.217;
    const A1000: f64 = 1.258_925_4; // 10^(2.000/20): the normalization constant of the standard
    let f2 = f * f;
    let ra = F4 * F4 * f2 * f2
        / ((f2 + F1 * F1) * ((f2 + F2 * F2) * (f2 + F3 * F3)).sqrt() * (f2 + F4 * F4));
    ra * A1000
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IEC 61672-1 Table 3 design goals (nominal frequencies → exact base-10 frequencies),
    /// tolerance 0.05 dB (the table is given to 0.1 dB).
    #[test]
    fn matches_iec_61672_table() {
        let table = [
            (10.0, -70.4),
            (31.622_8, -39.4),
            (63.095_7, -26.2),
            (125.893, -16.1),
            (251.189, -8.6),
            (501.187, -3.2),
            (1000.0, 0.0),
            (1995.26, 1.2),
            (3981.07, 1.0),
            (7943.28, -1.1),
            (15_848.9, -6.6),
            (19_952.6, -9.3),
        ];
        for (f, want) in table {
            let got = a_weighting_db(f);
            assert!(
                (got - want).abs() <= 0.05 + 1e-9,
                "{f} Hz: {got:.3} dB, table {want}"
            );
        }
        assert!(a_weighting_db(1000.0).abs() < 0.001);
    }
}
