/* Startup for a Cortex-M4F without a vendor SDK: the vector table, the reset handler (FPU on,
 * .data copied, .bss zeroed, main called) and the fault handlers, which end QEMU through
 * semihosting so that a test never hangs on a crashed firmware. */
#include <stdint.h>
#include "board.h"

int main(void);

/* Defined by link.ld. */
extern uint32_t __stack_top;
extern uint32_t __data_start, __data_end, __data_load;
extern uint32_t __bss_start, __bss_end;

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

__attribute__((noreturn)) void Reset_Handler(void)
{
    volatile uint32_t *dst;
    const volatile uint32_t *src;

    /* Full access to the FPU (coprocessors CP10 and CP11) before any floating-point
     * instruction: the code is compiled for the hard-float ABI, so any function may use the
     * FPU's registers. (Volatile pointers below keep GCC from turning the loops into memcpy
     * and memset calls, which a -nostdlib build does not have.) */
    SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    for (src = &__data_load, dst = &__data_start; dst < &__data_end;) {
        *dst++ = *src++;
    }
    for (dst = &__bss_start; dst < &__bss_end;) {
        *dst++ = 0;
    }

    board_exit(main()); /* main returned: stop QEMU with its status */
}

/* A fault, or an exception or interrupt this firmware does not expect. */
__attribute__((noreturn)) static void fault(const char *what)
{
    board_fail(what);
}

void HardFault_Handler(void) { fault("c-firmware: hard fault"); }
void MemManage_Handler(void) { fault("c-firmware: memory management fault"); }
void BusFault_Handler(void) { fault("c-firmware: bus fault"); }
void UsageFault_Handler(void) { fault("c-firmware: usage fault"); }
void Default_Handler(void) { fault("c-firmware: unexpected exception or interrupt"); }

/* Handlers a firmware may define (weak, so that defining one replaces the default). */
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

typedef void (*Vector)(void);

/* The core's exceptions, then the board's 32 external interrupts (QEMU's mps2-an386 has 32;
 * UART0's receive interrupt is number 0). Interrupts stay masked in this firmware, so the
 * external ones all go to Default_Handler. */
__attribute__((section(".vectors"), used)) static const Vector vectors[16 + 32] = {
    (Vector)&__stack_top,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0, 0, 0, 0, /* reserved */
    SVC_Handler,
    DebugMon_Handler,
    0, /* reserved */
    PendSV_Handler,
    SysTick_Handler,
    [16 ... 16 + 31] = Default_Handler,
};
