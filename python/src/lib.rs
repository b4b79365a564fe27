//! `mlprobe._mlprobe`: the extension module under the Python package `mlprobe`
//! (`python/mlprobe`). Each function parses what Python gives, calls the host library, and
//! returns what the command line would print with `--json` (as a JSON string the package
//! turns into a dict) or numpy arrays; no logic of mlprobe's is written here.
//!
//! Tables come in through the Arrow C stream interface (`__arrow_c_stream__`: pyarrow
//! tables and batches, pandas and polars DataFrames), their column buffers imported without a
//! copy, and are read as [`mlprobe::data::arrow`] reads a Parquet file's columns.

use arrow_array::RecordBatch;
use arrow_pyarrow::FromPyArrow;
use arrow_schema::{ArrowError, Schema};
use mlprobe::data::{self, Dataset, Labels};
use mlprobe::error::{Error as MlError, exit};
use mlprobe::expect::{self, ExpectOptions};
use mlprobe::model_io::{self, HostModel};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use std::path::{Path, PathBuf};

create_exception!(
    _mlprobe,
    Error,
    PyException,
    "An error of mlprobe's; its message is the command line's."
);
create_exception!(
    _mlprobe,
    InputError,
    Error,
    "Bad input or usage: what the command line exits with 2 for (the message names the file, \
     line and column, or the parameter)."
);
create_exception!(
    _mlprobe,
    InternalError,
    Error,
    "An internal failure (the command line's exit 3)."
);
create_exception!(
    _mlprobe,
    DeviceError,
    Error,
    "The device, its link or its emulator failed (the command line's exit 4)."
);

/// mlprobe's error as the Python exception of its exit code.
fn py_err(e: MlError) -> PyErr {
    let message = e.to_string();
    match e.exit_code() {
        exit::INPUT => InputError::new_err(message),
        exit::DEVICE => DeviceError::new_err(message),
        _ => InternalError::new_err(message),
    }
}

/// A report as the JSON text `--json` prints.
fn json<T: serde::Serialize>(report: &T) -> PyResult<String> {
    serde_json::to_string(report).map_err(|e| InternalError::new_err(format!("JSON: {e}")))
}

/// A path from `str` or `os.PathLike`.
fn path_of(obj: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    obj.extract::<PathBuf>()
}

/// What names a table in messages: its Python type (`pandas.DataFrame`).
fn label_of(obj: &Bound<'_, PyAny>) -> PathBuf {
    let t = obj.get_type();
    let module = t
        .module()
        .map(|m| m.to_string())
        .unwrap_or_default()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string();
    let name = t.name().map(|n| n.to_string()).unwrap_or_default();
    if module.is_empty() || module == "builtins" {
        PathBuf::from(name)
    } else {
        PathBuf::from(format!("{module}.{name}"))
    }
}

/// A table's stream of record batches (anything with `__arrow_c_stream__`).
struct Table {
    label: PathBuf,
    schema: Schema,
    batches: arrow_array::ffi_stream::RecordBatchStreamReader,
}

impl Table {
    fn of(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let label = label_of(obj);
        let reader = arrow_array::ffi_stream::RecordBatchStreamReader::from_pyarrow_bound(obj)
            .map_err(|e| {
                InputError::new_err(format!(
                    "{}: not a table mlprobe can read ({e}); give a pyarrow Table or RecordBatch, \
                     a pandas or polars DataFrame, or anything with __arrow_c_stream__",
                    label.display()
                ))
            })?;
        let schema = arrow_array::RecordBatchReader::schema(&reader)
            .as_ref()
            .clone();
        Ok(Self {
            label,
            schema,
            batches: reader,
        })
    }

    fn batches(self) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> {
        self.batches
    }
}

