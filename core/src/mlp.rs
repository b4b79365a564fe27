//! The seed's `SimpleClassifier`: `Linear(inputs, hidden) → ReLU → Linear(hidden, outputs)`.
//!
//! Parameters live in one flat buffer, in PyTorch's `state_dict` order and layout:
//!
//! | part | shape | offset |
//! |---|---|---|
//! | `fc1.weight` | `[hidden, inputs]` (row-major) | `0` |
//! | `fc1.bias` | `[hidden]` | `hidden * inputs` |
//! | `fc2.weight` | `[outputs, hidden]` | `hidden * (inputs + 1)` |
//! | `fc2.bias` | `[outputs]` | `hidden * (inputs + 1) + outputs * hidden` |
//!
//! [`Mlp<P>`] is generic over that buffer: `[f32; N]` for a model compiled into firmware (see
//! [`Mlp::from_array`]), `Vec<f32>` or a slice on the host. Gradients and Adam's moment
//! estimates use the same layout, so the optimiser is one loop over flat slices.
//!
//! Every dot product accumulates from the bias, in input order, one rounding per multiply and
//! per add (Rust never fuses them): the host and a Cortex-M4F compute bit-identical logits.

use crate::transform::{Standardizer, TransformError};
use core::fmt;
#[cfg(feature = "train")]
use rand_core::Rng;

/// Largest number of input features a model may have.
pub const MAX_INPUTS: usize = 4096;
/// Largest number of units of one hidden layer.
pub const MAX_HIDDEN: usize = 256;
/// Largest number of dense layers (so at most `MAX_LAYERS - 1` hidden layers).
pub const MAX_LAYERS: usize = 8;
/// Largest number of classes a model may have.
pub const MAX_CLASSES: usize = 64;

/// Errors of the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MlpError {
    /// Dimensions must be at least 1: at most `MAX_INPUTS` inputs, `MAX_LAYERS` dense layers,
    /// `MAX_HIDDEN` units per hidden layer and `MAX_CLASSES` outputs.
    BadDims,
    /// A buffer has the wrong length.
    Length {
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A class label is not below the number of outputs.
    LabelOutOfRange {
        /// The label.
        label: usize,
        /// The number of outputs.
        outputs: usize,
    },
    /// The input row could not be standardised.
    Transform(TransformError),
    /// An inference outside mlprobe (a firmware's own model, through `mlprobe-agent`) reported
    /// a failure.
    Failed,
}

impl fmt::Display for MlpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadDims => write!(
                f,
                "dimensions must be at least 1: at most {MAX_INPUTS} inputs, {MAX_LAYERS} dense layers, \
                 {MAX_HIDDEN} units per hidden layer and {MAX_CLASSES} classes"
            ),
            Self::Length { expected, found } => {
                write!(f, "buffer of length {found}, expected {expected}")
            }
            Self::LabelOutOfRange { label, outputs } => {
                write!(f, "label {label} is out of range for {outputs} classes")
            }
            Self::Transform(e) => write!(f, "{e}"),
            Self::Failed => f.write_str("the inference reported a failure"),
        }
    }
}

impl core::error::Error for MlpError {}

impl From<TransformError> for MlpError {
    fn from(e: TransformError) -> Self {
        Self::Transform(e)
    }
}

/// The widths of a network: `inputs`, the units of each hidden layer, `outputs`. Dense layer
/// `k` (from 0) maps `width(k)` values to `width(k + 1)`, with a ReLU after every layer but
/// the last. Checked on construction; `Copy`, no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Dims {
    /// `widths[0]` inputs, then each layer's outputs; zero beyond `widths[layers]`.
    widths: [u16; MAX_LAYERS + 1],
    /// Dense layers, 1 to `MAX_LAYERS`.
    layers: u8,
}

/// Number of parameters of a `inputs → hidden → outputs` network, usable in array lengths:
/// `[f32; param_count(13, 32, 3)]`.
pub const fn param_count(inputs: usize, hidden: usize, outputs: usize) -> usize {
    hidden * inputs + hidden + outputs * hidden + outputs
}

impl Dims {
    /// The seed's shape, one hidden layer: `inputs → hidden → outputs`.
    pub const fn new(inputs: usize, hidden: usize, outputs: usize) -> Result<Self, MlpError> {
        Self::deep(inputs, &[hidden], outputs)
    }

    /// Any depth: `inputs → hidden[0] → … → outputs`, with `hidden.len() + 1` dense layers
    /// (`&[]`: one dense layer, a linear classifier).
    pub const fn deep(inputs: usize, hidden: &[usize], outputs: usize) -> Result<Self, MlpError> {
        if inputs == 0
            || inputs > MAX_INPUTS
            || outputs == 0
            || outputs > MAX_CLASSES
            || hidden.len() >= MAX_LAYERS
        {
            return Err(MlpError::BadDims);
        }
        let mut widths = [0u16; MAX_LAYERS + 1];
        widths[0] = inputs as u16;
        let mut k = 0;
        while k < hidden.len() {
            if hidden[k] == 0 || hidden[k] > MAX_HIDDEN {
                return Err(MlpError::BadDims);
            }
            widths[k + 1] = hidden[k] as u16;
            k += 1;
        }
        widths[hidden.len() + 1] = outputs as u16;
        Ok(Self {
            widths,
            layers: hidden.len() as u8 + 1,
        })
    }

    /// Input features.
    pub const fn inputs(&self) -> usize {
        self.widths[0] as usize
    }

    /// Classes (output logits).
    pub const fn outputs(&self) -> usize {
        self.widths[self.layers as usize] as usize
    }

    /// Dense layers (hidden layers + 1).
    pub const fn layers(&self) -> usize {
        self.layers as usize
    }

    /// Width `k`: `width(0)` inputs, `width(k)` the outputs of layer `k - 1`, and
    /// `width(layers())` the classes; 0 beyond.
    pub const fn width(&self, k: usize) -> usize {
        if k > MAX_LAYERS {
            0
        } else {
            self.widths[k] as usize
        }
    }

    /// The units of each hidden layer.
    pub fn hidden(&self) -> &[u16] {
        &self.widths[1..self.layers as usize]
    }

    /// Hidden units in all (the activations a forward pass stores).
    pub const fn hidden_total(&self) -> usize {
        let mut sum = 0;
        let mut k = 1;
        while k < self.layers as usize {
            sum += self.widths[k] as usize;
            k += 1;
        }
        sum
    }

    /// Units of the widest hidden layer (0 for a linear classifier).
    pub const fn max_hidden(&self) -> usize {
        let mut max = 0;
        let mut k = 1;
        while k < self.layers as usize {
            if self.widths[k] as usize > max {
                max = self.widths[k] as usize;
            }
            k += 1;
        }
        max
    }

    /// Parameters of layer `k`: `width(k + 1) · width(k)` weights and `width(k + 1)` biases.
    pub const fn layer_params(&self, k: usize) -> usize {
        let (i, o) = (self.width(k), self.width(k + 1));
        o * i + o
    }

    /// Where layer `k`'s weights start in the flat parameter buffer (its bias follows them).
    pub const fn layer_offset(&self, k: usize) -> usize {
        let mut at = 0;
        let mut j = 0;
        while j < k && j < self.layers as usize {
            at += self.layer_params(j);
            j += 1;
        }
        at
    }

    /// Number of parameters.
    pub const fn param_count(&self) -> usize {
        self.layer_offset(self.layers as usize)
    }

    /// Scratch length that [`Model::infer`] needs: standardised inputs, every hidden layer's
    /// activations and the logits.
    pub const fn scratch_len(&self) -> usize {
        self.inputs() + self.hidden_total() + self.outputs()
    }

    #[cfg(feature = "train")]
    /// Scratch length that [`Mlp::train_step`] needs.
    pub const fn train_scratch_len(&self) -> usize {
        2 * self.hidden_total() + 2 * self.outputs()
    }
}

impl fmt::Display for Dims {
    /// `13-32-3`: the widths from inputs to classes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, w) in self.widths[..=self.layers as usize].iter().enumerate() {
            if k > 0 {
                f.write_str("-")?;
            }
            write!(f, "{w}")?;
        }
        Ok(())
    }
}

/// One dense layer's tensors, borrowed: PyTorch's `fcK.weight` (`[outputs, inputs]`,
/// row-major) and `fcK.bias` (`[outputs]`).
#[derive(Clone, Copy, Debug)]
pub struct Layer<'a> {
    /// `[outputs, inputs]`, row-major.
    pub weight: &'a [f32],
    /// `[outputs]`.
    pub bias: &'a [f32],
}

/// One dense layer's tensors, mutably borrowed.
#[derive(Debug)]
pub struct LayerMut<'a> {
    /// `[outputs, inputs]`, row-major.
    pub weight: &'a mut [f32],
    /// `[outputs]`.
    pub bias: &'a mut [f32],
}

/// Layer `k` of a flat buffer laid out as the [module docs](self) say.
fn layer_of<'a>(dims: &Dims, p: &'a [f32], k: usize) -> Layer<'a> {
    let at = dims.layer_offset(k);
    let w = dims.width(k + 1) * dims.width(k);
    let (weight, rest) = p[at..].split_at(w);
    Layer {
        weight,
        bias: &rest[..dims.width(k + 1)],
    }
}

fn layer_of_mut<'a>(dims: &Dims, p: &'a mut [f32], k: usize) -> LayerMut<'a> {
    let at = dims.layer_offset(k);
    let w = dims.width(k + 1) * dims.width(k);
    let (weight, rest) = p[at..].split_at_mut(w);
    LayerMut {
        weight,
        bias: &mut rest[..dims.width(k + 1)],
    }
}

/// The network: dimensions and a flat parameter buffer `P`.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp<P> {
    dims: Dims,
    params: P,
}

impl<const N: usize> Mlp<[f32; N]> {
    /// A network from a parameter array, checked at compile time when used in a `const` or
    /// `static` (the firmware's compiled-in model).
    pub const fn from_array(dims: Dims, params: [f32; N]) -> Self {
        assert!(
            dims.param_count() == N,
            "parameter array length does not match the dimensions"
        );
        Self { dims, params }
    }

    /// A zero-initialised network.
    pub const fn zeroed(dims: Dims) -> Self {
        Self::from_array(dims, [0.0; N])
    }
}

impl<P: AsRef<[f32]>> Mlp<P> {
    /// A network over a parameter buffer of exactly [`Dims::param_count`] values.
    pub fn new(dims: Dims, params: P) -> Result<Self, MlpError> {
        let found = params.as_ref().len();
        if found != dims.param_count() {
            return Err(MlpError::Length {
                expected: dims.param_count(),
                found,
            });
        }
        Ok(Self { dims, params })
    }

    /// The dimensions.
    pub fn dims(&self) -> Dims {
        self.dims
    }

    /// The flat parameter buffer.
    pub fn params(&self) -> &[f32] {
        self.params.as_ref()
    }

    /// Gives the parameter buffer back.
    pub fn into_params(self) -> P {
        self.params
    }

