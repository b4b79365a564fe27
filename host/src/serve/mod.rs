//! `mlprobe serve`: a model behind HTTP, speaking the Open Inference Protocol v2 (KServe,
//! Triton), with a shadow model, a canary with automatic rollback, and Prometheus metrics
//! (issue 18).
//!
//! Endpoints: `GET /v2`, `GET /v2/health/live`, `GET /v2/health/ready`, `GET /v2/models/NAME`,
//! `GET /v2/models/NAME/ready`, `POST /v2/models/NAME/infer` ([`protocol`]),
//! `POST /v2/feedback` and `GET /v2/canary` ([`canary`]), `GET /metrics` ([`metrics`]).
//! Bad JSON, a wrong shape or type, a row that is not finite: 400 with `{"error": "…"}`; a
//! body over the limit: 413; an unknown model or route: 404. Nothing a client sends stops the
//! server.
//!
//! - **Shadow** (`--shadow S`): every request is also scored by `S` after the answer has been
//!   built, in a task of its own, and its classes compared with the answer's: agreement and each
//!   model's latency are counted (`/metrics`, and the summary at shutdown).
//! - **Canary** (`--canary C --canary-percent P`): see [`canary`].
//!
//! The stack is axum's router on hyper and tokio: one current-thread runtime per core, each
//! connection on one of them ([`serve`]). Inference is core's, microseconds per row, so it
//! runs on the request's task.

pub mod canary;
pub mod metrics;
pub mod protocol;

use crate::error::{Error, Result};
use crate::model_io::{self, HostModel};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use canary::{Canary, FeedbackError, Variant};
use http_body_util::{Either, Full};
use metrics::{Metrics, ModelCounters};
use protocol::{ErrorBody, InferResponse, ModelMetadata, OutputTensor};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The header naming a request's canary unit (a user, a device), over the request's `id`.
pub const UNIT_HEADER: &str = "x-mlprobe-unit";

/// What to serve, and where.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The model answering requests.
    pub model: PathBuf,
    /// Its name in URLs (default: the model file's stem).
    pub name: Option<String>,
    /// The address to listen on (127.0.0.1).
    pub host: IpAddr,
    /// The port (8080; 0 picks a free one).
    pub port: u16,
    /// A model scoring every request beside the primary, off the response path.
    pub shadow: Option<PathBuf>,
    /// A model answering a share of the traffic.
    pub canary: Option<PathBuf>,
    /// The canary's share of traffic, percent (10).
    pub canary_percent: f64,
    /// The canary test's level (0.05).
    pub canary_alpha: f64,
    /// The canary test's mixing scale: the difference in accuracy worth finding (0.05).
    pub canary_tau: f64,
    /// The largest request body, bytes (4 MiB).
    pub max_body_bytes: usize,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

impl ServeOptions {
    /// `model` with `mlprobe serve`'s defaults.
    pub fn new(model: impl Into<PathBuf>) -> Self {
        Self {
            model: model.into(),
            name: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            shadow: None,
            canary: None,
            canary_percent: 10.0,
            canary_alpha: 0.05,
            canary_tau: 0.05,
            max_body_bytes: 4 << 20,
            threads: 0,
        }
    }
}

/// The served models and their counters.
struct Served {
    name: String,
    features: usize,
    classes: usize,
    primary: HostModel,
    shadow: Option<HostModel>,
    candidate: Option<HostModel>,
    canary: Option<Mutex<Canary>>,
    metrics: Metrics,
    max_body_bytes: usize,
}

/// What a server did, reported when it stops.
#[derive(Clone, Debug, Serialize)]
pub struct ServeSummary {
    /// The model's name.
    pub name: String,
    /// The address it listened on.
    pub address: String,
    /// Inference requests received.
    pub requests: u64,
    /// Requests answered with an error (400, 404, 413).
    pub errors: u64,
    /// Rows each model scored (`primary`, and `shadow` / `candidate` when present).
    pub rows: std::collections::BTreeMap<&'static str, u64>,
    /// Shadow rows, and those where it agreed with the answer.
    pub shadow: Option<ShadowSummary>,
    /// The canary at the end.
    pub canary: Option<canary::Report>,
}

