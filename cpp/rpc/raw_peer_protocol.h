// The bytes of a raw link between two raylets (the default control
// transport between nodes, DESIGN deviation in cpp/rpc/README.md), on the
// node's one port beside gRPC (SharedPort tells them apart by the magic):
//
//   dialing node:   "FLAREPR1" [u32 n][n bytes: the cluster token]
//                   then frames [u32 n][rpc::Message] (common/framing.h)
//   answering node: [u32 code][u32 n][n bytes: message]   (code 0: accepted)
//                   then frames [u32 n][rpc::Message]
//
// All integers little-endian. The dialing node sends its frames right after
// its hello without waiting for the answer; the answering node reads none
// of them unless the token is right. A refused hello gets the reason (a
// gRPC status code and message) and the connection closes.
#ifndef FLARE_RPC_RAW_PEER_PROTOCOL_H_
#define FLARE_RPC_RAW_PEER_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace flare {

inline constexpr char kRawPeerMagic[] = "FLAREPR1";
inline constexpr size_t kRawPeerMagicBytes = 8;
// The longest token a node reads in a hello (tokens are 64 hex digits).
inline constexpr uint32_t kMaxRawPeerTokenBytes = 1024;
// The longest refusal a dialing node reads.
inline constexpr uint32_t kMaxRawPeerRefusalBytes = 64 << 10;
// The magic and the token's length; the token follows.
inline constexpr size_t kRawPeerHelloHeaderBytes = kRawPeerMagicBytes + 4;
// The code and the message's length; the message follows.
inline constexpr size_t kRawPeerAnswerHeaderBytes = 8;

void PutU32(uint32_t value, std::string* out);
uint32_t GetU32(const char* in);

// The magic, then the token.
std::string EncodePeerHello(const std::string& token);

// OK: the hello was accepted; otherwise the refusal.
std::string EncodePeerAnswer(const absl::Status& answer);

// "host:port" (host may be "[v6]") split in two; InvalidArgument naming
// the address when it is not of that form.
absl::Status SplitHostPort(const std::string& address, std::string* host, std::string* port);

}  // namespace flare

#endif  // FLARE_RPC_RAW_PEER_PROTOCOL_H_
