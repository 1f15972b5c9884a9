//! The emails, one per [`EmailKind`], rendered from minijinja templates (one file per
//! kind, `shared/aws/templates/<kind>.email`, holding its subject, text and HTML
//! parts) and sent through SES v2 ([`SesMailer`], the `Mailer` port).
//!
//! - new customer created → the department's billing address;
//! - unknown managed account → the operator's alert address;
//! - an account's key invalid or lacking a permission → the operator's alert address;
//! - the manager key missing, unreadable or refused → the operator's alert address;
//! - the completeness audit's findings → the operator's alert address.
//!
//! Recipients come with the notification. Everything in the HTML part is
//! auto-escaped (values come from Telnyx and must not inject markup); CR and LF are
//! stripped from every header value (subject, sender, recipients) so a name cannot
//! add a header. Each email is a `Simple` message with an HTML and a text part.
//! SES has no idempotency token: callers send through the outbox
//! (`reconciliation::outbox::flush_outbox`: claim → send → mark sent).

use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use minijinja::{AutoEscape, Environment, Value};
use reconciliation::plan::{EmailKind, Notification, RepeatEvery};
use reconciliation::ports::{Mailer, PortResult};

/// A kind's template file, embedded at compile time from
/// `shared/aws/templates/<kind>.email`: three parts, each opened by its marker line
/// ([`PARTS`]), in that order.
macro_rules! template {
    ($name:literal) => {
        include_str!(concat!("../templates/", $name, ".email"))
    };
}

/// Every kind's template file: the match is exhaustive, so a new kind does not build
/// without its file (a test checks it is named after its kind).
fn template_file(kind: EmailKind) -> &'static str {
    match kind {
        EmailKind::NewCustomer => template!("new-customer"),
        EmailKind::UnknownAccounts => template!("unknown-accounts"),
        EmailKind::KeyProblem => template!("key-problem"),
        EmailKind::ManagerKeyProblem => template!("manager-key-problem"),
        EmailKind::AuditMismatch => template!("audit-mismatch"),
        EmailKind::MonthsClosed => template!("months-closed"),
    }
}

/// A template file's parts: its marker line and the template name's suffix (`.html`
/// auto-escapes).
const PARTS: [(&str, &str); 3] = [
    ("=== subject\n", "subject.txt"),
    ("=== text\n", "txt"),
    ("=== html\n", "html"),
];

/// Splits a kind's file into its parts, in [`PARTS`] order; the error is the first
/// marker that is missing or out of order.
fn parts(file: &str) -> Result<[&str; 3], &'static str> {
    let mut found = [""; 3];
    let mut rest = file;
    for (i, (marker, _)) in PARTS.iter().enumerate() {
        rest = rest.strip_prefix(marker).ok_or(*marker)?;
        let end = PARTS
            .get(i + 1)
            .and_then(|(next, _)| rest.find(&format!("\n{next}")).map(|at| at + 1))
            .unwrap_or(rest.len());
        found[i] = &rest[..end];
        rest = &rest[end..];
    }
    Ok(found)
}

/// The message id recorded for an email SES accepted without returning an id (never
/// seen in practice; an empty id would look like a bug).
pub const MISSING_MESSAGE_ID: &str = "(none: SES returned no message id)";

/// A rendered email, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    /// One line: CR/LF and other control characters replaced by spaces.
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Recipients, CR/LF stripped, empty ones dropped.
    pub to: Vec<String>,
}

/// Renders notifications into emails.
#[derive(Debug)]
pub struct EmailRenderer {
    env: Environment<'static>,
}

impl EmailRenderer {
    /// Loads the embedded templates; `.html` templates auto-escape HTML, the others
    /// (subject, text) do not.
    pub fn new() -> Result<Self, AwsError> {
        let mut env = Environment::new();
        // An alert's `repeat_every` (whole hours) as the operator reads it: `3 days`.
        env.add_filter("interval", |hours: i64| {
            RepeatEvery::of(chrono::Duration::hours(hours)).to_string()
        });
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        for &kind in EmailKind::ALL {
            let file = format!("{}.email", kind.as_str());
            let found = parts(template_file(kind)).map_err(|marker| AwsError::Template {
                template: file.clone(),
                source: minijinja::Error::new(
                    minijinja::ErrorKind::SyntaxError,
                    format!(
                        "the part opened by {:?} is missing or out of order",
                        marker.trim()
                    ),
                ),
            })?;
            for ((_, suffix), source) in PARTS.iter().zip(found) {
                let name = format!("{}.{suffix}", kind.as_str());
                env.add_template_owned(name.clone(), source)
                    .map_err(|e| AwsError::Template {
                        template: name,
                        source: e,
                    })?;
            }
        }
        Ok(Self { env })
    }