/// The shadow's agreement.
#[derive(Clone, Debug, Serialize)]
pub struct ShadowSummary {
    /// Rows scored by both.
    pub rows: u64,
    /// Rows with the same class.
    pub agreed: u64,
    /// `agreed / rows`.
    pub agreement: Option<f64>,
}

impl ServeSummary {
    /// The text report.
    pub fn human(&self) -> String {
        let mut s = format!(
            "served `{}` at {}: {} requests, {} refused\n",
            self.name, self.address, self.requests, self.errors
        );
        for (k, v) in &self.rows {
            s += &format!("  {k}: {v} rows\n");
        }
        if let Some(sh) = &self.shadow {
            s += &format!(
                "  shadow agreement: {} of {} rows{}\n",
                sh.agreed,
                sh.rows,
                sh.agreement.map_or(String::new(), |a| format!(" ({a:.4})"))
            );
        }
        if let Some(c) = &self.canary {
            s += &format!(
                "  canary: {:?}, share {}% (from {}%), feedback primary {}/{} candidate {}/{}\n",
                c.state,
                c.share_percent,
                c.initial_share_percent,
                c.primary.correct,
                c.primary.total,
                c.candidate.correct,
                c.candidate.total
            );
        }
        s
    }
}

fn load_beside(path: &std::path::Path, flag: &str, primary: &HostModel) -> Result<HostModel> {
    let m = model_io::load(path)?;
    let (p, d) = (primary.dims(), m.dims());
    if (d.inputs(), d.outputs()) != (p.inputs(), p.outputs()) {
        return Err(Error::Usage(format!(
            "{flag} {}: {} inputs and {} classes, the model {} and {}: both must answer the \
             same requests",
            path.display(),
            d.inputs(),
            d.outputs(),
            p.inputs(),
            p.outputs()
        )));
    }
    Ok(m)
}

fn served(opts: &ServeOptions) -> Result<Served> {
    if opts.max_body_bytes == 0 {
        return Err(Error::Usage(
            "--max-body-bytes 0: no request would fit; give at least the size of one row's \
             request (a few hundred bytes)"
                .into(),
        ));
    }
    if !(opts.canary_alpha > 0.0 && opts.canary_alpha < 1.0) {
        return Err(Error::Usage(format!(
            "--canary-alpha: {} is not above 0 and below 1",
            opts.canary_alpha
        )));
    }
    let primary = model_io::load(&opts.model)?;
    let shadow = opts
        .shadow
        .as_ref()
        .map(|p| load_beside(p, "--shadow", &primary))
        .transpose()?;
    let candidate = opts
        .canary
        .as_ref()
        .map(|p| load_beside(p, "--canary", &primary))
        .transpose()?;
    let canary = match &candidate {
        Some(_) => Some(Mutex::new(
            Canary::new(opts.canary_percent, opts.canary_alpha, opts.canary_tau)
                .map_err(Error::Usage)?,
        )),
        None => None,
    };
    let name = match &opts.name {
        Some(n)
            if !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) =>
        {
            n.clone()
        }
        Some(n) => {
            return Err(Error::Usage(format!(
                "--name `{}`: use letters, digits, `-`, `_` and `.` (it is a URL segment)",
                crate::limits::excerpt(n)
            )));
        }
        None => opts
            .model
            .file_stem()
            .map(|s| {
                s.to_string_lossy()
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect()
            })
            .unwrap_or_else(|| "model".into()),
    };
    let d = primary.dims();
    Ok(Served {
        name,
        features: d.inputs(),
        classes: d.outputs(),
        primary,
        shadow,
        candidate,
        canary,
        metrics: Metrics::default(),
        max_body_bytes: opts.max_body_bytes,
    })
}