/// `mlprobe.expect(data, suite)`: the JSON of `mlprobe expect --json`.
#[pyfunction]
fn expect_json(data: &Bound<'_, PyAny>, suite: &Bound<'_, PyAny>) -> PyResult<String> {
    let suite_path = path_of(suite)?;
    if data.is_instance_of::<PyString>() || data.hasattr("__fspath__")? {
        let report = expect::expect(&ExpectOptions::new(suite_path, path_of(data)?));
        return json(&report.map_err(py_err)?);
    }
    let table = Table::of(data)?;
    let suite = mlprobe::suite::Suite::load(&suite_path).map_err(py_err)?;
    let (label, schema) = (table.label.clone(), table.schema.clone());
    let report = expect::validate_batches(&suite, &label, &schema, table.batches());
    json(&report.map_err(py_err)?)
}

/// `mlprobe.ExpectState`: a suite's check over batches of rows, mergeable and carried as
/// bytes.
#[pyclass(name = "ExpectState", module = "mlprobe._mlprobe", unsendable)]
struct PyExpectState(expect::ExpectState);

#[pymethods]
impl PyExpectState {
    #[new]
    fn new(suite: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self(
            expect::ExpectState::new(&path_of(suite)?).map_err(py_err)?,
        ))
    }

    /// Adds the rows of a table; returns how many.
    fn update(&mut self, batch: &Bound<'_, PyAny>) -> PyResult<u64> {
        let table = Table::of(batch)?;
        let (label, schema) = (table.label.clone(), table.schema.clone());
        self.0
            .update(&label, &schema, table.batches())
            .map_err(py_err)
    }

    /// Appends the state of the rows that follow.
    fn merge(&mut self, other: &PyExpectState) -> PyResult<()> {
        let later = expect::ExpectState::from_bytes(Path::new("state"), &other.0.to_bytes())
            .map_err(py_err)?;
        self.0.merge(later).map_err(py_err)
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.to_bytes())
    }

    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(Self(
            expect::ExpectState::from_bytes(Path::new("bytes"), data).map_err(py_err)?,
        ))
    }

    /// The JSON of `mlprobe expect --json` over every row seen.
    fn result_json(&self, data: &str) -> PyResult<String> {
        json(&self.0.result(Path::new(data)))
    }

    #[getter]
    fn rows(&self) -> u64 {
        self.0.rows()
    }

    #[getter]
    fn columns(&self) -> Option<Vec<String>> {
        self.0.columns().map(<[String]>::to_vec)
    }
}

/// `mlprobe.ProfileState`: `mlprobe profile` over batches of rows, in two passes, mergeable
/// and carried as bytes.
#[pyclass(name = "ProfileState", module = "mlprobe._mlprobe", unsendable)]
struct PyProfileState(expect::ProfileState);

#[pymethods]
impl PyProfileState {
    #[new]
    fn new() -> Self {
        Self(expect::ProfileState::new())
    }

    /// Adds the rows of a table to the pass; returns how many (0 in the second pass).
    fn update(&mut self, batch: &Bound<'_, PyAny>) -> PyResult<u64> {
        let table = Table::of(batch)?;
        let (label, schema) = (table.label.clone(), table.schema.clone());
        self.0
            .update(&label, &schema, table.batches())
            .map_err(py_err)
    }

    /// Appends the state of the rows that follow (of the same pass).
    fn merge(&mut self, other: &PyProfileState) -> PyResult<()> {
        let later = expect::ProfileState::from_bytes(Path::new("state"), &other.0.to_bytes())
            .map_err(py_err)?;
        self.0.merge(later).map_err(py_err)
    }

    /// The second pass of this first pass (its drift bins fixed).
    fn second_pass(&self) -> PyResult<Self> {
        Ok(Self(self.0.second_pass().map_err(py_err)?))
    }

