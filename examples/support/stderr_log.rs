//! A small stderr logger for the examples when they talk to Slack (an example has no logger
//! dependency of its own): the library's warnings and errors always — a request refused for its
//! signature, a listener's error (what `app.error` logs by default), a command nobody handles —
//! and its `info` lines too (connections, the HTTP listener) when `RUST_LOG` is set. A real app
//! installs the logger it likes (`env_logger`, `tracing-subscriber`, …) instead.

struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.target().starts_with("slack_rtm")
    }
    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            eprintln!("[{}] {}", record.level(), record.args());
        }
    }
    fn flush(&self) {}
}

/// Installs the logger: `warn` and above, `info` with `RUST_LOG` set.
pub fn init() {
    if log::set_boxed_logger(Box::new(Stderr)).is_ok() {
        let level = if std::env::var_os("RUST_LOG").is_some() {
            log::LevelFilter::Info
        } else {
            log::LevelFilter::Warn
        };
        log::set_max_level(level);
    }
}
