/* libFuzzer harness: the E2E check of the HIL link (firmware_sim/link/hil_e2e.c) on any frame,
 * data ID, receiver state and max_delta. Beyond "no crash, no UB, no read past the frame" it
 * checks every classification against an independent oracle written from the header's contract:
 * a bit-by-bit CRC-8 SAE J1850 (not the table), and the counter rules of E2E profile 1.
 * Input layout: id (2 bytes) | max_delta | state (counter in bits 0..3, seen in bit 7) | frame. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hil_e2e.h"

#define REQUIRE(c)     \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

/* CRC-8, polynomial 0x1D, register 0xFF at the start, result XORed with 0xFF (AUTOSAR). */
static uint8_t crc8_bitwise(const uint8_t* p, size_t n, uint8_t reg) {
  for (size_t i = 0; i < n; ++i) {
    reg ^= p[i];
    for (int b = 0; b < 8; ++b) reg = (uint8_t)((reg & 0x80u) ? (reg << 1) ^ 0x1Du : reg << 1);
  }
  return reg;
}

static uint8_t oracle_crc(uint32_t id, const uint8_t* frame, size_t len) {
  const uint8_t id_bytes[2] = {(uint8_t)(id & 0xFFu), (uint8_t)((id >> 8) & 0xFFu)};
  uint8_t reg = crc8_bitwise(id_bytes, 2, 0xFFu);
  if (len > 1) reg = crc8_bitwise(frame + 1, len - 1, reg);
  return (uint8_t)(reg ^ 0xFFu);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint32_t id = (uint32_t)data[0] | ((uint32_t)data[1] << 8);
  const uint8_t max_delta = data[2];
  hil_e2e_rx_state_t state = {(uint8_t)(data[3] & 0x0Fu), (uint8_t)(data[3] >> 7)};
  const hil_e2e_rx_state_t before = state;
  /* The frame in its own allocation, exactly len bytes: ASan sees any read past its end. */
  const size_t len = size - 4;
  uint8_t* frame = (uint8_t*)malloc(len ? len : 1);
  REQUIRE(frame != NULL);
  if (len) memcpy(frame, data + 4, len);

  const hil_e2e_status_t s = hil_e2e_check(&state, id, frame, len, max_delta);
  REQUIRE(s >= HIL_E2E_OK && s <= HIL_E2E_BAD_LENGTH);
  if (len < 2) {
    REQUIRE(s == HIL_E2E_BAD_LENGTH);
  } else if (frame[0] != oracle_crc(id, frame, len)) {
    REQUIRE(s == HIL_E2E_WRONG_CRC);
  } else {
    const uint8_t counter = (uint8_t)(frame[1] & 0x0Fu);
    const uint8_t delta = (uint8_t)((counter - before.last_counter) & 0x0Fu);
    hil_e2e_status_t expected;
    if (!before.seen)
      expected = HIL_E2E_INITIAL;
    else if (delta == 0)
      expected = HIL_E2E_REPEATED;
    else if (delta == 1)
      expected = HIL_E2E_OK;
    else if (delta <= max_delta)
      expected = HIL_E2E_OK_SOME_LOST;
    else
      expected = HIL_E2E_WRONG_SEQUENCE;
    REQUIRE(s == expected);
    /* Every CRC-valid frame except a repetition (re-)synchronises the receiver on its counter. */
    if (s != HIL_E2E_REPEATED) REQUIRE(state.seen == 1 && state.last_counter == counter);
  }
  if (s == HIL_E2E_WRONG_CRC || s == HIL_E2E_BAD_LENGTH || s == HIL_E2E_REPEATED)
    REQUIRE(state.seen == before.seen && state.last_counter == before.last_counter);
  REQUIRE(hil_e2e_valid(s) == (s == HIL_E2E_OK || s == HIL_E2E_OK_SOME_LOST || s == HIL_E2E_INITIAL));

  /* Protecting the frame makes its CRC right: a fresh receiver then takes it as its first frame,
   * and the same frame under another data ID fails (the ID is in the CRC). */
  if (len >= 2) {
    hil_e2e_protect(id, frame, len);
    REQUIRE(frame[0] == oracle_crc(id, frame, len));
    hil_e2e_rx_state_t fresh = {0, 0};
    REQUIRE(hil_e2e_check(&fresh, id, frame, len, max_delta) == HIL_E2E_INITIAL);
    const uint32_t other = id ^ 0x1u;
    hil_e2e_rx_state_t fresh2 = {0, 0};
    if (frame[0] != oracle_crc(other, frame, len))
      REQUIRE(hil_e2e_check(&fresh2, other, frame, len, max_delta) == HIL_E2E_WRONG_CRC);
  }
  free(frame);
  return 0;
}
