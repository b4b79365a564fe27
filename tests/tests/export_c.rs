//! End-to-end tests of `mlprobe export --format c`: the header of each model (the bundled wine
//! model, int8 ones from `mlprobe quantize`, per channel and per tensor, a two-hidden-layer one
//! trained here and a linear one) is compiled with the host's C compiler
//! (`cc -std=c99 -O2 -ffp-contract=off -Wall -Wextra -Werror -pedantic`) into a small harness
//! that reads rows of f32 on stdin and prints the bits of `mlprobe_model_infer`'s logits; every
//! logit of every row of data/wine.csv, plus rows with missing (NaN), infinite and huge values,
//! must equal bit for bit the logits of mlprobe's own inference of the same row
//! (`mlprobe::model_io::load` then `HostModel::infer`: mlprobe-core's f32 or int8 forward pass,
//! the one the device runs, itself checked against scikit-learn, ONNX Runtime and TFLite's
//! reference kernels in tests/tests/reference.rs, onnx.rs and tflite.rs).

use mlprobe::data::{self, Labels};
use mlprobe::interop::{Dense, Network};
use mlprobe::model_io::{self, HostModel};
use mlprobe_core::transform::Fill;
use mlprobe_tests::{code, data as dataset, require, root, run, stderr};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The strict host flags of the brief: ISO C99, every warning an error, no FMA contraction
/// (which would fuse `acc += w * x` into one rounding and change the last bits).
const CFLAGS: &[&str] = &[
    "-std=c99",
    "-O2",
    "-ffp-contract=off",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
];

/// The host's C compiler (`cc`, or `$CC`), by the `require` policy.
fn cc() -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let present = Command::new(&cc)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    require(
        "a C compiler (cc)",
        present,
        "install gcc or clang, or set CC",
    )
    .then_some(cc)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `mlprobe export MODEL --format c --out OUT`.
fn export(model: &Path, out: &Path) {
    let o = run(["export", s(model), "--format", "c", "--out", s(out)]);
    assert_eq!(code(&o), 0, "export: {}", stderr(&o));
}

/// `mlprobe quantize` of `model` calibrated on wine (`extra`: `--per-tensor`).
fn quantize(model: &Path, out: &Path, extra: &[&str]) {
    let calibration = dataset("wine.csv");
    let mut args = vec![
        "quantize",
        "--model",
        s(model),
        "--calibration",
        s(&calibration),
        "--min-agreement",
        "0",
        "--out",
        s(out),
    ];
    args.extend(extra);
    let o = run(&args);
    assert_eq!(code(&o), 0, "quantize: {}", stderr(&o));
}

