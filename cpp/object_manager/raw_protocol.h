// The raw data connection's bytes (proto/object_manager.proto, at its end):
// the magic that opens it, the receiver's length-prefixed PullRequest
// frames, and the sender's 24-byte chunk headers. Stateless helpers.
#ifndef FLARE_OBJECT_MANAGER_RAW_PROTOCOL_H_
#define FLARE_OBJECT_MANAGER_RAW_PROTOCOL_H_

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "object_manager.pb.h"
#include "rpc/tcp_options.h"

namespace flare {

// What a raw data connection starts with; gRPC's connections start with
// "PRI * HTTP/2.0", so the first 8 bytes tell them apart.
inline constexpr char kRawMagic[] = "FLAREOB1";
inline constexpr size_t kRawMagicBytes = 8;

// The largest request frame a sender reads (a PullRequest is ~100 bytes).
inline constexpr uint32_t kMaxRawRequestBytes = 4096;
// The largest error message a receiver reads.
inline constexpr uint64_t kMaxRawErrorBytes = 64 << 10;

struct RawChunkHeader {
  static constexpr size_t kBytes = 24;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t status = 0;  // a gRPC status code; not 0: `length` bytes of message follow

  std::array<uint8_t, kBytes> Encode() const {
    std::array<uint8_t, kBytes> bytes{};
    PutLittleEndian(offset, 8, bytes.data());
    PutLittleEndian(length, 8, bytes.data() + 8);
    PutLittleEndian(status, 4, bytes.data() + 16);
    return bytes;
  }
  static RawChunkHeader Decode(const uint8_t* bytes) {
    RawChunkHeader header;
    header.offset = GetLittleEndian(bytes, 8);
    header.length = GetLittleEndian(bytes + 8, 8);
    header.status = static_cast<uint32_t>(GetLittleEndian(bytes + 16, 4));
    return header;
  }

  static void PutLittleEndian(uint64_t value, size_t n, uint8_t* out) {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
  }
  static uint64_t GetLittleEndian(const uint8_t* in, size_t n) {
    uint64_t value = 0;
    for (size_t i = 0; i < n; ++i) value |= static_cast<uint64_t>(in[i]) << (8 * i);
    return value;
  }
};

// Both ends of a raw data connection notice a peer that went away without
// closing (rpc/tcp_options.h), so a sender waiting for requests lets go of
// its pin.
inline void KeepRawConnectionAlive(int fd) { KeepConnectionAlive(fd); }

// [u32 little-endian length][request], appended to `out`.
inline void AppendRawRequest(const rpc::PullRequest& request, std::string* out) {
  const std::string body = request.SerializeAsString();
  uint8_t length[4];
  RawChunkHeader::PutLittleEndian(body.size(), 4, length);
  out->append(reinterpret_cast<const char*>(length), 4);
  out->append(body);
}

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_RAW_PROTOCOL_H_
