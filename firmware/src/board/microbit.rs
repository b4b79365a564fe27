//! QEMU `microbit`: the BBC micro:bit v1 (nRF51822, Cortex-M0 at 16 MHz, soft-float), with
//! the nRF51 UART at `0x4000_2000` and TIMER0 as the cost clock.
//!
//! Built for `thumbv6m-none-eabi` (`mlprobe device build --board microbit` passes the target).
//!
//! The cost clock is TIMER0 at 16 MHz, 32 bits wide, read by its capture task: the nRF51's
//! Cortex-M0 has no SysTick (QEMU models one anyway, its `hw/arm/nrf51_soc.c` says so; TIMER0
//! is what the chip has). Under `-icount shift=0` QEMU runs one guest instruction per
//! nanosecond of virtual time and TIMER0 counts it at 16 MHz (`hw/timer/nrf51_timer.c`:
//! `ticks = ns · 16 MHz / 1 GHz`), so one tick is 62.5 guest instructions: the cost is
//! reported in instructions, at a resolution of 62.5.
//!
//! Registers from the nRF51 Series Reference Manual v3.0: section 29 (UART) and 18 (TIMER).
//! defmt goes over semihosting, which QEMU provides to the Cortex-M0 as to the Cortex-M4: this
//! board is the emulated one (on a real micro:bit without a debugger attached, the first
//! semihosting call would fault).

// An ARMv7-M build (the default target of this crate) would run instructions the Cortex-M0
// does not have. thumbv6m-none-eabi is the Arm target without compare-and-swap.
#[cfg(target_has_atomic = "32")]
compile_error!(
    "the microbit board is a Cortex-M0: build it with --target thumbv6m-none-eabi \
     (`mlprobe device build --board microbit` does)"
);

use super::{Parts, UartError};
use core::ptr::{read_volatile, write_volatile};
use defmt_semihosting as _; // the defmt transport
use mlprobe_core::protocol::CostUnit;
use mlprobe_core::server::Clock;

/// Board name reported to the host.
pub const NAME: &str = "qemu-microbit";
/// CPU clock (HFCLK), which TIMER0 counts at prescaler 0.
const HZ: u32 = 16_000_000;

/// UART0 (RM section 29).
const UART0: usize = 0x4000_2000;
const TASKS_STARTRX: usize = 0x000;
const TASKS_STARTTX: usize = 0x008;
const EVENTS_RXDRDY: usize = 0x108;
const EVENTS_TXDRDY: usize = 0x11C;
const INTENSET: usize = 0x304;
const ENABLE: usize = 0x500;
const PSELTXD: usize = 0x50C;
const PSELRXD: usize = 0x514;
const RXD: usize = 0x518;
const TXD: usize = 0x51C;
const BAUDRATE: usize = 0x524;
const ENABLE_UART: u32 = 4;
const INTEN_RXDRDY: u32 = 1 << 2;
const BAUD_115200: u32 = 0x01D7_E000;
/// The micro:bit's UART pins, wired to its USB interface chip: TX P0.24, RX P0.25.
const PIN_TXD: u32 = 24;
const PIN_RXD: u32 = 25;

/// TIMER0 (RM section 18).
const TIMER0: usize = 0x4000_8000;
const TIMER_START: usize = 0x000;
const TIMER_CLEAR: usize = 0x00C;
const TIMER_CAPTURE0: usize = 0x040;
const TIMER_MODE: usize = 0x504;
const TIMER_BITMODE: usize = 0x508;
const TIMER_PRESCALER: usize = 0x510;
const TIMER_CC0: usize = 0x540;
const MODE_TIMER: u32 = 0;
const BITMODE_32: u32 = 3;

/// UART0's interrupt: peripheral ID 2 (its address bits 12–16), as in QEMU's
/// `BASE_TO_IRQ(NRF51_UART_BASE)`.
#[derive(Clone, Copy)]
struct Uart0Irq;

// SAFETY: 2 is a valid external interrupt number of the nRF51 (UART0).
unsafe impl cortex_m::interrupt::InterruptNumber for Uart0Irq {
    fn number(self) -> u16 {
        2
    }
}

fn uart(offset: usize) -> *mut u32 {
    (UART0 + offset) as *mut u32
}

fn timer(offset: usize) -> *mut u32 {
    (TIMER0 + offset) as *mut u32
}

/// The nRF51 UART0. Reading sleeps (`wfi`) until a byte arrives: the RXDRDY interrupt is
/// enabled in the UART and the NVIC but masked by PRIMASK, so it wakes the core without a
/// handler (the `qemu` board does the same, for the same reason: a polling core under
/// `-icount` starves QEMU's main loop).
pub struct Uart(());