/// An answer with a body in one piece: what the infer handler sends, without the boxing of
/// axum's body type.
type Answer = axum::http::Response<Full<Bytes>>;

fn json_answer<T: Serialize>(status: StatusCode, body: &T) -> Answer {
    let (status, bytes) = match serde_json::to_vec(body) {
        Ok(bytes) => (status, bytes),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{{\"error\": \"serialising the answer: {e}\"}}").into_bytes(),
        ),
    };
    let mut answer = Answer::new(Full::new(Bytes::from(bytes)));
    *answer.status_mut() = status;
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    answer
}

fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    json_answer(status, body).into_response()
}

fn error_answer(status: StatusCode, message: &str) -> Answer {
    json_answer(status, &ErrorBody { error: message })
}

fn error(status: StatusCode, message: &str) -> Response {
    error_answer(status, message).into_response()
}

/// Scores `rows` (`n × F`) with `model`: logits and classes, or the 400 message of the first
/// row that is not finite.
fn score(
    model: &HostModel,
    data: &[f32],
    features: usize,
) -> std::result::Result<(Vec<f32>, Vec<u8>), String> {
    let d = model.dims();
    let mut scratch = vec![0.0f32; d.scratch_len()];
    let mut logits = Vec::with_capacity(data.len() / features.max(1) * d.outputs());
    let mut classes = Vec::with_capacity(data.len() / features.max(1));
    for (k, row) in data.chunks_exact(features).enumerate() {
        let (l, bad) = model
            .infer_checked(row, &mut scratch)
            .map_err(|e| format!("inference: {e}"))?;
        if let Some(why) = bad {
            let names: Vec<String> = model.features.clone().unwrap_or_default();
            return Err(format!(
                "inputs[0].data: row {k}: {}",
                crate::predict::describe(why, &names)
            ));
        }
        classes.push(mlprobe_core::mlp::argmax(l) as u8);
        logits.extend_from_slice(l);
    }
    Ok((logits, classes))
}

/// `POST /v2/models/NAME/infer` as routed by axum: a name other than the served one (404), or
/// the served one spelled so that the fast path of [`serve`] did not match it (percent-encoded).
async fn infer(
    State(s): State<Arc<Served>>,
    UrlPath(name): UrlPath<String>,
    req: axum::extract::Request,
) -> Answer {
    infer_request(&s, &name, req).await
}

