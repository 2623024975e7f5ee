//! The examples that connect to Slack show the library's warnings and errors: without a logger a
//! request refused for its signature, a listener's error (`app.error` logs it by default) or a
//! command nobody handles left no trace at all. Each installs `examples/support/stderr_log.rs`
//! on its real-Slack path (not offline, where the output is the example's own transcript).

const EXAMPLES: [(&str, &str); 5] = [
    ("app.rs", include_str!("../examples/app.rs")),
    ("app_http.rs", include_str!("../examples/app_http.rs")),
    ("app_oauth.rs", include_str!("../examples/app_oauth.rs")),
    ("deploy_bot.rs", include_str!("../examples/deploy_bot.rs")),
    (
        "socket_mode_bot.rs",
        include_str!("../examples/socket_mode_bot.rs"),
    ),
];

#[test]
fn every_example_that_talks_to_slack_installs_a_stderr_logger() {
    for (name, source) in EXAMPLES {
        assert!(
            source.contains("#[path = \"support/stderr_log.rs\"]"),
            "{name} does not include the logger"
        );
        assert!(
            source.contains("stderr_log::init();"),
            "{name} does not install it"
        );
    }
    let logger = include_str!("../examples/support/stderr_log.rs");
    assert!(logger.contains("LevelFilter::Warn"), "warnings always show");
}
