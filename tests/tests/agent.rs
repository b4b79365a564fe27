//! The device agent for other firmware (`agent/`, `agent/c/`): its C header is current, and the
//! example firmware in C and in Rust validate in QEMU on the wine data.

use mlprobe_tests::root;

/// The committed header (`agent/c/include/mlprobe_agent.h`) is what cbindgen makes of
/// `agent/c/src/lib.rs` today: a C firmware never compiles against a stale API.
/// `MLPROBE_BLESS=1` rewrites it.
#[test]
fn the_c_header_is_what_cbindgen_generates() {
    let crate_dir = root().join("agent").join("c");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen reads agent/c")
        .write(&mut generated);
    let path = crate_dir.join("include").join("mlprobe_agent.h");
    if std::env::var_os("MLPROBE_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is not what cbindgen generates from agent/c/src/lib.rs: regenerate it with \
         MLPROBE_BLESS=1 cargo test -p mlprobe --test agent the_c_header",
        path.display()
    );
}

use mlprobe::firmware::elf_sizes;
use mlprobe_tests::{arm_gcc, code, examples, json, qemu, run, stderr};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The bundled wine model (13-32-3, f32) and its data.
fn wine() -> (String, String) {
    let s = |p: PathBuf| p.to_str().unwrap().to_string();
    (
        s(root().join("firmware/models/wine.mlpb")),
        s(root().join("data/wine.csv")),
    )
}

/// The C example's three builds for the wine model: as shipped, with a flipped weight
/// (`FAULT=1`) and without the agent (`NO_AGENT=1`, the size baseline).
struct Builds {
    ok: PathBuf,
    fault: PathBuf,
    baseline: PathBuf,
    _dir: tempfile::TempDir,
}

/// Builds the agent's static library, exports the model as a C header and builds the C
/// example three ways, once for every test of this file.
fn c_builds() -> &'static Builds {
    static BUILDS: OnceLock<Builds> = OnceLock::new();
    BUILDS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let library = examples::agent_c_library();
        let header = dir.path().join("wine_model.h");
        examples::export_c(&root().join("firmware/models/wine.mlpb"), &header);
        let build = |name: &str, vars: &[&str]| {
            examples::c_firmware(&header, &library, &dir.path().join(name), vars)
        };
        Builds {
            ok: build("ok", &[]),
            fault: build("fault", &["FAULT=1"]),
            baseline: build("baseline", &["NO_AGENT=1"]),
            _dir: dir,
        }
    })
}

/// `device validate` of `elf` (QEMU) on every wine row, with `flags`: the exit code and the
/// JSON report.
fn validate(elf: &Path, flags: &[&str]) -> (i32, Value) {
    let (model, data) = wine();
    let mut args = vec![
        "device",
        "validate",
        "--model",
        &model,
        "--data",
        &data,
        "--elf",
        elf.to_str().unwrap(),
        "--json",
    ];
    args.extend(flags);
    let o = run(&args);
    (code(&o), json(&o))
}

/// What the agent adds to a firmware: (flash, static RAM) of `with` minus `without`.
fn added(with: &Path, without: &Path) -> (i64, i64) {
    let (a, b) = (elf_sizes(with).unwrap(), elf_sizes(without).unwrap());
    (
        a.flash_bytes as i64 - b.flash_bytes as i64,
        a.ram_bytes as i64 - b.ram_bytes as i64,
    )
}

