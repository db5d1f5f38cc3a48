/* UDP framing of the HIL link: one datagram carries one batch of classic CAN frames.
 *
 *   offset 0   uint32  magic 0x4E435453 ("STCN" in memory order), little-endian
 *   offset 4   uint16  version (1)
 *   offset 6   uint16  number of frames n (1..HIL_WIRE_MAX_FRAMES)
 *   offset 8   n x 16 bytes, each the layout of Linux SocketCAN's struct can_frame:
 *              uint32 can_id (LE; bit 31 = extended frame), uint8 len (0..8), 3 reserved bytes,
 *              uint8 data[8]
 *
 * Why our own framing rather than python-can's udp_multicast: that interface serialises each
 * message with msgpack, which the C++ firmware would have to reimplement by hand, and multicast
 * drops bursts; a fixed binary layout, unicast on loopback and one datagram per control cycle keep
 * the firmware side to memcpy-level code and make a cycle's frames arrive (or be lost) together.
 * Header-only C: the firmware and the Cython codec include the same definitions. */
#ifndef SAFETWIN_HIL_WIRE_H
#define SAFETWIN_HIL_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HIL_WIRE_MAGIC 0x4E435453u
#define HIL_WIRE_VERSION 1u
#define HIL_WIRE_HEADER_BYTES 8u
#define HIL_WIRE_FRAME_BYTES 16u
#define HIL_WIRE_MAX_FRAMES 128u
#define HIL_WIRE_MAX_BYTES (HIL_WIRE_HEADER_BYTES + HIL_WIRE_MAX_FRAMES * HIL_WIRE_FRAME_BYTES)
#define HIL_CAN_EFF_FLAG 0x80000000u

static inline void hil_wire_put_u32(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t hil_wire_get_u32(const uint8_t* p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Writes the header for n frames. */
static inline void hil_wire_header(uint8_t* buf, uint16_t n) {
  hil_wire_put_u32(buf, HIL_WIRE_MAGIC);
  buf[4] = (uint8_t)HIL_WIRE_VERSION;
  buf[5] = 0;
  buf[6] = (uint8_t)n;
  buf[7] = (uint8_t)(n >> 8);
}

/* Writes frame i of a batch. len is clamped to 8. */
static inline void hil_wire_put_frame(uint8_t* buf, size_t i, uint32_t can_id, const uint8_t* data, uint8_t len) {
  uint8_t* f = buf + HIL_WIRE_HEADER_BYTES + i * HIL_WIRE_FRAME_BYTES;
  if (len > 8) len = 8;
  hil_wire_put_u32(f, can_id);
  f[4] = len;
  f[5] = 0;
  f[6] = 0;
  f[7] = 0;
  memset(f + 8, 0, 8);
  memcpy(f + 8, data, len);
}

/* Number of frames of a well-formed datagram of `size` bytes, or -1 (bad magic, version, count or size). */
static inline int hil_wire_count(const uint8_t* buf, size_t size) {
  if (size < HIL_WIRE_HEADER_BYTES) return -1;
  if (hil_wire_get_u32(buf) != HIL_WIRE_MAGIC || buf[4] != HIL_WIRE_VERSION || buf[5] != 0) return -1;
  const size_t n = (size_t)buf[6] | ((size_t)buf[7] << 8);
  if (n > HIL_WIRE_MAX_FRAMES || size != HIL_WIRE_HEADER_BYTES + n * HIL_WIRE_FRAME_BYTES) return -1;
  return (int)n;
}

/* Frame i of a datagram already checked by hil_wire_count. */
static inline const uint8_t* hil_wire_frame(const uint8_t* buf, size_t i, uint32_t* can_id, uint8_t* len) {
  const uint8_t* f = buf + HIL_WIRE_HEADER_BYTES + i * HIL_WIRE_FRAME_BYTES;
  *can_id = hil_wire_get_u32(f);
  *len = f[4] > 8 ? 8 : f[4];
  return f + 8;
}

#endif
