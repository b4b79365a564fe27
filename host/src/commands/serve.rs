//! `mlprobe serve`: a model behind HTTP (Open Inference Protocol v2), with a shadow, a canary
//! and Prometheus metrics (issue 18). The library behind it is [`crate::serve`].

use crate::commands::{Outcome, emit};
use crate::error::Result;
use crate::serve::{ServeOptions, ServeSummary, serve};
use std::net::IpAddr;
use std::path::PathBuf;

/// Serve a model over HTTP (KServe / Triton's Open Inference Protocol v2).
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Serve a model over HTTP, speaking the Open Inference Protocol v2 of KServe and \
        Triton, until SIGINT or SIGTERM; then print what was served.\n\n\
        Endpoints: GET /v2/health/live, /v2/health/ready, /v2/models/NAME, \
        POST /v2/models/NAME/infer with {\"id\": \"…\", \"inputs\": [{\"name\": \"input\", \
        \"shape\": [n, F], \"datatype\": \"FP32\", \"data\": [n×F numbers, row-major]}]}, \
        answered with outputs `logits` [n, C] FP32 and `class` [n] INT64; GET /metrics \
        (Prometheus); with --canary, POST /v2/feedback {\"id\": \"…\", \"label\": k} and GET \
        /v2/canary. Bad JSON, shapes or types are 400 with {\"error\": \"…\"}, a body over \
        --max-body-bytes is 413.\n\n\
        --shadow S scores every request with S too, off the response path, and counts how often \
        it agrees. --canary C answers --canary-percent of the traffic with C, sticky per unit \
        (the x-mlprobe-unit header, else the request's id); feedback feeds an always-valid \
        sequential test (mixture SPRT), and a candidate significantly worse than the model is \
        rolled back (its share set to 0) while the server keeps serving; a better one is \
        reported as `promote`, the operator's call.",
    after_help = "Examples:\n  mlprobe serve --model wine.mlpb --port 8080\n  \
        curl -s localhost:8080/v2/models/wine/infer -d '{\"inputs\": [{\"name\": \"input\", \
        \"shape\": [1, 13], \"datatype\": \"FP32\", \"data\": [14.2, 1.7, 2.4, 15.6, 127, 2.8, \
        3.06, 0.28, 2.29, 5.64, 1.04, 3.92, 1065]}]}'\n  \
        mlprobe serve --model wine.mlpb --shadow wine.int8.mlpb --canary wine_v2.mlpb --canary-percent 5\n  \
        mlprobe load --target http://127.0.0.1:8080/v2/models/wine/infer --data data/wine.csv --rps 1000"
)]
pub struct Args {
    /// The model answering requests.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Its name in URLs: letters, digits, `-`, `_`, `.` (default: the model file's stem).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one; the address is printed on stderr).
    #[arg(long, value_name = "PORT", default_value_t = 8080)]
    pub port: u16,
    /// A model scoring every request beside the primary, off the response path.
    #[arg(long, value_name = "MODEL")]
    pub shadow: Option<PathBuf>,
    /// A candidate model answering --canary-percent of the traffic.
    #[arg(long, value_name = "MODEL")]
    pub canary: Option<PathBuf>,
    /// The candidate's share of traffic, percent (above 0, at most 100).
    #[arg(long, value_name = "P", default_value_t = 10.0, requires = "canary")]
    pub canary_percent: f64,
    /// Level of the canary's sequential test (above 0, below 1).
    #[arg(long, value_name = "A", default_value_t = 0.05, requires = "canary")]
    pub canary_alpha: f64,
    /// The canary test's mixing scale: the size of a difference in accuracy worth finding
    /// (positive).
    #[arg(long, value_name = "T", default_value_t = 0.05, requires = "canary")]
    pub canary_tau: f64,
    /// The largest request body; larger ones are answered 413.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub max_body_bytes: usize,
    /// Worker threads (0: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// Print the summary at shutdown as one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mlprobe serve`.
pub fn run(args: Args) -> Result<Outcome> {
    let json = args.json;
    let opts = ServeOptions {
        model: args.model,
        name: args.name,
        host: args.host,
        port: args.port,
        shadow: args.shadow,
        canary: args.canary,
        canary_percent: args.canary_percent,
        canary_alpha: args.canary_alpha,
        canary_tau: args.canary_tau,
        max_body_bytes: args.max_body_bytes,
        threads: args.threads,
    };
    let summary = serve(&opts, |addr, name| {
        crate::output::eprintln(&format!(
            "mlprobe serve: listening on http://{addr} (POST http://{addr}/v2/models/{name}/infer); \
             SIGINT or SIGTERM stops it"
        ));
    })?;
    emit(json, &summary, ServeSummary::human, true)
}
