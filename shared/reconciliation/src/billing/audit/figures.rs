//! The two sides of one day's audit — our stored records' figures and Telnyx's report's,
//! read through the type's learned [`UsageShape`] — and the accountant's comparison:
//! counts exactly, usage and cost within the noise of Telnyx's binary-double sums
//! ([`crate::domain::sums`]).

use crate::domain::StoredDetailRecord;
use crate::domain::sums::sums_agree;
use crate::ports::{AuditFigures, AuditVerdict, UsageRow};
use crate::usage::UsageShape;
use crate::usage::evidence::{records, sum};

/// Adds one stored record to our side's figures.
pub(super) fn add(f: &mut AuditFigures, r: &StoredDetailRecord) {
    f.count += 1;
    if !r.record_type().quantity_fields().is_empty() {
        *f.quantity.get_or_insert_default() += r.record.billed_quantity.unwrap_or_default();
    }
    match r.record.cost {
        Some(c) => *f.cost.get_or_insert_default() += c,
        None => f.hidden_pricing += 1,
    }
}

/// Our side of a day with no stored record.
pub(super) fn nothing_stored(shape: &UsageShape) -> AuditFigures {
    AuditFigures {
        quantity: (!shape.quantity.is_empty()).then_some(rust_decimal::Decimal::ZERO),
        ..AuditFigures::default()
    }
}

/// Telnyx's side from the report rows of one day.
pub(super) fn telnyx(rows: &[&UsageRow], shape: &UsageShape) -> AuditFigures {
    AuditFigures {
        count: shape.count.as_deref().map_or(0, |m| records(sum(rows, m))),
        quantity: (!shape.quantity.is_empty())
            .then(|| shape.quantity.iter().map(|m| sum(rows, m)).sum()),
        cost: shape.cost.as_deref().map(|m| sum(rows, m)),
        hidden_pricing: 0,
    }
}

/// Compares the two sides; returns the verdict and whether cost was compared (not when
/// our records' pricing is hidden, or the product sums no cost in the type's field).
pub(super) fn compare(
    shape: &UsageShape,
    telnyx: &AuditFigures,
    stored: &AuditFigures,
) -> (AuditVerdict, bool) {
    let n = stored.count.max(telnyx.count);
    let agree = |a: Option<rust_decimal::Decimal>, b: Option<rust_decimal::Decimal>| {
        sums_agree(a.unwrap_or_default(), b.unwrap_or_default(), n)
    };
    let cost_compared = shape.cost.is_some() && stored.hidden_pricing == 0 && stored.count > 0;
    let clean = telnyx.count == stored.count
        && (shape.quantity.is_empty() || agree(telnyx.quantity, stored.quantity))
        && (!cost_compared || agree(telnyx.cost, stored.cost));
    let verdict = if clean {
        AuditVerdict::Clean
    } else {
        AuditVerdict::Mismatch
    };
    (verdict, cost_compared)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::RecordType;
    use crate::ports::{UsageOptions, UsageProduct};

    fn shape() -> UsageShape {
        let options = UsageOptions {
            products: vec![UsageProduct {
                product: "messaging".into(),
                dimensions: vec!["date".into()],
                metrics: vec!["count".into(), "parts".into(), "cost".into()],
            }],
        };
        crate::usage::shape::learn(&options, RecordType::Messaging).unwrap()
    }

    fn figures(count: u64, parts: &str, cost: &str) -> AuditFigures {
        AuditFigures {
            count,
            quantity: Some(parts.parse().unwrap()),
            cost: Some(cost.parse().unwrap()),
            hidden_pricing: 0,
        }
    }

    #[test]
    fn a_double_sum_equal_but_for_noise_is_clean() {
        let s = shape();
        let telnyx = figures(6, "9.0", "2.0573360000000003");
        let ours = figures(6, "9", "2.057336");
        assert_eq!(compare(&s, &telnyx, &ours), (AuditVerdict::Clean, true));
    }

    #[test]
    fn counts_compare_exactly_and_a_missing_smallest_cost_shows() {
        let s = shape();
        let ours = figures(6, "9", "2.057336");
        let one_more = figures(7, "9.0", "2.057336");
        assert_eq!(compare(&s, &one_more, &ours).0, AuditVerdict::Mismatch);
        let a_micro_more = figures(6, "9.0", "2.057337");
        assert_eq!(compare(&s, &a_micro_more, &ours).0, AuditVerdict::Mismatch);
    }

    #[test]
    fn hidden_pricing_audits_on_count_and_usage_only() {
        let s = shape();
        let mut ours = figures(2, "3", "0");
        ours.cost = None;
        ours.hidden_pricing = 2;
        let telnyx = figures(2, "3.0", "0.5");
        assert_eq!(compare(&s, &telnyx, &ours), (AuditVerdict::Clean, false));
    }
}
