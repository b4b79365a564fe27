//! Stack high-water mark by painting: at boot every word between the end of the static data
//! and the current stack pointer is filled with a pattern; the lowest word that no longer holds
//! it marks the deepest the stack has grown.

use core::ptr::{addr_of, read_volatile, write_volatile};
use mlprobe_core::server::StackMeter;

const PAINT: u32 = 0xA5A5_5A5A;
/// Left unpainted below the stack pointer at the time of painting (the painting frame itself).
const MARGIN: usize = 64;

unsafe extern "C" {
    /// End of `.bss`/`.uninit` (cortex-m-rt): the lowest address the stack may reach.
    static __sheap: u32;
    /// Initial stack pointer (cortex-m-rt): the top of the stack.
    static _stack_start: u32;
}

fn bottom() -> usize {
    addr_of!(__sheap) as usize
}

fn top() -> usize {
    addr_of!(_stack_start) as usize
}

/// Paints the free stack. Called first thing in `main`.
#[inline(never)]
pub fn paint() {
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = bottom();
    while p + MARGIN < sp {
        // SAFETY: [__sheap, sp − MARGIN) is RAM that nothing uses yet: below the live stack
        // and above every static (cortex-m-rt's layout); words are aligned.
        unsafe { write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// The painted stack as a [`StackMeter`].
pub struct Painted;

impl StackMeter for Painted {
    fn peak_bytes(&self) -> u32 {
        let mut p = bottom();
        // SAFETY: reads of aligned RAM words inside the stack region.
        while p < top() && unsafe { read_volatile(p as *const u32) } == PAINT {
            p += 4;
        }
        (top() - p) as u32
    }

    fn size_bytes(&self) -> u32 {
        (top() - bottom()) as u32
    }
}