/// The harness: `info` prints the header's macros; otherwise rows of `MLPROBE_MODEL_INPUTS`
/// native f32 from stdin, one line of logit bit patterns (hex) per row. With `-DFLIP` it first
/// flips bit 22 of `mlprobe_model_layer0_weight[5]` (the weights must then be in RAM:
/// `-DMLPROBE_MODEL_CONST=`). With `-DDUMP` (a float model) `dump` prints the bits of the
/// standardiser's and every layer's arrays, one per line, to check that every literal parses
/// back to its f32.
fn harness(layers: usize) -> String {
    let mut dump = String::new();
    let mut dump_array = |name: &str| {
        dump.push_str(&format!(
            "        for (i = 0; i < sizeof {name} / sizeof {name}[0]; i++) {{ bits(&{name}[i]); }}\n"
        ));
    };
    dump_array("mlprobe_model_mean");
    dump_array("mlprobe_model_std");
    for k in 0..layers {
        dump_array(&format!("mlprobe_model_layer{k}_weight"));
        dump_array(&format!("mlprobe_model_layer{k}_bias"));
    }
    format!(
        r#"#include <stdio.h>
#include <string.h>
#include "model.h"

#ifdef DUMP
static void bits(const float *v)
{{
    uint32_t b;
    memcpy(&b, v, sizeof b);
    printf("%08lx\n", (unsigned long)b);
}}
#endif

int main(int argc, char **argv)
{{
    float features[MLPROBE_MODEL_INPUTS], logits[MLPROBE_MODEL_OUTPUTS];
    size_t i;
    if (argc > 1 && strcmp(argv[1], "info") == 0) {{
        printf("%d %d %d %d %lx %d %d %d %s %s\n", MLPROBE_MODEL_INPUTS, MLPROBE_MODEL_OUTPUTS,
               MLPROBE_MODEL_HIDDEN_LAYERS, MLPROBE_MODEL_LAYERS, (unsigned long)MLPROBE_MODEL_CRC,
               MLPROBE_MODEL_INT8, MLPROBE_MODEL_HAS_FEATURE_NAMES, MLPROBE_MODEL_HAS_CLASS_NAMES,
               mlprobe_model_features[MLPROBE_MODEL_INPUTS - 1],
               mlprobe_model_classes[MLPROBE_MODEL_OUTPUTS - 1]);
        for (i = 0; i < sizeof mlprobe_model_hidden / sizeof mlprobe_model_hidden[0]; i++) {{
            printf("%u\n", (unsigned)mlprobe_model_hidden[i]);
        }}
        return 0;
    }}
#ifdef DUMP
    if (argc > 1 && strcmp(argv[1], "dump") == 0) {{
{dump}        return 0;
    }}
#endif
#ifdef FLIP
    {{
        uint32_t b;
        memcpy(&b, &mlprobe_model_layer0_weight[5], sizeof b);
        b ^= (uint32_t)1 << 22;
        memcpy(&mlprobe_model_layer0_weight[5], &b, sizeof b);
    }}
#endif
    while (fread(features, sizeof features, 1, stdin) == 1) {{
        if (mlprobe_model_infer(features, logits) != 0) {{
            return 1;
        }}
        for (i = 0; i < MLPROBE_MODEL_OUTPUTS; i++) {{
            uint32_t b;
            memcpy(&b, &logits[i], sizeof b);
            printf("%08lx%c", (unsigned long)b, i + 1 < MLPROBE_MODEL_OUTPUTS ? ' ' : '\n');
        }}
    }}
    return 0;
}}
"#
    )
}

/// Compiles `header` (copied as `model.h`) with the harness into `dir/name`, with `CFLAGS` and
/// `extra`; panics with the compiler's output when it fails.
fn compile(
    cc: &str,
    dir: &Path,
    header: &Path,
    layers: usize,
    name: &str,
    extra: &[&str],
) -> PathBuf {
    std::fs::copy(header, dir.join("model.h")).unwrap();
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, harness(layers)).unwrap();
    let exe = dir.join(name);
    let o = Command::new(cc)
        .args(CFLAGS)
        .args(extra)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{cc} {CFLAGS:?} {extra:?} failed:\n{}",
        stderr(&o)
    );
    exe
}

