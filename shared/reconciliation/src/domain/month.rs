//! A billing month (`2026-11`, UTC): the period an invoice covers and the unit the
//! operator closes (docs/audit.md "Closing a month").

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One UTC calendar month. Ordered by time; written and parsed as `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BillingMonth {
    year: i32,
    month: u32,
}

/// Text that is not a `YYYY-MM` month.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a month: write it as YYYY-MM, e.g. 2026-11")]
pub struct NotAMonth(pub String);

impl BillingMonth {
    /// The month `year`-`month`; `None` when `month` is not 1–12 or the year is absurd.
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1..=12).contains(&month) && (1970..=9998).contains(&year)).then_some(Self { year, month })
    }

    /// The month holding `t`.
    pub fn of(t: DateTime<Utc>) -> Self {
        Self {
            year: t.year(),
            month: t.month(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// Its first instant.
    pub fn start(self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(self.year, self.month, 1, 0, 0, 0)
            .single()
            .unwrap_or_default()
    }

    /// The first instant after it (the next month's start).
    pub fn end(self) -> DateTime<Utc> {
        self.next().start()
    }

    /// The month after.
    pub fn next(self) -> Self {
        match self.month {
            12 => Self {
                year: self.year + 1,
                month: 1,
            },
            m => Self {
                year: self.year,
                month: m + 1,
            },
        }
    }

    /// The month before.
    pub fn prev(self) -> Self {
        match self.month {
            1 => Self {
                year: self.year - 1,
                month: 12,
            },
            m => Self {
                year: self.year,
                month: m - 1,
            },
        }
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        self.start().date_naive()
    }

    /// Its last day.
    pub fn last_day(self) -> NaiveDate {
        self.next()
            .first_day()
            .pred_opt()
            .unwrap_or(self.first_day())
    }

    /// Every day of it, in order.
    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        let last = self.last_day();
        self.first_day().iter_days().take_while(move |d| *d <= last)
    }
}

impl fmt::Display for BillingMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for BillingMonth {
    type Err = NotAMonth;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || NotAMonth(s.to_owned());
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !(y.chars().chain(m.chars())).all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let (y, m) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        Self::new(y, m).ok_or_else(bad)
    }
}

impl TryFrom<String> for BillingMonth {
    type Error = NotAMonth;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<BillingMonth> for String {
    fn from(m: BillingMonth) -> Self {
        m.to_string()
    }
}

/// Which invoice.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Level {
    /// What the operator bills the reseller (billing customer, twin services).
    Reseller,
    /// What the reseller bills its end customers.
    Customer,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_written_yyyy_mm_and_anything_else_is_refused() {
        let m: BillingMonth = "2026-11".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.to_string(), "2026-11");
        assert_eq!(m.next().to_string(), "2026-12");
        assert_eq!(m.next().next().to_string(), "2027-01");
        assert_eq!(m.next().next().prev(), m.next());
        assert_eq!(m.days().count(), 30);
        assert_eq!(m.last_day().to_string(), "2026-11-30");
        for bad in [
            "2026-13", "2026-1", "26-11", "2026/11", "november", "2026-00",
        ] {
            assert!(bad.parse::<BillingMonth>().is_err(), "{bad}");
        }
    }

    #[test]
    fn months_order_by_time_and_round_trip_through_serde() {
        let a = BillingMonth::new(2026, 12).unwrap_or_else(|| panic!("valid"));
        let b = BillingMonth::new(2027, 1).unwrap_or_else(|| panic!("valid"));
        assert!(a < b);
        let json = serde_json::to_string(&a).unwrap_or_default();
        assert_eq!(json, "\"2026-12\"");
        assert_eq!(serde_json::from_str::<BillingMonth>(&json).ok(), Some(a));
        assert!(serde_json::from_str::<BillingMonth>("\"2026-99\"").is_err());
    }
}