/// The checks every example passes on wine: every row within the tolerance, argmax
/// agreement 1.0, the model checked by its checksum, a cost per inference reported.
fn assert_validates(report: &Value) {
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(report["n"], 178);
    assert_eq!(report["out_of_tolerance"], 0, "{report}");
    assert_eq!(report["argmax_agreement"], 1.0, "{report}");
    assert_eq!(report["model_check"], "checksum", "{report}");
    assert_eq!(report["cost_unit"], "instructions", "{report}");
    assert!(
        report["cost_per_inference"]["p50"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert_eq!(report["rejected"], 0, "{report}");
}

/// A flipped weight: exit 1, and the report names the first row and output that differ.
fn assert_fault_found(code: i32, report: &Value) {
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["passed"], false);
    let first = &report["mismatch_details"][0];
    assert!(first["row"].is_u64() && first["logit"].is_u64(), "{report}");
    assert!(report["out_of_tolerance"].as_u64().unwrap() > 0);
}

#[test]
fn the_c_example_validates_in_qemu_and_a_flipped_weight_fails() {
    if !qemu() || !arm_gcc() {
        return;
    }
    let b = c_builds();
    let (code, report) = validate(&b.ok, &["--ulps", "4"]);
    assert_eq!(code, 0, "{report}");
    assert_validates(&report);
    assert_eq!(report["board"], "c-example-mps2-an386");
    eprintln!(
        "C example: {} instructions per inference (p50), largest error {} ({} ulp), bit-exact {}",
        report["cost_per_inference"]["p50"],
        report["max_abs_error"]["value"],
        report["max_ulp"]["value"],
        report["bit_exact"]
    );
    let (code, report) = validate(&b.fault, &["--ulps", "4"]);
    assert_fault_found(code, &report);
    // The human report names them too.
    let (model, data) = wine();
    let o = run([
        "device",
        "validate",
        "--model",
        &model,
        "--data",
        &data,
        "--elf",
        b.fault.to_str().unwrap(),
    ]);
    let first = &report["mismatch_details"][0];
    let needle = format!(
        "first difference: row {} (line {}), output {}",
        first["row"], first["line"], first["logit"]
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&needle),
        "{needle}\n{}",
        stderr(&o)
    );
    // What the agent adds (`cargo bench -p mlprobe --bench agent` prints it for both
    // examples): at most the budget of 4 KiB of flash and 1 KiB of RAM.
    let (flash, ram) = added(&b.ok, &b.baseline);
    eprintln!("the agent adds {flash} B of flash and {ram} B of static RAM to the C example");
    assert!(
        flash <= 4096 && ram <= 1024,
        "flash +{flash} B, RAM +{ram} B"
    );
}

#[test]
fn load_and_link_chaos_against_the_c_example_lose_nothing() {
    if !qemu() || !arm_gcc() {
        return;
    }
    let b = c_builds();
    let (model, data) = wine();
    let elf = b.ok.to_str().unwrap();
    let o = run([
        "load",
        "--model",
        &model,
        "--target",
        "qemu",
        "--elf",
        elf,
        "--rps",
        "50",
        "--requests",
        "100",
        "--warmup",
        "5",
        "--data",
        &data,
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["target"]["board"], "c-example-mps2-an386");
    assert_eq!(v["successful"], 100, "{v}");
    assert_eq!(
        (v["failed"].as_u64(), v["dropped"].as_u64()),
        (Some(0), Some(0)),
        "{v}"
    );
    let o = run([
        "chaos",
        "--experiment",
        "link",
        "--model",
        &model,
        "--target",
        "qemu",
        "--elf",
        elf,
        "--faults",
        "300",
        "--data",
        &data,
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    let m = &v["measured"];
    for k in ["lost", "wrong", "duplicates", "unexpected"] {
        assert_eq!(m[k], 0, "{k}: {v}");
    }
    assert_eq!(m["answered_correctly"], 300, "{v}");
    assert_eq!(m["rejected"], 300, "{v}");
}

#[test]
fn the_rust_example_validates_in_qemu_and_a_flipped_weight_fails() {
    if !qemu() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = root().join("firmware/models/wine.mlpb");
    let ok = examples::rust_firmware(&model, &[], &dir.path().join("ok.elf"));
    let fault = examples::rust_firmware(&model, &["fault"], &dir.path().join("fault.elf"));
    // Its own summation loops: within 1e-5 of the host's logits (it happens to be bit-exact on
    // wine, which the tolerance does not require).
    let (code, report) = validate(&ok, &["--atol", "1e-5"]);
    assert_eq!(code, 0, "{report}");
    assert_validates(&report);
    assert_eq!(report["board"], "rust-example-mps2-an386");
    eprintln!(
        "Rust example: {} instructions per inference (p50), largest error {}",
        report["cost_per_inference"]["p50"], report["max_abs_error"]["value"]
    );
    let (code, report) = validate(&fault, &["--atol", "1e-5"]);
    assert_fault_found(code, &report);
    // The budget for the agent: at most 4 KiB of flash and 1 KiB of static RAM.
    let baseline = examples::rust_firmware(&model, &["no-agent"], &dir.path().join("base.elf"));
    let (flash, ram) = added(&ok, &baseline);
    eprintln!("the agent adds {flash} B of flash and {ram} B of static RAM to the Rust example");
    assert!(
        flash <= 4096 && ram <= 1024,
        "flash +{flash} B, RAM +{ram} B"
    );
}

/// A device in this process: the agent serving `model` (through the host's inference, its
/// logits moved `nudge` units in the last place) on a local TCP port, reporting no model
/// checksum, no cost counter and `outputs` outputs; answers one connection until it closes.
fn agent_on_tcp(model: &Path, outputs: usize, nudge: u32) -> u16 {
    use mlprobe_agent::{Agent, Dims, Failed, Ident, Inference, NoClock, NoStack};
    use std::io::{Read, Write};
    struct Host(mlprobe::model_io::HostModel, Vec<f32>, usize, u32);
    impl Inference for Host {
        fn dims(&self) -> Dims {
            // No hidden widths reported: a firmware whose model is not an MLP.
            Dims::deep(self.0.dims().inputs(), &[], self.2).unwrap()
        }
        fn infer(&mut self, x: &[f32], out: &mut [f32]) -> Result<(), Failed> {
            let logits = self.0.infer(x, &mut self.1).map_err(|_| Failed)?;
            for (o, l) in out.iter_mut().zip(logits) {
                *o = f32::from_bits(l.to_bits() + self.3);
            }
            Ok(())
        }
    }
    let host = mlprobe::model_io::load(model).unwrap();
    let scratch = vec![0.0; host.dims().scratch_len()];
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let ident = Ident {
            board: "in-test",
            firmware: [0, 0, 1],
            model_crc: 0,
        };
        let model = Host(host, scratch, outputs, nudge);
        let mut agent = Agent::new(model, NoClock, NoStack, ident).unwrap();
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 256];
        while let Ok(n @ 1..) = stream.read(&mut buf) {
            if agent.receive(&buf[..n], |a| stream.write_all(a)).is_err() {
                break;
            }
        }
    });
    port
}

