/* End-to-end protection of the HIL link, in the manner of AUTOSAR E2E profile 1:
 *   byte 0            CRC-8 SAE J1850 (poly 0x1D, start 0xFF, final XOR 0xFF; AUTOSAR
 *                     Crc_CalculateCRC8, check value 0x4B over "123456789"), computed over the
 *                     data ID (2 bytes, low byte first) followed by bytes 1..len-1 of the frame;
 *   byte 1 bits 0..3  alive counter, +1 mod 16 on every transmission of the data element.
 * A data element is one message, or one multiplexer value of a multiplexed message, so each
 * keeps its own counter. The data ID is the frame ID: a frame that lands under another ID fails
 * its CRC. The receiver check classifies every frame (OK, some lost, repeated, wrong sequence,
 * wrong CRC) so that loss, repetition, delay and corruption are each detectable.
 * Shared by the firmware (C++) and the harness's Cython codec: the same bytes on both sides. */
#ifndef SAFETWIN_HIL_E2E_H
#define SAFETWIN_HIL_E2E_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CRC-8 SAE J1850 over data[0..n), as AUTOSAR Crc_CalculateCRC8 (register starts at 0xFF, result
 * XORed with 0xFF). Pass start_value 0x00 for a first call; to chain calls pass the previous
 * result (the function undoes the final XOR). */
uint8_t hil_crc8_sae_j1850(const uint8_t* data, size_t n, uint8_t start_value);

/* CRC of a frame: data ID (low, high byte) then payload[1..len). */
uint8_t hil_e2e_crc(uint32_t data_id, const uint8_t* payload, size_t len);

/* Writes the CRC into payload[0] (after the counter and data have been packed). */
void hil_e2e_protect(uint32_t data_id, uint8_t* payload, size_t len);

static inline uint8_t hil_e2e_counter(const uint8_t* payload) { return (uint8_t)(payload[1] & 0x0Fu); }

typedef enum {
  HIL_E2E_OK = 0,             /* counter advanced by exactly 1 */
  HIL_E2E_OK_SOME_LOST = 1,   /* advanced by 2..max_delta: frames were lost, this one is valid */
  HIL_E2E_INITIAL = 2,        /* first frame of this data element since reset: valid */
  HIL_E2E_REPEATED = 3,       /* same counter as the last one: a repetition, invalid */
  HIL_E2E_WRONG_SEQUENCE = 4, /* jump beyond max_delta (stale, delayed or reordered): invalid */
  HIL_E2E_WRONG_CRC = 5,      /* corrupted or mis-addressed: invalid, state unchanged */
  HIL_E2E_BAD_LENGTH = 6      /* shorter than 2 bytes: invalid */
} hil_e2e_status_t;

typedef struct {
  uint8_t last_counter;
  uint8_t seen; /* 0 until the first valid-CRC frame */
} hil_e2e_rx_state_t;

/* Checks one received frame and updates the receiver state (a wrong-sequence frame re-synchronises
 * on its counter, as E2E profile 1 does after the error is reported). */
hil_e2e_status_t hil_e2e_check(hil_e2e_rx_state_t* state, uint32_t data_id, const uint8_t* payload, size_t len,
                               uint8_t max_delta);

static inline int hil_e2e_valid(hil_e2e_status_t s) { return s <= HIL_E2E_INITIAL; }

#ifdef __cplusplus
}
#endif

#endif