    /// Dense layer `k` (from 0; panics at `k >= dims().layers()`).
    pub fn layer(&self, k: usize) -> Layer<'_> {
        assert!(
            k < self.dims.layers(),
            "layer {k} of {}",
            self.dims.layers()
        );
        layer_of(&self.dims, self.params.as_ref(), k)
    }

    /// The dense layers, first to last.
    pub fn layers(&self) -> impl ExactSizeIterator<Item = Layer<'_>> + '_ {
        (0..self.dims.layers()).map(|k| layer_of(&self.dims, self.params.as_ref(), k))
    }

    /// Logits for one (already standardised) input. `scratch` holds the hidden activations of
    /// every hidden layer, one after the other, and the logits: at least
    /// `hidden_total + outputs` values; the logits are returned from it.
    #[inline]
    pub fn forward<'s>(&self, x: &[f32], scratch: &'s mut [f32]) -> Result<&'s [f32], MlpError> {
        let d = self.dims;
        if x.len() != d.inputs() {
            return Err(MlpError::Length {
                expected: d.inputs(),
                found: x.len(),
            });
        }
        let (h, o) = (d.hidden_total(), d.outputs());
        if scratch.len() < h + o {
            return Err(MlpError::Length {
                expected: h + o,
                found: scratch.len(),
            });
        }
        let (hidden, rest) = scratch.split_at_mut(h);
        let logits = &mut rest[..o];
        self.forward_into(x, hidden, true, logits);
        Ok(logits)
    }

    /// The forward pass over exact-size buffers (lengths already checked by the caller):
    /// `hidden` receives every hidden layer's activations (after the ReLU), except the last
    /// hidden layer's when `store_last` is false.
    ///
    /// The one forward pass of the crate, for inference on every target and for the
    /// per-example training path. Every unit accumulates from its bias over its inputs in
    /// order, one rounding per multiply and per add: the dense layers' sums, operation for
    /// operation. The last hidden layer is fused with the output layer: each of its units,
    /// once through the ReLU (which passes NaN on), is added into every logit at once, so each
    /// logit still accumulates from its bias over the units in order, and without
    /// `store_last` those activations never go through memory (on the device: no store and
    /// reload per unit).
    #[inline(always)]
    fn forward_into(&self, x: &[f32], hidden: &mut [f32], store_last: bool, logits: &mut [f32]) {
        let d = self.dims;
        let last = d.layers() - 1;
        let out = layer_of(&d, self.params.as_ref(), last);
        if last == 0 {
            // A linear classifier: each logit from its bias over the inputs.
            dense_from(out, x, |o, acc| logits[o] = acc);
            return;
        }
        // Hidden layers before the last one: stored, as the next layer's input.
        let mut input_at = None::<usize>;
        let mut at = 0;
        for k in 0..last - 1 {
            let l = layer_of(&d, self.params.as_ref(), k);
            let (done, rest) = hidden.split_at_mut(at);
            let input = match input_at {
                None => x,
                Some(from) => &done[from..],
            };
            let width = l.bias.len();
            let out_k = &mut rest[..width];
            dense_from(l, input, |j, acc| out_k[j] = relu(acc));
            input_at = Some(at);
            at += width;
        }
        // The last hidden layer, fused with the output layer.
        logits.copy_from_slice(out.bias);
        let l = layer_of(&d, self.params.as_ref(), last - 1);
        let (done, rest) = hidden.split_at_mut(at);
        let input = match input_at {
            None => x,
            Some(from) => &done[from..],
        };
        let width = l.bias.len();
        let mut store = if store_last {
            Some(&mut rest[..width])
        } else {
            None
        };
        dense_from(l, input, |j, acc| {
            let h = relu(acc);
            if let Some(s) = store.as_deref_mut() {
                s[j] = h;
            }
            for (o, w_row) in logits.iter_mut().zip(out.weight.chunks_exact(width)) {
                *o += w_row[j] * h;
            }
        });
    }

    #[cfg(feature = "train")]
    /// Accumulates into `grads` the gradient of a loss whose gradient with respect to the
    /// logits is `dlogits`, for one input `x` whose hidden activations (after ReLU, every
    /// hidden layer's, as [`Mlp::forward`] stores them) are `hidden`. `dhidden` is scratch of
    /// as many values as `hidden`.
    pub fn backward(
        &self,
        x: &[f32],
        hidden: &[f32],
        dlogits: &[f32],
        dhidden: &mut [f32],
        grads: &mut [f32],
    ) -> Result<(), MlpError> {
        let d = self.dims;
        for (len, expected) in [
            (x.len(), d.inputs()),
            (hidden.len(), d.hidden_total()),
            (dlogits.len(), d.outputs()),
            (dhidden.len(), d.hidden_total()),
            (grads.len(), d.param_count()),
        ] {
            if len != expected {
                return Err(MlpError::Length {
                    expected,
                    found: len,
                });
            }
        }
        self.backward_into(x, hidden, dlogits, dhidden, grads);
        Ok(())
    }

    #[cfg(feature = "train")]
    #[inline(always)]
    fn backward_into(
        &self,
        x: &[f32],
        hidden: &[f32],
        dlogits: &[f32],
        dhidden: &mut [f32],
        grads: &mut [f32],
    ) {
        let d = self.dims;
        let last = d.layers() - 1;
        let p = self.params.as_ref();
        // Start of layer k's activations in `hidden` (layer k's outputs, k < last).
        let act_at = |k: usize| (1..=k).map(|j| d.width(j)).sum::<usize>();
        let input_of = |k: usize| -> &[f32] {
            if k == 0 {
                x
            } else {
                &hidden[act_at(k - 1)..act_at(k)]
            }
        };
        let out = layer_of(&d, p, last);
        let g = layer_of_mut(&d, grads, last);
        if last == 0 {
            outer_add(dlogits, x, g.weight, g.bias);
            return;
        }
        let (from, to) = (act_at(last - 1), act_at(last));
        fc2_backward(
            out.weight,
            &hidden[from..to],
            dlogits,
            g.weight,
            g.bias,
            &mut dhidden[from..to],
        );
        for k in (0..last).rev() {
            let (from, to) = (act_at(k), act_at(k + 1));
            let (before, mine) = dhidden.split_at_mut(from);
            let dz = &mine[..to - from];
            let g = layer_of_mut(&d, grads, k);
            outer_add(dz, input_of(k), g.weight, g.bias);
            if k > 0 {
                // dh(k - 1) = W(k)ᵀ · dz, masked by the ReLU of layer k - 1.
                let l = layer_of(&d, p, k);
                let prev = input_of(k);
                let dprev = &mut before[act_at(k - 1)..];
                dprev.fill(0.0);
                for (&dzj, w_row) in dz.iter().zip(l.weight.chunks_exact(prev.len())) {
                    for (dh, &w) in dprev.iter_mut().zip(w_row) {
                        *dh += w * dzj;
                    }
                }
                for (dh, &hv) in dprev.iter_mut().zip(prev) {
                    if hv <= 0.0 {
                        *dh = 0.0;
                    }
                }
            }
        }
    }
}

/// The ReLU, passing NaN on.
#[inline(always)]
fn relu(acc: f32) -> f32 {
    if acc < 0.0 { 0.0 } else { acc }
}

/// Unit `j` of a dense layer `l` over `x`: `emit(j, b[j] + Σ w[j, i] · x[i])`, each sum from
/// the bias in input order. Four units at a time: four independent sums, so that a CPU
/// overlaps them instead of waiting on one chain of additions.
#[inline(always)]
fn dense_from(l: Layer<'_>, x: &[f32], mut emit: impl FnMut(usize, f32)) {
    let inputs = x.len();
    let groups = l
        .weight
        .chunks_exact(4 * inputs)
        .zip(l.bias.chunks_exact(4));
    let mut j = 0;
    for (rows, bias) in groups {
        let mut acc = [bias[0], bias[1], bias[2], bias[3]];
        let (r0, rest) = rows.split_at(inputs);
        let (r1, rest) = rest.split_at(inputs);
        let (r2, r3) = rest.split_at(inputs);
        for (ii, &xi) in x.iter().enumerate() {
            acc[0] += r0[ii] * xi;
            acc[1] += r1[ii] * xi;
            acc[2] += r2[ii] * xi;
            acc[3] += r3[ii] * xi;
        }
        for a in acc {
            emit(j, a);
            j += 1;
        }
    }
    for (row, &bias) in l.weight.chunks_exact(inputs).zip(l.bias).skip(j) {
        let mut acc = bias;
        for (&wi, &xi) in row.iter().zip(x) {
            acc += wi * xi;
        }
        emit(j, acc);
        j += 1;
    }
}

#[cfg(feature = "train")]
/// One example's gradient of a dense layer from the gradient `dz` of its outputs:
/// `dW[j, :] += dz[j] · x`, `db += dz` (rows with a zero gradient skipped).
#[inline(always)]
fn outer_add(dz: &[f32], x: &[f32], gw: &mut [f32], gb: &mut [f32]) {
    for ((&dh, gw_row), gb) in dz.iter().zip(gw.chunks_exact_mut(x.len())).zip(gb) {
        if dh == 0.0 {
            continue;
        }
        *gb += dh;
        for (gw, &xi) in gw_row.iter_mut().zip(x) {
            *gw += dh * xi;
        }
    }
}

impl<P: AsRef<[f32]> + AsMut<[f32]>> Mlp<P> {
    /// The flat parameter buffer, mutably.
    pub fn params_mut(&mut self) -> &mut [f32] {
        self.params.as_mut()
    }

    /// Dense layer `k`, mutably (panics at `k >= dims().layers()`).
    pub fn layer_mut(&mut self, k: usize) -> LayerMut<'_> {
        assert!(
            k < self.dims.layers(),
            "layer {k} of {}",
            self.dims.layers()
        );
        layer_of_mut(&self.dims, self.params.as_mut(), k)
    }

    #[cfg(feature = "train")]
    /// PyTorch's default `nn.Linear` initialisation: weights from Kaiming-uniform with
    /// `a = √5`, which is `U(-1/√fan_in, 1/√fan_in)`, and biases from the same interval
    /// (`torch/nn/modules/linear.py`, `reset_parameters`), layer after layer, each layer's
    /// weights before its bias.
    pub fn init<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        let d = self.dims;
        for k in 0..d.layers() {
            let bound = 1.0 / libm::sqrtf(d.width(k) as f32);
            let l = layer_of_mut(&d, self.params.as_mut(), k);
            for v in l.weight.iter_mut().chain(l.bias.iter_mut()) {
                *v = uniform(rng, bound);
            }
        }
    }

    #[cfg(feature = "train")]
    /// One training example: forward pass, softmax cross-entropy against `label`, and the
    /// gradient (scaled by `scale`, typically `1 / batch`) accumulated into `grads`.
    /// `scratch` needs [`Dims::train_scratch_len`] values. Returns the example's loss and
    /// whether the prediction before the update was right.
    pub fn train_step(
        &self,
        x: &[f32],
        label: usize,
        scale: f32,
        grads: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<(f32, bool), MlpError> {
        let d = self.dims;
        if label >= d.outputs() {
            return Err(MlpError::LabelOutOfRange {
                label,
                outputs: d.outputs(),
            });
        }
        if x.len() != d.inputs() {
            return Err(MlpError::Length {
                expected: d.inputs(),
                found: x.len(),
            });
        }
        if grads.len() != d.param_count() {
            return Err(MlpError::Length {
                expected: d.param_count(),
                found: grads.len(),
            });
        }
        if scratch.len() < d.train_scratch_len() {
            return Err(MlpError::Length {
                expected: d.train_scratch_len(),
                found: scratch.len(),
            });
        }
        let h = d.hidden_total();
        let (hidden, rest) = scratch.split_at_mut(h);
        let (logits, rest) = rest.split_at_mut(d.outputs());
        let (dlogits, rest) = rest.split_at_mut(d.outputs());
        let dhidden = &mut rest[..h];
        self.forward_into(x, hidden, true, logits);
        let correct = argmax(logits) == label;
        let loss = softmax_cross_entropy(logits, label, scale, dlogits);
        self.backward_into(x, hidden, dlogits, dhidden, grads);
        Ok((loss, correct))
    }
}

