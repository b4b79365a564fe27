/* c-firmware: a C firmware that runs an mlprobe model (exported as a C header) and is
 * testable by mlprobe's host tool (`mlprobe device validate`, `load`, `chaos`) through
 * the device agent's C API.
 *
 * The lines marked "mlprobe:" are all it takes to make a firmware testable; everything else
 * is the firmware's own (here a minimal board for QEMU's mps2-an386, board.c).
 */
#include <stdint.h>
#include "board.h"

#ifdef MLPROBE_FAULT
/* FAULT=1 (for mlprobe's tests): the weights in RAM, so that main can break one. */
#define MLPROBE_MODEL_CONST
#endif

#include "model.h"         /* mlprobe: the model (mlprobe export MODEL --format c --out model.h) */
#include "mlprobe_agent.h" /* mlprobe: the agent (agent/c/include) */

/* mlprobe: the inference callback: one row of features in, the logits out. */
static int32_t infer(void *context, const float *features, uint32_t n_features, float *logits,
                     uint32_t n_logits)
{
    (void)context; (void)n_features; (void)n_logits; /* the model's sizes, as configured */
    return mlprobe_model_infer(features, logits);
}

/* mlprobe: the write callback: the agent's answers out to the host. */
static void write_bytes(void *context, const uint8_t *bytes, uint32_t len)
{
    (void)context;
    uart_write(bytes, len);
}

/* The cost counter (optional): read before and after each inference. */
static uint32_t counter(void *context)
{
    (void)context;
    return board_counter();
}

/* mlprobe: who the device is, its model and the callbacks. */
static const MlprobeAgentConfig agent_config = {
    .board = "c-example-mps2-an386",
    .firmware_version = { 0, 1, 0 },
    .model_crc = MLPROBE_MODEL_CRC,
    .inputs = MLPROBE_MODEL_INPUTS,
    .outputs = MLPROBE_MODEL_OUTPUTS,
    .hidden = mlprobe_model_hidden,
    .hidden_len = MLPROBE_MODEL_HIDDEN_LAYERS,
    .infer = infer,
    .write = write_bytes,
    /* The cost: SysTick ticks, 40 instructions each under QEMU's -icount shift=0. */
    .counter = counter,
    .counter_mask = BOARD_COUNTER_MASK,
    .cost_per_tick = BOARD_INSTRUCTIONS_PER_TICK,
    .cost_unit = MLPROBE_COST_INSTRUCTIONS,
    .clock_hz = BOARD_CLOCK_HZ,
};

int main(void)
{
    board_init();

#ifdef MLPROBE_FAULT
    /* A deliberate error: the sign of a first-layer weight flipped (hidden unit 0's weight
     * of feature 0), which changes the logits of most rows (109 of wine.csv's 178). The
     * host's `device validate` must report the mismatch. */
    mlprobe_model_layer0_weight[0] = -mlprobe_model_layer0_weight[0];
    board_log("c-firmware: FAULT=1: the sign of mlprobe_model_layer0_weight[0] is flipped");
#endif

    if (mlprobe_agent_init(&agent_config) != MLPROBE_OK) { /* mlprobe: set the agent up */
        board_fail("c-firmware: mlprobe_agent_init failed");
    }
    board_log("c-firmware: ready");

    for (;;) {
        uint8_t bytes[64];
        uint32_t n = uart_read(bytes, sizeof bytes);
        mlprobe_agent_receive(bytes, n); /* mlprobe: every byte received goes to the agent */
    }
}
