//! The mail template an admin saves (`verification.template_changed`): the next mail uses it,
//! the newest wins whatever order replicas apply them in, and a rebuild reproduces it.

use std::time::Duration;

use gadai_events::*;
use gadai_mail_template::default_template;
use gadai_runtime::consume::{ApplyError, Delivered, Sink, Stored};
use gadai_test_support::eventually;
use uuid::Uuid;
use verification_mailer::{Application, projection::MailerProjection, read_model};

use crate::helpers::{Mailer, World, code_in};

fn template(marker: &str) -> MailTemplate {
    let mut t = default_template();
    t.id.greeting = format!("Salam {{nama}}, <b>{marker}</b>");
    t.en.footer = format!("Footer {marker}");
    t
}

fn changed(template: MailTemplate) -> EventKind {
    EventKind::TemplateChanged(TemplateChanged { template })
}

/// What the mailer's table holds: the template, who saved it, the sequence.
async fn stored(world: &World) -> Option<(serde_json::Value, String, i64)> {
    sqlx::query_as("SELECT template, changed_by, last_seq FROM mailer.mail_template")
        .fetch_optional(&world.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_template_saved_just_before_a_send_is_the_one_mailed_and_a_rebuild_keeps_it() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;

    // Before any change: the default text.
    let first = Uuid::now_v7();
    let (_, _) = world.order_with_code(first).await;
    let mail = world.mails_to(&format!("{}@example.com", first.simple()));
    assert!(mail[0].text.starts_with("Halo Rina,"), "{}", mail[0].text);

    // The admin saves a template; the request follows at once, through another consumer.
    let order = Uuid::now_v7();
    let email = format!("{}@example.com", order.simple());
    world.create_order(order, &email).await;
    world
        .bus
        .publish(&Event::new(
            Uuid::nil(),
            "admin",
            changed(template("PENANDA-1")),
        ))
        .await
        .unwrap();
    world.request_code(order, 0).await;
    let mail = eventually(Duration::from_secs(30), || async {
        world.mails_to(&email).into_iter().next()
    })
    .await;
    assert!(
        mail.text.starts_with("Salam Rina, <b>PENANDA-1</b>\n\n"),
        "{}",
        mail.text
    );
    assert!(
        mail.html
            .contains("<p>Salam Rina, &lt;b&gt;PENANDA-1&lt;/b&gt;</p>"),
        "escaped in HTML: {}",
        mail.html
    );
    assert!(!mail.html.contains("<b>PENANDA-1"));
    assert!(mail.text.contains("Footer PENANDA-1"));
    // The code still verifies.
    let code = code_in(&mail);
    world.wait_for_state(order, "sent").await;
    let reply = world.check(&code, Some(check::OrderRef::Id(order))).await;
    assert_eq!(reply.outcome, check::Outcome::Matched, "{reply:?}");

    // A second change replaces it.
    let seq = world
        .bus
        .publish(&Event::new(
            Uuid::nil(),
            "rina.admin",
            changed(template("PENANDA-2")),
        ))
        .await
        .unwrap()
        .sequence;
    eventually(Duration::from_secs(10), || async {
        stored(&world).await.filter(|(_, _, s)| *s == seq as i64)
    })
    .await;
    let live = stored(&world).await.unwrap();
    assert_eq!(live.1, "rina.admin");
    assert_eq!(live.0["id"]["greeting"], "Salam {nama}, <b>PENANDA-2</b>");
    mailer.stop().await;

    // A rebuild replays the stream into the same row.
    Application::rebuild(world.settings(), true).await.unwrap();
    assert_eq!(stored(&world).await, Some(live));
    world.cleanup().await;
}

#[tokio::test]
async fn the_newest_template_wins_whatever_order_replicas_apply_them_in() {
    let world = World::new().await;
    let app = Application::build(world.settings()).await.unwrap();
    let projection = Stored::new(app.pool().clone(), "mailer".into(), MailerProjection);
    let delivered = |seq: u64, t: MailTemplate| {
        Delivered::first(seq, Event::new(Uuid::nil(), "admin", changed(t)))
    };
    assert_eq!(
        read_model::mail_template(app.pool()).await.unwrap(),
        default_template(),
        "the default until a template is saved"
    );
    projection
        .apply(&[delivered(7, template("NEWER"))])
        .await
        .unwrap();
    // Another replica applies the older change afterwards: it changes nothing.
    projection
        .apply(&[delivered(4, template("OLDER"))])
        .await
        .unwrap();
    assert_eq!(
        read_model::mail_template(app.pool()).await.unwrap(),
        template("NEWER")
    );
    // Redelivered: the same.
    projection
        .apply(&[delivered(7, template("NEWER"))])
        .await
        .unwrap();
    assert_eq!(stored(&world).await.unwrap().2, 7);

    // A template that breaks the rules (no code) is refused, so it is parked, not mailed.
    let mut broken = template("BROKEN");
    broken.id.instructions = "Referensi {referensi}".into();
    match projection.apply(&[delivered(9, broken)]).await {
        Err(ApplyError::Poison(reason)) => assert!(reason.contains("id.instructions"), "{reason}"),
        other => panic!("expected poison, got {other:?}"),
    }
    assert_eq!(
        read_model::mail_template(app.pool()).await.unwrap(),
        template("NEWER")
    );
    world.cleanup().await;
}