#[cfg(feature = "train")]
/// Mini-batch training: a working copy of the parameters, their gradients, Adam's moments and
/// the batch's activations in one caller-provided buffer of [`Trainer::buffer_len`] values (an
/// array on a device, a `Vec` on the host), laid out in segments on 64-byte boundaries (a
/// buffer that does not move, such as a `Vec`'s, stays aligned).
///
/// [`Trainer::step`] computes what [`Mlp::train_step`] for each example of a batch followed by
/// [`Adam::step`] computes, but as six matrix products over the whole batch (forward through
/// both layers; the gradients of both weight matrices and of the hidden activations), using
/// `nalgebra` views over the buffers: no allocation, transposes as strides. The working copy
/// holds the first weight matrix column-major, the layout its products want, so that it is
/// never transposed during training: [`Trainer::new`] takes it from a network and
/// [`Trainer::write_to`] gives it back in PyTorch's layout. With the crate feature `std-gemm`
/// (host only), the products run through `matrixmultiply`'s SIMD kernels. Training is
/// deterministic for a seed on one machine, but its sums are blocked differently from
/// [`Mlp::forward`] (and may use fused multiply-adds where the CPU has them), so trained
/// weights agree with the per-example path to rounding, not bit for bit. Inference
/// ([`Mlp::forward`], [`Model::infer`]) is unaffected and stays bit-identical across targets.
///
/// ```
/// use mlprobe_core::mlp::{Adam, Dims, Mlp, Trainer};
/// let d = Dims::new(2, 4, 2).unwrap();
/// let mut mlp = Mlp::new(d, vec![0.1f32; d.param_count()]).unwrap();
/// let buf = vec![0.0; Trainer::<Vec<f32>>::buffer_len(&d, 2)];
/// let mut t = Trainer::new(&mlp, 2, Adam::new(0.01), buf).unwrap();
/// let (loss, correct) = t.step(&[1.0, -1.0, -1.0, 1.0], &[0, 1]).unwrap();
/// assert!(loss > 0.0 && correct <= 2);
/// t.write_to(&mut mlp).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Trainer<B> {
    dims: Dims,
    batch: usize,
    adam: Adam,
    buf: B,
    /// Values of `buf` skipped so that the segments start on 64-byte boundaries.
    skip: usize,
}

#[cfg(feature = "train")]
/// Alignment of the trainer's segments, in `f32` values: 64 bytes, a cache line and one
/// AVX-512 register. A 16-byte aligned heap buffer made every vector load of the products
/// straddle two lines, and the process's heap layout decided how fast a fit ran.
const SEGMENT: usize = 16;

#[cfg(feature = "train")]
/// `len` rounded up to whole segments.
const fn padded(len: usize) -> usize {
    len.div_ceil(SEGMENT) * SEGMENT
}

#[cfg(feature = "train")]
/// The next `len` values of `buf` (which starts on a segment boundary) and what follows the
/// padding after them (also on a boundary).
fn carve(buf: &mut [f32], len: usize) -> (&mut [f32], &mut [f32]) {
    let (segment, rest) = buf.split_at_mut(padded(len));
    (&mut segment[..len], rest)
}

#[cfg(feature = "train")]
type View<'a> = nalgebra::DMatrixView<'a, f32, nalgebra::Dyn, nalgebra::Dyn>;
#[cfg(feature = "train")]
type ViewMut<'a> = nalgebra::DMatrixViewMut<'a, f32, nalgebra::Dyn, nalgebra::Dyn>;

#[cfg(feature = "train")]
/// A `rows × cols` view of a row-major buffer.
fn row_major(data: &[f32], rows: usize, cols: usize) -> View<'_> {
    View::from_slice_with_strides(data, rows, cols, cols, 1)
}

#[cfg(feature = "train")]
/// A `rows × cols` view of a column-major buffer.
fn col_major(data: &[f32], rows: usize, cols: usize) -> View<'_> {
    View::from_slice_with_strides(data, rows, cols, 1, rows)
}

#[cfg(feature = "train")]
/// A mutable `rows × cols` view of a column-major buffer.
fn col_major_mut(data: &mut [f32], rows: usize, cols: usize) -> ViewMut<'_> {
    ViewMut::from_slice_with_strides_mut(data, rows, cols, 1, rows)
}

#[cfg(feature = "train")]
impl<B: AsRef<[f32]> + AsMut<[f32]>> Trainer<B> {
    /// Values of buffer that a network of these dimensions needs for batches of up to
    /// `max_batch` examples.
    pub const fn buffer_len(dims: &Dims, max_batch: usize) -> usize {
        // working parameters, grads, m, v; room for one transposed weight matrix; every hidden
        // layer's activations and their gradients; logits and their gradient: each padded to
        // whole segments, after up to a segment's worth of values skipped for alignment
        SEGMENT - 1
            + 4 * padded(dims.param_count())
            + padded(transpose_len(dims))
            + 2 * act_offset(dims, max_batch, dims.layers() - 1)
            + 2 * padded(dims.outputs() * max_batch)
    }

    /// A trainer that starts from the parameters of `mlp`, for batches of up to `max_batch`
    /// examples, over `buf` (overwritten here), with the optimiser `adam`.
    pub fn new<P: AsRef<[f32]>>(
        mlp: &Mlp<P>,
        max_batch: usize,
        adam: Adam,
        mut buf: B,
    ) -> Result<Self, MlpError> {
        let dims = mlp.dims();
        let expected = Self::buffer_len(&dims, max_batch);
        if max_batch == 0 || buf.as_ref().len() != expected {
            return Err(MlpError::Length {
                expected,
                found: buf.as_ref().len(),
            });
        }
        let b = buf.as_mut();
        b.fill(0.0);
        // The address only chooses where the segments start: a buffer that moves later (an
        // array inside a moved trainer) keeps working, merely unaligned.
        let skip = b.as_ptr().addr().wrapping_neg() % (SEGMENT * 4) / 4;
        let (work, _) = carve(&mut b[skip..], dims.param_count());
        work.copy_from_slice(mlp.params());
        // Hidden layers' weights column-major in the working copy.
        for k in 0..dims.layers() - 1 {
            let (o, i) = (dims.width(k + 1), dims.width(k));
            let dst = layer_of_mut(&dims, work, k);
            transpose_into(mlp.layer(k).weight, o, i, dst.weight);
        }
        Ok(Self {
            dims,
            batch: max_batch,
            adam,
            buf,
            skip,
        })
    }

    /// The optimiser.
    pub fn adam(&self) -> &Adam {
        &self.adam
    }

    /// Writes the trained parameters into `mlp` (of the same dimensions) in its layout.
    pub fn write_to<P: AsRef<[f32]> + AsMut<[f32]>>(
        &self,
        mlp: &mut Mlp<P>,
    ) -> Result<(), MlpError> {
        let d = self.dims;
        if mlp.dims() != d {
            return Err(MlpError::BadDims);
        }
        let work = &self.buf.as_ref()[self.skip..][..d.param_count()];
        mlp.params_mut().copy_from_slice(work);
        for k in 0..d.layers() - 1 {
            let (o, i) = (d.width(k + 1), d.width(k));
            let src = layer_of(&d, work, k);
            transpose_into(src.weight, i, o, mlp.layer_mut(k).weight);
        }
        Ok(())
    }

    /// One mini-batch: `xs` holds `labels.len()` (at most `max_batch`) standardised rows,
    /// row-major. Takes one Adam step on the mean cross-entropy gradient over the batch and
    /// returns the summed loss and the number of examples predicted right before the step.
    ///
    /// Inlined (with the loops it calls) so that a caller can compile it for a wider vector
    /// unit, as the host does for AVX2.
    #[inline(always)]
    pub fn step(&mut self, xs: &[f32], labels: &[u8]) -> Result<(f32, usize), MlpError> {
        self.step_impl::<0>(xs, labels)
    }

    /// [`Trainer::step`] with every matrix product computed by fused multiply-adds
    /// (`f32::mul_add`, each sum from zero in order) in blocks of 32 rows × 2 columns, instead
    /// of nalgebra's product: for a CPU with FMA, where the host compiles it with the `fma`
    /// target feature (elsewhere, and without the `std` feature, the fused multiply-add is an
    /// exact software routine: the same numbers, only slower).
    #[inline(always)]
    pub fn step_fused(&mut self, xs: &[f32], labels: &[u8]) -> Result<(f32, usize), MlpError> {
        self.step_impl::<2>(xs, labels)
    }

    /// [`Trainer::step_fused`] in blocks of 32 rows × 4 columns: for a CPU with 32 vector
    /// registers (AVX-512), where the sixteen of AVX2 would spill. The same bits as
    /// [`Trainer::step_fused`]: each element is still one chain of `mul_add` in order.
    #[inline(always)]
    pub fn step_fused_wide(&mut self, xs: &[f32], labels: &[u8]) -> Result<(f32, usize), MlpError> {
        self.step_impl::<4>(xs, labels)
    }