    /// The subject, HTML and text of `notification`.
    pub fn render(&self, notification: &Notification) -> Result<RenderedEmail, AwsError> {
        let stem = notification.kind().as_str();
        let context = Value::from(minijinja::value::Serde(notification));
        let render = |suffix: &str| {
            let name = format!("{stem}.{suffix}");
            self.env
                .get_template(&name)
                .and_then(|t| t.render(&context))
                .map_err(|e| AwsError::Template {
                    template: name.clone(),
                    source: e,
                })
        };
        let to: Vec<String> = notification
            .recipients()
            .iter()
            .map(|a| header_value(a))
            .filter(|a| !a.is_empty())
            .collect();
        if to.is_empty() {
            return Err(AwsError::NoRecipient {
                what: notification.dedupe_key(),
            });
        }
        Ok(RenderedEmail {
            subject: header_value(&without_bidi_controls(&render("subject.txt")?)),
            html: body_text(&render("html")?),
            text: body_text(&render("txt")?),
            to,
        })
    }
}

/// A header value on one line: CR, LF and other control characters become spaces,
/// runs of spaces collapse, ends are trimmed.
pub fn header_value(value: &str) -> String {
    value
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Unicode's bidirectional embedding, override and isolate controls: text that
/// reorders what follows it on screen (a name could display as another).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn without_bidi_controls(value: &str) -> String {
    value.chars().filter(|c| !is_bidi_control(*c)).collect()
}

/// An email body as sent: Telnyx's text keeps its line breaks and tabs, but NUL and the
/// other control characters (which mail relays and HTML parsers reject or misread)
/// and bidirectional controls are dropped.
fn body_text(value: &str) -> String {
    value
        .chars()
        .filter(|c| matches!(c, '\n' | '\r' | '\t') || !(c.is_control() || is_bidi_control(*c)))
        .collect()
}

/// Sends notifications through SES v2 from a verified sender.
#[derive(Debug)]
pub struct SesMailer {
    client: Client,
    sender: String,
    renderer: EmailRenderer,
}

impl SesMailer {
    /// A mailer sending from `sender` (a verified SES identity).
    pub fn new(client: Client, sender: impl AsRef<str>) -> Result<Self, AwsError> {
        Ok(Self {
            client,
            sender: header_value(sender.as_ref()),
            renderer: EmailRenderer::new()?,
        })
    }

    /// The renderer (e.g. to print emails in a dry run).
    pub fn renderer(&self) -> &EmailRenderer {
        &self.renderer
    }

