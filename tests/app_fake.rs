//! The fake Slack's App facet: deliveries take the payload's shape and return what was
//! delivered (ids, `response_url`, `trigger_id`), payloads look like Slack's, and `views.open`
//! accepts only the trigger ids the fake issued.

mod app_support;

use serde_json::json;
use slack_rtm::testing::{
    Delivery, FAKE_APP_ID, FAKE_BOT_USER_ID, FAKE_CHANNEL_ID, FAKE_TEAM_ID, FAKE_USER_ID,
};
use slack_rtm::WebClient;

use app_support::*;

#[test]
fn payloads_carry_the_shape_asked_for_and_what_was_delivered_is_returned() {
    let fake = fake();
    let click = Delivery::action("approve")
        .block_id("deploy_block")
        .value("build-42")
        .user("U0FAKEUSR2")
        .channel("C0FAKE0002")
        .thread_ts("1700000000.000100");
    let d = fake.payload(&click);
    let p = &d.payload;
    assert_eq!(d.envelope_type, "interactive");
    assert_eq!(p["type"], "block_actions");
    assert_eq!(p["actions"][0]["action_id"], "approve");
    assert_eq!(p["actions"][0]["block_id"], "deploy_block");
    assert_eq!(p["actions"][0]["value"], "build-42");
    assert_eq!(p["user"]["id"], "U0FAKEUSR2");
    assert_eq!(p["container"]["channel_id"], "C0FAKE0002");
    assert_eq!(p["container"]["thread_ts"], "1700000000.000100");
    assert_eq!(p["api_app_id"], FAKE_APP_ID);
    assert_eq!(p["response_url"], json!(d.response_url.as_deref().unwrap()));
    assert_eq!(p["trigger_id"], json!(d.trigger_id.as_deref().unwrap()));
    assert_eq!(p["message"]["user"], FAKE_BOT_USER_ID);

    let submit = Delivery::view_submission("deploy_modal")
        .private_metadata("C0FAKE0001|1.2")
        .state(
            "env_block",
            "env",
            json!({"type": "plain_text_input", "value": "prod"}),
        );
    let d = fake.payload(&submit);
    assert_eq!(d.payload["view"]["private_metadata"], "C0FAKE0001|1.2");
    assert_eq!(
        d.payload["view"]["state"]["values"]["env_block"]["env"]["value"],
        "prod"
    );
    assert_eq!(
        d.payload["view"]["id"],
        json!(d.view_id.as_deref().unwrap())
    );

    let d = fake.payload(&Delivery::command("/deploy", "api now"));
    assert_eq!(d.envelope_type, "slash_commands");
    assert_eq!(d.payload["team_id"], FAKE_TEAM_ID);
    let (headers, body) = d.http_parts();
    assert_eq!(headers[0].1, "application/x-www-form-urlencoded");
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("command=%2Fdeploy"), "{body}");
    // Slack encodes a space in a form as `+`, and sends its fields in its own order.
    assert!(body.contains("text=api+now"), "{body}");
    assert!(body.starts_with("token="), "{body}");

    let d = fake.payload(&Delivery::message("hi"));
    assert_eq!(d.envelope_type, "events_api");
    assert_eq!(d.payload["type"], "event_callback");
    assert_eq!(d.payload["event"]["user"], FAKE_USER_ID);
    assert_eq!(d.payload["event"]["channel"], FAKE_CHANNEL_ID);
    assert!(d.event_id.unwrap().starts_with("Ev"));
    let (headers, _) = fake.payload(&Delivery::message("hi")).http_parts();
    assert_eq!(headers[0].1, "application/json");
}

#[test]
fn views_open_accepts_only_trigger_ids_the_fake_issued() {
    let fake = fake();
    let web = WebClient::builder(BOT_TOKEN)
        .base_url(&fake.api_url())
        .build()
        .unwrap();
    let modal = json!({"type": "modal", "title": {"type": "plain_text", "text": "x"},
        "blocks": []});
    let issued = fake.payload(&Delivery::global_shortcut("s"));
    assert!(web
        .views_open(issued.trigger_id.as_deref().unwrap(), &modal)
        .is_ok());
    let err = web.views_open("123.456.made-up", &modal).unwrap_err();
    assert!(err.to_string().contains("invalid_trigger_id"), "{err}");
    fake.set_check_trigger_ids(false);
    assert!(web.views_open("123.456.made-up", &modal).is_ok());
}
