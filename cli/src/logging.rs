//! The CLI's logger: `RUST_LOG` (default `info`) to stderr with millisecond timestamps, other
//! crates capped at `info`.

pub fn init_logging() {
    let filters = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let logger = env_logger::Builder::new()
        .parse_filters(&filters)
        .format_timestamp_millis()
        .target(env_logger::Target::Stderr)
        .build();
    let max = logger.filter();
    if log::set_logger(Box::leak(Box::new(CappedLogger(logger)))).is_ok() {
        log::set_max_level(max);
    }
}

/// Passes other crates' records on only up to `info`, whatever `RUST_LOG` says.
///
/// Dependencies' debug and trace output is of no use here, and some of it is dangerous:
/// `ureq_proto` traces the raw request bytes, `Authorization: Bearer <token>` and
/// `Proxy-Authorization` included. A crate-level cap in env_logger is not enough (a more
/// specific directive such as `RUST_LOG=ureq_proto::util=trace` overrides it), so the cap is
/// applied here, on every record.
struct CappedLogger(env_logger::Logger);

impl CappedLogger {
    fn allowed(metadata: &log::Metadata<'_>) -> bool {
        let target = metadata.target();
        metadata.level() <= log::Level::Info
            || target == "slack_rtm"
            || target.starts_with("slack_rtm::")
    }
}

impl log::Log for CappedLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        Self::allowed(metadata) && self.0.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if Self::allowed(record.metadata()) {
            self.0.log(record);
        }
    }

    fn flush(&self) {
        self.0.flush();
    }
}