/// An inference request, from its URL's model name to the answer.
async fn infer_request<B>(s: &Arc<Served>, name: &str, req: axum::http::Request<B>) -> Answer
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = Instant::now();
    let m = &s.metrics;
    m.requests.fetch_add(1, Relaxed);
    let refuse = |status: StatusCode, message: &str| {
        let counter = match status {
            StatusCode::NOT_FOUND => &m.not_found,
            StatusCode::PAYLOAD_TOO_LARGE => &m.too_large,
            _ => &m.bad_requests,
        };
        counter.fetch_add(1, Relaxed);
        error_answer(status, message)
    };
    if name != s.name {
        return refuse(
            StatusCode::NOT_FOUND,
            &format!(
                "no model `{}` here; this server serves `{}`",
                crate::limits::excerpt(name),
                s.name
            ),
        );
    }
    let (parts, body) = req.into_parts();
    let body = match http_body_util::BodyExt::collect(http_body_util::Limited::new(
        body,
        s.max_body_bytes,
    ))
    .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "the body is over {} bytes (--max-body-bytes)",
                    s.max_body_bytes
                ),
            );
        }
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("reading the body: {e}")),
    };
    let req: protocol::InferRequest<'_> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("body: {e}")),
    };
    let (id, data, n) = match protocol::rows_of(req, s.features) {
        Ok(x) => x,
        Err(msg) => return refuse(StatusCode::BAD_REQUEST, &msg),
    };
    let unit = parts
        .headers
        .get(UNIT_HEADER)
        .and_then(|v| v.to_str().ok())
        .or(id.as_deref());
    let variant = match &s.canary {
        Some(c) => c
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .assign(unit),
        None => Variant::Primary,
    };
    let (model, counters): (&HostModel, &ModelCounters) = match (variant, &s.candidate) {
        (Variant::Candidate, Some(c)) => (c, &m.candidate),
        _ => (&s.primary, &m.primary),
    };
    let t = Instant::now();
    let (logits, classes) = match score(model, &data, s.features) {
        Ok(x) => x,
        Err(msg) => return refuse(StatusCode::BAD_REQUEST, &msg),
    };
    counters.record(n, t.elapsed().as_nanos() as u64);
    let answer = InferResponse {
        model_name: &s.name,
        id: id.as_deref(),
        outputs: (
            OutputTensor {
                name: "logits",
                shape: &[n, s.classes],
                datatype: "FP32",
                data: &logits,
            },
            OutputTensor {
                name: "class",
                shape: &[n],
                datatype: "INT64",
                data: &classes,
            },
        ),
    };
    let response = json_answer(StatusCode::OK, &answer);
    if let Some(c) = &s.canary {
        c.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .answered(id.as_deref(), variant, classes.clone());
    }
    if s.shadow.is_some() {
        let s = Arc::clone(s);
        s.metrics.shadow_pending.fetch_add(1, Relaxed);
        tokio::spawn(async move {
            let t = Instant::now();
            if let Some(Ok((_, theirs))) = s.shadow.as_ref().map(|m| score(m, &data, s.features)) {
                let m = &s.metrics;
                m.shadow.record(n, t.elapsed().as_nanos() as u64);
                let agreed = theirs.iter().zip(&classes).filter(|(a, b)| a == b).count();
                m.shadow_rows.fetch_add(n as u64, Relaxed);
                m.shadow_agree.fetch_add(agreed as u64, Relaxed);
            }
            s.metrics.shadow_pending.fetch_sub(1, Relaxed);
        });
    }
    m.latency
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .record(u32::try_from(started.elapsed().as_nanos()).unwrap_or(u32::MAX));
    response
}

async fn feedback(
    State(s): State<Arc<Served>>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let Some(c) = &s.canary else {
        return error(
            StatusCode::NOT_FOUND,
            "no canary: feedback is for `mlprobe serve --canary MODEL`",
        );
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return error(e.status(), &e.body_text()),
    };
    let f: protocol::Feedback = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("body: {e}")),
    };
    let labels = match (f.label, f.labels) {
        (Some(l), None) => vec![l],
        (None, Some(ls)) => ls,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "give `label` (one row) or `labels` (one class per row), not both or neither",
            );
        }
    };
    if let Some(bad) = labels.iter().find(|&&l| l >= s.classes as u64) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("label {bad}: the model has classes 0 to {}", s.classes - 1),
        );
    }
    let mut canary = c.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match canary.feedback(&f.id, &labels) {
        Ok(()) => json_response(StatusCode::OK, &canary.report()),
        Err(FeedbackError::Unknown) => error(
            StatusCode::NOT_FOUND,
            &format!(
                "no answer awaits feedback under id `{}` (never answered, answered without an \
                 id, or already given feedback)",
                crate::limits::excerpt(&f.id)
            ),
        ),
        Err(FeedbackError::Invalid(msg)) => error(StatusCode::BAD_REQUEST, &msg),
    }
}

async fn canary_report(State(s): State<Arc<Served>>) -> Response {
    match &s.canary {
        Some(c) => json_response(
            StatusCode::OK,
            &c.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .report(),
        ),
        None => error(
            StatusCode::NOT_FOUND,
            "no canary: start serve with --canary MODEL",
        ),
    }
}

async fn prometheus(State(s): State<Arc<Served>>) -> Response {
    let canary = s.canary.as_ref().map(|c| {
        c.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .report()
    });
    let text = s
        .metrics
        .render(&s.name, s.shadow.is_some(), canary.as_ref());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
        .into_response()
}

