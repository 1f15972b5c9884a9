//! Tolerant readers for Telnyx's drifting field types.
//!
//! The live API sends ids as strings or numbers, flags as booleans or `0`/`1`,
//! money as decimal strings, JSON numbers or scientific notation (`"1.666E-4"`),
//! and hides pricing as an absent, `null` or empty value. Everything here reads
//! the JSON *text* of a value (a [`RawValue`]) so that money never passes through
//! `f64`: a number is parsed from the digits Telnyx sent.

use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// One JSON value classified by its text, without allocating for plain strings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    Null,
    Bool(bool),
    /// A JSON string, unescaped.
    Str(Cow<'a, str>),
    /// A JSON number, as its exact text.
    Num(&'a str),
    /// An object or an array.
    Composite,
}

impl<'a> Scalar<'a> {
    /// Classifies a raw JSON value by its first character. (A `RawValue` never has
    /// whitespace around it: serde_json captures values and trims constructed ones.)
    pub(crate) fn of(raw: &'a RawValue) -> Result<Self, String> {
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'"') => {
                let inner = text
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .ok_or_else(|| format!("unterminated string {text}"))?;
                if inner.contains('\\') {
                    serde_json::from_str::<String>(text)
                        .map(|s| Scalar::Str(Cow::Owned(s)))
                        .map_err(|e| e.to_string())
                } else {
                    Ok(Scalar::Str(Cow::Borrowed(inner)))
                }
            }
            Some(b'n') => Ok(Scalar::Null),
            Some(b't') => Ok(Scalar::Bool(true)),
            Some(b'f') => Ok(Scalar::Bool(false)),
            Some(b'{') | Some(b'[') => Ok(Scalar::Composite),
            Some(_) => Ok(Scalar::Num(text)),
            None => Err("empty value".to_owned()),
        }
    }

    /// The value as text: strings verbatim, numbers as sent; `None` for null and "".
    pub(crate) fn into_text(self) -> Option<Cow<'a, str>> {
        match self {
            Scalar::Str(s) if s.chars().all(char::is_whitespace) => None,
            Scalar::Str(s) => Some(s),
            Scalar::Num(n) => Some(Cow::Borrowed(n)),
            Scalar::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
            Scalar::Null | Scalar::Composite => None,
        }
    }
}

/// Text of an optional raw value: `None` when absent, `null`, empty, or composite.
pub(crate) fn text(raw: Option<&RawValue>) -> Result<Option<Cow<'_, str>>, String> {
    match raw {
        None => Ok(None),
        Some(raw) => Ok(Scalar::of(raw)?.into_text()),
    }
}

/// Parses a decimal exactly: plain (`"0.0075"`, `12`) or scientific (`"1.666E-4"`).
///
/// Returns `None` for text that is not a number, or one that would need rounding to fit
/// a [`Decimal`] (money is never silently rounded).
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    if text.is_empty() {
        return None;
    }
    if text.bytes().any(|b| b == b'e' || b == b'E') {
        return Decimal::from_scientific(text).ok();
    }
    Decimal::from_str_exact(text).ok()
}

/// An optional decimal from a raw value: absent, `null` and `""` are `None` (hidden
/// pricing); anything else that is not an exact number is an error.
pub(crate) fn decimal(raw: Option<&RawValue>) -> Result<Option<Decimal>, String> {
    match text(raw)? {
        None => Ok(None),
        Some(t) => parse_decimal(&t)
            .map(Some)
            .ok_or_else(|| format!("{t:?} is not an exact decimal")),
    }
}

/// Parses a Telnyx timestamp: RFC 3339 (`2026-01-02T03:04:05.123456+00:00`, `...Z`),
/// or the same with a space for `T`, or a naive date-time read as UTC.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    None
}

/// Reads a flag sent as a boolean, `0`/`1`, or `"true"`/`"false"`/`"0"`/`"1"`.
pub fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// A string field that may arrive as a JSON string or number (ids, codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlexString(pub(crate) String);

