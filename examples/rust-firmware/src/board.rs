//! The board: QEMU's `mps2-an386` (Arm's MPS2 FPGA image AN386, a Cortex-M4F at 25 MHz).
//!
//! What a board support crate or HAL gives a real firmware: a UART implementing
//! [`embedded_io`]'s `Read` and `Write` (here the CMSDK APB UART0 at `0x4000_4000`), a
//! timer to measure the inference with (here SysTick), and a way to stop (semihosting's exit,
//! which ends QEMU).

use core::convert::Infallible;
use core::ptr::{read_volatile, write_volatile};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{NVIC, SYST};

/// System clock (SysTick counts it).
#[allow(dead_code)] // read by the agent's clock only
pub const HZ: u32 = 25_000_000;

/// CMSDK APB UART registers (Arm DDI 0479, "Cortex-M System Design Kit", APB UART).
const UART0: usize = 0x4000_4000;
const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const INTSTATUS: usize = 0x0C;
const BAUDDIV: usize = 0x10;
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;
const CTRL_RX_INT_EN: u32 = 1 << 3;
const INT_RX: u32 = 1 << 1;

/// UART0's receive interrupt (QEMU `hw/arm/mps2.c`: UART n's RX is external interrupt 2n).
#[derive(Clone, Copy)]
struct Uart0Rx;

// SAFETY: 0 is an external interrupt of this board.
unsafe impl cortex_m::interrupt::InterruptNumber for Uart0Rx {
    fn number(self) -> u16 {
        0
    }
}

fn reg(offset: usize) -> *mut u32 {
    (UART0 + offset) as *mut u32
}

/// UART0, polled. Waiting for a byte sleeps (`wfi`): the receive interrupt is enabled in the
/// NVIC but masked by PRIMASK, so it wakes the core without a handler. Under QEMU with
/// `-icount`, a core that spins on the status register does not let QEMU deliver the host's
/// bytes for seconds; on real hardware, sleeping saves power.
pub struct Uart(());

impl Uart {
    fn new() -> Self {
        cortex_m::interrupt::disable();
        // SAFETY: UART0's registers, touched by this driver only. Unmasking the RX interrupt
        // in the NVIC is sound: PRIMASK (set above) keeps it from being taken.
        unsafe {
            write_volatile(reg(BAUDDIV), 16); // the smallest divider the UART accepts
            write_volatile(reg(CTRL), CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN);
            NVIC::unmask(Uart0Rx);
        }
        Self(())
    }

    fn rx_full() -> bool {
        // SAFETY: a UART0 register read.
        unsafe { read_volatile(reg(STATE)) & STATE_RX_FULL != 0 }
    }
}

impl embedded_io::ErrorType for Uart {
    type Error = Infallible;
}

impl embedded_io::Read for Uart {
    /// Blocks until at least one byte has arrived, then takes those already there.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        while !Self::rx_full() {
            cortex_m::asm::wfi();
        }
        let mut n = 0;
        while n < buf.len() && Self::rx_full() {
            // SAFETY: a UART0 register read.
            buf[n] = unsafe { read_volatile(reg(DATA)) } as u8;
            n += 1;
        }
        // Acknowledge the interrupt; the state is checked again before the next sleep, so a
        // byte that arrived meanwhile is not missed.
        // SAFETY: a UART0 register write.
        unsafe { write_volatile(reg(INTSTATUS), INT_RX) };
        NVIC::unpend(Uart0Rx);
        Ok(n)
    }
}

impl embedded_io::Write for Uart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for &b in buf {
            // SAFETY: UART0 register accesses.
            unsafe {
                while read_volatile(reg(STATE)) & STATE_TX_FULL != 0 {}
                write_volatile(reg(DATA), u32::from(b));
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// SysTick, free-running over its 24 bits at the system clock: the inference's cost.
pub struct SysTick(());

impl SysTick {
    /// Now, in ticks (a down-counter).
    #[allow(dead_code)] // read by the agent's clock only
    #[inline(always)]
    pub fn now(&self) -> u32 {
        SYST::get_current()
    }

    /// Ticks from `start` to `end`, modulo 2^24.
    #[allow(dead_code)]
    pub fn ticks(start: u32, end: u32) -> u32 {
        start.wrapping_sub(end) & 0x00FF_FFFF
    }
}

/// Takes the board's peripherals (once): starts SysTick, enables UART0.
pub fn init() -> (Uart, SysTick) {
    let Some(mut p) = cortex_m::Peripherals::take() else {
        fail()
    };
    p.SYST.set_clock_source(SystClkSource::Core);
    p.SYST.set_reload(0x00FF_FFFF);
    p.SYST.clear_current();
    p.SYST.enable_counter();
    (Uart::new(), SysTick(()))
}

/// Stops with a failure: QEMU exits with status 1 (on hardware: a breakpoint).
pub fn fail() -> ! {
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}