/// The 404 of a URL naming another model than the one served.
fn other_model(s: &Served, name: &str) -> Option<Response> {
    (name != s.name).then(|| {
        error(
            StatusCode::NOT_FOUND,
            &format!("no model `{}` here", crate::limits::excerpt(name)),
        )
    })
}

async fn model_metadata(State(s): State<Arc<Served>>, UrlPath(name): UrlPath<String>) -> Response {
    other_model(&s, &name).unwrap_or_else(|| {
        json_response(
            StatusCode::OK,
            &ModelMetadata::new(&s.name, s.features, s.classes),
        )
    })
}

async fn model_ready(State(s): State<Arc<Served>>, UrlPath(name): UrlPath<String>) -> Response {
    other_model(&s, &name).unwrap_or_else(|| {
        json_response(
            StatusCode::OK,
            &serde_json::json!({"name": s.name, "ready": true}),
        )
    })
}

fn router(s: Arc<Served>) -> Router {
    let max_body = s.max_body_bytes;
    Router::new()
        .route(
            "/v2",
            get(|| async {
                json_response(
                    StatusCode::OK,
                    &serde_json::json!({"name": "mlprobe", "version": env!("CARGO_PKG_VERSION"), "extensions": []}),
                )
            }),
        )
        .route(
            "/v2/health/live",
            get(|| async { json_response(StatusCode::OK, &serde_json::json!({"live": true})) }),
        )
        .route(
            "/v2/health/ready",
            get(|| async { json_response(StatusCode::OK, &serde_json::json!({"ready": true})) }),
        )
        .route("/v2/models/{name}", get(model_metadata))
        .route("/v2/models/{name}/ready", get(model_ready))
        .route("/v2/models/{name}/infer", post(infer))
        .route("/v2/feedback", post(feedback))
        .route("/v2/canary", get(canary_report))
        .route("/metrics", get(prometheus))
        .fallback(|uri: axum::http::Uri| async move {
            error(
                StatusCode::NOT_FOUND,
                &format!("no route {}", crate::limits::excerpt(uri.path())),
            )
        })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(s)
}

/// How long a stopping server waits for requests in flight (idle keep-alive connections close
/// at once).
const GRACE: Duration = Duration::from_secs(5);

