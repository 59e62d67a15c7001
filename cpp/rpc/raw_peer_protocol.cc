#include "rpc/raw_peer_protocol.h"

#include <algorithm>

namespace flare {

void PutU32(uint32_t value, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint32_t GetU32(const char* in) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  return value;
}

std::string EncodePeerHello(const std::string& token) {
  std::string hello(kRawPeerMagic, kRawPeerMagicBytes);
  PutU32(static_cast<uint32_t>(token.size()), &hello);
  hello += token;
  return hello;
}

std::string EncodePeerAnswer(const absl::Status& answer) {
  const std::string message(answer.message().substr(
      0, std::min<size_t>(answer.message().size(), kMaxRawPeerRefusalBytes)));
  std::string bytes;
  PutU32(static_cast<uint32_t>(answer.code()), &bytes);
  PutU32(static_cast<uint32_t>(message.size()), &bytes);
  bytes += message;
  return bytes;
}

absl::Status SplitHostPort(const std::string& address, std::string* host, std::string* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return absl::InvalidArgumentError("'" + address + "' is not host:port");
  }
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return absl::OkStatus();
}

}  // namespace flare