impl FlexString {
    /// `None` for an empty or blank string.
    pub(crate) fn non_empty(self) -> Option<String> {
        if self.0.trim().is_empty() {
            None
        } else {
            Some(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for FlexString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FlexString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlexString, E> {
                Ok(FlexString(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<FlexString, E> {
                Ok(FlexString(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FlexString, E> {
                Ok(FlexString(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FlexString, E> {
                Ok(FlexString(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<FlexString, E> {
                Ok(FlexString(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<FlexString, E> {
                Ok(FlexString(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A flag that may arrive as a boolean, `0`/`1`, or a string of either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlexBool(pub(crate) bool);

impl<'de> Deserialize<'de> for FlexBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FlexBool;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean, 0/1, or a string of either")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<FlexBool, E> {
                Ok(FlexBool(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FlexBool, E> {
                match v {
                    0 => Ok(FlexBool(false)),
                    1 => Ok(FlexBool(true)),
                    _ => Err(E::custom(format!("{v} is not a 0/1 flag"))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FlexBool, E> {
                match v {
                    0 => Ok(FlexBool(false)),
                    1 => Ok(FlexBool(true)),
                    _ => Err(E::custom(format!("{v} is not a 0/1 flag"))),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlexBool, E> {
                parse_flag(v)
                    .map(FlexBool)
                    .ok_or_else(|| E::custom(format!("{v:?} is not a flag")))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    #[test]
    fn scientific_notation_cost_is_parsed_exactly() {
        let expected = Decimal::from_str("0.0001666").unwrap();
        assert_eq!(parse_decimal("1.666E-4"), Some(expected));
        assert_eq!(parse_decimal("1.666e-4"), Some(expected));
        assert_eq!(decimal(Some(&raw("\"1.666E-4\""))), Ok(Some(expected)));
        assert_eq!(expected.to_string(), "0.0001666");
    }

    #[test]
    fn a_json_number_is_read_from_its_text_not_through_a_float() {
        // 0.1 + 17 significant digits: an f64 round trip would change the digits.
        let parsed = decimal(Some(&raw("0.12345678901234567891"))).unwrap();
        assert_eq!(
            parsed.map(|d| d.to_string()).as_deref(),
            Some("0.12345678901234567891")
        );
        let sci = decimal(Some(&raw("1.666E-4"))).unwrap();
        assert_eq!(sci.map(|d| d.to_string()).as_deref(), Some("0.0001666"));
    }

    #[test]
    fn hidden_pricing_reads_as_none_not_zero() {
        assert_eq!(decimal(None), Ok(None));
        assert_eq!(decimal(Some(&raw("null"))), Ok(None));
        assert_eq!(decimal(Some(&raw("\"\""))), Ok(None));
        assert_eq!(decimal(Some(&raw("\"  \""))), Ok(None));
    }

    #[test]
    fn a_cost_that_is_not_a_number_is_an_error_not_a_silent_none() {
        assert!(decimal(Some(&raw("\"n/a\""))).is_err());
    }

    #[test]
    fn ids_and_codes_read_the_same_as_strings_or_numbers() {
        let from_number: FlexString = serde_json::from_str("60").unwrap();
        let from_string: FlexString = serde_json::from_str("\"60\"").unwrap();
        assert_eq!(from_number, FlexString("60".to_owned()));
        assert_eq!(from_string, from_number);
        let big: FlexString = serde_json::from_str("1293384261075731499").unwrap();
        assert_eq!(big.0, "1293384261075731499");
        assert_eq!(text(Some(&raw("60"))), Ok(Some(Cow::Borrowed("60"))));
    }

    #[test]
    fn flags_read_as_booleans_or_zero_one() {
        for (json, expected) in [
            ("1", true),
            ("0", false),
            ("true", true),
            ("false", false),
            ("\"1\"", true),
            ("\"false\"", false),
        ] {
            let flag: Result<FlexBool, _> = serde_json::from_str(json);
            assert_eq!(flag.ok(), Some(FlexBool(expected)), "{json}");
        }
        assert!(serde_json::from_str::<FlexBool>("2").is_err());
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let value = raw(r#""a\"b""#);
        let s = Scalar::of(&value).unwrap();
        assert_eq!(s, Scalar::Str(Cow::Owned("a\"b".to_owned())));
    }

    #[test]
    fn telnyx_timestamps_parse_in_their_observed_spellings() {
        let expected = "2021-07-08T00:00:41Z".parse::<DateTime<Utc>>().ok();
        assert_eq!(parse_time("2021-07-08T00:00:41Z"), expected);
        assert_eq!(parse_time("2021-07-08T00:00:41.000000+00:00"), expected);
        assert_eq!(parse_time("2021-07-08 00:00:41+00:00"), expected);
        assert_eq!(parse_time("2021-07-08 00:00:41"), expected);
        assert_eq!(parse_time("2021-07-08T02:00:41+02:00"), expected);
        assert_eq!(parse_time("yesterday"), None);
    }
}