impl Uart {
    fn new() -> Self {
        cortex_m::interrupt::disable();
        // SAFETY: UART0's registers on this chip; only this driver touches them. Unmasking
        // the interrupt cannot break a critical section: PRIMASK keeps it from being taken.
        unsafe {
            write_volatile(uart(PSELTXD), PIN_TXD);
            write_volatile(uart(PSELRXD), PIN_RXD);
            write_volatile(uart(BAUDRATE), BAUD_115200);
            write_volatile(uart(ENABLE), ENABLE_UART);
            write_volatile(uart(INTENSET), INTEN_RXDRDY);
            write_volatile(uart(TASKS_STARTTX), 1);
            write_volatile(uart(TASKS_STARTRX), 1);
            cortex_m::peripheral::NVIC::unmask(Uart0Irq);
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
        // SAFETY: UART0 register accesses.
        while unsafe { read_volatile(uart(EVENTS_RXDRDY)) } == 0 {
            cortex_m::asm::wfi();
        }
        // Clear the event before reading RXD: a byte still waiting raises it again.
        while n < buf.len() && unsafe { read_volatile(uart(EVENTS_RXDRDY)) } != 0 {
            unsafe { write_volatile(uart(EVENTS_RXDRDY), 0) };
            buf[n] = unsafe { read_volatile(uart(RXD)) } as u8;
            n += 1;
        }
        // The loop above checks the event before sleeping again, so a byte that arrives
        // after this is not missed.
        cortex_m::peripheral::NVIC::unpend(Uart0Irq);
        Ok(n)
    }
}

impl embedded_io::Write for Uart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, UartError> {
        for &b in buf {
            // SAFETY: UART0 register accesses.
            unsafe {
                write_volatile(uart(EVENTS_TXDRDY), 0);
                write_volatile(uart(TXD), u32::from(b));
                while read_volatile(uart(EVENTS_TXDRDY)) == 0 {}
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), UartError> {
        Ok(())
    }
}

/// TIMER0 free-running over 32 bits at 16 MHz.
pub struct Timer0(());

impl Timer0 {
    /// The counter, through capture register 0.
    #[inline(always)]
    fn read() -> u32 {
        // SAFETY: TIMER0 register accesses; only this clock touches the timer.
        unsafe {
            write_volatile(timer(TIMER_CAPTURE0), 1);
            read_volatile(timer(TIMER_CC0))
        }
    }
}

impl Clock for Timer0 {
    #[inline(always)]
    fn now(&mut self) -> u32 {
        Self::read()
    }

    fn cost(&self, start: u32, end: u32) -> u32 {
        instructions(end.wrapping_sub(start))
    }

    fn unit(&self) -> CostUnit {
        CostUnit::Instructions
    }

    fn hz(&self) -> u32 {
        HZ
    }
}

/// Guest instructions in `ticks` of TIMER0 under `-icount shift=0`: 1 ns per instruction,
/// 62.5 ns per tick (rounded down to a whole instruction, saturating).
fn instructions(ticks: u32) -> u32 {
    let n = u64::from(ticks) * 1_000_000_000 / u64::from(HZ);
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Takes the board's peripherals (once) and starts TIMER0.
pub fn init() -> Parts<Uart, Timer0> {
    if cortex_m::Peripherals::take().is_none() {
        defmt::panic!("peripherals taken twice")
    }
    // SAFETY: TIMER0's registers; only this board module touches them.
    unsafe {
        write_volatile(timer(TIMER_MODE), MODE_TIMER);
        write_volatile(timer(TIMER_BITMODE), BITMODE_32);
        write_volatile(timer(TIMER_PRESCALER), 0);
        write_volatile(timer(TIMER_CLEAR), 1);
        write_volatile(timer(TIMER_START), 1);
    }
    calibrate();
    Parts {
        uart: Uart::new(),
        clock: Timer0(()),
    }
}

/// Logs how many TIMER0 ticks a loop of a known instruction count takes: under
/// `-icount shift=0` it must be 16 per 1,000 instructions, which is what the cost figures
/// assume.
fn calibrate() {
    // `LOOPS` iterations of `subs; bne`: exactly 2·LOOPS instructions.
    const LOOPS: u32 = 20_000;
    const EXPECTED: u64 = 2 * LOOPS as u64 * HZ as u64 / 1_000_000_000;
    let start = Timer0::read();
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
    let end = Timer0::read();
    defmt::info!(
        "TIMER0 calibration: {=u32} instructions took {=u32} ticks ({=u32} expected)",
        2 * LOOPS,
        end.wrapping_sub(start),
        EXPECTED as u32
    );
}

/// Ends the QEMU process with a failure status.
pub fn fail() -> ! {
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}
