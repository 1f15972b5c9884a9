//! Emails through SES v2 (moto): the exact subject and body of each email as moto
//! received it, escaping of Telnyx-provided values, header injection, and the outbox
//! replay after a crash (the core's `flush_outbox` over the DynamoDB store).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_adapters::email::{MISSING_MESSAGE_ID, SesMailer};
use aws_adapters::store::{DynamoStore, StoreSettings};
use chrono::Duration;
use common::inject::*;
use common::*;
use reconciliation::domain::*;
use reconciliation::outbox::flush_outbox;
use reconciliation::plan::{Action, Notification};
use reconciliation::ports::{Mailer, OutboxStore, StateStore};
use std::sync::Arc;

async fn mailer() -> SesMailer {
    let sender = std::env::var("SES_SENDER").expect("SES_SENDER is set by .local/stack.env");
    SesMailer::new(aws_sdk_sesv2::Client::new(&sdk().await), sender).unwrap()
}

/// The one email moto holds for `to`: (subject, HTML body, source).
async fn only_email_to(to: &str) -> (String, String, String) {
    let emails = emails_to(to).await;
    assert_eq!(emails.len(), 1, "{emails:#?}");
    let field = |name: &str| emails[0][name].as_str().unwrap().to_owned();
    (field("subject"), field("body"), field("source"))
}

#[tokio::test]
async fn new_customer_email_arrives_escaped_with_a_one_line_subject() {
    let to = unique_recipient("billing");
    let notification = Notification::NewCustomer {
        to: vec![to.clone()],
        account: ManagedAccountId::new("acc-1"),
        customer_id: CustomerId::new("cust-x"),
        customer_name: "<script>alert(1)</script> & \"Co\"\r\nBcc: attacker@evil.example".into(),
        department_id: DepartmentId::new("dept-child"),
        department_name: "Acme End Customers".into(),
        billing_group_id: Some(BillingGroupId::new("bg-1")),
        connections: vec!["Main trunk (conn-1)".into(), "<b>IVR</b> (conn-2)".into()],
        link: "https://billing.example.com/customers/cust-x".into(),
    };

    let message_id = mailer().await.send(&notification).await.unwrap();

    assert!(!message_id.is_empty());
    let (subject, body, source) = only_email_to(&to).await;
    assert_eq!(
        subject,
        "New customer created: <script>alert(1)</script> & \"Co\" Bcc: attacker@evil.example (cust-x)",
        "CR/LF never reaches the Subject header"
    );
    let expected = r#"<!DOCTYPE html>
<html>
<body>
<p>A new customer was created automatically from a Telnyx billing group.</p>
<table>
<tr><th align="left">Customer</th><td>&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; &quot;Co&quot;
Bcc: attacker@evil.example</td></tr>
<tr><th align="left">Customer id</th><td>cust-x</td></tr>
<tr><th align="left">Department</th><td>Acme End Customers (dept-child)</td></tr>
<tr><th align="left">Billing group id</th><td>bg-1</td></tr>
<tr><th align="left">Managed account</th><td>acc-1</td></tr>
</table>
<p>Connections:</p>
<ul>
<li>Main trunk (conn-1)</li>
<li>&lt;b&gt;IVR&lt;&#x2f;b&gt; (conn-2)</li>
</ul>
<p>Please complete the customer's address, contacts and billing preferences:
<a href="https:&#x2f;&#x2f;billing.example.com&#x2f;customers&#x2f;cust-x">open the customer record</a></p>
</body>
</html>"#
        // The raw string cannot hold the CR that stays (harmlessly) inside the HTML body.
        .replace("&quot;Co&quot;\nBcc", "&quot;Co&quot;\r\nBcc");
    assert_eq!(body, expected);
    assert!(!body.contains("<script>"));
    assert_eq!(source, std::env::var("SES_SENDER").unwrap());
}

