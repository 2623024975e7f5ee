//! The one dispatch core: a parsed request goes to the pool with its ack cell; on a worker it
//! is authorized, filtered (ignore-self), passed through the global middleware, routed to its
//! listener(s), and answered exactly once. Every receiver (`dispatch`, Socket Mode, RTM) ends
//! here.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use serde_json::json;

use super::ack::{AckCell, AckSink, AckedBy, Timer};
use super::auth::{is_self_event, Authorization, AuthorizeQuery, REINSTALL_MESSAGE};
use super::builder::AppConfig;
use super::ctx::{self, Ctx};
use super::error::{panic_message, AppError, BoxError, Result};
use super::listener::{matches, ListenerKind, Matcher};
use super::parse::{Incoming, Kind};
use super::pool::{Job, Pool};
use super::request::AppResponse;
use crate::config::Token;
use crate::web::WebClient;

pub(crate) type ListenerFn = dyn Fn(&Ctx) -> Result + Send + Sync + 'static;
pub(crate) type MiddlewareFn = dyn Fn(&Ctx, Next<'_>) -> Result + Send + Sync + 'static;
pub(crate) type ErrorFn = dyn Fn(&BoxError, &Ctx) + Send + Sync + 'static;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T: Clone>(l: &RwLock<T>) -> T {
    l.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The rest of a middleware chain. [`run`](Next::run) runs it (the next middleware, and in the
/// end the listener) and returns its result; a middleware that never calls it ends the request
/// there (acked bare, unless it acked).
pub struct Next<'a> {
    chain: &'a [Arc<MiddlewareFn>],
    last: &'a (dyn Fn(&Ctx) -> Result + 'a),
    ctx: &'a Ctx,
}

impl<'a> Next<'a> {
    pub(crate) fn new(
        chain: &'a [Arc<MiddlewareFn>],
        last: &'a (dyn Fn(&Ctx) -> Result + 'a),
        ctx: &'a Ctx,
    ) -> Next<'a> {
        Next { chain, last, ctx }
    }

    /// Runs the rest of the chain and returns its result.
    pub fn run(self) -> Result {
        match self.chain.split_first() {
            Some((first, rest)) => first(
                self.ctx,
                Next {
                    chain: rest,
                    last: self.last,
                    ctx: self.ctx,
                },
            ),
            None => (self.last)(self.ctx),
        }
    }
}