    /// The suite (TOML) `mlprobe profile` writes for these rows.
    fn suite_toml(&self, name: &str, source: &str) -> PyResult<String> {
        self.0.suite_toml(name, source).map_err(py_err)
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.to_bytes())
    }

    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(Self(
            expect::ProfileState::from_bytes(Path::new("bytes"), data).map_err(py_err)?,
        ))
    }

    #[getter]
    fn rows(&self) -> u64 {
        self.0.rows()
    }

    #[getter]
    fn is_second_pass(&self) -> bool {
        self.0.is_second_pass()
    }
}

/// `mlprobe.Model`: a model file, for predictions and evaluations.
#[pyclass(name = "Model", module = "mlprobe._mlprobe", frozen)]
struct PyModel {
    model: HostModel,
    path: PathBuf,
}

impl PyModel {
    /// The rows of `x` (a 2-D numpy array in the model's feature order, or a table whose
    /// columns are bound to the model's features by name) as a dataset that fits the model;
    /// `labels` says what to do with a table's label column.
    fn dataset(&self, x: &Bound<'_, PyAny>, labels: Labels<'_>) -> PyResult<Dataset> {
        if let Ok(array) = x.extract::<PyReadonlyArray2<'_, f32>>() {
            return self.array_rows(array.as_array().iter().copied().collect(), array.shape());
        }
        if let Ok(array) = x.extract::<PyReadonlyArray2<'_, f64>>() {
            let values = array.as_array().iter().map(|&v| v as f32).collect();
            return self.array_rows(values, array.shape());
        }
        let table = Table::of(x)?;
        let (label, schema) = (table.label.clone(), table.schema.clone());
        let data = data::from_batches(&label, &schema, table.batches(), labels).map_err(py_err)?;
        model_io::bind(&self.model, data).map_err(py_err)
    }

    fn array_rows(&self, features: Vec<f32>, shape: &[usize]) -> PyResult<Dataset> {
        let inputs = self.model.dims().inputs();
        if shape[1] != inputs {
            return Err(InputError::new_err(format!(
                "X has {} columns; the model takes {inputs} features{}",
                shape[1],
                match &self.model.features {
                    Some(f) => format!(" ({})", f.join(", ")),
                    None => String::new(),
                }
            )));
        }
        let names = self
            .model
            .features
            .clone()
            .unwrap_or_else(|| (1..=inputs).map(|i| format!("x{i}")).collect());
        Ok(Dataset {
            path: PathBuf::from("numpy.ndarray"),
            feature_names: names,
            features,
            labels: None,
            label_name: None,
            label_column: None,
            lines: (0..shape[0] as u64).map(|r| r + 2).collect(),
        })
    }
}

#[pymethods]
impl PyModel {
    /// Loads a model file (`mlprobe train`'s or `mlprobe import`'s).
    #[staticmethod]
    fn load(path: &Bound<'_, PyAny>) -> PyResult<Self> {
        let path = path_of(path)?;
        let model = model_io::load(&path).map_err(py_err)?;
        Ok(Self { model, path })
    }

    /// The feature names, in the model's order (`None` for a model without names).
    #[getter]
    fn feature_names(&self) -> Option<Vec<String>> {
        self.model.features.clone()
    }