    /// The step; `COLS` is the column count of the fused products' 32-row blocks, or 0 for
    /// nalgebra's products.
    #[inline(always)]
    fn step_impl<const COLS: usize>(
        &mut self,
        xs: &[f32],
        labels: &[u8],
    ) -> Result<(f32, usize), MlpError> {
        let d = self.dims;
        let n = labels.len();
        if n > self.batch {
            return Err(MlpError::Length {
                expected: self.batch,
                found: n,
            });
        }
        if xs.len() != n * d.inputs() {
            return Err(MlpError::Length {
                expected: n * d.inputs(),
                found: xs.len(),
            });
        }
        if let Some(&label) = labels.iter().find(|&&l| usize::from(l) >= d.outputs()) {
            return Err(MlpError::LabelOutOfRange {
                label: label.into(),
                outputs: d.outputs(),
            });
        }
        if n == 0 {
            return Ok((0.0, 0));
        }
        let (o, last, batch) = (d.outputs(), d.layers() - 1, self.batch);
        let p = d.param_count();
        let buf = &mut self.buf.as_mut()[self.skip..];
        let (work, rest) = carve(buf, p);
        let (grads, rest) = carve(rest, p);
        let (m, rest) = carve(rest, p);
        let (v, rest) = carve(rest, p);
        let (wt, rest) = carve(rest, transpose_len(&d));
        let (acts, rest) = carve(rest, act_offset(&d, batch, last));
        let (dacts, rest) = carve(rest, act_offset(&d, batch, last));
        let (zt, rest) = carve(rest, o * batch);
        let (dzt, _) = carve(rest, o * batch);
        let (zt, dzt) = (&mut zt[..o * n], &mut dzt[..o * n]);
        // Layer k's activations (k < last), one column of `width(k + 1)` per example.
        let at = |k: usize| act_offset(&d, batch, k);

        // The working copy: each hidden layer's weights column-major (`width(k + 1) ×
        // width(k)`), the output layer's in PyTorch's layout; biases as they are.
        // Every product's left operand is column-major: nalgebra's portable product (no_std,
        // and with `std-gemm` whenever a dimension is 5 or less, e.g. a short last batch)
        // assumes it. Fused: every product is `fma_product`. Otherwise nalgebra's, and for the
        // output layer matrixmultiply's when nalgebra uses it for these dimensions (then any
        // strides are fine), else loops over the hidden units, eight lanes at a time
        // (nalgebra's portable product is slow for a handful of classes).
        let fused = COLS > 0;
        // Hidden layers, one column per example: A(k) = ReLU(W(k) · A(k − 1) + b(k)), A(−1) = Xᵀ.
        for k in 0..last {
            let (wo, wi) = (d.width(k + 1), d.width(k));
            let l = layer_of(&d, work, k);
            let (before, after) = acts.split_at_mut(at(k));
            let input: &[f32] = if k == 0 {
                xs
            } else {
                &before[at(k - 1)..][..wi * n]
            };
            let a = &mut after[..wo * n];
            if fused {
                fma_product::<COLS>(a, l.weight, input, (wo, wi, n), (1, wi));
            } else {
                col_major_mut(a, wo, n).gemm(
                    1.0,
                    &col_major(l.weight, wo, wi),
                    &col_major(input, wi, n),
                    0.0,
                );
            }
            relu_bias(a, l.bias);
        }
        // Logits, one column per example: Z = W · A(last − 1) + b.
        let h = d.width(last);
        let input: &[f32] = if last == 0 {
            xs
        } else {
            &acts[at(last - 1)..][..h * n]
        };
        let out = layer_of(&d, work, last);
        let fast = !fused && fast_product(&[o, h, n]);
        if fused {
            transpose_into(out.weight, o, h, wt);
            fma_product::<COLS>(zt, wt, input, (o, h, n), (1, h));
        } else if fast {
            col_major_mut(zt, o, n).gemm(
                1.0,
                &row_major(out.weight, o, h),
                &col_major(input, h, n),
                0.0,
            );
        } else {
            for (hcol, zcol) in input.chunks_exact(h).zip(zt.chunks_exact_mut(o)) {
                for (z, wrow) in zcol.iter_mut().zip(out.weight.chunks_exact(h)) {
                    *z = dot(wrow, hcol);
                }
            }
        }
        for col in zt.chunks_exact_mut(o) {
            for (z, &bias) in col.iter_mut().zip(out.bias) {
                *z += bias;
            }
        }
        let (loss, correct) = batch_cross_entropy(zt, labels, 1.0 / n as f32, dzt);
        // The output layer: dWᵀ = A · dZᵀ ; db = Σ dZ ; dA = Wᵀ · dZ, masked by the ReLU.
        let g = layer_of_mut(&d, grads, last);
        sum_columns(dzt, o, g.bias);
        let dh = if last == 0 {
            None
        } else {
            Some(&mut dacts[at(last - 1)..][..h * n])
        };
        if fused {
            fma_product::<COLS>(g.weight, input, dzt, (h, n, o), (o, 1));
            if let Some(dh) = dh {
                fma_product::<COLS>(dh, out.weight, dzt, (h, o, n), (1, o));
            }
        } else if fast {
            col_major_mut(g.weight, h, o).gemm(
                1.0,
                &col_major(input, h, n),
                &row_major(dzt, n, o),
                0.0,
            );
            if let Some(dh) = dh {
                col_major_mut(dh, h, n).gemm(
                    1.0,
                    &col_major(out.weight, h, o),
                    &col_major(dzt, o, n),
                    0.0,
                );
            }
        } else {
            outer_sum(dzt, input, o, h, g.weight);
            if let Some(dh) = dh {
                for (dcol, dzcol) in dh.chunks_exact_mut(h).zip(dzt.chunks_exact(o)) {
                    dcol.fill(0.0);
                    for (&dz, wrow) in dzcol.iter().zip(out.weight.chunks_exact(h)) {
                        for (dv, &w) in dcol.iter_mut().zip(wrow) {
                            *dv += dz * w;
                        }
                    }
                }
            }
        }
        if last > 0 {
            relu_mask(&mut dacts[at(last - 1)..][..h * n], input);
        }
        // Hidden layers, last to first: dW(k) (column-major, as the working copy) =
        // dA(k) · A(k − 1)ᵀ ; db(k) = Σ dA(k) ; dA(k − 1) = W(k)ᵀ · dA(k), masked by the ReLU.
        for k in (0..last).rev() {
            let (wo, wi) = (d.width(k + 1), d.width(k));
            let input: &[f32] = if k == 0 {
                xs
            } else {
                &acts[at(k - 1)..][..wi * n]
            };
            let (before, after) = dacts.split_at_mut(at(k));
            let dz = &after[..wo * n];
            let g = layer_of_mut(&d, grads, k);
            if fused {
                fma_product::<COLS>(g.weight, dz, input, (wo, n, wi), (wi, 1));
            } else {
                col_major_mut(g.weight, wo, wi).gemm(
                    1.0,
                    &col_major(dz, wo, n),
                    &row_major(input, n, wi),
                    0.0,
                );
            }
            sum_columns(dz, wo, g.bias);
            if k > 0 {
                // W(k)ᵀ column-major: the working copy's column-major W(k), read row-major.
                let wkt = &mut wt[..wi * wo];
                transpose_into(layer_of(&d, work, k).weight, wi, wo, wkt);
                let dprev = &mut before[at(k - 1)..][..wi * n];
                if fused {
                    fma_product::<COLS>(dprev, wkt, dz, (wi, wo, n), (1, wo));
                } else {
                    col_major_mut(dprev, wi, n).gemm(
                        1.0,
                        &col_major(wkt, wi, wo),
                        &col_major(dz, wo, n),
                        0.0,
                    );
                }
                relu_mask(dprev, input);
            }
        }
        self.adam.step(work, grads, m, v)?;
        Ok((loss, correct))
    }
}

#[cfg(feature = "train")]
/// Values of the trainer's room for one transposed weight matrix: the output layer's (for
/// the fused products) and every hidden layer's but the first (for their backward pass).
const fn transpose_len(d: &Dims) -> usize {
    let mut max = 0;
    let mut k = if d.layers() == 1 { 0 } else { 1 };
    while k < d.layers() {
        let len = d.width(k) * d.width(k + 1);
        if len > max {
            max = len;
        }
        k += 1;
    }
    max
}

#[cfg(feature = "train")]
/// Where hidden layer `k`'s activations start in the trainer's activation segment (each
/// layer's `width(k + 1) × batch` padded to whole segments); at `k = layers - 1`, the
/// segment's length.
const fn act_offset(d: &Dims, batch: usize, k: usize) -> usize {
    let mut at = 0;
    let mut j = 0;
    while j < k {
        at += padded(d.width(j + 1) * batch);
        j += 1;
    }
    at
}

#[cfg(feature = "train")]
/// The output layer's backward pass for one example: `dW2[o, :] += dl[o] · h`,
/// `db2 += dl`, and `dh = W2ᵀ · dl` masked by the ReLU (no gradient where the unit was off).
#[inline(always)]
fn fc2_backward(
    w2: &[f32],
    hidden: &[f32],
    dlogits: &[f32],
    gw2: &mut [f32],
    gb2: &mut [f32],
    dhidden: &mut [f32],
) {
    let h = hidden.len();
    dhidden.fill(0.0);
    for (((&dl, gw_row), w_row), gb) in dlogits
        .iter()
        .zip(gw2.chunks_exact_mut(h))
        .zip(w2.chunks_exact(h))
        .zip(gb2.iter_mut())
    {
        *gb += dl;
        for ((gw, &hv), (dh, &w)) in gw_row
            .iter_mut()
            .zip(hidden)
            .zip(dhidden.iter_mut().zip(w_row))
        {
            *gw += dl * hv;
            *dh += w * dl;
        }
    }
    for (dh, &hv) in dhidden.iter_mut().zip(hidden) {
        if hv <= 0.0 {
            *dh = 0.0;
        }
    }
}

#[cfg(feature = "train")]
/// Whether nalgebra's product runs through `matrixmultiply` for operands with these
/// dimensions: with `std-gemm` and every dimension above 5 (`SMALL_DIM` in nalgebra's
/// `blas_uninit.rs`). Only then may a left operand be row-major; the trainer's test covers
/// shapes on both sides of the threshold.
fn fast_product(dims: &[usize]) -> bool {
    cfg!(feature = "std-gemm") && dims.iter().all(|&d| d > 5)
}

#[cfg(feature = "train")]
/// Lanes of the output layer's loops: two SSE or one AVX register of `f32`.
const LANES: usize = 8;

#[cfg(feature = "train")]
/// `Σ a[k] · b[k]` summed in [`LANES`] interleaved partial sums (so that it vectorises), then
/// the tail.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (ca, ta) = a.as_chunks::<LANES>();
    let (cb, tb) = b.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for (x, y) in ca.iter().zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f32 = ta.iter().zip(tb).map(|(x, y)| x * y).sum();
    // Summed in order: LLVM then keeps the lanes in two full SSE registers (a pairwise sum
    // made it use half-width ones).
    acc.iter().sum::<f32>() + tail
}

#[cfg(feature = "train")]
/// `out[r, :] = Σ_b d[r, b] · x[:, b]` for `d` column-major (`rows × n`), `x` column-major
/// (`cols × n`) and `out` row-major (`rows × cols`): a sum of outer products, accumulated
/// [`LANES`] columns at a time in registers.
#[inline(always)]
fn outer_sum(d: &[f32], x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    let full = cols / LANES * LANES;
    for (r, orow) in out.chunks_exact_mut(cols).enumerate() {
        let (chunks, tail) = orow.as_chunks_mut::<LANES>();
        for (c, chunk) in chunks.iter_mut().enumerate() {
            let mut acc = [0.0f32; LANES];
            for (dcol, xcol) in d.chunks_exact(rows).zip(x.chunks_exact(cols)) {
                let dv = dcol[r];
                let xs = xcol[c * LANES..]
                    .first_chunk::<LANES>()
                    .unwrap_or(&[0.0; LANES]);
                for l in 0..LANES {
                    acc[l] += dv * xs[l];
                }
            }
            *chunk = acc;
        }
        tail.fill(0.0);
        for (dcol, xcol) in d.chunks_exact(rows).zip(x.chunks_exact(cols)) {
            let dv = dcol[r];
            for (t, &xv) in tail.iter_mut().zip(&xcol[full..]) {
                *t += dv * xv;
            }
        }
    }
}

#[cfg(feature = "train")]
/// Adds the bias to each column of the column-major `hidden` (one column per example) and
/// applies the ReLU.
#[inline(always)]
fn relu_bias(hidden: &mut [f32], bias: &[f32]) {
    for col in hidden.chunks_exact_mut(bias.len()) {
        for (a, &b) in col.iter_mut().zip(bias) {
            *a += b;
            if *a < 0.0 {
                *a = 0.0;
            }
        }
    }
}

#[cfg(feature = "train")]
/// Zeroes the gradient of every hidden activation the ReLU switched off.
#[inline(always)]
fn relu_mask(dhidden: &mut [f32], hidden: &[f32]) {
    // A mask and a plain store: a conditional store (or a select, which LLVM turns into one)
    // compiles to `vmaskmovps`, which is microcoded and slow on AMD.
    for (dh, &a) in dhidden.iter_mut().zip(hidden) {
        let keep = if a <= 0.0 { 0 } else { u32::MAX };
        *dh = f32::from_bits(dh.to_bits() & keep);
    }
}

#[cfg(feature = "train")]
/// `c = a · b` by fused multiply-adds, for `dims = (m, k, n)`: `a` column-major (`m × k`),
/// element `(kk, j)` of `b` at `kk · strides.0 + j · strides.1`, `c` column-major (`m × n`).
/// Each element is one chain of `mul_add` from zero in `kk` order, so any blocking gives the
/// same bits. Blocks of 32 rows × `C` columns (`C` = 2: eight AVX registers of sums; 4 where
/// there are 32 registers, as with AVX-512); the rows left over in blocks of 8 rows × 8
/// columns (the last 8-row block overlapping the one before it when 8 does not divide what is
/// left: those rows are computed twice, to the same bits); single rows only when `m < 8`.
#[inline(always)]
fn fma_product<const C: usize>(
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    dims: (usize, usize, usize),
    strides: (usize, usize),
) {
    let m = dims.0;
    let big = m / 32 * 32;
    for r in (0..big).step_by(32) {
        fma_columns::<32, C>(c, a, b, dims, strides, r);
    }
    if m < 8 {
        for r in 0..m {
            fma_columns::<1, 8>(c, a, b, dims, strides, r);
        }
    } else {
        // Eight columns of 8-row sums: eight independent chains, where two (or one row's
        // scalar chain) would leave each multiply-add waiting on the one before.
        let mut r = big;
        while r < m {
            r = r.min(m - 8);
            fma_columns::<8, 8>(c, a, b, dims, strides, r);
            r += 8;
        }
    }
}

