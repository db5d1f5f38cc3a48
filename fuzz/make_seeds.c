/* Writes the seed corpora of the fuzz harnesses from valid frames: every message of the DBC (every
 * multiplexer value), its signals in the middle of their declared ranges, encoded by the generated
 * codec and E2E-protected as the link sends them. Usage: make_seeds OUT_DIR (writes
 * OUT_DIR/{e2e,hil_codec,firmware_frames,firmware_attest}/seed_*; the directories must exist). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hil_e2e.h"
#include "safetwin_hil_table.h"

static int write_file(const char* dir, const char* corpus, int n, const uint8_t* p, size_t len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s/seed_%03d", dir, corpus, n);
  FILE* f = fopen(path, "wb");
  if (!f || fwrite(p, 1, len, f) != len) {
    fprintf(stderr, "make_seeds: cannot write %s\n", path);
    return 1;
  }
  fclose(f);
  return 0;
}

/* A valid frame of message `index` with multiplexer value mux (ignored without one); its length. */
static int valid_frame(int index, int mux, uint8_t counter, uint8_t* out) {
  const hil_message_info_t* m = &hil_messages[index];
  double phys[HIL_MAX_SIGNALS];
  for (int i = 0; i < m->n_signals; ++i) {
    const double lo = m->minimum[i], hi = m->maximum[i];
    phys[i] = floor(lo + 0.5 * (hi - lo));
  }
  if (m->mux_signal >= 0) phys[m->mux_signal] = mux;
  phys[1] = counter; /* E2E_COUNTER: signal 1 of every message (signal 0 is the CRC) */
  const int len = hil_encode(index, phys, out, 8);
  if (len < 0) return len;
  hil_e2e_protect(m->frame_id, out, (size_t)len);
  return len;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_seeds OUT_DIR\n");
    return 2;
  }
  const char* dir = argv[1];
  int n_e2e = 0, n_codec = 0, failures = 0;
  uint8_t fw_seed[10 * 64];
  size_t fw_len = 0;
  for (int index = 0; index < HIL_N_MESSAGES; ++index) {
    const hil_message_info_t* m = &hil_messages[index];
    const int mux_max = m->mux_signal >= 0 ? (int)m->maximum[m->mux_signal] : 0;
    for (int mux = 0; mux <= mux_max; ++mux) {
      uint8_t frame[8];
      const uint8_t counter = (uint8_t)((index + mux) & 0x0F);
      const int len = valid_frame(index, mux, counter, frame);
      if (len < 0) {
        fprintf(stderr, "make_seeds: %s mux %d does not encode (%d)\n", m->name, mux, len);
        ++failures;
        continue;
      }
      uint8_t rec[4 + 8];
      rec[0] = (uint8_t)(m->frame_id & 0xFF);
      rec[1] = (uint8_t)(m->frame_id >> 8);
      rec[2] = 2;                                           /* max_delta as the firmware's default */
      rec[3] = (uint8_t)(0x80u | ((counter - 1u) & 0x0Fu)); /* seen, the previous counter */
      memcpy(rec + 4, frame, (size_t)len);
      failures += write_file(dir, "e2e", n_e2e++, rec, 4 + (size_t)len);
      rec[0] = (uint8_t)index;
      memcpy(rec + 1, frame, (size_t)len);
      failures += write_file(dir, "hil_codec", n_codec++, rec, 1 + (size_t)len);
      /* The firmware's seed: one cycle's worth of plant frames (two multiplexer values each). */
      if ((m->frame_id == 0x80u || m->frame_id == 0xF0u || (m->frame_id >= 0x100u && m->frame_id <= 0x130u)) &&
          mux < 2 && fw_len + 10 <= sizeof fw_seed) {
        fw_seed[fw_len] = (uint8_t)index;
        fw_seed[fw_len + 1] = 0x1F; /* protect, the message's length */
        memset(fw_seed + fw_len + 2, 0, 8);
        memcpy(fw_seed + fw_len + 2, frame, (size_t)len);
        fw_len += 10;
      }
    }
  }
  if (fw_len >= 10) fw_seed[fw_len - 9] |= 0x40; /* and a control cycle after the last frame */
  failures += write_file(dir, "firmware_frames", 0, fw_seed, fw_len);
  /* fuzz_firmware_attest (records op | arg | 8 bytes, see its header; arg 0x00, 0x01, 0x80 address
   * nodes 0, 1, 2: ECDSA, RSASSA, RSAPSS): each node's genuine answer then a cycle that verifies it
   * (pass); the same with an edited, re-signed clock (pass, a later clock), with an unsigned edit
   * (fail_signature), with a dropped frame (reassembly error), and with the next node's nonce
   * (nonce_unknown); the rounds end after cycles of 1.6 s. Edits: (offset, xor) in the first record. */
  static const struct {
    uint8_t op_arg[3][2];
    uint8_t edit[2];
  } attest_seeds[] = {
      {{{1, 0x00}, {2, 0x00}, {1, 0x01}}, {0, 0}},
      {{{1, 0x02}, {2, 0x00}, {2, 0x0F}}, {79, 1}},           /* the clock's last byte (offset 2+2+34+2+32+7 = 79) */
      {{{1, 0x00}, {2, 0x00}, {2, 0x0F}}, {0x80 | 10, 0x55}}, /* the signature's r, unsigned */
      {{{1, 0x04}, {2, 0x00}, {2, 0x0F}}, {0, 0}},
      {{{1, 0x08}, {2, 0x00}, {2, 0x0F}}, {0, 0}},
      {{{1, 0x80}, {2, 0x00}, {2, 0x0F}}, {0, 0}},
      {{{1, 0x82}, {2, 0x00}, {2, 0x0F}}, {79, 1}},
      {{{1, 0x01}, {2, 0x00}, {2, 0x0F}}, {0x80 | 100, 0x55}}, /* inside the RSA signature, unsigned */
  };
  const int n_attest = (int)(sizeof attest_seeds / sizeof attest_seeds[0]);
  for (int i = 0; i < n_attest; ++i) {
    uint8_t rec[4 * 10];
    memset(rec, 0, sizeof rec);
    for (int r = 0; r < 3; ++r) {
      rec[10 * r] = attest_seeds[i].op_arg[r][0];
      rec[10 * r + 1] = attest_seeds[i].op_arg[r][1];
    }
    rec[2] = attest_seeds[i].edit[0];
    rec[3] = attest_seeds[i].edit[1];
    rec[30] = 2; /* a last cycle */
    rec[31] = 0x0F;
    failures += write_file(dir, "firmware_attest", i, rec, sizeof rec);
  }
  printf("seeds: %d e2e, %d hil_codec, 1 firmware_frames (%zu frames), %d firmware_attest\n", n_e2e, n_codec,
         fw_len / 10, n_attest);
  return failures ? 1 : 0;
}
