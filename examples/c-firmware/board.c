/* The board: QEMU's mps2-an386. The registers and values are those of mlprobe's own firmware
 * (firmware/src/board/qemu.rs). */
#include "board.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

/* CMSDK APB UART0 (Arm DDI 0479, Cortex-M System Design Kit, "APB UART"). */
#define UART0_DATA      REG(0x40004000u)
#define UART0_STATE     REG(0x40004004u)
#define UART0_CTRL      REG(0x40004008u)
#define UART0_INTSTATUS REG(0x4000400Cu)
#define UART0_BAUDDIV   REG(0x40004010u)
#define STATE_TX_FULL   (1u << 0)
#define STATE_RX_FULL   (1u << 1)
#define CTRL_TX_EN      (1u << 0)
#define CTRL_RX_EN      (1u << 1)
#define CTRL_RX_INT_EN  (1u << 3)
#define INT_RX          (1u << 1)

/* UART0's receive interrupt is external interrupt 0 on mps2-an386 (QEMU hw/arm/mps2.c). */
#define NVIC_ISER0 REG(0xE000E100u)
#define NVIC_ICPR0 REG(0xE000E280u)
#define UART0_RX_IRQ_BIT (1u << 0)

/* SysTick (Armv7-M ARM, B3.3). */
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define SYST_CSR_ENABLE    (1u << 0)
#define SYST_CSR_CLKSOURCE (1u << 2) /* the processor clock */

void board_init(void)
{
    /* Mask interrupts: the UART's receive interrupt is enabled only to wake the core from
     * WFI (a pending interrupt ends WFI even when PRIMASK keeps it from being taken). */
    __asm__ volatile("cpsid i" ::: "memory");

    UART0_BAUDDIV = 16; /* the smallest divider the UART accepts; QEMU ignores the rate */
    UART0_CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN;
    NVIC_ISER0 = UART0_RX_IRQ_BIT;

    /* SysTick free-running over 24 bits at the processor clock, no interrupt. */
    SYST_RVR = BOARD_COUNTER_MASK;
    SYST_CVR = 0; /* any write clears it */
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_ENABLE;
}

uint32_t uart_read(uint8_t *buf, uint32_t cap)
{
    uint32_t n = 0;
    /* Sleep until the first byte. This matters under QEMU: with -icount, a core that polls
     * never yields to QEMU's main loop until its next timer deadline, and bytes from the host
     * wait for seconds. */
    while ((UART0_STATE & STATE_RX_FULL) == 0) {
        __asm__ volatile("wfi" ::: "memory");
    }
    while (n < cap && (UART0_STATE & STATE_RX_FULL) != 0) {
        buf[n++] = (uint8_t)UART0_DATA;
    }
    /* Acknowledge the interrupt, in the UART and in the NVIC, so that the next WFI sleeps. A
     * byte that arrived meanwhile is not missed: the loop above checks the state before it
     * sleeps again. */
    UART0_INTSTATUS = INT_RX;
    NVIC_ICPR0 = UART0_RX_IRQ_BIT;
    return n;
}

void uart_write(const uint8_t *bytes, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < len; i++) {
        while (UART0_STATE & STATE_TX_FULL) {
        }
        UART0_DATA = bytes[i];
    }
}

uint32_t board_counter(void)
{
    /* SysTick counts down from its reload value. */
    return BOARD_COUNTER_MASK - SYST_CVR;
}

/* Semihosting (Arm's "Semihosting for AArch32 and AArch64"): BKPT 0xAB with the operation in
 * r0 and its argument in r1; QEMU (-semihosting-config enable=on) performs it. */
#define SYS_OPEN  0x01u
#define SYS_WRITE 0x05u
#define SYS_EXIT  0x18u
#define ADP_Stopped_ApplicationExit  0x20026u /* QEMU exits with status 0 */
#define ADP_Stopped_RunTimeErrorUnknown 0x20023u /* QEMU exits with status 1 */

static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_log(const char *text)
{
    /* ":tt" opened for writing (mode 4, "w") is QEMU's stdout, which the host reads; SYS_WRITE0
     * would write to QEMU's stderr. Opened once, on first use. */
    static int32_t handle = -1;
    uint32_t len = 0;
    if (handle < 0) {
        static const char tt[] = ":tt";
        const uint32_t open_args[3] = { (uint32_t)tt, 4, sizeof tt - 1 };
        handle = (int32_t)semihost(SYS_OPEN, open_args);
        if (handle < 0) {
            return;
        }
    }
    while (text[len] != '\0') {
        len++;
    }
    {
        const uint32_t text_args[3] = { (uint32_t)handle, (uint32_t)text, len };
        static const char newline[] = "\n";
        const uint32_t newline_args[3] = { (uint32_t)handle, (uint32_t)newline, 1 };
        semihost(SYS_WRITE, text_args);
        semihost(SYS_WRITE, newline_args);
    }
}

void board_exit(int status)
{
    for (;;) {
        semihost(SYS_EXIT, (const void *)(status == 0 ? ADP_Stopped_ApplicationExit
                                                      : ADP_Stopped_RunTimeErrorUnknown));
    }
}

void board_fail(const char *text)
{
    board_log(text);
    board_exit(1);
}