#[tokio::test]
async fn the_unknown_accounts_digest_arrives_with_its_exact_subject_and_body() {
    let to = unique_recipient("ops");
    let account = |id: &str, org: &str| reconciliation::plan::UnknownAccount {
        account: ManagedAccountId::new(id),
        organization_name: Some(org.into()),
        email: Some("owner@nine.example".into()),
        created_at: Some(day0()),
    };
    let notification = Notification::UnknownAccounts {
        to: vec![to.clone()],
        accounts: vec![account("acc-9", "Nine & Sons"), account("acc-10", "Ten")],
        raised_at: day0(),
        repeat_every: reconciliation::plan::RepeatEvery::DEFAULT,
    };

    mailer().await.send(&notification).await.unwrap();

    let (subject, body, _) = only_email_to(&to).await;
    assert_eq!(subject, "2 unknown Telnyx managed accounts");
    let expected = r#"<!DOCTYPE html>
<html>
<body>
<p>2 Telnyx managed accounts that have not been onboarded were found.</p>
<table>
<tr><th align="left">Account id</th><th align="left">Organization</th><th align="left">Email</th><th align="left">Created at</th></tr>
<tr><td>acc-9</td><td>Nine &amp; Sons</td><td>owner@nine.example</td><td>2026-03-01T09:00:00Z</td></tr>
<tr><td>acc-10</td><td>Ten</td><td>owner@nine.example</td><td>2026-03-01T09:00:00Z</td></tr>
</table>
<p>None of their detail records are imported until they are onboarded
(<code>billing-admin onboard</code>, or <code>onboard --csv</code> for many at once); an
account you do not bill can be offboarded (<code>billing-admin offboard</code>) to stop
this alert. Each account is named again at most once every 3 days
while it stays unknown.</p>
</body>
</html>"#;
    assert_eq!(body, expected);
}

#[tokio::test]
async fn key_problem_email_arrives_with_its_exact_subject_and_body() {
    let to = unique_recipient("ops");
    let notification = Notification::KeyProblem {
        to: vec![to.clone()],
        account: ManagedAccountId::new("acc-9"),
        problem: "forbidden (403) on /phone_numbers".into(),
        raised_at: day0(),
        repeat_every: reconciliation::plan::RepeatEvery::DEFAULT,
    };

    mailer().await.send(&notification).await.unwrap();

    let (subject, body, _) = only_email_to(&to).await;
    assert_eq!(subject, "Telnyx API key problem for account acc-9");
    let expected = r#"<!DOCTYPE html>
<html>
<body>
<p>The Telnyx API key of managed account acc-9 cannot be used.</p>
<p><strong>Problem:</strong> forbidden (403) on &#x2f;phone_numbers</p>
<p>The account is not synced until its key is fixed. Store a valid key with every
required permission in its Secrets Manager secret; the next run picks it up.
This alert is repeated at most once every 3 days while the key
stays unusable.</p>
</body>
</html>"#;
    assert_eq!(body, expected);
}

#[tokio::test]
async fn the_text_part_is_sent_alongside_the_html_part() {
    // moto keeps only the HTML part of a Simple message, so the text part is checked
    // where it is made: the rendered email handed to SES carries both.
    let m = mailer().await;
    let c = customer("cust-a", CHILD, Some(&account()));
    let email = m
        .renderer()
        .render(&new_customer_notification(&c, "billing@child.example"))
        .unwrap();
    let expected = "A new customer was created automatically from a Telnyx billing group.\n\n\
Customer:         Company cust-a\n\
Customer id:      cust-a\n\
Department:       Acme End Customers (dept-child)\n\
Billing group id: bg-cust-a\n\
Managed account:  acc-1\n\n\
Connections:\n  - Main trunk (conn-1)\n\n\
Please complete the customer's address, contacts and billing preferences:\n\
https://billing.example.com/customers/cust-a";
    assert_eq!(email.text, expected);
    assert!(email.html.starts_with("<!DOCTYPE html>"));
}

#[tokio::test]
async fn an_accepted_email_without_a_message_id_is_recorded_with_an_explicit_marker() {
    // SES always returns a MessageId; should it not, the email was still accepted:
    // the send must not fail (the outbox would send it again) nor record "".
    let inject = Inject::new("SendEmail", 1, |_| (200, "{}".to_owned()));
    let calls = inject.calls();
    let sender = std::env::var("SES_SENDER").expect("SES_SENDER is set by .local/stack.env");
    let m = SesMailer::new(sesv2_with(inject).await, sender).unwrap();
    let to = unique_recipient("ops");
    let n = Notification::KeyProblem {
        to: vec![to.clone()],
        account: ManagedAccountId::new("acc-9"),
        problem: "unauthorized (401)".into(),
        raised_at: day0(),
        repeat_every: reconciliation::plan::RepeatEvery::DEFAULT,
    };

    let message_id = m.send(&n).await.unwrap();

    assert_eq!(calls.replaced(), 1);
    assert_eq!(message_id, MISSING_MESSAGE_ID);
    assert_eq!(emails_to(&to).await.len(), 1, "the email did go out");
}

