//! Board support: one module per board behind a feature, each giving a UART (written against
//! `embedded-io`), a cost clock and a way to stop.

#[cfg(feature = "qemu")]
mod qemu;
#[cfg(feature = "qemu")]
pub use qemu::{NAME, fail, init};

// `not(qemu)`: with both features only the `compile_error!` in main.rs is reported.
#[cfg(all(feature = "nrf52840", not(feature = "qemu")))]
mod nrf52840;
#[cfg(all(feature = "nrf52840", not(feature = "qemu")))]
pub use nrf52840::{NAME, fail, init};

/// What a board hands to `main`.
pub struct Parts<U, C> {
    /// The link to the host.
    pub uart: U,
    /// The cost clock.
    pub clock: C,
}

/// The UART never fails on these boards; `embedded-io` wants an error type all the same.
#[derive(Debug, Clone, Copy)]
pub struct UartError;

impl embedded_io::Error for UartError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}
