//! Nordic nRF52840-DK: the legacy UART0 (`0x4000_2000`) on the pins the on-board J-Link
//! exposes as a virtual COM port (TXD P0.06, RXD P0.08), 115 200 baud; cycles from the DWT
//! cycle counter at 64 MHz; defmt over RTT (`probe-rs run` prints it).
//!
//! Registers from the nRF52840 Product Specification v1.7, section 6.34 (UART).

use super::{Parts, UartError};
use core::ptr::{read_volatile, write_volatile};
use cortex_m::peripheral::DWT;
use defmt_rtt as _; // the defmt transport
use mlprobe_core::protocol::CostUnit;
use mlprobe_core::server::Clock;

/// Board name reported to the host.
pub const NAME: &str = "nrf52840-dk";
/// CPU clock.
const HZ: u32 = 64_000_000;

const UART0: usize = 0x4000_2000;
const TASKS_STARTRX: usize = 0x000;
const TASKS_STARTTX: usize = 0x008;
const EVENTS_RXDRDY: usize = 0x108;
const EVENTS_TXDRDY: usize = 0x11C;
const ENABLE: usize = 0x500;
const PSEL_TXD: usize = 0x50C;
const PSEL_RXD: usize = 0x514;
const RXD: usize = 0x518;
const TXD: usize = 0x51C;
const BAUDRATE: usize = 0x524;
const BAUD_115200: u32 = 0x01D7_E000;
const PIN_TXD: u32 = 6;
const PIN_RXD: u32 = 8;

fn reg(offset: usize) -> *mut u32 {
    (UART0 + offset) as *mut u32
}

/// UART0, polled.
pub struct Uart(());

impl Uart {
    fn new() -> Self {
        // SAFETY: UART0's registers; only this driver touches them.
        unsafe {
            write_volatile(reg(PSEL_TXD), PIN_TXD);
            write_volatile(reg(PSEL_RXD), PIN_RXD);
            write_volatile(reg(BAUDRATE), BAUD_115200);
            write_volatile(reg(ENABLE), 4);
            write_volatile(reg(TASKS_STARTTX), 1);
            write_volatile(reg(TASKS_STARTRX), 1);
        }
        Self(())
    }
}

impl embedded_io::ErrorType for Uart {
    type Error = UartError;
}

impl embedded_io::Read for Uart {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, UartError> {
        let Some(first) = buf.first_mut() else {
            return Ok(0);
        };
        // SAFETY: UART0 register accesses.
        unsafe {
            while read_volatile(reg(EVENTS_RXDRDY)) == 0 {}
            write_volatile(reg(EVENTS_RXDRDY), 0);
            *first = read_volatile(reg(RXD)) as u8;
        }
        Ok(1)
    }
}

impl embedded_io::Write for Uart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, UartError> {
        for &b in buf {
            // SAFETY: UART0 register accesses.
            unsafe {
                write_volatile(reg(EVENTS_TXDRDY), 0);
                write_volatile(reg(TXD), u32::from(b));
                while read_volatile(reg(EVENTS_TXDRDY)) == 0 {}
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), UartError> {
        Ok(())
    }
}

/// The DWT cycle counter.
pub struct Cycles(());

impl Clock for Cycles {
    #[inline(always)]
    fn now(&mut self) -> u32 {
        DWT::cycle_count()
    }

    fn cost(&self, start: u32, end: u32) -> u32 {
        end.wrapping_sub(start)
    }

    fn unit(&self) -> CostUnit {
        CostUnit::Cycles
    }

    fn hz(&self) -> u32 {
        HZ
    }
}

/// Takes the board's peripherals (once).
pub fn init() -> Parts<Uart, Cycles> {
    let Some(mut p) = cortex_m::Peripherals::take() else {
        defmt::panic!("peripherals taken twice")
    };
    p.DCB.enable_trace();
    p.DWT.enable_cycle_counter();
    Parts {
        uart: Uart::new(),
        clock: Cycles(()),
    }
}

/// Stops in a breakpoint (`probe-rs run` reports it and exits).
pub fn fail() -> ! {
    loop {
        cortex_m::asm::bkpt();
    }
}