/// Serves until SIGINT or SIGTERM: loads the models, binds (a port in use is a usage error
/// naming `--port`), calls `on_ready` with the address, and returns what was served.
///
/// The runtime: one current-thread tokio runtime per worker thread, and an acceptor on the
/// calling thread handing each connection to the next worker in turn; a connection lives on
/// one worker, its socket registered with that worker's reactor (no wakeups across workers,
/// no work stealing; DESIGN.md, "Serving").
pub fn serve(opts: &ServeOptions, on_ready: impl FnOnce(SocketAddr, &str)) -> Result<ServeSummary> {
    let s = Arc::new(served(opts)?);
    let listener = std::net::TcpListener::bind((opts.host, opts.port))
        .map_err(|e| Error::Usage(format!("--port {} on {}: {e}", opts.port, opts.host)))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::Internal(format!("listener: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("listener: {e}")))?;
    let runtime = |what: &str| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("tokio runtime ({what}): {e}")))
    };
    let workers = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        n => n,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut handles = Vec::with_capacity(workers);
    let mut threads = Vec::with_capacity(workers);
    for i in 0..workers {
        let rt = runtime("worker")?;
        handles.push(rt.handle().clone());
        let mut stopped = stopped.clone();
        let s = Arc::clone(&s);
        let thread = std::thread::Builder::new()
            .name(format!("serve-{i}"))
            .spawn(move || {
                rt.block_on(async {
                    let _ = stopped.wait_for(|&stop| stop).await;
                    // Let the shadow tasks still queued finish their counts.
                    let until = Instant::now() + Duration::from_secs(1);
                    while s.metrics.shadow_pending.load(Relaxed) > 0 && Instant::now() < until {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                });
            })
            .map_err(|e| Error::Internal(format!("worker thread: {e}")))?;
        threads.push(thread);
    }
    let app = router(Arc::clone(&s));
    // The served model's infer URL goes straight to its handler, its answer a body in one
    // piece; everything else goes through the router (DESIGN.md, "Serving").
    let infer_path: Arc<str> = format!("/v2/models/{}/infer", s.name).into();
    let service = {
        let s = Arc::clone(&s);
        let router = hyper_util::service::TowerToHyperService::new(app);
        hyper::service::service_fn(move |req: axum::http::Request<hyper::body::Incoming>| {
            let fast = req.method() == axum::http::Method::POST && req.uri().path() == &*infer_path;
            let s = Arc::clone(&s);
            let routed = if fast {
                Err(req)
            } else {
                Ok(hyper::service::Service::call(&router, req))
            };
            async move {
                match routed {
                    Ok(routed) => routed.await.map(|r| r.map(Either::Right)),
                    Err(req) => Ok(infer_request(&s, &s.name, req).await.map(Either::Left)),
                }
            }
        })
    };
    let accepted = runtime("acceptor")?.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| Error::Internal(format!("listener: {e}")))?;
        on_ready(addr, &s.name);
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut http = hyper::server::conn::http1::Builder::new();
        // Head and body in one buffer, one `write`: faster than `writev` of the two on loopback.
        http.writev(false);
        let signal = stop_signal();
        tokio::pin!(signal);
        let mut next = 0usize;
        loop {
            let tcp = tokio::select! {
                () = &mut signal => break,
                accepted = listener.accept() => match accepted {
                    Ok((tcp, _)) => tcp,
                    // Out of descriptors or a connection reset before it was accepted: the
                    // server keeps serving the others.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            // Deregistered here, registered again with the worker's reactor.
            let Ok(tcp) = tcp.into_std() else { continue };
            let (http, service) = (http.clone(), service.clone());
            let watcher = graceful.watcher();
            handles[next % workers].spawn(async move {
                let Ok(tcp) = tokio::net::TcpStream::from_std(tcp) else {
                    return;
                };
                // TCP_NODELAY: an answer is one small write that must not wait for the
                // client's delayed ACK (Nagle), as QEMU's UART socket (`nodelay=on`,
                // qemu.rs) learned.
                let _ = tcp.set_nodelay(true);
                let conn = http.serve_connection(hyper_util::rt::TokioIo::new(tcp), service);
                let _ = watcher.watch(conn).await;
            });
            next = next.wrapping_add(1);
        }
        drop(listener);
        let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
        Ok::<(), Error>(())
    });
    let _ = stop.send(true);
    for t in threads {
        let _ = t.join();
    }
    accepted?;
    Ok(summary(&s, addr))
}

async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

fn summary(s: &Served, addr: SocketAddr) -> ServeSummary {
    let m = &s.metrics;
    let mut rows = std::collections::BTreeMap::new();
    rows.insert("primary", m.primary.rows.load(Relaxed));
    if s.shadow.is_some() {
        rows.insert("shadow", m.shadow.rows.load(Relaxed));
    }
    if s.candidate.is_some() {
        rows.insert("candidate", m.candidate.rows.load(Relaxed));
    }
    let shadow = s.shadow.as_ref().map(|_| {
        let (r, a) = (m.shadow_rows.load(Relaxed), m.shadow_agree.load(Relaxed));
        ShadowSummary {
            rows: r,
            agreed: a,
            agreement: (r > 0).then(|| a as f64 / r as f64),
        }
    });
    ServeSummary {
        name: s.name.clone(),
        address: format!("http://{addr}"),
        requests: m.requests.load(Relaxed),
        errors: m.bad_requests.load(Relaxed)
            + m.not_found.load(Relaxed)
            + m.too_large.load(Relaxed),
        rows,
        shadow,
        canary: s.canary.as_ref().map(|c| {
            c.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .report()
        }),
    }
}
