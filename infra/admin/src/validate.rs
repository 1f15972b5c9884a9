//! What the operator types, checked before anything is stored: each function takes
//! the value and the name of the place it came from (a flag such as `--billing-email`,
//! or a CSV line and column), and refuses a bad value with a message naming that
//! place. Stored values are read by the functions (emails, ids in keys), so a value
//! that could never work is refused here rather than found later.

use reconciliation::domain::ManagedAccountId;

/// A refused value: where it came from and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {reason}")]
pub struct Invalid {
    /// `--billing-email`, `line 4, column email`…
    pub place: String,
    pub reason: String,
}

/// The CLI's errors are one message each.
impl From<Invalid> for String {
    fn from(e: Invalid) -> Self {
        e.to_string()
    }
}

fn invalid(place: &str, reason: impl Into<String>) -> Invalid {
    Invalid {
        place: place.to_owned(),
        reason: reason.into(),
    }
}

/// A managed account id: Telnyx's are UUIDs (`6a0e1b2c-4d5e-4f60-8a71-92b3c4d5e6f7`),
/// so anything else names no account (and would end in a secret name and a key).
pub fn account_id(place: &str, value: &str) -> Result<ManagedAccountId, Invalid> {
    let value = value.trim();
    match uuid::Uuid::try_parse(value) {
        Ok(id) if value.len() == 36 => Ok(ManagedAccountId::new(id.hyphenated().to_string())),
        _ => Err(invalid(
            place,
            format!(
                "{} is not a Telnyx managed account id (a UUID such as 6a0e1b2c-4d5e-4f60-8a71-92b3c4d5e6f7)",
                shown(value)
            ),
        )),
    }
}

/// One email address (`billing@example.com`): one `@`, a local part, a domain with a
/// dot, no space, comma, angle bracket or control character. SES would refuse anything
/// else, and the email would wait in the outbox forever.
pub fn email(place: &str, value: &str) -> Result<String, Invalid> {
    let value = value.trim();
    let refuse = |why: &str| {
        invalid(
            place,
            format!("{} is not an email address: {why}", shown(value)),
        )
    };
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse("it contains a space or a control character"));
    }
    if value
        .chars()
        .any(|c| matches!(c, ',' | ';' | '<' | '>' | '"'))
    {
        return Err(refuse("one address only, without a display name"));
    }
    let Some((local, domain)) = value.split_once('@') else {
        return Err(refuse("it has no @"));
    };
    if local.is_empty() || domain.contains('@') {
        return Err(refuse("it needs exactly one @ after a local part"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return Err(refuse("its domain needs a dot (example.com)"));
    }
    Ok(value.to_owned())
}

/// A name shown in emails and the portal (department, organization, reseller): not
/// empty, on one line, no control character (CR/LF would forge email headers).
pub fn name(place: &str, value: &str) -> Result<String, Invalid> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(invalid(place, "is empty"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(invalid(
            place,
            "contains a line break or another control character; names are one line",
        ));
    }
    Ok(trimmed.to_owned())
}

/// An id the operator chooses (a department id): not empty, printable ASCII letters,
/// digits and `-_.:`, at most 128 characters (it is part of stored keys).
pub fn id(place: &str, value: &str) -> Result<String, Invalid> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(place, "is empty"));
    }
    if value.len() > 128
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        return Err(invalid(
            place,
            format!(
                "{} is not an id: use letters, digits and - _ . : (at most 128)",
                shown(value)
            ),
        ));
    }
    Ok(value.to_owned())
}

/// `s3://bucket/prefix` (the prefix may be empty): a bucket name S3 accepts (3–63
/// lowercase letters, digits, `.` and `-`) and a prefix without a leading or trailing
/// `/`. Returns the bucket and the prefix.
pub fn s3_location(place: &str, value: &str) -> Result<(String, String), Invalid> {
    let refuse = |why: &str| {
        invalid(
            place,
            format!(
                "{} is not an S3 location: {why} (write s3://bucket/prefix)",
                shown(value)
            ),
        )
    };
    let rest = value
        .trim()
        .strip_prefix("s3://")
        .ok_or_else(|| refuse("it does not start with s3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    if !bucket_ok {
        return Err(refuse(
            "the bucket name is 3 to 63 lowercase letters, digits, . and -",
        ));
    }
    if prefix.chars().any(char::is_control) {
        return Err(refuse("the prefix contains a control character"));
    }
    Ok((bucket.to_owned(), prefix.trim_matches('/').to_owned()))
}

/// A value as quoted in an error: control characters escaped, long values cut.
fn shown(value: &str) -> String {
    let escaped: String = value
        .chars()
        .flat_map(char::escape_debug)
        .take(80)
        .collect();
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_managed_account_id_must_be_a_uuid() {
        let ok = account_id("--account", " 6A0E1B2C-4D5E-4F60-8A71-92B3C4D5E6F7 ");
        assert_eq!(
            ok.map(|a| a.into_inner()),
            Ok("6a0e1b2c-4d5e-4f60-8a71-92b3c4d5e6f7".to_owned())
        );
        for bad in ["x y", "", "6a0e1b2c4d5e4f608a7192b3c4d5e6f7", "acc-1"] {
            let err = account_id("--account", bad).unwrap_err();
            assert_eq!(err.place, "--account");
        }
    }

    #[test]
    fn an_email_is_one_plain_address_with_a_domain() {
        assert_eq!(
            email("--billing-email", "a@b.example"),
            Ok("a@b.example".into())
        );
        for bad in [
            "not-an-email",
            "a@b",
            "@b.example",
            "a@@b.example",
            "a b@c.example",
            "a@b.example,c@d.example",
            "Name <a@b.example>",
            "a@b.example\r\nBcc: x@y.example",
        ] {
            let err = email("--billing-email", bad).unwrap_err();
            assert!(err.to_string().starts_with("--billing-email: "), "{err}");
        }
    }

    #[test]
    fn an_s3_location_names_a_bucket_and_a_prefix() {
        assert_eq!(
            s3_location("--to", "s3://billing-exports/2026/"),
            Ok(("billing-exports".into(), "2026".into()))
        );
        assert_eq!(
            s3_location("--to", "s3://billing-exports"),
            Ok(("billing-exports".into(), String::new()))
        );
        for bad in [
            "billing-exports/x",
            "s3://",
            "s3://Bad_Bucket/x",
            "https://b/x",
        ] {
            let err = s3_location("--to", bad).unwrap_err();
            assert_eq!(err.place, "--to", "{bad}");
        }
    }

    #[test]
    fn a_name_is_one_line_and_an_id_is_plain() {
        assert_eq!(name("--name", " Acme "), Ok("Acme".into()));
        assert!(name("--name", "Acme\r\nBcc: x@y").is_err());
        assert!(name("--name", "  ").is_err());
        assert_eq!(id("--id", "dept-acme_1"), Ok("dept-acme_1".into()));
        assert!(id("--id", "dept acme").is_err());
        assert!(id("--id", "dept\nacme").is_err());
    }
}