impl std::fmt::Debug for Next<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next")
            .field("middleware_left", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// One registered listener.
pub(crate) struct Entry {
    pub(crate) kind: ListenerKind,
    pub(crate) matcher: Matcher,
    pub(crate) middleware: RwLock<Arc<Vec<Arc<MiddlewareFn>>>>,
    pub(crate) handler: Arc<ListenerFn>,
}

impl Entry {
    fn run(&self, ctx: &Ctx) -> Result {
        let chain = read(&self.middleware);
        let handler = &*self.handler;
        Next::new(&chain, &handler, ctx).run()
    }
}

/// Copy-on-write list: readers clone an `Arc`, writers replace it (registration at any time,
/// even from a listener, never blocks dispatch).
pub(crate) fn push<T>(list: &RwLock<Arc<Vec<T>>>, item: T)
where
    T: Clone,
{
    let mut guard = list.write().unwrap_or_else(|e| e.into_inner());
    let mut next: Vec<T> = (**guard).clone();
    next.push(item);
    *guard = Arc::new(next);
}

/// The App's shared state.
pub(crate) struct Inner {
    pub(crate) config: AppConfig,
    pub(crate) listeners: RwLock<Arc<Vec<Arc<Entry>>>>,
    pub(crate) middleware: RwLock<Arc<Vec<Arc<MiddlewareFn>>>>,
    pub(crate) error: RwLock<Option<Arc<ErrorFn>>>,
    pub(crate) unhandled: RwLock<Option<Arc<ListenerFn>>>,
    /// A bot token an adapter brought (`app.rtm(token)`) when the App has none.
    pub(crate) fallback_token: Mutex<Option<Token>>,
    /// `dispatch` warned once that HTTP requests go unverified (no signing secret).
    pub(crate) warned_unsigned: std::sync::atomic::AtomicBool,
    single: Mutex<Option<Authorization>>,
    clients: Mutex<HashMap<String, WebClient>>,
    pub(crate) base_client: WebClient,
    // Declared last: dropped after everything above (the pools join their threads).
    timer: Timer,
    events: Option<Pool>,
    pool: Pool,
}

impl Inner {
    pub(crate) fn new(config: AppConfig) -> std::result::Result<Inner, crate::Error> {
        let io = |e: std::io::Error| crate::Error::Io {
            phase: crate::Phase::Connect,
            source: e,
        };
        let base_client = WebClient::from_net(&config.net)?;
        let pool = Pool::start("app-worker", config.workers, config.queue_capacity).map_err(io)?;
        let events = if config.ordered_events {
            Some(Pool::start("app-events", 1, config.queue_capacity).map_err(io)?)
        } else {
            None
        };
        Ok(Inner {
            timer: Timer::start().map_err(io)?,
            config,
            listeners: RwLock::default(),
            middleware: RwLock::default(),
            error: RwLock::new(None),
            unhandled: RwLock::new(None),
            fallback_token: Mutex::new(None),
            warned_unsigned: std::sync::atomic::AtomicBool::new(false),
            single: Mutex::new(None),
            clients: Mutex::new(HashMap::new()),
            base_client,
            events,
            pool,
        })
    }

    /// A request arrives (on the receiver's thread): it is queued for a worker, never run
    /// here. Events are answered now; everything else when its listener acks, returns, or
    /// the deadline comes.
    pub(crate) fn submit(self: &Arc<Self>, req: Incoming, sink: Box<dyn AckSink>) {
        let arrived = Instant::now();
        let req = Arc::new(req);
        let cell = Arc::new(AckCell::new(sink, req.label(), self.config.ack_deadline));
        let is_event = req.kind.is_event();
        if !is_event {
            self.timer.watch(arrived + self.config.ack_deadline, &cell);
        }
        let job: Job = {
            let inner = Arc::clone(self);
            let req = Arc::clone(&req);
            let cell = Arc::clone(&cell);
            Box::new(move || inner.process(req, cell))
        };
        let pool = match (&self.events, is_event) {
            (Some(events), true) => events,
            _ => &self.pool,
        };
        match pool.submit(job) {
            Ok(()) => {
                if is_event {
                    cell.settle(AppResponse::ok(), AckedBy::App);
                }
            }
            Err(_job) => {
                log::warn!(
                    "{}: refused, every listener thread is busy and the queue ({}) is full",
                    req.label(),
                    self.config.queue_capacity
                );
                cell.settle(AppResponse::status(503), AckedBy::App);
            }
        }
    }

    /// The Web API client for `token` (one per token, shared).
    fn client_for(&self, token: Option<&str>) -> WebClient {
        let Some(token) = token else {
            return self.base_client.clone();
        };
        let mut clients = lock(&self.clients);
        if let Some(c) = clients.get(token) {
            return c.clone();
        }
        let client = self.base_client.with_token(token).unwrap_or_else(|e| {
            log::warn!("an authorized token is unusable: {e}");
            self.base_client.clone()
        });
        if clients.len() >= 10_000 {
            clients.clear();
        }
        clients.insert(token.to_owned(), client.clone());
        client
    }

    /// The single bot token's authorization: `auth.test` once (a failure is not kept, the
    /// next request tries again).
    pub(crate) fn single(&self, token: &Token) -> std::result::Result<Authorization, AppError> {
        if !self.config.token_verification {
            return Ok(Authorization {
                bot_token: Some(token.secret().to_owned()),
                ..Authorization::default()
            });
        }
        let mut cached = lock(&self.single);
        if let Some(a) = &*cached {
            return Ok(a.clone());
        }
        let client = self.client_for(Some(token.secret()));
        let answer = client
            .auth_test()
            .map_err(|e| AppError::Unauthorized(format!("auth.test failed: {e}")))?;
        let auth = Authorization::from_auth_test(token.secret(), answer.data());
        log::debug!(
            "authorized as {} ({}) in {}",
            auth.bot_user_id.as_deref().unwrap_or("?"),
            auth.bot_id.as_deref().unwrap_or("?"),
            auth.team_id.as_deref().unwrap_or("?")
        );
        *cached = Some(auth.clone());
        Ok(auth)
    }

    fn authorize(&self, req: &Incoming) -> std::result::Result<Authorization, AppError> {
        if let Some(hook) = &self.config.authorize {
            let b = &req.body;
            let query = AuthorizeQuery {
                team_id: ctx::team_id(b),
                enterprise_id: ctx::enterprise_id(b),
                user_id: ctx::user_id(b),
                is_enterprise_install: ctx::is_enterprise_install(b),
            };
            return hook(&query).map_err(|e| AppError::Unauthorized(e.to_string()));
        }
        if let Some(token) = &self.config.bot_token {
            return self.single(token);
        }
        let fallback = lock(&self.fallback_token).clone();
        match fallback {
            Some(token) => self.single(&token),
            None => Ok(Authorization::default()),
        }
    }

    /// Hands an error to `app.error` (default: logged at `error`).
    fn report(&self, err: &BoxError, ctx: &Ctx) {
        let handler = read(&self.error);
        match handler {
            Some(h) => {
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| h(err, ctx))) {
                    log::error!("the error handler panicked: {}", panic_message(&*p));
                }
            }
            None => log::error!("{}: {err}", ctx.incoming().label()),
        }
    }

    /// Runs `f`, catching a panic; errors and panics go to `app.error`. True when it failed.
    fn guarded(&self, ctx: &Ctx, f: impl FnOnce() -> Result) -> bool {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(Ok(())) => false,
            Ok(Err(e)) => {
                self.report(&e, ctx);
                true
            }
            Err(p) => {
                let e: BoxError = Box::new(AppError::Panicked(panic_message(&*p)));
                self.report(&e, ctx);
                true
            }
        }
    }

    /// Bolt's answer to a request it could not authorize (no installation, a failed
    /// `auth.test` or rotation, an `authorize` hook's `Err`): acked with 200 so Slack does not
    /// retry, and the user who triggered it sees [`REINSTALL_MESSAGE`] — in the ack (a slash
    /// command shows it; over HTTP and Socket Mode alike) and, for other interactions that
    /// carry a `response_url` (a click, a message shortcut), posted there. Events are acked
    /// bare. The error itself has gone to `app.error` already.
    fn refuse_unauthorized(&self, ctx: &Ctx) {
        let req = ctx.incoming();
        if req.kind.is_event() {
            ctx.ack_cell().settle(AppResponse::ok(), AckedBy::App);
            return;
        }
        let text = json!({"response_type": "ephemeral", "text": REINSTALL_MESSAGE});
        ctx.ack_cell()
            .settle(AppResponse::json(&text), AckedBy::App);
        if !matches!(req.kind, Kind::Command) {
            match ctx.respond(text) {
                Ok(()) | Err(AppError::NoResponseUrl) => {}
                Err(e) => log::warn!(
                    "{}: could not tell the user to reinstall through response_url: {e}",
                    req.label()
                ),
            }
        }
    }

    /// On a worker: the whole life of one request.
    fn process(self: &Arc<Self>, req: Arc<Incoming>, cell: Arc<AckCell>) {
        let auth = match catch_unwind(AssertUnwindSafe(|| self.authorize(&req))) {
            Ok(r) => r,
            Err(p) => Err(AppError::Unauthorized(format!(
                "the authorize hook panicked: {}",
                panic_message(&*p)
            ))),
        };
        let auth = match auth {
            Ok(a) => a,
            Err(e) => {
                let ctx = Ctx::new(
                    req,
                    Authorization::default(),
                    self.base_client.clone(),
                    cell,
                );
                let e: BoxError = Box::new(e);
                self.report(&e, &ctx);
                self.refuse_unauthorized(&ctx);
                return;
            }
        };
        let client = self.client_for(auth.token());
        let ctx = Ctx::new(Arc::clone(&req), auth, client, Arc::clone(&cell));
        if self.config.ignore_self && req.kind.is_event() {
            if let Some(event) = req.body.get("event") {
                if is_self_event(event, ctx.authorization()) {
                    log::debug!("{}: the bot's own event, ignored", req.label());
                    return;
                }
            }
        }
        let global = read(&self.middleware);
        let route = |c: &Ctx| self.route(c);
        let failed = self.guarded(&ctx, || Next::new(&global, &route, &ctx).run());
        let answer = if failed {
            AppResponse::status(500)
        } else {
            AppResponse::ok()
        };
        cell.settle(answer, AckedBy::App);
    }

    /// After the global middleware: every matching listener for events, the first one for
    /// everything else, or the unhandled path.
    fn route(&self, ctx: &Ctx) -> Result {
        let req = ctx.incoming();
        let listeners = read(&self.listeners);
        if req.kind.is_event() {
            let mut any = false;
            for entry in listeners.iter() {
                if let Some(caps) = matches(entry.kind, &entry.matcher, req) {
                    any = true;
                    let lctx = ctx.with_matches(caps);
                    self.guarded(&lctx, || entry.run(&lctx));
                }
            }
            if !any {
                match read(&self.unhandled) {
                    Some(h) => {
                        self.guarded(ctx, || h(ctx));
                    }
                    None => log::debug!("{}: no listener; acked", req.label()),
                }
            }
            return Ok(());
        }
        for entry in listeners.iter() {
            if let Some(caps) = matches(entry.kind, &entry.matcher, req) {
                return entry.run(&ctx.with_matches(caps));
            }
        }
        let not_found = || {
            AppResponse::with_body(
                404,
                "application/json",
                json!({"error": "unhandled request"}).to_string(),
            )
        };
        if let Some(h) = read(&self.unhandled) {
            let result = h(ctx);
            ctx.ack_cell().settle(not_found(), AckedBy::App);
            return result;
        }
        log::warn!(
            "unhandled request: {} (not acked: Slack shows the user an error); to handle it, \
             register {}",
            req.label(),
            req.suggestion()
        );
        ctx.ack_cell().settle(not_found(), AckedBy::App);
        Ok(())
    }
}