#[test]
fn a_device_without_a_checksum_is_checked_by_its_shape_over_tcp() {
    let (model, data) = wine();
    let port = agent_on_tcp(Path::new(&model), 3, 0);
    let addr = format!("127.0.0.1:{port}");
    let o = run([
        "device", "validate", "--model", &model, "--data", &data, "--tcp", &addr, "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["passed"], true, "{v}");
    assert_eq!(v["bit_exact"], true, "{v}");
    assert_eq!(v["model_check"], "shape");
    assert_eq!(v["cost_unit"], "unmeasured");
    assert_eq!(v["board"], "in-test");
    // A device whose shape is not the model's is refused before any row: a usage error.
    let port = agent_on_tcp(Path::new(&model), 2, 0);
    let addr = format!("127.0.0.1:{port}");
    let o = run([
        "device", "validate", "--model", &model, "--data", &data, "--tcp", &addr,
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("runs another model"), "{}", stderr(&o));
}

#[test]
fn link_chaos_counts_an_answer_right_within_the_tolerance() {
    let (model, data) = wine();
    // Every logit one unit in the last place off the host's.
    let chaos = |flags: &[&str]| {
        let port = agent_on_tcp(Path::new(&model), 3, 1);
        let target = format!("tcp:127.0.0.1:{port}");
        let mut args = vec![
            "chaos",
            "--experiment",
            "link",
            "--model",
            &model,
            "--data",
            &data,
            "--target",
            &target,
            "--faults",
            "40",
            "--silence-ms",
            "0",
            "--json",
        ];
        args.extend(flags);
        let o = run(&args);
        (code(&o), json(&o))
    };
    let (code, v) = chaos(&[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["measured"]["wrong"], 40, "{v}");
    let (code, v) = chaos(&["--ulps", "1"]);
    assert_eq!(code, 0, "{v}");
    let m = &v["measured"];
    assert_eq!(
        (m["wrong"].as_u64(), m["answered_correctly"].as_u64()),
        (Some(0), Some(40))
    );
    assert_eq!(m["tolerance"]["ulps"], 1);
}
