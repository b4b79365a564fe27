/* NO_AGENT=1: the size baseline. The same firmware as main.c (board, startup, model) without
 * mlprobe's agent: it reads one row as 4 * MLPROBE_MODEL_INPUTS raw little-endian float bytes
 * from the UART, runs the model and writes the logits' raw bytes back, with no framing, no
 * checksum and no error handling. It exists only so that `arm-none-eabi-size` of the two
 * builds shows what the agent costs in flash and RAM; it is not testable by mlprobe.
 */
#include <stdint.h>
#include "board.h"
#include "model.h"

int main(void)
{
    board_init();
    board_log("c-firmware: ready (NO_AGENT=1: raw floats in, raw logits out)");

    for (;;) {
        /* Cortex-M is little-endian: the bytes are the floats'. */
        union {
            float values[MLPROBE_MODEL_INPUTS];
            uint8_t bytes[4 * MLPROBE_MODEL_INPUTS];
        } row;
        union {
            float values[MLPROBE_MODEL_OUTPUTS];
            uint8_t bytes[4 * MLPROBE_MODEL_OUTPUTS];
        } logits;
        uint32_t n = 0;
        while (n < sizeof row.bytes) {
            n += uart_read(row.bytes + n, sizeof row.bytes - n);
        }
        mlprobe_model_infer(row.values, logits.values);
        uart_write(logits.bytes, sizeof logits.bytes);
    }
}
