//! The model on the device: `mlprobe device validate` in QEMU is bit-exact with the host on
//! every wine row, and the firmware answers damaged frames with errors while it keeps serving.
//!
//! Needs `qemu-system-arm` and the `thumbv7em-none-eabihf` and `thumbv6m-none-eabi` targets
//! (`.ci/run` installs them).

use mlprobe::firmware::{Board, build_firmware, firmware_dir};
use mlprobe::link::Client;
use mlprobe::qemu::Qemu;
use mlprobe_core::protocol::{DeviceError, MAX_FRAME, Request, Response};
use mlprobe_tests::{code, data, json, qemu, root, run, stderr};
use std::path::PathBuf;

fn wine_model() -> PathBuf {
    root().join("firmware/models/wine.mlpb")
}

#[test]
fn validate_wine_in_qemu_is_bit_exact_on_all_rows() {
    if !qemu() {
        return;
    }
    let model = wine_model();
    let o = run([
        "device".as_ref(),
        "validate".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--data".as_ref(),
        data("wine.csv").as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "stderr:\n{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["board"], "qemu-mps2-an386");
    assert_eq!(v["n"], 178);
    assert_eq!(v["bit_exact"], true);
    assert_eq!(v["mismatches"], 0);
    assert_eq!(v["class_mismatches"], 0);
    assert_eq!(v["host_accuracy"], v["device_accuracy"]);
    assert!(v["host_accuracy"].as_f64().unwrap() > 0.9);
    let p50 = v["instructions_per_inference"]["p50"].as_u64().unwrap();
    assert!(
        p50 > 0 && p50.is_multiple_of(40),
        "SysTick counts 40 instructions: {p50}"
    );
    // The budgets: 32 KiB flash, 8 KiB RAM including the stack.
    let flash = v["flash_bytes"].as_u64().unwrap();
    let ram = v["ram_bytes"].as_u64().unwrap();
    let stack = v["stack_peak_bytes"].as_u64().unwrap();
    assert!(flash <= 32 * 1024, "flash {flash}");
    assert!(ram + stack <= 8 * 1024, "ram {ram} + stack {stack}");
    assert!(stack > 0);
}

/// The first 18 rows of `csv` with a bad value in every other one (missing, NaN, infinite,
/// ±1e30, 3e38, 40,000, −1e5, in turn in columns 0–4), written into `dir`: rows an int8
/// kernel's fast input path must hand back to `core`.
fn hostile_rows(csv: &std::path::Path, dir: &std::path::Path) -> std::path::PathBuf {
    let hostile = dir.join("hostile.csv");
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    let bad = [
        "", "nan", "inf", "-inf", "1e30", "-1e30", "3e38", "40000", "-1e5",
    ];
    for (i, line) in lines.take(2 * bad.len()).enumerate() {
        let mut cells: Vec<&str> = line.split(',').collect();
        if let Some(b) = bad.get(i / 2).filter(|_| i % 2 == 0) {
            cells[i % 5] = b;
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    std::fs::write(&hostile, out).unwrap();
    hostile
}

/// `mlprobe device validate --board BOARD --model MODEL --data CSV --json`, which must exit 0:
/// its report.
fn validate(board: &str, model: &std::path::Path, csv: &std::path::Path) -> serde_json::Value {
    let o = run([
        "device".as_ref(),
        "validate".as_ref(),
        "--board".as_ref(),
        board.as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--data".as_ref(),
        csv.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "stderr:\n{}", stderr(&o));
    json(&o)
}

/// The firmware of `report` ran the Cortex-M0 kernel, not `core`'s loop: it is in the ELF.
fn assert_m0_kernel(report: &serde_json::Value) {
    let elf = std::fs::read(report["elf"].as_str().unwrap()).unwrap();
    assert!(
        String::from_utf8_lossy(&elf).contains("model2m06layers"),
        "the Cortex-M0 kernel was not compiled in"
    );
}

/// Issue #17: an int8 model computes on the Cortex-M4, with the firmware's DSP kernel
/// (`firmware/src/int8.rs`: generated assembly with SMLAD and fused requantizations), and on
/// the Cortex-M0 with its kernel, what `mlprobe_core::quant` computes on the host, bit for
/// bit, on every row of `name`. The model
/// is trained on all of `name` (wine: the bundled model) and quantized with per-channel
/// weights, calibrated on the same rows. Returns the validate report.
fn int8_in_qemu(name: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let float = if name == "wine" {
        wine_model()
    } else {
        let m = dir.path().join(format!("{name}.mlpb"));
        let o = run([
            "train".as_ref(),
            "--data".as_ref(),
            data(&format!("{name}.csv")).as_os_str(),
            "--out".as_ref(),
            m.as_os_str(),
        ]);
        assert_eq!(code(&o), 0, "stderr:\n{}", stderr(&o));
        m
    };
    let model = dir.path().join(format!("{name}.int8.mlpb"));
    let csv = data(&format!("{name}.csv"));
    let o = run([
        "quantize".as_ref(),
        "--model".as_ref(),
        float.as_os_str(),
        "--calibration".as_ref(),
        csv.as_os_str(),
        "--out".as_ref(),
        model.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "stderr:\n{}", stderr(&o));
    let v = validate("qemu", &model, &csv);
    assert_eq!(v["bit_exact"], true, "{name}");
    assert_eq!(v["mismatches"], 0, "{name}");
    assert_eq!(v["class_mismatches"], 0, "{name}");
    assert_eq!(v["host_accuracy"], v["device_accuracy"], "{name}");
    // The firmware ran the DSP kernel, not core's loop: its functions are in the ELF.
    let elf = std::fs::read(v["elf"].as_str().unwrap()).unwrap();
    let syms = String::from_utf8_lossy(&elf);
    assert!(
        syms.contains("model3dsp6layers") && syms.contains("model3dsp8quantize"),
        "{name}: the DSP kernel was not compiled in"
    );
    // Rows the kernel's input stage hands back to `core` (a value missing, infinite, NaN, or
    // too large for its 16-bit rounding), and rows it keeps: bit-exact too, and the handed-back
    // ones cost `core`'s standardisation on top (so the other path did run).
    let hostile = hostile_rows(&csv, dir.path());
    let h = validate("qemu", &model, &hostile);
    assert_eq!(h["bit_exact"], true, "{name}: hostile rows");
    assert_eq!(h["mismatches"], 0, "{name}: hostile rows");
    let max = |r: &serde_json::Value| r["instructions_per_inference"]["max"].as_u64().unwrap();
    assert!(max(&h) > max(&v), "{name}: no row took core's path");
    let p50 = v["instructions_per_inference"]["p50"].as_u64().unwrap();
    let flash = v["flash_bytes"].as_u64().unwrap();
    let ram = v["ram_bytes"].as_u64().unwrap();
    let stack = v["stack_peak_bytes"].as_u64().unwrap();
    eprintln!(
        "{name} int8 in QEMU (mps2-an386): {} rows, {p50} instructions, flash {flash} B, RAM {ram} B + stack {stack} B",
        v["n"]
    );
    assert!(p50 > 0 && stack > 0);
    // The Cortex-M0's kernel (`m0::layers`) on every row too (wine's is the micro:bit test's).
    if name != "wine" {
        let m = validate("microbit", &model, &csv);
        assert_eq!(m["bit_exact"], true, "{name} on the micro:bit");
        assert_eq!(m["mismatches"], 0, "{name} on the micro:bit");
        assert_m0_kernel(&m);
        eprintln!(
            "{name} int8 on the micro:bit: {} rows, {} instructions",
            m["n"], m["instructions_per_inference"]["p50"]
        );
    }
    if name == "wine" {
        // Issue #17's budgets for wine int8 (the instruction target is the benchmark's).
        assert!(flash <= 16 * 1024, "flash {flash}");
        assert!(ram + stack <= 4 * 1024, "ram {ram} + stack {stack}");
    }
    v
}

#[test]
fn int8_wine_validates_bit_exact_in_qemu() {
    if !qemu() {
        return;
    }
    assert_eq!(int8_in_qemu("wine")["n"], 178);
}

#[test]
fn int8_digits_validates_bit_exact_in_qemu() {
    if !qemu() {
        return;
    }
    assert_eq!(int8_in_qemu("digits")["n"], 1797);
}

#[test]
fn int8_breast_cancer_validates_bit_exact_in_qemu() {
    if !qemu() {
        return;
    }
    assert_eq!(int8_in_qemu("breast_cancer")["n"], 569);
}

/// Issue #17: the BBC micro:bit (QEMU `microbit`: nRF51822, Cortex-M0, no FPU, the firmware
/// built for thumbv6m-none-eabi with soft-float) computes the bundled wine model's logits
/// bit for bit as the host does on all 178 rows of data/wine.csv, and reports its cost in
/// instructions: TIMER0 counts 16 MHz, 62.5 instructions per tick under `-icount shift=0`
/// (firmware/src/board/microbit.rs), which the firmware checks at boot on a loop of 40,000
/// instructions (640 ticks). The budgets are the chip's: 256 KiB flash, 16 KiB RAM.
#[test]
fn validate_wine_on_the_microbit_is_bit_exact_on_all_rows() {
    if !qemu() {
        return;
    }
    let model = wine_model();
    let o = run([
        "device".as_ref(),
        "validate".as_ref(),
        "--board".as_ref(),
        "microbit".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--data".as_ref(),
        data("wine.csv").as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "stderr:\n{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["board"], "qemu-microbit");
    assert_eq!(v["n"], 178);
    assert_eq!(v["bit_exact"], true);
    assert_eq!(v["mismatches"], 0);
    assert_eq!(v["class_mismatches"], 0);
    assert_eq!(v["host_accuracy"], v["device_accuracy"]);
    assert!(v["elf"].as_str().unwrap().contains("thumbv6m-none-eabi"));
    // A whole number of 62.5-instruction ticks, rounded down.
    let p50 = v["instructions_per_inference"]["p50"].as_u64().unwrap();
    let ticks = (p50 * 16).div_ceil(1000);
    assert!(
        p50 > 0 && ticks * 1000 / 16 == p50,
        "TIMER0 counts 62.5 instructions: {p50}"
    );
    assert!(v.get("cycles_per_inference").is_none());
    let flash = v["flash_bytes"].as_u64().unwrap();
    let ram = v["ram_bytes"].as_u64().unwrap();
    let stack = v["stack_peak_bytes"].as_u64().unwrap();
    assert!(flash <= 256 * 1024, "flash {flash}");
    assert!(ram + stack <= 16 * 1024, "ram {ram} + stack {stack}");
    // The stack is the RAM the statics leave (firmware/src/stack.rs, memory/microbit.x).
    assert_eq!(v["stack_size_bytes"].as_u64().unwrap() + ram, 16 * 1024);

    // The cost clock's calibration, logged over defmt (semihosting) at boot.
    let elf = std::path::PathBuf::from(v["elf"].as_str().unwrap());
    let (qemu, link) = Qemu::start(&elf, "microbit".parse().unwrap(), false).unwrap();
    let mut client = Client::new(link);
    client
        .wait_ready(std::time::Duration::from_secs(10))
        .unwrap();
    drop(client);
    let logs = qemu.stop();
    assert!(
        logs.iter()
            .any(|l| l.contains("40000 instructions took 640 ticks")),
        "TIMER0 calibration: {logs:?}"
    );

    // The micro:bit's ELF on the default board's machine is refused before QEMU starts (its
    // ARMv6-M build attribute is not the Cortex-M4's), rather than booting without a UART.
    let o = run([
        "device".as_ref(),
        "run".as_ref(),
        "--ping".as_ref(),
        "--port".as_ref(),
        "1".as_ref(),
        "--elf".as_ref(),
        elf.as_os_str(),
    ]);
    assert_eq!(code(&o), 2, "stderr:\n{}", stderr(&o));
    assert!(
        stderr(&o).contains("built for ARMv6-M") && stderr(&o).contains("pass --board microbit"),
        "{}",
        stderr(&o)
    );
}

/// Issue #17: the int8 wine model (the bundled model quantized with `mlprobe quantize`,
/// calibrated on data/wine.csv) on the micro:bit's Cortex-M0 computes what
/// `mlprobe_core::quant` computes on the host, bit for bit, on all 178 rows, and takes fewer
/// instructions than the f32 model on the same board: 7.1 times fewer today (16,437 against
/// 117,000; the target of 10 is not met, firmware/README.md says where they go), and
/// the test holds it to at least 5.
#[test]
fn an_int8_model_on_the_microbit_is_bit_exact_and_cheaper_than_f32() {
    if !qemu() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let int8 = dir.path().join("wine.int8.mlpb");
    let o = run([
        "quantize".as_ref(),
        "--model".as_ref(),
        wine_model().as_os_str(),
        "--calibration".as_ref(),
        data("wine.csv").as_os_str(),
        "--out".as_ref(),
        int8.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "stderr:\n{}", stderr(&o));
    let on_microbit =
        |model: &std::path::Path, csv: &std::path::Path| validate("microbit", model, csv);
    // Missing, infinite and huge values: the soft-float finiteness test and `core`'s cleaning.
    let h = on_microbit(&int8, &hostile_rows(&data("wine.csv"), dir.path()));
    assert_eq!(h["bit_exact"], true, "hostile rows");
    let v = on_microbit(&int8, &data("wine.csv"));
    assert_eq!(v["board"], "qemu-microbit");
    assert_eq!(v["n"], 178);
    assert_eq!(v["bit_exact"], true);
    assert_eq!(v["mismatches"], 0);
    assert_eq!(v["host_accuracy"], v["device_accuracy"]);
    assert_m0_kernel(&v);
    let q = v["instructions_per_inference"]["p50"].as_u64().unwrap();
    let f = on_microbit(&wine_model(), &data("wine.csv"))["instructions_per_inference"]["p50"]
        .as_u64()
        .unwrap();
    let (flash, stack) = (
        v["flash_bytes"].as_u64().unwrap(),
        v["stack_peak_bytes"].as_u64().unwrap(),
    );
    eprintln!(
        "wine on the microbit: int8 {q} instructions, f32 {f}; int8 flash {flash} B, stack {stack} B"
    );
    // Issue #17's target is 10× (the benchmark prints it); this guards against a regression.
    assert!(q > 0 && q * 8 <= f, "int8 {q} vs f32 {f} instructions");
}

/// A board QEMU does not emulate is a usage error, found before anything is built.
#[test]
fn a_board_qemu_does_not_emulate_is_a_usage_error() {
    let model = wine_model();
    let o = run([
        "device".as_ref(),
        "validate".as_ref(),
        "--board".as_ref(),
        "nrf52840".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--data".as_ref(),
        data("wine.csv").as_os_str(),
    ]);
    assert_eq!(code(&o), 2, "stderr:\n{}", stderr(&o));
    assert!(
        stderr(&o).contains("board nrf52840: QEMU does not emulate it"),
        "{}",
        stderr(&o)
    );
}

/// Issue #16: a network with two hidden layers (digits, 64 → 64 → 32 → 10, as `train --hidden
/// 64,32` makes it) computes on the Cortex-M4 what it computes on the host, bit for bit, on
/// all 1,797 rows; its cost per inference, flash and RAM are reported.
#[test]
fn a_two_hidden_layer_model_validates_bit_exact_in_qemu() {
    if !qemu() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("digits.mlpb");
    let o = run([
        "train".as_ref(),
        "--data".as_ref(),
        data("digits.csv").as_os_str(),
        "--hidden".as_ref(),
        "64,32".as_ref(),
        "--out".as_ref(),
        model.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "stderr:\n{}", stderr(&o));
    let o = run([
        "device".as_ref(),
        "validate".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--data".as_ref(),
        data("digits.csv").as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "stderr:\n{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["n"], 1797);
    assert_eq!(v["bit_exact"], true);
    assert_eq!(v["mismatches"], 0);
    assert_eq!(v["host_accuracy"], v["device_accuracy"]);
    let p50 = v["instructions_per_inference"]["p50"].as_u64().unwrap();
    let flash = v["flash_bytes"].as_u64().unwrap();
    let ram = v["ram_bytes"].as_u64().unwrap();
    let stack = v["stack_peak_bytes"].as_u64().unwrap();
    eprintln!(
        "digits 64-64-32-10 in QEMU: {p50} instructions, flash {flash} B, RAM {ram} B + stack {stack} B"
    );
    // 6,570 parameters: at least one multiply and one add per weight.
    assert!(p50 >= 2 * 6570, "{p50}");
    assert!(flash > 4 * 6570 && stack > 0);
}

#[test]
fn validate_with_a_model_the_device_does_not_run_is_a_usage_error() {
    if !qemu() {
        return;
    }
    // A different model than the ELF's: the device's model CRC gives it away.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.mlpb");
    let o = run([
        "train".as_ref(),
        "--data".as_ref(),
        data("wine.csv").as_os_str(),
        "--epochs".as_ref(),
        "2".as_ref(),
        "--seed".as_ref(),
        "1".as_ref(),
        "--out".as_ref(),
        other.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let elf = build_firmware(None, Board::qemu(), &firmware_dir(None)).unwrap();
    let o = run([
        "device".as_ref(),
        "validate".as_ref(),
        "--model".as_ref(),
        other.as_os_str(),
        "--data".as_ref(),
        data("wine.csv").as_os_str(),
        "--elf".as_ref(),
        elf.as_os_str(),
    ]);
    assert_eq!(code(&o), 2, "stderr:\n{}", stderr(&o));
    assert!(stderr(&o).contains("another model"), "{}", stderr(&o));
}

#[test]
fn a_missing_emulator_or_serial_port_is_a_device_failure() {
    // Exit 4 (device, link or emulator failed), never a usage or internal error.
    let elf = build_firmware(None, Board::qemu(), &firmware_dir(None)).unwrap();
    let validate = |extra: &[&std::ffi::OsStr]| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["device".as_ref(), "validate".as_ref()];
        let (model, wine) = (wine_model(), data("wine.csv"));
        args.extend(["--model".as_ref(), model.as_os_str()]);
        args.extend([
            "--data".as_ref(),
            wine.as_os_str(),
            "--elf".as_ref(),
            elf.as_os_str(),
        ]);
        args.extend(extra);
        // No PATH: QEMU cannot be found.
        mlprobe_tests::mlprobe(args)
            .env("PATH", "/nonexistent")
            .output()
            .unwrap()
    };
    let o = validate(&[]);
    assert_eq!(code(&o), 4, "stderr:\n{}", stderr(&o));
    assert!(
        stderr(&o).contains("qemu-system-arm not found"),
        "{}",
        stderr(&o)
    );
    let o = validate(&["--serial".as_ref(), "/nonexistent/ttyMLPROBE".as_ref()]);
    assert_eq!(code(&o), 4, "stderr:\n{}", stderr(&o));
    assert!(
        stderr(&o).contains("/nonexistent/ttyMLPROBE"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn damaged_frames_get_errors_and_every_valid_request_its_answer() {
    if !qemu() {
        return;
    }
    let elf = build_firmware(None, Board::qemu(), &firmware_dir(None)).unwrap();
    let host = mlprobe::model_io::load(&wine_model()).unwrap();
    let rows =
        mlprobe::data::load(&data("wine.csv"), mlprobe::data::Labels::Optional("label")).unwrap();
    let (qemu, link) = Qemu::start(&elf, Board::qemu(), false).unwrap();
    let mut client = Client::new(link);
    client
        .wait_ready(std::time::Duration::from_secs(10))
        .unwrap();
    let mut scratch = vec![0.0f32; host.dims().scratch_len()];

    // Each fault is sent between two valid requests.
    let request = |row: usize| Request::Infer {
        features: rows.row(row).iter().copied().collect(),
    };
    let sample = Client::<mlprobe::link::TcpLink>::encode(99, request(0)).unwrap();
    let mut corrupted = sample.clone();
    corrupted[10] ^= 0x20;
    let truncated = sample[..sample.len() / 2].to_vec(); // no delimiter: the next frame's ends it
    let mut oversized = vec![0u8];
    oversized.extend(std::iter::repeat_n(0x41, MAX_FRAME + 50));
    oversized.push(0);
    let garbage = b"\0hello, device\0".to_vec();
    let not_cobs = vec![0u8, 200, 1, 2, 3, 0];
    let faults = [corrupted, truncated, oversized, garbage, not_cobs];

    let mut bad_answers = 0;
    for (k, fault) in faults.iter().enumerate() {
        for row in [3 * k, 3 * k + 1] {
            let id = client.send(request(row)).unwrap();
            let answer = client.recv().unwrap();
            assert_eq!(answer.id, Some(id), "fault {k}, row {row}");
            let Response::Inference(inf) = answer.response else {
                panic!("fault {k}, row {row}: {:?}", answer.response)
            };
            let want = host.infer(rows.row(row), &mut scratch).unwrap();
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&inf.logits), bits(want), "fault {k}, row {row}");
        }
        client.send_raw(fault).unwrap();
        if k == 1 {
            // The truncated frame is only ended by the next request's leading delimiter.
            let id = client.send(request(0)).unwrap();
            let err = client.recv().unwrap();
            assert_eq!(err.id, None);
            assert!(matches!(
                err.response,
                Response::Error(DeviceError::Frame(_))
            ));
            bad_answers += 1;
            assert_eq!(client.recv().unwrap().id, Some(id));
        } else {
            let err = client.recv().unwrap();
            assert_eq!(err.id, None, "fault {k}");
            assert!(
                matches!(err.response, Response::Error(DeviceError::Frame(_))),
                "fault {k}: {:?}",
                err.response
            );
            bad_answers += 1;
        }
    }
    // A well-formed request with the wrong number of features is an error too.
    let short = Request::Infer {
        features: [1.0f32, 2.0].into_iter().collect(),
    };
    let Response::Error(DeviceError::FeatureCount {
        expected: 13,
        found: 2,
    }) = client.call(short).unwrap()
    else {
        panic!("short request accepted")
    };
    let Response::Stats(stats) = client.call(Request::Stats).unwrap() else {
        panic!("no stats")
    };
    assert_eq!(stats.rejected, bad_answers + 1);
    assert!(stats.stack_peak > 0 && stats.stack_peak < stats.stack_size);
    drop(client);
    let logs = qemu.stop();
    assert!(
        logs.iter().any(|l| l.contains("mlprobe-firmware")),
        "defmt boot line decoded: {logs:?}"
    );
    // One SysTick tick is 40 instructions under `-icount shift=0` (DESIGN.md): the firmware
    // times a loop of known length at boot.
    assert!(
        logs.iter()
            .any(|l| l.contains("40000 instructions took 1000 ticks")),
        "SysTick calibration: {logs:?}"
    );
}
