#include "hil_e2e.h"

/* Bitwise rather than a 256-entry table: 9 bytes per frame, and nothing to get wrong in a table. */
uint8_t hil_crc8_sae_j1850(const uint8_t *data, size_t n, uint8_t start_value)
{
  uint8_t crc = (uint8_t)(start_value ^ 0xFFu);
  for (size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int b = 0; b < 8; ++b) crc = (uint8_t)((crc & 0x80u) ? (uint8_t)((crc << 1) ^ 0x1Du) : (uint8_t)(crc << 1));
  }
  return (uint8_t)(crc ^ 0xFFu);
}

uint8_t hil_e2e_crc(uint32_t data_id, const uint8_t *payload, size_t len)
{
  const uint8_t id[2] = {(uint8_t)(data_id & 0xFFu), (uint8_t)((data_id >> 8) & 0xFFu)};
  uint8_t crc = hil_crc8_sae_j1850(id, 2, 0x00u);
  if (len > 1) crc = hil_crc8_sae_j1850(payload + 1, len - 1, crc);
  return crc;
}

void hil_e2e_protect(uint32_t data_id, uint8_t *payload, size_t len)
{
  payload[0] = hil_e2e_crc(data_id, payload, len);
}

hil_e2e_status_t hil_e2e_check(hil_e2e_rx_state_t *state, uint32_t data_id, const uint8_t *payload,
                               size_t len, uint8_t max_delta)
{
  if (len < 2) return HIL_E2E_BAD_LENGTH;
  if (payload[0] != hil_e2e_crc(data_id, payload, len)) return HIL_E2E_WRONG_CRC;
  const uint8_t counter = hil_e2e_counter(payload);
  if (!state->seen) {
    state->seen = 1;
    state->last_counter = counter;
    return HIL_E2E_INITIAL;
  }
  const uint8_t delta = (uint8_t)((counter - state->last_counter) & 0x0Fu);
  if (delta == 0) return HIL_E2E_REPEATED;
  state->last_counter = counter;
  if (delta == 1) return HIL_E2E_OK;
  if (delta <= max_delta) return HIL_E2E_OK_SOME_LOST;
  return HIL_E2E_WRONG_SEQUENCE;
}