#[cfg(feature = "train")]
/// Rows `r0..r0 + R` of [`fma_product`]: blocks of `C` columns, then of fewer (halving) for
/// the columns left.
#[inline(always)]
fn fma_columns<const R: usize, const C: usize>(
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    dims: (usize, usize, usize),
    strides: (usize, usize),
    r0: usize,
) {
    let n = dims.2;
    let mut j = 0;
    while j + C <= n {
        fma_block::<R, C>(c, a, b, dims, strides, (r0, j));
        j += C;
    }
    if C >= 8 && j + 4 <= n {
        fma_block::<R, 4>(c, a, b, dims, strides, (r0, j));
        j += 4;
    }
    if C >= 4 && j + 2 <= n {
        fma_block::<R, 2>(c, a, b, dims, strides, (r0, j));
        j += 2;
    }
    if C >= 2 && j < n {
        fma_block::<R, 1>(c, a, b, dims, strides, (r0, j));
    }
}

#[cfg(feature = "train")]
/// One `R × C` block of [`fma_product`] at row `r0`, column `j0`.
#[inline(always)]
fn fma_block<const R: usize, const C: usize>(
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    (m, k, _): (usize, usize, usize),
    (brs, bcs): (usize, usize),
    (r0, j0): (usize, usize),
) {
    let mut s = [[0.0f32; R]; C];
    let b = &b[j0 * bcs..];
    for (kk, acol) in a.chunks_exact(m).take(k).enumerate() {
        let Some(av) = acol[r0..].first_chunk::<R>() else {
            return;
        };
        let at = kk * brs;
        for (col, sums) in s.iter_mut().enumerate() {
            let bv = b[at + col * bcs];
            for (sum, &x) in sums.iter_mut().zip(av) {
                *sum = mul_add(x, bv, *sum);
            }
        }
    }
    for (col, sums) in s.iter().enumerate() {
        c[(j0 + col) * m + r0..][..R].copy_from_slice(sums);
    }
}

#[cfg(feature = "train")]
/// Writes the row-major `rows × cols` matrix `src` into `dst` column-major.
fn transpose_into(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    for (r, row) in src.chunks_exact(cols).enumerate().take(rows) {
        for (c, &value) in row.iter().enumerate() {
            dst[c * rows + r] = value;
        }
    }
}

#[cfg(feature = "train")]
/// `out[r] = Σ_c m[r, c]` for a column-major matrix of `rows` rows.
#[inline(always)]
fn sum_columns(m: &[f32], rows: usize, out: &mut [f32]) {
    out.fill(0.0);
    for col in m.chunks_exact(rows) {
        for (o, &v) in out.iter_mut().zip(col) {
            *o += v;
        }
    }
}

#[cfg(feature = "train")]
/// A uniform value in `[-bound, bound)` from 24 random bits.
fn uniform<R: Rng + ?Sized>(rng: &mut R, bound: f32) -> f32 {
    let u = (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0);
    (2.0 * u - 1.0) * bound
}

/// Index of the largest value (the first one on ties, as `torch.argmax`); 0 for an empty slice.
#[inline]
pub fn argmax(values: &[f32]) -> usize {
    let Some((&first, rest)) = values.split_first() else {
        return 0;
    };
    // Selects rather than branches: which value wins is data, and a mispredicted branch per
    // class cost the trainer a tenth of its time.
    let (mut best, mut top) = (0, first);
    for (i, &v) in rest.iter().enumerate() {
        let wins = v > top;
        best = if wins { i + 1 } else { best };
        top = if wins { v } else { top };
    }
    best
}

#[cfg(not(feature = "fast-math"))]
#[inline(always)]
fn exp(x: f32) -> f32 {
    libm::expf(x)
}

#[cfg(feature = "fast-math")]
#[inline(always)]
fn exp(x: f32) -> f32 {
    micromath::F32Ext::exp(x)
}

#[cfg(feature = "train")]
/// `a · b + c` rounded once: the standard library's `mul_add` (an instruction where the CPU
/// has FMA), `libm`'s exact software `fmaf` without `std`; the same values either way.
#[inline(always)]
fn mul_add(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(any(test, feature = "std"))]
    {
        a.mul_add(b, c)
    }
    #[cfg(not(any(test, feature = "std")))]
    {
        libm::fmaf(a, b, c)
    }
}

#[cfg(feature = "train")]
/// The square root: the standard library's (a vectorisable instruction) on the host, `libm`'s
/// without `std`; both are correctly rounded, so the values are the same.
#[inline(always)]
fn sqrt(x: f32) -> f32 {
    #[cfg(any(test, feature = "std"))]
    {
        x.sqrt()
    }
    #[cfg(not(any(test, feature = "std")))]
    {
        libm::sqrtf(x)
    }
}

/// Softmax of `logits` into `out` (same length), shifted by the maximum for stability.
pub fn softmax(logits: &[f32], out: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (o, &z) in out.iter_mut().zip(logits) {
        *o = exp(z - max);
        sum += *o;
    }
    for o in out.iter_mut() {
        *o /= sum;
    }
}

#[cfg(feature = "train")]
/// Cross-entropy of `softmax(logits)` against `label` (natural log, as
/// `torch.nn.CrossEntropyLoss`), and its gradient `(softmax − onehot) · scale` into `dlogits`.
pub fn softmax_cross_entropy(logits: &[f32], label: usize, scale: f32, dlogits: &mut [f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (d, &z) in dlogits.iter_mut().zip(logits) {
        *d = libm::expf(z - max);
        sum += *d;
    }
    let inv = 1.0 / sum;
    for (i, d) in dlogits.iter_mut().enumerate() {
        let p = *d * inv;
        *d = (p - if i == label { 1.0 } else { 0.0 }) * scale;
    }
    // −log softmax[label] = log Σ exp(z − max) − (z[label] − max)
    libm::logf(sum) - (logits.get(label).copied().unwrap_or(max) - max)
}

#[cfg(feature = "train")]
/// Mean cross-entropy over a batch of logit columns (`zt`, one column of `outputs` values per
/// label) in one pass each for the maxima, the exponentials (vectorised, [`exp_poly`]) and the
/// normalisation: the summed loss, the count of columns whose argmax is the label, and the
/// gradient `(softmax − onehot) · scale` into `dzt`. Used by [`Trainer`]; agrees with
/// [`softmax_cross_entropy`] to within a few ulps.
#[inline(always)]
fn batch_cross_entropy(zt: &[f32], labels: &[u8], scale: f32, dzt: &mut [f32]) -> (f32, usize) {
    let o = zt.len() / labels.len();
    let (mut loss, mut correct) = (0.0f32, 0usize);
    // Per column: the argmax (checked against the label), the maximum subtracted for
    // stability, and the label's term of −log softmax[label] = log Σ exp(z − max) − (z[label]
    // − max).
    for ((z, d), &label) in zt.chunks_exact(o).zip(dzt.chunks_exact_mut(o)).zip(labels) {
        let label = usize::from(label);
        let best = argmax(z);
        correct += usize::from(best == label);
        let max = z[best];
        for (d, &z) in d.iter_mut().zip(z) {
            *d = z - max;
        }
        loss -= d[label];
    }
    for d in dzt.iter_mut() {
        *d = exp_poly(*d);
    }
    for (d, &label) in dzt.chunks_exact_mut(o).zip(labels) {
        let sum: f32 = d.iter().sum();
        loss += libm::logf(sum);
        let inv = scale / sum;
        for d in d.iter_mut() {
            *d *= inv;
        }
        d[usize::from(label)] -= scale;
    }
    (loss, correct)
}

#[cfg(feature = "train")]
/// `eˣ` without branches or calls, so that loops over it vectorise: Cephes' `expf` (range
/// reduction by `ln 2` in two parts, degree-5 polynomial; relative error ≤ 2 ulp on the
/// clamped range, checked against `libm::expf` in the tests). Arguments are clamped to
/// `[−87.3, 88]`: below, the result is ≈ 1.2·10⁻³⁸ instead of a subnormal or zero, which
/// only the training loss (a softmax whose largest term is 1) ever sees.
#[inline(always)]
fn exp_poly(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 · 2²³: adding it rounds to the nearest integer, which then sits in the low bits.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 88.0);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let r2 = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = p * r2 + r + 1.0;
    // 2ⁿ from the rounded integer in t's low mantissa bits: the clamp keeps n in −126..=127.
    let biased = (t.to_bits() as i32 - 0x4b40_0000 + 127) as u32;
    e * f32::from_bits(biased << 23)
}

#[cfg(feature = "train")]
/// The Adam optimiser (Kingma & Ba 2015, Algorithm 1) with PyTorch's defaults and update
/// form: `p ← p − lr · m̂ / (√v̂ + ε)` (`torch/optim/adam.py`, `_single_tensor_adam`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the first-moment estimate.
    pub beta1: f32,
    /// Decay of the second-moment estimate.
    pub beta2: f32,
    /// Added to the denominator.
    pub eps: f32,
    /// L2 penalty added to the gradient (`weight_decay`, 0 by default).
    pub weight_decay: f32,
    t: u32,
}

#[cfg(feature = "train")]
impl Adam {
    /// Adam with learning rate `lr` and PyTorch's other defaults (β = (0.9, 0.999), ε = 1e-8).
    pub const fn new(lr: f32) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            t: 0,
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u32 {
        self.t
    }

    /// One update of `params` from `grads`, with the moment estimates `m` and `v` (all of the
    /// same length; `m` and `v` start at zero).
    #[inline(always)]
    pub fn step(
        &mut self,
        params: &mut [f32],
        grads: &[f32],
        m: &mut [f32],
        v: &mut [f32],
    ) -> Result<(), MlpError> {
        let n = params.len();
        for len in [grads.len(), m.len(), v.len()] {
            if len != n {
                return Err(MlpError::Length {
                    expected: n,
                    found: len,
                });
            }
        }
        self.t = self.t.saturating_add(1);
        let t = self.t as f32;
        let bc1 = 1.0 - libm::powf(self.beta1, t);
        let bc2 = 1.0 - libm::powf(self.beta2, t);
        let step = self.lr / bc1;
        let inv_bc2_sqrt = 1.0 / libm::sqrtf(bc2);
        let (b1, b2, eps, wd) = (self.beta1, self.beta2, self.eps, self.weight_decay);
        // One pass; with the `std` feature the square root is an instruction and the loop
        // vectorises (libm's `sqrtf` is inline assembly on x86-64, which stops the vectoriser).
        for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(m).zip(v) {
            let g = g + wd * *p;
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= step * *m / (sqrt(*v) * inv_bc2_sqrt + eps);
        }
        Ok(())
    }
}

/// A trained classifier: the standardisation of its inputs and the network.
#[derive(Clone, Debug, PartialEq)]
pub struct Model<F, P> {
    /// Input standardisation.
    pub norm: Standardizer<F>,
    /// The network.
    pub mlp: Mlp<P>,
}

