/* The board: QEMU's mps2-an386 (Arm MPS2 FPGA image AN386, a Cortex-M4F at 25 MHz).
 *
 * Only what the example needs: the CMSDK APB UART0 (the link to the host), SysTick (the cost
 * counter) and semihosting (log lines and the exit from QEMU). Replace this file with your
 * board's drivers; main.c only uses the functions below.
 */
#ifndef BOARD_H
#define BOARD_H

#include <stdint.h>

/* The system clock that SysTick counts (QEMU's mps2 SYSCLK). */
#define BOARD_CLOCK_HZ 25000000u

/* Guest instructions per SysTick tick. QEMU runs with -icount shift=0: one instruction per
 * nanosecond of virtual time, and a tick of the 25 MHz clock is 40 ns. The cost mlprobe
 * reports is thus an instruction count, at a resolution of 40 (as mlprobe's own firmware,
 * firmware/src/board/qemu.rs). */
#define BOARD_INSTRUCTIONS_PER_TICK (1000000000u / BOARD_CLOCK_HZ)

/* SysTick is a 24-bit counter. */
#define BOARD_COUNTER_MASK 0x00FFFFFFu

/* Sets up the UART (and its wake-up interrupt) and starts SysTick. Leaves interrupts masked
 * (PRIMASK): nothing in this firmware runs in an interrupt handler. */
void board_init(void);

/* Waits (asleep) for at least one byte from the host, then takes the bytes already there, up
 * to `cap`. Returns how many it stored (at least 1). */
uint32_t uart_read(uint8_t *buf, uint32_t cap);

/* Sends `len` bytes to the host (busy-waits while the transmitter is full). */
void uart_write(const uint8_t *bytes, uint32_t len);

/* SysTick as a counter that counts up by one per tick, modulo 2^24. */
uint32_t board_counter(void);

/* Writes `text` and a newline to QEMU's stdout through semihosting (the host collects it as a
 * log line). */
void board_log(const char *text);

/* Ends QEMU through semihosting: exit status 0 when `status` is 0, 1 otherwise. */
__attribute__((noreturn)) void board_exit(int status);

/* board_log(`text`), then board_exit(1): a test never hangs on a firmware that cannot go on. */
__attribute__((noreturn)) void board_fail(const char *text);

#endif /* BOARD_H */
