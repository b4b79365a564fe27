//! QEMU `mps2-an386`: Arm's MPS2 FPGA image AN386 (Cortex-M4F at 25 MHz), with the CMSDK APB
//! UART0 at `0x4000_4000` and the core's SysTick as the cost clock.
//!
//! Under `-icount shift=0` QEMU runs one guest instruction per nanosecond of virtual time, and
//! SysTick counts the 25 MHz system clock, so one tick is exactly 40 guest instructions: the
//! cost is reported in instructions, at a resolution of 40.

use super::{Parts, UartError};
use core::ptr::{read_volatile, write_volatile};
use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use defmt_semihosting as _; // the defmt transport
use mlprobe_core::protocol::CostUnit;
use mlprobe_core::server::Clock;

/// Board name reported to the host.
pub const NAME: &str = "qemu-mps2-an386";
/// System clock.
const HZ: u32 = 25_000_000;
/// Guest instructions per SysTick tick under `-icount shift=0` (1 ns per instruction, 40 ns
/// per tick).
const INSTRUCTIONS_PER_TICK: u32 = 1_000_000_000 / HZ;

/// CMSDK APB UART (Arm DDI 0479, "Cortex-M System Design Kit", APB UART).
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

/// UART0's receive interrupt on mps2-an386 (QEMU `hw/arm/mps2.c`: UART*n* RX is IRQ 2*n*).
#[derive(Clone, Copy)]
struct Uart0Rx;

// SAFETY: 0 is a valid external interrupt number of this board.
unsafe impl cortex_m::interrupt::InterruptNumber for Uart0Rx {
    fn number(self) -> u16 {
        0
    }
}

fn reg(offset: usize) -> *mut u32 {
    (UART0 + offset) as *mut u32
}

/// The CMSDK UART0. Reading sleeps (`wfi`) until a byte arrives: the receive interrupt is
/// enabled in the NVIC but masked by PRIMASK, so it wakes the core without a handler.
///
/// Sleeping matters under QEMU: with `-icount`, a core that polls never yields to QEMU's
/// main loop until its next timer deadline, and bytes from the host wait for seconds.
pub struct Uart(());

impl Uart {
    fn new() -> Self {
        cortex_m::interrupt::disable();
        // SAFETY: UART0's registers on this board; only this driver touches them. Unmasking
        // the RX interrupt cannot break a critical section: PRIMASK keeps it from being taken.
        unsafe {
            write_volatile(reg(BAUDDIV), 16); // the smallest divider the UART accepts
            write_volatile(reg(CTRL), CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN);
            cortex_m::peripheral::NVIC::unmask(Uart0Rx);
        }
        Self(())
    }
}

impl embedded_io::ErrorType for Uart {
    type Error = UartError;
}

impl embedded_io::Read for Uart {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, UartError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut n = 0;
        // Sleep until the first byte, then take what is already there.
        // SAFETY: UART0 register accesses.
        while unsafe { read_volatile(reg(STATE)) } & STATE_RX_FULL == 0 {
            cortex_m::asm::wfi();
        }
        while n < buf.len() && unsafe { read_volatile(reg(STATE)) } & STATE_RX_FULL != 0 {
            buf[n] = unsafe { read_volatile(reg(DATA)) } as u8;
            n += 1;
        }
        // Acknowledge: the loop above checks the state before sleeping again, so a byte that
        // arrived meanwhile is not missed.
        unsafe { write_volatile(reg(INTSTATUS), INT_RX) };
        cortex_m::peripheral::NVIC::unpend(Uart0Rx);
        Ok(n)
    }
}

impl embedded_io::Write for Uart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, UartError> {
        for &b in buf {
            // SAFETY: UART0 register accesses.
            while unsafe { read_volatile(reg(STATE)) } & STATE_TX_FULL != 0 {}
            unsafe { write_volatile(reg(DATA), u32::from(b)) };
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), UartError> {
        Ok(())
    }
}

/// SysTick free-running over 24 bits at the system clock.
pub struct SysTick(());

impl Clock for SysTick {
    #[inline(always)]
    fn now(&mut self) -> u32 {
        SYST::get_current()
    }

    fn cost(&self, start: u32, end: u32) -> u32 {
        // A down-counter: elapsed ticks modulo 2^24.
        (start.wrapping_sub(end) & 0x00FF_FFFF) * INSTRUCTIONS_PER_TICK
    }

    fn unit(&self) -> CostUnit {
        CostUnit::Instructions
    }

    fn hz(&self) -> u32 {
        HZ
    }
}

/// Takes the board's peripherals (once).
pub fn init() -> Parts<Uart, SysTick> {
    let Some(mut p) = cortex_m::Peripherals::take() else {
        defmt::panic!("peripherals taken twice")
    };
    p.SYST.set_clock_source(SystClkSource::Core);
    p.SYST.set_reload(0x00FF_FFFF);
    p.SYST.clear_current();
    p.SYST.enable_counter();
    calibrate();
    Parts {
        uart: Uart::new(),
        clock: SysTick(()),
    }
}

/// Logs how many SysTick ticks a loop of a known instruction count takes: under
/// `-icount shift=0` it must be 1 per 40 instructions, which is what the cost figures assume.
fn calibrate() {
    // `LOOPS` iterations of `subs; bne`: exactly 2·LOOPS instructions.
    const LOOPS: u32 = 20_000;
    let start = SYST::get_current();
    // SAFETY: a register-only countdown loop.
    unsafe {
        core::arch::asm!(
            ".p2align 3",
            "2:",
            "subs {0}, #1",
            "bne 2b",
            inout(reg) LOOPS => _,
            options(nomem, nostack),
        );
    }
    let end = SYST::get_current();
    let ticks = start.wrapping_sub(end) & 0x00FF_FFFF;
    defmt::info!(
        "SysTick calibration: {=u32} instructions took {=u32} ticks ({=u32} per tick expected)",
        2 * LOOPS,
        ticks,
        INSTRUCTIONS_PER_TICK
    );
}

/// Ends the QEMU process with a failure status.
pub fn fail() -> ! {
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}