impl<F: AsRef<[f32]>, P: AsRef<[f32]>> Model<F, P> {
    /// Joins a standardizer and a network with the same number of inputs.
    pub fn new(norm: Standardizer<F>, mlp: Mlp<P>) -> Result<Self, MlpError> {
        if norm.len() != mlp.dims().inputs() {
            return Err(MlpError::Length {
                expected: mlp.dims().inputs(),
                found: norm.len(),
            });
        }
        Ok(Self { norm, mlp })
    }

    /// The dimensions.
    pub fn dims(&self) -> Dims {
        self.mlp.dims()
    }

    /// Logits for one raw input row: standardise, then the forward pass. `scratch` needs
    /// [`Dims::scratch_len`] values; the logits are returned from it. The logits are those
    /// of [`Mlp::forward`] on the standardised row, bit for bit, but the last hidden layer's
    /// activations are not stored (their part of `scratch` is left as it was).
    #[inline]
    pub fn infer<'s>(&self, raw: &[f32], scratch: &'s mut [f32]) -> Result<&'s [f32], MlpError> {
        let d = self.dims();
        if scratch.len() < d.scratch_len() {
            return Err(MlpError::Length {
                expected: d.scratch_len(),
                found: scratch.len(),
            });
        }
        let (x, rest) = scratch.split_at_mut(d.inputs());
        self.norm.transform(raw, x)?;
        let (hidden, rest) = rest.split_at_mut(d.hidden_total());
        let logits = &mut rest[..d.outputs()];
        self.mlp.forward_into(x, hidden, false, logits);
        Ok(logits)
    }

    /// [`infer`](Self::infer), and whether its logits can be trusted: `Some` when a feature
    /// of `raw` is infinite (after the fill, which replaces `NaN`s; standardisation would clamp
    /// it to `±f32::MAX` as `numpy.nan_to_num` does, which hides it), when a standardised
    /// feature overflows (`3.4e38` with a standard deviation below 1), or when a logit is not
    /// finite. Such a row's [`argmax`] is class 0 and its softmax `NaN`: a front end must report
    /// it, never print it as a prediction (issue 15). The logits are the same as `infer`'s.
    ///
    /// ```
    /// use mlprobe_core::mlp::{Dims, Mlp, Model, NonFinite};
    /// use mlprobe_core::transform::{Fill, Standardizer};
    /// let d = Dims::new(2, 1, 2).unwrap();
    /// let mlp = Mlp::new(d, vec![1.0; d.param_count()]).unwrap();
    /// let norm = Standardizer::new(vec![0.0; 2], vec![0.5; 2], Fill::Mean).unwrap();
    /// let model = Model::new(norm, mlp).unwrap();
    /// let mut scratch = vec![0.0; d.scratch_len()];
    /// let (_, bad) = model.infer_checked(&[1.0, f32::NAN], &mut scratch).unwrap();
    /// assert_eq!(bad, None); // a missing value is filled: a finite row
    /// let (_, bad) = model.infer_checked(&[1.0, f32::INFINITY], &mut scratch).unwrap();
    /// assert_eq!(bad, Some(NonFinite::Feature { feature: 1 }));
    /// let (_, bad) = model.infer_checked(&[3.4e38, 0.0], &mut scratch).unwrap();
    /// assert_eq!(bad, Some(NonFinite::Feature { feature: 0 })); // 3.4e38 / 0.5 overflows
    /// ```
    pub fn infer_checked<'s>(
        &self,
        raw: &[f32],
        scratch: &'s mut [f32],
    ) -> Result<(&'s [f32], Option<NonFinite>), MlpError> {
        let d = self.dims();
        // `infer` checks the lengths; the standardised row is the first `inputs` of `scratch`.
        self.infer(raw, scratch)?;
        let (x, rest) = scratch.split_at(d.inputs());
        let h = d.hidden_total();
        let logits = &rest[h..h + d.outputs()];
        let feature = raw
            .iter()
            .zip(x)
            .position(|(&r, &z)| r.is_infinite() || !z.is_finite());
        let verdict = match feature {
            Some(feature) => Some(NonFinite::Feature { feature }),
            None if !logits.iter().all(|z| z.is_finite()) => Some(NonFinite::Logits),
            None => None,
        };
        Ok((logits, verdict))
    }

    /// The predicted class of one raw input row.
    pub fn predict(&self, raw: &[f32], scratch: &mut [f32]) -> Result<usize, MlpError> {
        Ok(argmax(self.infer(raw, scratch)?))
    }
}

/// Why a row's logits cannot be trusted ([`Model::infer_checked`]). Each variant's doc line is
/// its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum NonFinite {
    /// a feature is infinite or overflows when standardised
    Feature {
        /// The first such feature (0-based).
        feature: usize,
    },
    /// the features are finite but a logit is not (the row overflows the network)
    Logits,
}