    /// The class names (`None` for a model without names).
    #[getter]
    fn class_names(&self) -> Option<Vec<String>> {
        self.model.classes.clone()
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// Predictions: classes, probabilities, logits and whether each row's were finite.
    #[allow(clippy::type_complexity)]
    #[pyo3(signature = (x, label = "label"))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        label: &str,
    ) -> PyResult<(
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray2<f32>>,
        Bound<'py, PyArray2<f32>>,
        Bound<'py, PyArray1<bool>>,
    )> {
        let mut data = self.dataset(x, Labels::Ignored(label))?;
        data.labels = None;
        let rows = data.rows();
        let report = mlprobe::predict::predict_rows(&self.model, data).map_err(py_err)?;
        let k = self.model.dims().outputs();
        let matrix = |m: Vec<Vec<f32>>| -> PyResult<Bound<'py, PyArray2<f32>>> {
            let flat: Vec<f32> = m.into_iter().flatten().collect();
            flat.into_pyarray(py)
                .reshape([rows, k])
                .map_err(|e| InternalError::new_err(e.to_string()))
        };
        let classes: Vec<i64> = report.predictions.iter().map(|&c| c as i64).collect();
        Ok((
            classes.into_pyarray(py),
            matrix(report.probabilities)?,
            matrix(report.logits)?,
            report.finite.into_pyarray(py),
        ))
    }

    /// The JSON of `mlprobe eval --json`'s quality figures on rows with labels: `x` a numpy
    /// array with `y` its labels, or a table with its label column `label`.
    #[pyo3(signature = (x, y = None, label = "label", latency_samples = 10_000))]
    fn evaluate_json(
        &self,
        x: &Bound<'_, PyAny>,
        y: Option<Vec<i64>>,
        label: &str,
        latency_samples: usize,
    ) -> PyResult<String> {
        let mut data = self.dataset(x, Labels::Required(label))?;
        if let Some(y) = y {
            if y.len() != data.rows() {
                return Err(InputError::new_err(format!(
                    "y has {} labels for {} rows",
                    y.len(),
                    data.rows()
                )));
            }
            let max = mlprobe_core::mlp::MAX_CLASSES;
            let labels = y
                .iter()
                .map(|&c| u8::try_from(c).ok().filter(|&c| usize::from(c) < max))
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| {
                    InputError::new_err(format!(
                        "y: labels are class numbers from 0 to {}",
                        max - 1
                    ))
                })?;
            data.labels = Some(labels);
        }
        if data.labels.is_none() {
            return Err(InputError::new_err(
                "evaluate: give y with a numpy X, or a table with its label column",
            ));
        }
        let rows: Vec<usize> = (0..data.rows()).collect();
        let report = mlprobe::eval::evaluate_rows(&self.model, &data, &rows, latency_samples)
            .map_err(py_err)?;
        json(&report)
    }
}

/// `mlprobe.ab.*`: runs `mlprobe ab ARGS… --json` in this process and returns its JSON.
#[pyfunction]
fn ab_json(args: Vec<String>) -> PyResult<String> {
    use clap::Parser;
    let argv = ["mlprobe", "ab"].into_iter().map(String::from).chain(args);
    let cli = mlprobe::cli::Cli::try_parse_from(argv)
        .map_err(|e| InputError::new_err(e.render().to_string().trim_end().to_string()))?;
    let mlprobe::cli::Command::Ab(a) = cli.command else {
        return Err(InternalError::new_err("not an ab command"));
    };
    let rendered = mlprobe::commands::ab::evaluate(a.command).map_err(py_err)?;
    json(&rendered.json)
}

/// `mlprobe.drift(reference, current, …)`: the JSON of `mlprobe drift --json`.
#[pyfunction]
#[pyo3(signature = (reference, current, columns = None, alpha = 0.05, threads = None))]
fn drift_json(
    reference: &Bound<'_, PyAny>,
    current: &Bound<'_, PyAny>,
    columns: Option<Vec<String>>,
    alpha: f64,
    threads: Option<usize>,
) -> PyResult<String> {
    let options = mlprobe::drift::DriftOptions {
        columns,
        alpha,
        threads,
        ..mlprobe::drift::DriftOptions::new(path_of(reference)?, path_of(current)?)
    };
    options.validate().map_err(py_err)?;
    json(&mlprobe::drift::drift(&options).map_err(py_err)?)
}

/// The version of mlprobe this module was built from.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _mlprobe(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    m.add("DeviceError", py.get_type::<DeviceError>())?;
    m.add_class::<PyModel>()?;
    m.add_class::<PyExpectState>()?;
    m.add_class::<PyProfileState>()?;
    m.add_function(wrap_pyfunction!(expect_json, m)?)?;
    m.add_function(wrap_pyfunction!(ab_json, m)?)?;
    m.add_function(wrap_pyfunction!(drift_json, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
