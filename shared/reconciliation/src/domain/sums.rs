//! Comparing like an accountant: counts exactly; usage and cost within a tolerance fitted
//! to the data. Telnyx sums a report's metrics as binary doubles (`2.0573360000000003`
//! where the records' decimal sum is `2.057336`); our side is an exact decimal sum. A
//! difference is noise when it is below half a unit of the last decimal place our
//! records carry (so one missing record of the smallest value, at least one such unit,
//! still shows) or below what `n` double additions can accumulate, whichever is larger.

use rust_decimal::Decimal;

/// The relative error one double addition may add (2⁻⁵², twice the unit round-off).
fn double_epsilon() -> Decimal {
    // 2^-52 = 2.220446049250313e-16 (to the 28 places a decimal holds)
    Decimal::new(2_220_446_049_251, 28)
}

/// The largest difference between a report's double sum of `n` values near `magnitude`
/// and `ours` (the exact decimal sum of our records) that is noise, not a finding. A zero
/// sum of ours carries no decimal places to round to: only the double noise is allowed.
pub fn tolerance(ours: Decimal, magnitude: Decimal, n: u64) -> Decimal {
    let half_unit = if ours.is_zero() {
        Decimal::ZERO
    } else {
        Decimal::new(5, (ours.scale() + 1).min(28))
    };
    let accumulated = ours
        .abs()
        .max(magnitude.abs())
        .checked_mul(Decimal::from(n.max(1)))
        .and_then(|x| x.checked_mul(double_epsilon()))
        .unwrap_or(Decimal::MAX);
    half_unit.max(accumulated)
}

/// Whether Telnyx's sum and ours agree, given `n` records summed.
pub fn sums_agree(telnyx: Decimal, ours: Decimal, n: u64) -> bool {
    (telnyx - ours).abs() <= tolerance(ours, telnyx, n)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn binary_double_noise_is_not_a_finding() {
        assert!(sums_agree(d("2.0573360000000003"), d("2.057336"), 6));
        assert!(sums_agree(d("0.23630199999999996"), d("0.236302"), 6));
        assert!(sums_agree(d("1800.0"), d("1800"), 30), "a double's `.0`");
    }

    #[test]
    fn one_missing_record_of_the_smallest_value_still_is() {
        // Costs to six places: the smallest possible record costs 0.000001.
        assert!(!sums_agree(d("2.057337"), d("2.057336"), 6));
        // Seconds: one missing second shows.
        assert!(!sums_agree(d("1801"), d("1800"), 30));
        // Scientific-notation costs carry seven places: one unit of the seventh shows.
        assert!(!sums_agree(d("0.0001667"), d("0.0001666"), 1));
    }

    #[test]
    fn the_tolerance_grows_with_the_number_of_values_summed() {
        let big = d("1000000.000001");
        assert!(tolerance(big, big, 1_000_000) > tolerance(big, big, 1));
        assert!(tolerance(big, big, 1) < d("0.000001"));
    }

    #[test]
    fn against_a_zero_sum_of_ours_any_real_amount_is_a_finding() {
        assert!(!sums_agree(d("0.3"), d("0"), 2));
        assert!(sums_agree(d("0.0"), d("0"), 2));
    }
}