impl fmt::Display for NonFinite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Feature { feature } => write!(
                f,
                "feature {feature} is infinite or overflows when standardised"
            ),
            Self::Logits => f.write_str(
                "the features are finite but a logit is not (the row overflows the network)",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Rust counterparts of the seed's `TestSimpleClassifier`, and checks of the backward pass
    //! against finite differences.
    use super::*;
    use crate::StdVec as Vec;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn net(i: usize, h: usize, o: usize, seed: u64) -> Mlp<Vec<f32>> {
        deep(i, &[h], o, seed)
    }

    /// A network of any depth, initialised from `seed`.
    fn deep(i: usize, h: &[usize], o: usize, seed: u64) -> Mlp<Vec<f32>> {
        let d = Dims::deep(i, h, o).unwrap();
        let mut m = Mlp::new(d, vec![0.0; d.param_count()]).unwrap();
        m.init(&mut ChaCha8Rng::seed_from_u64(seed));
        m
    }

    fn randn(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| uniform(rng, 2.0)).collect()
    }

    #[test]
    fn output_shape_for_a_batch_and_a_single_sample() {
        let m = net(10, 32, 3, 0);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut scratch = vec![0.0; 35];
        for _ in 0..4 {
            let x = randn(&mut rng, 10);
            assert_eq!(m.forward(&x, &mut scratch).unwrap().len(), 3);
        }
        assert!(m.forward(&[0.0; 9], &mut scratch).is_err());
        assert!(m.forward(&[0.0; 10], &mut [0.0; 34]).is_err());
    }

    #[test]
    fn init_follows_pytorch_bounds() {
        let m = deep(10, &[32, 16], 3, 7);
        for (l, fan_in) in m.layers().zip([10f32, 32.0, 16.0]) {
            let bound = 1.0 / fan_in.sqrt();
            assert!(l.weight.iter().chain(l.bias).all(|v| v.abs() <= bound));
            // Not degenerate: the values spread over most of the interval.
            let max = l.weight.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            assert!(max > 0.9 * bound);
        }
    }

    #[test]
    fn gradient_flow_reaches_every_parameter() {
        // The seed: loss = output.sum() over a batch of 4; every parameter gets a gradient.
        let m = net(10, 32, 3, 0);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut grads = vec![0.0; m.dims().param_count()];
        let mut scratch = vec![0.0; 35];
        let mut dh = vec![0.0; 32];
        for _ in 0..4 {
            let x = randn(&mut rng, 10);
            m.forward(&x, &mut scratch).unwrap();
            let hidden = scratch[..32].to_vec();
            m.backward(&x, &hidden, &[1.0; 3], &mut dh, &mut grads)
                .unwrap();
        }
        for k in 0..2 {
            let l = layer_of(&m.dims(), &grads, k);
            for (name, g) in [("weight", l.weight), ("bias", l.bias)] {
                assert!(
                    g.iter().any(|&v| v != 0.0),
                    "zero gradient for fc{}.{name}",
                    k + 1
                );
                assert!(g.iter().all(|v| v.is_finite()));
            }
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        for (hidden, seed) in [
            (&[6][..], 3),
            (&[][..], 4),
            (&[5, 4][..], 5),
            (&[3, 5, 4][..], 6),
        ] {
            let m = deep(4, hidden, 3, seed);
            let x = [0.3, -1.2, 0.8, 2.0];
            let label = 1;
            let mut grads = vec![0.0; m.dims().param_count()];
            let mut scratch = vec![0.0; m.dims().train_scratch_len()];
            m.train_step(&x, label, 1.0, &mut grads, &mut scratch)
                .unwrap();
            // Central differences of the loss in f64 arithmetic on a copy of the parameters.
            let d = m.dims();
            let loss = |p: &[f64]| -> f64 {
                let mut a: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
                for k in 0..d.layers() {
                    let (i, o, at) = (d.width(k), d.width(k + 1), d.layer_offset(k));
                    let (w, b) = p[at..].split_at(o * i);
                    a = (0..o)
                        .map(|j| {
                            let z = b[j] + (0..i).map(|c| w[j * i + c] * a[c]).sum::<f64>();
                            if k + 1 < d.layers() { z.max(0.0) } else { z }
                        })
                        .collect();
                }
                let max = a.iter().cloned().fold(f64::MIN, f64::max);
                let lse = a.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max;
                lse - a[label]
            };
            let p: Vec<f64> = m.params().iter().map(|&v| f64::from(v)).collect();
            for k in 0..p.len() {
                let eps = 1e-6;
                let mut plus = p.clone();
                plus[k] += eps;
                let mut minus = p.clone();
                minus[k] -= eps;
                let numeric = (loss(&plus) - loss(&minus)) / (2.0 * eps);
                assert!(
                    (numeric - f64::from(grads[k])).abs() < 1e-4,
                    "{d}: parameter {k}: {numeric} vs {}",
                    grads[k]
                );
            }
        }
    }

    #[test]
    fn deterministic_output() {
        let m = net(10, 32, 3, 0);
        let x = [0.5f32; 10];
        let a = m.forward(&x, &mut [0.0; 35]).unwrap().to_vec();
        let b = m.forward(&x, &mut [0.0; 35]).unwrap().to_vec();
        assert_eq!(
            a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        // Same seed, same network.
        assert_eq!(net(10, 32, 3, 5), net(10, 32, 3, 5));
        assert_ne!(net(10, 32, 3, 5), net(10, 32, 3, 6));
    }

    /// The textbook forward pass, one dense layer after the other (the test's oracle for the
    /// fused loop in `forward_into`): each sum from its bias, in input order.
    fn layer_by_layer(mlp: &Mlp<Vec<f32>>, x: &[f32]) -> Vec<f32> {
        let dense = |w: &[f32], b: &[f32], x: &[f32], relu: bool| -> Vec<f32> {
            w.chunks_exact(x.len())
                .zip(b)
                .map(|(row, &bias)| {
                    let mut acc = bias;
                    for (&wi, &xi) in row.iter().zip(x) {
                        acc += wi * xi;
                    }
                    if relu && acc < 0.0 { 0.0 } else { acc }
                })
                .collect()
        };
        let last = mlp.dims().layers() - 1;
        let mut a = x.to_vec();
        for (k, l) in mlp.layers().enumerate() {
            a = dense(l.weight, l.bias, &a, k < last);
        }
        a
    }

    #[test]
    fn forward_and_infer_match_the_layer_by_layer_pass_bit_for_bit() {
        for hidden in [&[19][..], &[][..], &[9, 5][..], &[6, 5, 8, 3][..]] {
            forward_matches_layer_by_layer(hidden);
        }
    }

    fn forward_matches_layer_by_layer(hidden: &[usize]) {
        let (i, o) = (7, 4);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut mlp = deep(i, hidden, o, 3);
        let last = mlp.dims().layers() - 1;
        // Biases of both signs of zero, and a dead unit in the first layer.
        let l = mlp.layer_mut(last);
        l.bias[1] = -0.0;
        l.bias[2] = 0.0;
        let l = mlp.layer_mut(0);
        l.weight[..i].fill(0.0);
        l.bias[0] = -1.0;
        let mean = randn(&mut rng, i);
        let mut std: Vec<f32> = randn(&mut rng, i).iter().map(|v| v.abs() + 0.1).collect();
        // f32::MAX standardises to +inf in feature 0; times the dead unit's zero weight: NaN.
        std[0] = 0.25;
        let norm = Standardizer::new(mean, std, crate::transform::Fill::Value(0.5)).unwrap();
        let mut x = vec![0.0; i];
        norm.transform(&[f32::MAX; 7], &mut x).unwrap();
        assert_eq!(x[0], f32::INFINITY);
        let model = Model::new(norm, mlp.clone()).unwrap();
        let mut rows: Vec<Vec<f32>> = (0..200).map(|_| randn(&mut rng, i)).collect();
        rows.push(vec![0.0; i]);
        rows.push(vec![-0.0; i]);
        rows.push(vec![f32::NAN; i]);
        let mut special = randn(&mut rng, i);
        special[1] = f32::INFINITY;
        special[4] = f32::NAN;
        rows.push(special);
        rows.push(vec![f32::MAX; i]);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        for raw in &rows {
            let mut x = vec![0.0; i];
            model.norm.transform(raw, &mut x).unwrap();
            let mut s1 = vec![0.0; mlp.dims().hidden_total() + o];
            let got = bits(mlp.forward(&x, &mut s1).unwrap());
            let want = bits(&layer_by_layer(&mlp, &x));
            assert_eq!(got, want, "{raw:?}");
            let mut s2 = vec![0.0; model.dims().scratch_len()];
            assert_eq!(bits(model.infer(raw, &mut s2).unwrap()), want, "{raw:?}");
        }
    }

    /// Issue 15: `inf`, `1e400` (which parses to `inf`) and `3.4e38` gave class 0 with `NaN`
    /// probabilities and no warning. `infer_checked` flags each, and only them.
    #[test]
    fn infer_checked_flags_non_finite_rows() {
        let (i, h, o) = (3, 4, 2);
        let mlp = net(i, h, o, 9);
        let norm = Standardizer::new(
            vec![0.0; i],
            vec![0.5; i],
            crate::transform::Fill::Value(1.0),
        );
        let model = Model::new(norm.unwrap(), mlp.clone()).unwrap();
        let mut scratch = vec![0.0; model.dims().scratch_len()];
        let cases: [([f32; 3], Option<NonFinite>); 6] = [
            ([0.5, -1.0, 2.0], None),
            ([f32::NAN, 0.0, 0.0], None), // filled with 1.0
            (
                [0.0, f32::INFINITY, 0.0],
                Some(NonFinite::Feature { feature: 1 }),
            ),
            (
                [0.0, 0.0, f32::NEG_INFINITY],
                Some(NonFinite::Feature { feature: 2 }),
            ),
            // 3.4e38 / 0.5 overflows f32 when standardised.
            ([3.4e38, 0.0, 0.0], Some(NonFinite::Feature { feature: 0 })),
            (
                [f32::MAX, f32::INFINITY, 0.0],
                Some(NonFinite::Feature { feature: 0 }),
            ),
        ];
        for (raw, want) in cases {
            let (logits, got) = model.infer_checked(&raw, &mut scratch).unwrap();
            assert_eq!(got, want, "{raw:?}");
            let logits = logits.to_vec();
            let mut s2 = vec![0.0; model.dims().scratch_len()];
            let plain = model.infer(&raw, &mut s2).unwrap();
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&logits), bits(plain), "same logits as infer");
            if want.is_none() {
                assert!(logits.iter().all(|z| z.is_finite()));
            }
        }
        // Finite features whose logits overflow: weights of 1e30 on a standardised 1e10.
        let d = Dims::new(1, 1, 2).unwrap();
        let big = Mlp::new(d, vec![1e30; d.param_count()]).unwrap();
        let norm = Standardizer::new(vec![0.0], vec![1.0], crate::transform::Fill::Mean).unwrap();
        let model = Model::new(norm, big).unwrap();
        let mut scratch = vec![0.0; d.scratch_len()];
        let (logits, got) = model.infer_checked(&[1e10], &mut scratch).unwrap();
        assert!(logits.iter().any(|z| !z.is_finite()));
        assert_eq!(got, Some(NonFinite::Logits));
        assert!(model.infer_checked(&[1e10, 1.0], &mut scratch).is_err());
    }

    #[test]
    fn infer_keeps_nan_through_relu() {
        // Feature 0 standardises to +inf: unit 0 (zero weight on it) gets 0·inf = NaN, which
        // the ReLU must pass on; every other unit gets -inf, which it zeroes.
        let (i, h, o) = (3, 4, 2);
        let mut mlp = net(i, h, o, 9);
        let l = mlp.layer_mut(0);
        for j in 0..h {
            l.weight[j * i] = if j == 0 { 0.0 } else { -1.0 };
        }
        let norm = Standardizer::new(vec![0.0; i], vec![0.5; i], crate::transform::Fill::Mean);
        let model = Model::new(norm.unwrap(), mlp.clone()).unwrap();
        let raw = [f32::MAX, 0.25, -0.5];
        let mut x = [0.0; 3];
        model.norm.transform(&raw, &mut x).unwrap();
        assert_eq!(x[0], f32::INFINITY);
        let want = mlp.forward(&x, &mut [0.0; 6]).unwrap().to_vec();
        assert!(want.iter().all(|v| v.is_nan()));
        let mut scratch = [0.0; 9];
        let got = model.infer(&raw, &mut scratch).unwrap();
        assert_eq!(
            got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn hand_checked_forward() {
        // 2 → 2 → 2 with values small enough to check by hand:
        // h = relu([1·1 + 2·(−1) + 0.5, 3·1 + 4·(−1) − 1]) = relu([−0.5, −2]) … choose x = [1, 1]:
        // h = relu([1 + 2 + 0.5, 3 + 4 − 1]) = [3.5, 6]
        // z = [0.5·3.5 − 1·6 + 0, 2·3.5 + 0·6 + 1] = [−4.25, 8]
        let d = Dims::new(2, 2, 2).unwrap();
        let m = Mlp::from_array(
            d,
            [1.0, 2.0, 3.0, 4.0, 0.5, -1.0, 0.5, -1.0, 2.0, 0.0, 0.0, 1.0],
        );
        let mut s = [0.0; 4];
        assert_eq!(m.forward(&[1.0, 1.0], &mut s).unwrap(), &[-4.25, 8.0]);
        // x = [1, −1]: pre-activations [−0.5, −2] → h = [0, 0] → z = b2 = [0, 1]
        assert_eq!(m.forward(&[1.0, -1.0], &mut s).unwrap(), &[0.0, 1.0]);
    }

    #[test]
    fn softmax_sums_to_one_and_is_stable() {
        let mut p = [0.0; 3];
        softmax(&[1000.0, 1001.0, 999.0], &mut p);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[1] > p[0] && p[0] > p[2]);
        // softmax([0, ln 3]) = [1/4, 3/4]
        let mut q = [0.0; 2];
        softmax(&[0.0, 3f32.ln()], &mut q);
        // With `fast-math` the exponential is micromath's (measured error 2.4e-3, see
        // `fast_math_exp_error_against_libm`).
        let tol = if cfg!(feature = "fast-math") {
            5e-3
        } else {
            1e-6
        };
        assert!((q[0] - 0.25).abs() < tol && (q[1] - 0.75).abs() < tol);
    }

    #[test]
    fn cross_entropy_reference_value() {
        // −log softmax([1, 2, 3])[0] = log(e + e² + e³) − 1 = 2.40760596444438 (closed form).
        let mut d = [0.0; 3];
        let loss = softmax_cross_entropy(&[1.0, 2.0, 3.0], 0, 1.0, &mut d);
        assert!((f64::from(loss) - 2.407_605_964_444_38).abs() < 1e-6);
        assert!(d.iter().sum::<f32>().abs() < 1e-6);
    }

    /// The `fast-math` feature swaps `libm::expf` for `micromath`'s approximation in
    /// [`softmax`]; this measures its error against `libm` over the arguments softmax uses
    /// (`z − max ≤ 0`) and bounds the effect on probabilities. Run with
    /// `cargo test -p mlprobe-core --features fast-math -- --nocapture fast_math`.
    #[cfg(feature = "fast-math")]
    #[test]
    fn fast_math_exp_error_against_libm() {
        let mut worst = 0.0f64;
        let mut x = -20.0f32;
        while x <= 0.0 {
            let exact = f64::from(libm::expf(x));
            let approx = f64::from(exp(x));
            worst = worst.max(((approx - exact) / exact).abs());
            x += 1.0 / 1024.0;
        }
        println!("micromath exp: worst relative error {worst:.3e} over [-20, 0]");
        assert!(worst < 5e-3, "worst relative error {worst}");
        // Probabilities move by at most about twice that.
        let logits = [1.5f32, -0.25, 3.0, 0.0];
        let mut fast = [0.0; 4];
        softmax(&logits, &mut fast);
        let max = 3.0f32;
        let exact: Vec<f64> = logits
            .iter()
            .map(|&z| f64::from(libm::expf(z - max)))
            .collect();
        let sum: f64 = exact.iter().sum();
        for (f, e) in fast.iter().zip(&exact) {
            assert!((f64::from(*f) - e / sum).abs() < 2e-2);
        }
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[5.0]), 0);
        assert_eq!(argmax(&[]), 0);
    }

    #[test]
    fn adam_first_step_moves_each_parameter_by_lr() {
        // With m̂ = g and v̂ = g² on the first step, every parameter moves by lr·sign(g)
        // (up to ε): Kingma & Ba, section 2.1.
        let mut adam = Adam::new(0.01);
        let mut p = [1.0f32, -2.0, 0.5];
        let g = [0.3f32, -4.0, 1e-3];
        let (mut m, mut v) = ([0.0; 3], [0.0; 3]);
        adam.step(&mut p, &g, &mut m, &mut v).unwrap();
        assert!((p[0] - 0.99).abs() < 1e-6);
        assert!((p[1] + 1.99).abs() < 1e-6);
        assert!((p[2] - 0.49).abs() < 1e-5);
        assert_eq!(adam.steps(), 1);
    }

    #[test]
    fn training_separates_a_toy_problem() {
        // Two Gaussian-ish blobs: the loss falls and the accuracy reaches 100 %.
        let mut m = net(2, 8, 2, 11);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let data: Vec<(Vec<f32>, usize)> = (0..64)
            .map(|k| {
                let c = k % 2;
                let off = if c == 0 { -1.5 } else { 1.5 };
                (
                    vec![off + uniform(&mut rng, 0.5), off + uniform(&mut rng, 0.5)],
                    c,
                )
            })
            .collect();
        let n = m.dims().param_count();
        let (mut g, mut mm, mut vv) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut scratch = vec![0.0; m.dims().train_scratch_len()];
        let mut adam = Adam::new(0.01);
        let mut first = 0.0;
        let mut last = (0.0, 0);
        for epoch in 0..50 {
            let (mut loss, mut correct) = (0.0, 0);
            g.fill(0.0);
            for (x, y) in &data {
                let (l, c) = m
                    .train_step(x, *y, 1.0 / 64.0, &mut g, &mut scratch)
                    .unwrap();
                loss += l;
                correct += usize::from(c);
            }
            adam.step(m.params_mut(), &g, &mut mm, &mut vv).unwrap();
            if epoch == 0 {
                first = loss;
            }
            last = (loss, correct);
        }
        assert!(last.0 < first * 0.5, "loss {first} → {}", last.0);
        assert_eq!(last.1, 64);
    }

    #[test]
    fn trainer_matches_train_step_then_adam() {
        // The batched products compute the per-example sums in another order and the batched
        // softmax uses `exp_poly`: the results agree to rounding (checked at 1e-5 relative over
        // three steps). Shapes with a dimension of 5 or less take nalgebra's portable product
        // even with `std-gemm`; the others take matrixmultiply's kernels there.
        // `step_fused` (fused multiply-adds) is checked the same way.
        let shapes: [(usize, &[usize], usize, usize, u64); 8] = [
            (9, &[7], 6, 8, 21),
            (4, &[3], 2, 5, 22),
            (13, &[32], 3, 12, 23),
            (64, &[32], 10, 9, 24),
            (9, &[], 6, 8, 25),
            (13, &[16, 8], 3, 12, 26),
            (64, &[40, 24, 12], 10, 9, 27),
            (5, &[4, 3], 2, 3, 28),
        ];
        for ((inputs, hidden, outputs, batch, seed), fused) in
            shapes.into_iter().flat_map(|s| [(s, false), (s, true)])
        {
            let mut a = deep(inputs, hidden, outputs, seed);
            let mut b = a.clone();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let xs = randn(&mut rng, batch * inputs);
            let labels: Vec<u8> = (0..batch).map(|k| ((k * 7 + 3) % outputs) as u8).collect();
            let d = a.dims();
            let mut t = Trainer::new(
                &a,
                batch,
                Adam::new(0.01),
                vec![0.0; Trainer::<Vec<f32>>::buffer_len(&d, batch)],
            )
            .unwrap();
            let n = d.param_count();
            let (mut g, mut m, mut v) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            let mut scratch = vec![0.0; d.train_scratch_len()];
            let mut adam = Adam::new(0.01);
            for _ in 0..3 {
                let (loss_t, correct_t) = if fused {
                    t.step_fused(&xs, &labels).unwrap()
                } else {
                    t.step(&xs, &labels).unwrap()
                };
                t.write_to(&mut a).unwrap();
                g.fill(0.0);
                let (mut loss, mut correct) = (0.0, 0);
                for (x, &y) in xs.chunks_exact(inputs).zip(&labels) {
                    let (l, c) = b
                        .train_step(x, y.into(), 1.0 / batch as f32, &mut g, &mut scratch)
                        .unwrap();
                    loss += l;
                    correct += usize::from(c);
                }
                adam.step(b.params_mut(), &g, &mut m, &mut v).unwrap();
                assert!(
                    (loss_t - loss).abs() <= 1e-5 * loss.abs(),
                    "{loss_t} vs {loss}"
                );
                assert_eq!(correct_t, correct);
                // Rounding differences compound through each further layer's products, and
                // Adam divides by √v: deeper shapes agree to 1e-4.
                let tol = if d.layers() <= 2 { 1e-5 } else { 1e-4 };
                for (k, (p, q)) in a.params().iter().zip(b.params()).enumerate() {
                    assert!(
                        (p - q).abs() <= tol * q.abs().max(1e-2),
                        "{d} (fused {fused}), parameter {k}: {p} vs {q}"
                    );
                }
            }
        }
        // A short batch is fine; a longer one, a bad label or the wrong shape is an error.
        let a = net(9, 7, 6, 21);
        let d = a.dims();
        let buf = vec![0.0; Trainer::<Vec<f32>>::buffer_len(&d, 2)];
        let mut t = Trainer::new(&a, 2, Adam::new(0.01), buf).unwrap();
        let xs = [0.5; 27];
        assert!(t.step(&xs[..9], &[1]).is_ok());
        assert!(t.step(&xs, &[0, 1, 2]).is_err());
        assert!(t.step(&xs[..18], &[0, 6]).is_err());
        assert!(t.step(&xs[..17], &[0, 1]).is_err());
        assert!(t.write_to(&mut net(9, 8, 6, 0)).is_err());
        assert!(Trainer::new(&a, 2, Adam::new(0.01), vec![0.0; 3]).is_err());
    }

    #[test]
    fn trainer_results_do_not_depend_on_where_its_buffer_starts() {
        // The trainer skips up to 15 values to align its segments: buffers at every offset
        // within a cache line train to the same bits, and a trainer moved after it was made
        // (an array inside it moves with it) still computes the same.
        let a = net(13, 40, 3, 41);
        let d = a.dims();
        let len = Trainer::<Vec<f32>>::buffer_len(&d, 8);
        let mut rng = ChaCha8Rng::seed_from_u64(41);
        let xs = randn(&mut rng, 8 * 13);
        let labels = [0, 1, 2, 0, 1, 2, 0, 1];
        let mut backing = vec![0.0f32; len + 16];
        let mut results = Vec::new();
        for offset in 0..16 {
            let buf = &mut backing[offset..offset + len];
            let mut t = Trainer::new(&a, 8, Adam::new(0.01), buf).unwrap();
            for _ in 0..3 {
                t.step(&xs, &labels).unwrap();
                t.step_fused(&xs, &labels).unwrap();
            }
            let mut out = a.clone();
            t.write_to(&mut out).unwrap();
            results.push(out.params().iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }
        let moved = {
            let t = Trainer::new(&a, 8, Adam::new(0.01), vec![0.0f32; len]).unwrap();
            let mut t = Box::new(t.clone());
            for _ in 0..3 {
                t.step(&xs, &labels).unwrap();
                t.step_fused(&xs, &labels).unwrap();
            }
            let mut out = a.clone();
            t.write_to(&mut out).unwrap();
            out.params().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        assert!(results.iter().all(|r| *r == results[0]));
        assert_eq!(moved, results[0]);
    }

    #[test]
    fn wide_fused_step_gives_the_fused_step_bit_for_bit() {
        // Only the blocking differs (32 × 4 instead of 32 × 2), and every element is one
        // `mul_add` chain in order either way.
        for (inputs, hidden, outputs, batch, seed) in [(64, 32, 10, 32, 31), (13, 40, 3, 7, 32)] {
            let a = net(inputs, hidden, outputs, seed);
            let d = a.dims();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let xs = randn(&mut rng, batch * inputs);
            let labels: Vec<u8> = (0..batch).map(|k| (k % outputs) as u8).collect();
            let trainer = || {
                let buf = vec![0.0; Trainer::<Vec<f32>>::buffer_len(&d, batch)];
                Trainer::new(&a, batch, Adam::new(0.01), buf).unwrap()
            };
            let (mut narrow, mut wide) = (trainer(), trainer());
            for _ in 0..3 {
                let x = narrow.step_fused(&xs, &labels).unwrap();
                let y = wide.step_fused_wide(&xs, &labels).unwrap();
                assert_eq!((x.0.to_bits(), x.1), (y.0.to_bits(), y.1));
            }
            let (mut p, mut q) = (a.clone(), a.clone());
            narrow.write_to(&mut p).unwrap();
            wide.write_to(&mut q).unwrap();
            let bits =
                |m: &Mlp<Vec<f32>>| m.params().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&p), bits(&q));
        }
    }

    #[test]
    fn fma_product_is_one_fused_chain_per_element() {
        // Against the textbook triple loop with the same `mul_add` chain: bit for bit, over
        // shapes that exercise every block size (32, 8, 1 rows; 8, 4, 2, 1 columns), a last
        // 8-row block that overlaps (37, 10, 41, 12) or not (48), both layouts of `b`, and
        // 32-row blocks of 2 or 4 columns (n = 9 leaves 1 after the fours, 3 leaves 2 + 1).
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for ((m, k, n), wide) in [
            (37, 5, 3),
            (32, 64, 32),
            (10, 32, 9),
            (1, 1, 1),
            (41, 13, 2),
            (48, 3, 4),
            (12, 7, 1),
            (7, 6, 5),
            (10, 3, 15),
            (3, 2, 14),
            (64, 4, 9),
        ]
        .into_iter()
        .flat_map(|shape| [(shape, false), (shape, true)])
        {
            let a = randn(&mut rng, m * k);
            let b = randn(&mut rng, k * n);
            for (brs, bcs) in [(1, k), (n, 1)] {
                let mut c = vec![f32::NAN; m * n];
                if wide {
                    fma_product::<4>(&mut c, &a, &b, (m, k, n), (brs, bcs));
                } else {
                    fma_product::<2>(&mut c, &a, &b, (m, k, n), (brs, bcs));
                }
                for r in 0..m {
                    for j in 0..n {
                        let mut want = 0.0f32;
                        for kk in 0..k {
                            want = a[kk * m + r].mul_add(b[kk * brs + j * bcs], want);
                        }
                        assert_eq!(
                            c[j * m + r].to_bits(),
                            want.to_bits(),
                            "{m}x{k}x{n} ({r}, {j})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn exp_poly_against_libm() {
        // Cephes' expf claims a relative error of about 1 ulp; allow 2 (2.4e-7) over the range
        // the softmax feeds it, [−87.3, 0], and up to 88.
        let mut worst = 0.0f64;
        let mut x = -87.3f32;
        while x <= 88.0 {
            let (got, want) = (f64::from(exp_poly(x)), f64::from(libm::expf(x)));
            worst = worst.max((got - want).abs() / want);
            x += 0.001_37;
        }
        println!("exp_poly: worst relative error {worst:e}");
        assert!(worst <= 2.4e-7, "worst relative error {worst:e}");
        assert_eq!(exp_poly(0.0), 1.0);
        assert!(exp_poly(-1e4) > 0.0 && exp_poly(-1e4) < 1.3e-38);
        assert!(exp_poly(f32::NEG_INFINITY) > 0.0);
    }

    #[test]
    fn label_out_of_range_is_an_error() {
        let m = net(2, 2, 2, 0);
        let mut g = vec![0.0; m.dims().param_count()];
        let mut s = vec![0.0; m.dims().train_scratch_len()];
        assert_eq!(
            m.train_step(&[0.0, 0.0], 2, 1.0, &mut g, &mut s),
            Err(MlpError::LabelOutOfRange {
                label: 2,
                outputs: 2
            })
        );
    }

    #[test]
    fn bad_dims_are_rejected() {
        assert!(Dims::new(0, 1, 1).is_err());
        assert!(Dims::new(1, 1, MAX_CLASSES + 1).is_err());
        assert!(Dims::new(1, MAX_HIDDEN + 1, 2).is_err());
        assert!(Dims::new(MAX_INPUTS + 1, 1, 2).is_err());
        assert!(Dims::deep(4, &[3; MAX_LAYERS - 1], 2).is_ok());
        assert!(Dims::deep(4, &[3; MAX_LAYERS], 2).is_err());
        assert!(Dims::deep(4, &[3, 0], 2).is_err());
        let d = Dims::deep(13, &[64, 32], 3).unwrap();
        assert_eq!(
            (
                d.inputs(),
                d.outputs(),
                d.layers(),
                d.hidden(),
                d.hidden_total()
            ),
            (13, 3, 3, &[64u16, 32][..], 96)
        );
        // 64·13 + 64, 32·64 + 32, 3·32 + 3
        assert_eq!(d.param_count(), 896 + 2080 + 99);
        assert_eq!((d.layer_offset(1), d.layer_offset(2)), (896, 2976));
        assert_eq!(d.to_string(), "13-64-32-3");
        assert_eq!(Dims::deep(5, &[], 2).unwrap().param_count(), 12);
        assert_eq!(
            Dims::new(13, 32, 3).unwrap().param_count(),
            param_count(13, 32, 3)
        );
        assert!(Mlp::new(Dims::new(2, 2, 2).unwrap(), [0.0f32; 3]).is_err());
    }
}