    async fn send_rendered(&self, email: RenderedEmail) -> Result<String, AwsError> {
        let content = |data: String| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| AwsError::Encode {
                    what: "email content".to_owned(),
                    source: Box::new(e),
                })
        };
        let message = Message::builder()
            .subject(content(email.subject)?)
            .body(
                Body::builder()
                    .html(content(email.html)?)
                    .text(content(email.text)?)
                    .build(),
            )
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.sender)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(email.to))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| AwsError::sdk("SES", "SendEmail", e))?;
        match out.message_id {
            Some(id) if !id.is_empty() => Ok(id),
            // SES accepted the email: failing now would leave it queued and send it
            // again, so the send is recorded with an explicit marker instead.
            _ => {
                tracing::warn!("SES accepted the email but returned no message id");
                Ok(MISSING_MESSAGE_ID.to_owned())
            }
        }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    #[tracing::instrument(skip_all, fields(outbox_key = %notification.dedupe_key()))]
    async fn send(&self, notification: &Notification) -> PortResult<String> {
        let context = || format!("sending email {}", notification.dedupe_key());
        let email = self
            .renderer
            .render(notification)
            .map_err(|e| e.into_port(context()))?;
        let message_id = self
            .send_rendered(email)
            .await
            .map_err(|e| e.into_port(context()))?;
        tracing::info!(message_id = %message_id, "email sent");
        Ok(message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reconciliation::domain::{BillingGroupId, CustomerId, DepartmentId, ManagedAccountId};
    use reconciliation::plan::UnknownAccount;

    fn new_customer(name: &str) -> Notification {
        Notification::NewCustomer {
            to: vec!["billing@dept.example".into()],
            account: ManagedAccountId::new("acc-1"),
            customer_id: CustomerId::new("cust-1"),
            customer_name: name.into(),
            department_id: DepartmentId::new("dept-child"),
            department_name: "Acme End Customers".into(),
            billing_group_id: Some(BillingGroupId::new("bg-1")),
            connections: vec!["Main trunk (conn-1)".into(), "IVR (conn-2)".into()],
            link: "https://billing.example.com/customers/cust-1".into(),
        }
    }

    #[test]
    fn every_kind_renders_all_three_parts_from_templates_named_after_it() {
        let Ok(renderer) = EmailRenderer::new() else {
            panic!("templates load")
        };
        for &kind in EmailKind::ALL {
            let sample = Notification::sample(kind);
            assert_eq!(sample.kind(), kind);
            let stored = serde_json::to_value(&sample).unwrap_or_default();
            assert_eq!(
                stored["kind"],
                kind.as_str(),
                "the stored kind is the kind's name"
            );
            assert!(
                sample
                    .dedupe_key()
                    .starts_with(&format!("{}#", kind.as_str()))
            );
            let email = match renderer.render(&sample) {
                Ok(e) => e,
                Err(e) => panic!("{kind:?} does not render: {e}"),
            };
            assert!(!email.subject.trim().is_empty(), "{kind:?} subject");
            assert!(
                !email.subject.contains('\n'),
                "{kind:?} subject on one line"
            );
            assert!(email.text.len() > 40, "{kind:?} text: {}", email.text);
            assert!(
                email.html.contains("&lt;"),
                "{kind:?} HTML escapes: {}",
                email.html
            );
            assert!(!email.html.contains("<Retail>") && !email.html.contains("<missing>"));
            let file = format!(
                "{}/templates/{}.email",
                env!("CARGO_MANIFEST_DIR"),
                kind.as_str()
            );
            let on_disk = std::fs::read_to_string(&file).unwrap_or_default();
            assert_eq!(on_disk, template_file(kind), "{kind:?} comes from {file}");
        }
    }

    #[test]
    fn a_template_file_splits_into_its_three_parts_and_a_missing_part_is_named() {
        let file = "=== subject\nHi {{ a }}\n=== text\nline 1\n\nline 2\n=== html\n<p>x</p>\n";
        assert_eq!(
            parts(file),
            Ok(["Hi {{ a }}\n", "line 1\n\nline 2\n", "<p>x</p>\n"])
        );
        assert_eq!(
            parts("=== subject\nHi\n=== html\n<p>x</p>\n"),
            Err("=== text\n"),
            "a missing part is named"
        );
        assert_eq!(
            parts("=== text\nx\n=== subject\nHi\n=== html\ny\n"),
            Err("=== subject\n"),
            "parts out of order are refused"
        );
    }

    #[test]
    fn the_monthly_close_email_lists_what_closed_and_what_waits_with_why() {
        let Ok(renderer) = EmailRenderer::new() else {
            panic!("templates load")
        };
        let Ok(email) = renderer.render(&Notification::sample(EmailKind::MonthsClosed)) else {
            panic!("renders")
        };
        assert_eq!(
            email.subject,
            "Telnyx billing: 1 account(s) closed for 2026-10, 1 waiting"
        );
        assert_eq!(
            email.text,
            "The monthly automatic close ran for 2026-10.

Closed (1): both invoice levels are frozen; a record that arrives
later is billed as an adjustment in the next open month.

- Acme <Reseller> (acc-sample): version 1, 12 invoice line(s)

Waiting (1): still open, tried again at every tick.

- Beta (acc-waiting):
    messaging: not settled on 2026-10-31

`billing-admin close --month 2026-10 --account <id>` names what stands in the way;
`--accept-findings --by <you> --note <why>` closes a month anyway, recording the decision.
An email that only lists waiting accounts is repeated at most once every 3 days.
"
        );
        assert!(
            email.html.contains(
                "<li>Beta (acc-waiting):<ul>\n<li>messaging: not settled on 2026-10-31</li>"
            ),
            "{}",
            email.html
        );
    }

    #[test]
    fn an_outbox_entry_queued_before_the_kinds_had_one_name_still_reads() {
        for (old, kind) in [
            ("new_customer", EmailKind::NewCustomer),
            ("unknown_managed_accounts", EmailKind::UnknownAccounts),
            ("key_problem", EmailKind::KeyProblem),
            ("manager_key_problem", EmailKind::ManagerKeyProblem),
            ("audit_mismatch", EmailKind::AuditMismatch),
        ] {
            let mut stored = serde_json::to_value(Notification::sample(kind)).unwrap_or_default();
            stored["kind"] = serde_json::Value::from(old);
            let read: Result<Notification, _> = serde_json::from_value(stored);
            assert_eq!(read.map(|n| n.kind()).ok(), Some(kind), "{old}");
        }
    }

    #[test]
    fn new_customer_text_part_lists_everything_staff_needs() {
        let Ok(renderer) = EmailRenderer::new() else {
            panic!("templates load")
        };
        let Ok(email) = renderer.render(&new_customer("Acme & Co")) else {
            panic!("renders")
        };
        assert_eq!(email.subject, "New customer created: Acme & Co (cust-1)");
        let expected = "A new customer was created automatically from a Telnyx billing group.\n\n\
Customer:         Acme & Co\n\
Customer id:      cust-1\n\
Department:       Acme End Customers (dept-child)\n\
Billing group id: bg-1\n\
Managed account:  acc-1\n\n\
Connections:\n  - Main trunk (conn-1)\n  - IVR (conn-2)\n\n\
Please complete the customer's address, contacts and billing preferences:\n\
https://billing.example.com/customers/cust-1";
        assert_eq!(email.text, expected);
        assert!(email.html.contains("<td>Acme &amp; Co</td>"));
    }

    #[test]
    fn html_is_escaped_and_subject_stays_on_one_line() {
        let Ok(renderer) = EmailRenderer::new() else {
            panic!("templates load")
        };
        let Ok(email) = renderer.render(&new_customer("<b>x</b>\r\nBcc: evil@example.com")) else {
            panic!("renders")
        };
        assert!(!email.subject.contains('\r') && !email.subject.contains('\n'));
        assert_eq!(
            email.subject,
            "New customer created: <b>x</b> Bcc: evil@example.com (cust-1)"
        );
        assert!(
            email.html.contains("&lt;b&gt;x&lt;&#x2f;b&gt;"),
            "{}",
            email.html
        );
    }

    #[test]
    fn unknown_account_and_key_problem_texts_are_exact() {
        let Ok(renderer) = EmailRenderer::new() else {
            panic!("templates load")
        };
        let account = |id: &str, org: Option<&str>, email: Option<&str>, created: Option<i64>| {
            UnknownAccount {
                account: ManagedAccountId::new(id),
                organization_name: org.map(str::to_owned),
                email: email.map(str::to_owned),
                created_at: created.and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
            }
        };
        let digest = |accounts: Vec<UnknownAccount>| Notification::UnknownAccounts {
            to: vec!["ops@operator.example".into()],
            accounts,
            raised_at: chrono::DateTime::UNIX_EPOCH,
            repeat_every: RepeatEvery::DEFAULT,
        };
        let Ok(email) = renderer.render(&digest(vec![account(
            "acc-9",
            Some("Nine Ltd"),
            None,
            None,
        )])) else {
            panic!("renders")
        };
        assert_eq!(
            email.subject,
            "Unknown Telnyx managed account acc-9 (Nine Ltd)"
        );
        let tail = "None of their detail records are imported until they are onboarded\n\
(billing-admin onboard, or onboard --csv for many at once); an account you do not\n\
bill can be offboarded (billing-admin offboard) to stop this alert. Each account is\n\
named again at most once every 3 days while it stays unknown.";
        let expected = format!(
            "A Telnyx managed account that has not been onboarded was found.\n\n\
Account id:   acc-9\n\
Organization: Nine Ltd\n\
Email:        unknown\n\
Created at:   unknown\n\n{tail}"
        );
        assert_eq!(email.text, expected);
        let two = digest(vec![
            account(
                "acc-9",
                None,
                Some("owner@nine.example"),
                Some(1_772_355_600),
            ),
            account("acc-10", Some("Ten <b>Ltd</b>"), None, None),
        ]);
        let Ok(email) = renderer.render(&two) else {
            panic!("renders")
        };
        assert_eq!(email.subject, "2 unknown Telnyx managed accounts");
        let expected = format!(
            "2 Telnyx managed accounts that have not been onboarded were found.\n\n\
Account id:   acc-9\n\
Organization: unknown\n\
Email:        owner@nine.example\n\
Created at:   2026-03-01T09:00:00Z\n\n\
Account id:   acc-10\n\
Organization: Ten <b>Ltd</b>\n\
Email:        unknown\n\
Created at:   unknown\n\n{tail}"
        );
        assert_eq!(email.text, expected);
        assert!(email.html.contains("Ten &lt;b&gt;Ltd"), "{}", email.html);
        let problem = Notification::KeyProblem {
            to: vec!["ops@operator.example".into()],
            account: ManagedAccountId::new("acc-9"),
            problem: "unauthorized (401): key missing or revoked".into(),
            raised_at: chrono::DateTime::UNIX_EPOCH,
            repeat_every: RepeatEvery::DEFAULT,
        };
        let Ok(email) = renderer.render(&problem) else {
            panic!("renders")
        };
        assert_eq!(email.subject, "Telnyx API key problem for account acc-9");
        let expected = "The Telnyx API key of managed account acc-9 cannot be used.\n\n\
Problem: unauthorized (401): key missing or revoked\n\n\
The account is not synced until its key is fixed. Store a valid key with every\n\
required permission in its Secrets Manager secret; the next run picks it up.\n\
This alert is repeated at most once every 3 days while the key\n\
stays unusable.";
        assert_eq!(email.text, expected);
    }

    #[test]
    fn an_alert_says_the_interval_it_is_throttled_by() {
        let Ok(renderer) = EmailRenderer::new() else {
            panic!("templates load")
        };
        let problem = |hours: i64| Notification::KeyProblem {
            to: vec!["ops@operator.example".into()],
            account: ManagedAccountId::new("acc-9"),
            problem: "forbidden (403)".into(),
            raised_at: chrono::DateTime::UNIX_EPOCH,
            repeat_every: RepeatEvery::of(chrono::Duration::hours(hours)),
        };
        for (hours, text) in [(36, "36 hours"), (24, "1 day"), (168, "7 days")] {
            let Ok(email) = renderer.render(&problem(hours)) else {
                panic!("renders")
            };
            let wanted = format!("at most once every {text} while the key");
            assert!(email.text.contains(&wanted), "{}", email.text);
            assert!(email.html.contains(&wanted), "{}", email.html);
        }
    }

    #[test]
    fn the_manager_key_alert_says_nothing_is_synced_and_escapes_the_problem_in_html() {
        let Ok(renderer) = EmailRenderer::new() else {
            panic!("templates load")
        };
        let problem = Notification::ManagerKeyProblem {
            to: vec!["ops@operator.example".into()],
            problem: "reading the master key failed: secret <prefix>master not found".into(),
            raised_at: chrono::DateTime::UNIX_EPOCH,
            repeat_every: RepeatEvery::DEFAULT,
        };
        let Ok(email) = renderer.render(&problem) else {
            panic!("renders")
        };
        assert_eq!(
            email.subject,
            "Telnyx manager key problem: no account is being synced"
        );
        assert!(
            email.text.contains(
                "Problem: reading the master key failed: secret <prefix>master not found"
            ),
            "{}",
            email.text
        );
        assert!(email.text.contains("at most once every 3 days"));
        assert!(
            email.html.contains("secret &lt;prefix&gt;master not found"),
            "{}",
            email.html
        );
        assert!(email.html.contains("no account is being synced"));
    }

    #[test]
    fn control_and_bidi_characters_never_reach_an_email_but_line_breaks_do() {
        let Ok(renderer) = EmailRenderer::new() else {
            panic!("templates load")
        };
        let problem = Notification::KeyProblem {
            to: vec!["ops@operator.example".into()],
            account: ManagedAccountId::new("acc\u{0}-9\u{202e}"),
            problem: "bad\u{0}\u{7}key\u{2066}".into(),
            raised_at: chrono::DateTime::UNIX_EPOCH,
            repeat_every: RepeatEvery::DEFAULT,
        };
        let Ok(email) = renderer.render(&problem) else {
            panic!("renders")
        };
        for text in [&email.subject, &email.html, &email.text] {
            assert!(
                !text
                    .chars()
                    .any(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                        || is_bidi_control(c)),
                "{text:?}"
            );
        }
        assert!(email.text.contains("Problem: badkey\n"), "{}", email.text);
        assert!(email.text.lines().count() > 3, "line breaks kept");
    }

    #[test]
    fn a_notification_without_recipients_is_refused() {
        let Ok(renderer) = EmailRenderer::new() else {
            panic!("templates load")
        };
        let problem = Notification::KeyProblem {
            to: vec!["\r\n".into()],
            account: ManagedAccountId::new("acc-9"),
            problem: "x".into(),
            raised_at: chrono::DateTime::UNIX_EPOCH,
            repeat_every: RepeatEvery::DEFAULT,
        };
        assert!(matches!(
            renderer.render(&problem),
            Err(AwsError::NoRecipient { .. })
        ));
    }
}