#[tokio::test]
async fn an_unverified_sender_is_refused_by_ses_and_reported() {
    let client = aws_sdk_sesv2::Client::new(&sdk().await);
    let sender = format!("{}@unverified.example", uuid::Uuid::new_v4().simple());
    let m = SesMailer::new(client.clone(), &sender).unwrap();
    let to = unique_recipient("ops");
    let n = Notification::KeyProblem {
        to: vec![to.clone()],
        account: ManagedAccountId::new("acc-9"),
        problem: "unauthorized (401)".into(),
        raised_at: day0(),
        repeat_every: reconciliation::plan::RepeatEvery::DEFAULT,
    };

    let err = m.send(&n).await.unwrap_err();
    assert!(err.chain().contains("SendEmail"), "{}", err.chain());
    assert!(emails_to(&to).await.is_empty());

    // Once the identity exists, the same mailer sends.
    client
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    m.send(&n).await.unwrap();
    assert_eq!(emails_to(&to).await.len(), 1);
}

fn plan_creating_a_customer(to: &str) -> Vec<Action> {
    let c = customer("cust-a", CHILD, Some(&account()));
    vec![Action::CreateCustomer {
        notify: Some(new_customer_notification(&c, to)),
        customer: c,
    }]
}

#[tokio::test]
async fn a_crash_before_sending_is_replayed_by_the_next_flush_exactly_once() {
    let to = unique_recipient("billing");
    let store = fresh_store().await;
    let clock = TestClock::at(day0());
    let m = mailer().await;
    // Run 1 writes the customer and its outbox entry, then "dies" before flushing.
    let applied = store
        .apply(&plan_creating_a_customer(&to), day0())
        .await
        .unwrap();
    assert_eq!(applied.notifications_queued, 1);
    assert!(emails_to(&to).await.is_empty());

    // A duplicate delivery of run 1 re-applies the plan: nothing new is queued.
    let again = store
        .apply(&plan_creating_a_customer(&to), day0())
        .await
        .unwrap();
    assert_eq!(again.notifications_queued, 0);

    let second = flush_outbox(&store, &m, &clock).await.unwrap();
    assert_eq!((second.sent, second.skipped, second.failed), (1, 0, 0));
    let third = flush_outbox(&store, &m, &clock).await.unwrap();
    assert_eq!((third.sent, third.skipped, third.failed), (0, 0, 0));

    let mails = emails_to(&to).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0]["subject"],
        "New customer created: Company cust-a (cust-a)"
    );
    let entry = store
        .outbox_entry("new-customer#cust-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.sent_at, Some(day0()));
}

#[tokio::test]
async fn a_sender_that_died_holding_a_claim_is_replaced_once_the_lease_lapses() {
    let to = unique_recipient("billing");
    let store = fresh_store().await.with_settings(StoreSettings {
        claim_lease: Duration::minutes(5),
        ..StoreSettings::default()
    });
    let clock = Arc::new(TestClock::at(day0()));
    let m = mailer().await;
    store
        .apply(&plan_creating_a_customer(&to), day0())
        .await
        .unwrap();
    // A sender claims the entry and dies before sending.
    assert!(
        store
            .claim_notification("new-customer#cust-a", day0())
            .await
            .unwrap()
    );

    let within_lease = flush_outbox(&store, &m, clock.as_ref()).await.unwrap();
    assert_eq!((within_lease.sent, within_lease.skipped), (0, 1));
    assert!(emails_to(&to).await.is_empty());

    clock.advance(Duration::minutes(6));
    let after_lease = flush_outbox(&store, &m, clock.as_ref()).await.unwrap();
    assert_eq!(after_lease.sent, 1);
    let later = flush_outbox(&store, &m, clock.as_ref()).await.unwrap();
    assert_eq!(later.sent, 0);
    assert_eq!(emails_to(&to).await.len(), 1);
}

#[tokio::test]
async fn concurrent_flushes_send_each_email_once() {
    let to = unique_recipient("billing");
    let (client, table) = fresh_table().await;
    let one = DynamoStore::new(client.clone(), &table);
    let two = DynamoStore::new(client, &table);
    let clock = TestClock::at(day0());
    let m = mailer().await;
    one.apply(&plan_creating_a_customer(&to), day0())
        .await
        .unwrap();

    let (a, b) = tokio::join!(
        flush_outbox(&one, &m, &clock),
        flush_outbox(&two, &m, &clock)
    );

    assert_eq!(a.unwrap().sent + b.unwrap().sent, 1);
    assert_eq!(emails_to(&to).await.len(), 1);
}