/// Runs `exe` with `args` and `stdin`, returning its stdout.
fn run_exe(exe: &Path, args: &[&str], stdin: &[u8]) -> String {
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Written from a thread: the harness answers as it reads, and a full pipe each way would
    // otherwise stop both sides.
    let mut pipe = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&stdin));
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(o.status.success(), "{}: {}", exe.display(), stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// The rows of data/wine.csv's feature columns in the model's order (by name when the model
/// has names, else by position, as `mlprobe predict` binds them), then rows that exercise the
/// standardiser's special cases: missing values (one, and a whole row), ±inf, values whose
/// standardisation overflows, zeros of both signs.
fn rows(model: &HostModel) -> Vec<Vec<f32>> {
    let d = data::load(&dataset("wine.csv"), Labels::Ignored("label")).unwrap();
    let d = model_io::bind(model, d).unwrap();
    let n = model.dims().inputs();
    let mut rows: Vec<Vec<f32>> = d.features.chunks_exact(n).map(<[f32]>::to_vec).collect();
    let first = rows[0].clone();
    let with = |edits: &[(usize, f32)]| {
        let mut r = first.clone();
        for &(i, v) in edits {
            r[i] = v;
        }
        r
    };
    rows.extend([
        with(&[(2, f32::NAN)]),
        with(&[(0, f32::NAN), (12, f32::NAN), (6, -f32::NAN)]),
        vec![f32::NAN; n],
        with(&[(4, f32::INFINITY)]),
        with(&[(1, f32::NEG_INFINITY), (7, f32::INFINITY)]),
        with(&[(3, 3.0e38), (5, -3.0e38)]),
        with(&[(9, f32::MAX)]),
        vec![0.0; n],
        vec![-0.0; n],
        with(&[(8, 1e-45), (10, -1e-40)]),
    ]);
    rows
}

/// mlprobe's logits of every row, as bit patterns (hex, one line per row).
fn expected(model: &HostModel, rows: &[Vec<f32>]) -> Vec<String> {
    let mut scratch = vec![0.0; model.dims().scratch_len()];
    rows.iter()
        .map(|r| {
            let logits = model.infer(r, &mut scratch).unwrap();
            logits
                .iter()
                .map(|v| format!("{:08x}", v.to_bits()))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Compares the compiled header's logits with mlprobe's on every row: bit for bit, NaN for NaN
/// (a NaN's payload is the hardware's, not the model's).
fn assert_bit_exact(what: &str, got: &str, want: &[String], rows: &[Vec<f32>]) {
    let got: Vec<&str> = got.lines().collect();
    assert_eq!(got.len(), want.len(), "{what}: every row ran");
    let nan = |h: &str| f32::from_bits(u32::from_str_radix(h, 16).unwrap()).is_nan();
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let same = g
            .split(' ')
            .zip(w.split(' '))
            .all(|(a, b)| a == b || (nan(a) && nan(b)));
        assert!(
            same,
            "{what}: row {i} ({:?}): C logits {g}, mlprobe's {w}",
            rows[i]
        );
    }
}

fn f32_bytes(rows: &[Vec<f32>]) -> Vec<u8> {
    rows.iter()
        .flatten()
        .flat_map(|v| v.to_ne_bytes())
        .collect()
}

/// A model file: the bundled wine model; int8 ones of it (per channel and per tensor); a
/// two-hidden-layer one trained here with a constant fill and its int8 form; a linear one
/// (mlprobe cannot train one, so it is built from a `Network`, as an import would).
fn models(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let wine = root().join("firmware/models/wine.mlpb");
    let int8 = dir.join("wine.int8.mlpb");
    quantize(&wine, &int8, &[]);
    let tensor = dir.join("wine.tensor.mlpb");
    quantize(&wine, &tensor, &["--per-tensor"]);
    let deep = dir.join("deep.mlpb");
    let wine_csv = dataset("wine.csv");
    let o = run([
        "train",
        "--data",
        s(&wine_csv),
        "--hidden",
        "16,8",
        "--epochs",
        "40",
        "--seed",
        "5",
        "--fill-na",
        "-1.5",
        "--out",
        s(&deep),
    ]);
    assert_eq!(code(&o), 0, "train: {}", stderr(&o));
    let deep8 = dir.join("deep.int8.mlpb");
    quantize(&deep, &deep8, &[]);
    let linear = dir.join("linear.mlpb");
    let names: Vec<String> = data::load(&wine_csv, Labels::Ignored("label"))
        .unwrap()
        .feature_names;
    let (f, c) = (names.len(), 3);
    let net = Network {
        layers: vec![Dense {
            inputs: f,
            outputs: c,
            weight: (0..f * c).map(|k| (k as f32 * 0.731).sin() * 0.4).collect(),
            bias: vec![0.25, -0.0, -1.0e-3],
        }],
        normalizer: Some((
            (0..f).map(|k| k as f32 * 1.5 + 0.1).collect(),
            (0..f).map(|k| 0.3 + k as f32).collect(),
        )),
        fill: Fill::Value(2.5),
        features: Some(names.into_iter().rev().collect()),
        classes: Some(vec![
            "barolo".into(),
            "grignolino".into(),
            "barbera \"?\"".into(),
        ]),
        notes: Vec::new(),
    };
    model_io::save(&linear, &model_io::from_network(&net).unwrap(), &[]).unwrap();
    vec![
        ("wine", wine),
        ("wine int8", int8),
        ("wine int8 per tensor", tensor),
        ("16,8", deep),
        ("16,8 int8", deep8),
        ("linear", linear),
    ]
}

/// The issue's check: the header's logits are mlprobe's, bit for bit, on every row, for every
/// kind of model; the float literals parse back to the model's f32; a weight flipped in RAM
/// (`-DMLPROBE_MODEL_CONST=`) gives the logits mlprobe gives with the same flip.
#[test]
fn the_header_computes_mlprobes_logits_bit_for_bit() {
    let Some(cc) = cc() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (what, path) in models(dir.path()) {
        let model = model_io::load(&path).unwrap();
        let sub = dir.path().join(what.replace([' ', ','], "_"));
        std::fs::create_dir(&sub).unwrap();
        let header = sub.join("model_out.h");
        export(&path, &header);
        let again = sub.join("again.h");
        export(&path, &again);
        assert!(
            std::fs::read(&header).unwrap() == std::fs::read(&again).unwrap(),
            "{what}: the header depends on the model only"
        );
        let layers = model.dims().layers();
        let float = model.int8.is_none();
        let extra: &[&str] = if float { &["-DDUMP"] } else { &[] };
        let exe = compile(&cc, &sub, &header, layers, "harness", extra);
        let rows = rows(&model);
        let input = f32_bytes(&rows);
        let want = expected(&model, &rows);
        assert_bit_exact(what, &run_exe(&exe, &[], &input), &want, &rows);
        eprintln!("{what}: {} rows bit-exact", rows.len());
        if !float {
            continue;
        }
        // Every literal is its f32.
        let mut params: Vec<u32> = model.norm.mean().iter().map(|v| v.to_bits()).collect();
        params.extend(model.norm.std().iter().map(|v| v.to_bits()));
        params.extend(model.mlp.params().iter().map(|v| v.to_bits()));
        let dumped: Vec<u32> = run_exe(&exe, &["dump"], &[])
            .lines()
            .map(|l| u32::from_str_radix(l, 16).unwrap())
            .collect();
        assert!(dumped == params, "{what}: a float literal is not its f32");
        // A flipped weight in RAM.
        let exe = compile(
            &cc,
            &sub,
            &header,
            layers,
            "flipped",
            &["-DMLPROBE_MODEL_CONST=", "-DFLIP"],
        );
        let mut flipped = model.clone();
        let w = &mut flipped.mlp.params_mut()[5];
        *w = f32::from_bits(w.to_bits() ^ 1 << 22);
        let want = expected(&flipped, &rows);
        assert_bit_exact(
            &format!("{what} flipped"),
            &run_exe(&exe, &[], &input),
            &want,
            &rows,
        );
    }
}

/// The header compiles without a warning under the brief's flags and stricter ones, in C99
/// and C11, const and in RAM; its macros are the model's, and `MLPROBE_MODEL_CRC` is the
/// model file's checksum (`firmware::model_checksum`: what the device reports as model_crc).
#[test]
fn the_header_compiles_cleanly_and_says_which_model_it_is() {
    let Some(cc) = cc() else { return };
    let dir = tempfile::tempdir().unwrap();
    let strict = [
        "-Wconversion",
        "-Wsign-conversion",
        "-Wdouble-promotion",
        "-Wshadow",
        "-Wcast-qual",
        "-Wundef",
        "-Wstrict-prototypes",
        "-Wvla",
    ];
    for (what, path) in models(dir.path()) {
        let model = model_io::load(&path).unwrap();
        let sub = dir.path().join(what.replace([' ', ','], "_"));
        std::fs::create_dir(&sub).unwrap();
        let header = sub.join("model_out.h");
        export(&path, &header);
        let text = std::fs::read_to_string(&header).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            text.starts_with(&format!(
                "/* Generated by mlprobe {} (`mlprobe export --format c`) from {name}:\n",
                env!("CARGO_PKG_VERSION")
            )),
            "{what}: {}",
            &text[..200]
        );
        assert!(text.contains("-ffp-contract=fast") && text.contains("--atol/--ulps"));
        let layers = model.dims().layers();
        for (exe, extra) in [
            ("const", vec![]),
            ("ram", vec!["-DMLPROBE_MODEL_CONST="]),
            ("c11_O0", vec!["-std=c11", "-O0"]),
            ("strict", strict.to_vec()),
        ] {
            compile(&cc, &sub, &header, layers, exe, &extra);
        }
        // The macros, as the compiler sees them.
        let exe = sub.join("const");
        let info = run_exe(&exe, &["info"], &[]);
        let mut lines = info.lines();
        let fields: Vec<&str> = lines.next().unwrap().split(' ').collect();
        let d = model.dims();
        let crc = mlprobe::firmware::model_checksum(&std::fs::read(&path).unwrap());
        let last_feature = model
            .features
            .as_ref()
            .map_or(format!("x{}", d.inputs() - 1), |f| {
                f[d.inputs() - 1].clone()
            });
        let last_class = model
            .classes
            .as_ref()
            .map_or((d.outputs() - 1).to_string(), |c| {
                c[d.outputs() - 1].clone()
            });
        assert_eq!(
            fields[..8],
            [
                d.inputs().to_string(),
                d.outputs().to_string(),
                d.hidden().len().to_string(),
                d.layers().to_string(),
                format!("{crc:x}"),
                u8::from(model.int8.is_some()).to_string(),
                u8::from(model.features.is_some()).to_string(),
                u8::from(model.classes.is_some()).to_string(),
            ],
            "{what}"
        );
        assert_eq!(
            fields[8..].join(" "),
            format!("{last_feature} {last_class}")
        );
        let hidden: Vec<String> = lines.map(str::to_string).collect();
        let want: Vec<String> = if d.hidden().is_empty() {
            vec!["0".into()]
        } else {
            d.hidden().iter().map(u16::to_string).collect()
        };
        assert_eq!(hidden, want, "{what}: mlprobe_model_hidden");
        assert!(
            text.contains(&format!("#define MLPROBE_MODEL_CRC 0x{crc:08x}u")),
            "{what}"
        );
    }
}

/// The header builds for a Cortex-M4F with `-ffreestanding -nostdlib` and links with no
/// library at all (every operation is an instruction there). arm-none-eabi-gcc comes from
/// `./scripts/setup.sh` (CI installs it: the C firmware example needs it too).
#[test]
fn the_header_builds_freestanding_for_a_cortex_m() {
    if !mlprobe_tests::arm_gcc() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("fw.c");
    std::fs::write(
        &src,
        "#include \"model.h\"\n\
         float features[MLPROBE_MODEL_INPUTS];\nfloat logits[MLPROBE_MODEL_OUTPUTS];\n\
         void _start(void);\nvoid _start(void)\n{\n    mlprobe_model_infer(features, logits);\n    \
         for (;;) {\n    }\n}\n",
    )
    .unwrap();
    for (what, path) in models(dir.path()) {
        let header = dir.path().join("model.h");
        export(&path, &header);
        let o = Command::new("arm-none-eabi-gcc")
            .args(CFLAGS)
            .args([
                "-mcpu=cortex-m4",
                "-mthumb",
                "-mfloat-abi=hard",
                "-mfpu=fpv4-sp-d16",
                "-ffreestanding",
                "-nostdlib",
            ])
            .arg(&src)
            .arg("-o")
            .arg(dir.path().join("fw.elf"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{what}: {}", stderr(&o));
    }
}

/// A missing model file is a usage-class error (exit 2) naming the path, and nothing is
/// written; an output aimed at the model is refused.
#[test]
fn bad_inputs_are_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-model.mlpb");
    let out = dir.path().join("model.h");
    let o = run(["export", s(&missing), "--format", "c", "--out", s(&out)]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains(s(&missing)), "{}", stderr(&o));
    assert!(!out.exists());

    let not_a_model = dir.path().join("data.mlpb");
    std::fs::write(&not_a_model, "label\n1\n").unwrap();
    let o = run(["export", s(&not_a_model), "--format", "c", "--out", s(&out)]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains(s(&not_a_model)), "{}", stderr(&o));
    assert!(!out.exists());

    let wine = dir.path().join("wine.mlpb");
    std::fs::copy(root().join("firmware/models/wine.mlpb"), &wine).unwrap();
    let o = run(["export", s(&wine), "--format", "c", "--out", s(&wine)]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        std::fs::read(&wine).unwrap()
            == std::fs::read(root().join("firmware/models/wine.mlpb")).unwrap()
    );

    // `--out -`: the header on stdout, the same bytes as the file.
    let o = run(["export", s(&wine), "--format", "c", "--out", "-"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    export(&wine, &out);
    assert!(o.stdout == std::fs::read(&out).unwrap());
}

/// The int8 header's integer helpers against mlprobe-core's own functions, on values the
/// bundled data rarely reaches (ties of both roundings, saturation, wrapping left shifts,
/// NaN and infinities): `mlprobe_model_requantize` is `quant::multiply_by_quantized_multiplier`
/// and `mlprobe_model_quantize` is `QParams::quantize`, bit for bit, on 300,000 cases each.
#[test]
fn the_int8_helpers_are_mlprobe_cores_bit_for_bit() {
    use mlprobe_core::quant::{QParams, multiply_by_quantized_multiplier};
    let Some(cc) = cc() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wine = root().join("firmware/models/wine.mlpb");
    let int8 = dir.path().join("wine.int8.mlpb");
    quantize(&wine, &int8, &[]);
    export(&int8, &dir.path().join("model.h"));
    let src = dir.path().join("helpers.c");
    std::fs::write(
        &src,
        r#"#include <stdio.h>
#include <string.h>
#include "model.h"

int main(void)
{
    unsigned char r[12];
    while (fread(r, sizeof r, 1, stdin) == 1) {
        int32_t a, b, c;
        uint32_t u;
        float v, scale;
        memcpy(&a, r, 4);
        memcpy(&b, r + 4, 4);
        memcpy(&c, r + 8, 4);
        memcpy(&v, r, 4);
        memcpy(&u, r + 4, 4);
        u &= 0x7fffffffu; /* a scale is positive */
        memcpy(&scale, &u, 4);
        printf("%ld %d\n", (long)mlprobe_model_requantize(a, b, c % 62 - 31),
               (int)mlprobe_model_quantize(v, scale, c % 256 - 128));
    }
    return 0;
}
"#,
    )
    .unwrap();
    let exe = dir.path().join("helpers");
    let o = Command::new(&cc)
        .args(CFLAGS)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // xorshift64*: the cases, with the edges mixed in.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let edges = [
        0,
        1,
        -1,
        i32::MIN,
        i32::MAX,
        1 << 30,
        -(1 << 30),
        12345,
        -12345,
    ];
    let (mut input, mut want) = (Vec::new(), Vec::new());
    for k in 0..300_000u32 {
        let r = next();
        let mut a = r as i32;
        let mut b = (r >> 32) as i32;
        let c = (next() >> 33) as i32; // non-negative
        match k % 7 {
            // Realistic: a Q31 multiplier in [2^30, 2^31), a small accumulator.
            0..=2 => {
                b = (1 << 30) | (b & 0x3fff_ffff);
                a >>= k % 23;
            }
            3 => a = edges[(r % 9) as usize],
            4 => b = edges[(r >> 8) as usize % 9],
            _ => {}
        }
        // As floats: a standardised value (often near a half-integer multiple of the scale)
        // and a positive scale.
        let mut scale = f32::from_bits(b as u32 & 0x7fff_ffff);
        let mut v = f32::from_bits(a as u32);
        if k % 3 == 0 {
            scale = 0.001 + (r >> 40) as f32 / (1u64 << 24) as f32 * 0.2;
            v = ((r % 2001) as f32 - 1000.0) * 0.5 * scale;
            a = v.to_bits() as i32;
            b = scale.to_bits() as i32;
        }
        let zp = c % 256 - 128;
        let q = QParams {
            scale,
            zero_point: zp,
        };
        input.extend(a.to_ne_bytes());
        input.extend(b.to_ne_bytes());
        input.extend(c.to_ne_bytes());
        let requantized = multiply_by_quantized_multiplier(a, b, c % 62 - 31);
        want.push(format!("{requantized} {}", q.quantize(v)));
    }
    let got = run_exe(&exe, &[], &input);
    for (k, (g, w)) in got.lines().zip(&want).enumerate() {
        let r = &input[12 * k..12 * k + 12];
        assert_eq!(
            g, w,
            "case {k} (bytes {r:02x?}): C (requantize, quantize) vs mlprobe-core"
        );
    }
    assert_eq!(got.lines().count(), want.len());
}
