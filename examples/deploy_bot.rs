//! The bot of the App's issue, as short as Bolt: a threaded reply to mentions, `/deploy`
//! with an ephemeral answer and a button, the button opening a modal, the modal refusing a
//! bad environment, and its own messages ignored (built in). `cargo run --example deploy_bot`
//! plays it against the embedded fake Slack; with SLACK_APP_TOKEN and SLACK_BOT_TOKEN set it
//! runs on Slack.
use serde_json::json;
use slack_rtm::app::{Ack, App};
use slack_rtm::ChatMessage;

pub fn deploy_bot(app: &App) {
    app.event("app_mention", |ctx| {
        let ts = ctx
            .event()
            .and_then(|e| e["ts"].as_str())
            .unwrap_or_default();
        let hi = format!("Hi <@{}>! Try /deploy", ctx.user_id().unwrap_or_default());
        ctx.say_with(ChatMessage::new("", &hi).thread_ts(ts))?;
        Ok(())
    });

    app.command("/deploy", |ctx| {
        let text = ctx.command().map_or("", |c| c.text);
        let target = if text.is_empty() { "staging" } else { text };
        ctx.ack_with(Ack::json(json!({"response_type": "ephemeral",
            "text": format!("Ready to deploy {target}"),
            "blocks": [{"type": "actions", "elements": [{"type": "button",
                "action_id": "open_deploy", "value": target,
                "text": {"type": "plain_text", "text": "Deploy…"}}]}]})))?;
        Ok(())
    });

    app.action("open_deploy", |ctx| {
        ctx.ack()?;
        let target = ctx.action().and_then(|a| a.value).unwrap_or("staging");
        let trigger = ctx.body()["trigger_id"].as_str().unwrap_or_default();
        ctx.client().views_open(
            trigger,
            &json!({"type": "modal",
            "callback_id": "deploy_modal", "private_metadata": target,
            "title": {"type": "plain_text", "text": "Deploy"},
            "submit": {"type": "plain_text", "text": "Deploy"},
            "blocks": [{"type": "input", "block_id": "env",
                "label": {"type": "plain_text", "text": "Environment"},
                "element": {"type": "plain_text_input", "action_id": "env_input"}}]}),
        )?;
        Ok(())
    });

    app.view("deploy_modal", |ctx| {
        let view = ctx.view().unwrap_or_default();
        let env = view.value("env", "env_input").unwrap_or_default();
        if !["prod", "staging"].contains(&env) {
            ctx.ack_with(Ack::errors(json!({"env": "prod or staging"})))?;
            return Ok(());
        }
        ctx.ack()?;
        let text = format!("Deploying {} to {env}", view.private_metadata);
        ctx.client()
            .chat_post_message(ctx.user_id().unwrap_or_default(), &text)?;
        Ok(())
    });
}

#[path = "support/stderr_log.rs"]
mod stderr_log;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |n: &str| std::env::var(n).unwrap_or_default();
    let (app_token, bot_token) = (var("SLACK_APP_TOKEN"), var("SLACK_BOT_TOKEN"));
    if app_token.trim().is_empty() || bot_token.trim().is_empty() {
        return offline::run(deploy_bot);
    }
    stderr_log::init();
    let app = App::builder().bot_token(&bot_token).build()?;
    deploy_bot(&app);
    app.socket_mode(&app_token).build()?.start()?;
    Ok(())
}

#[path = "support/deploy_bot_offline.rs"]
mod offline;
