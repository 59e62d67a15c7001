#include "rpc/token.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace flare {

absl::StatusOr<std::string> NewClusterToken() {
  unsigned char bytes[32];
  size_t filled = 0;
  while (filled < sizeof(bytes)) {
    const ssize_t n = getrandom(bytes + filled, sizeof(bytes) - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(std::string("cannot make a cluster token: ") +
                                 std::strerror(errno));
    }
    filled += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char byte : bytes) {
    token.push_back(kHex[byte >> 4]);
    token.push_back(kHex[byte & 15]);
  }
  return token;
}

namespace {

// Whether `presented` is `token`, in time that depends on their lengths only.
bool TokenMatches(std::string_view presented, const std::string& token) {
  if (presented.size() != token.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(presented[i]) ^ static_cast<unsigned char>(token[i]);
  }
  return diff == 0;
}

}  // namespace

grpc::Status CheckPresentedToken(std::optional<std::string_view> presented,
                                 const std::string& token) {
  if (!presented) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing cluster token: pass the head's token (flare start --token, "
                        "printed when the head started)");
  }
  if (!TokenMatches(*presented, token)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "wrong cluster token: use the one the head printed when it started "
                        "(also in its session directory, file 'cluster_token')");
  }
  return grpc::Status::OK;
}

grpc::Status CheckToken(const grpc::CallbackServerContext& context, const std::string& token) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kTokenMetadataKey);
  if (it == metadata.end()) return CheckPresentedToken(std::nullopt, token);
  return CheckPresentedToken(std::string_view(it->second.data(), it->second.size()), token);
}

void AttachToken(grpc::ClientContext& context, const std::string& token) {
  context.AddMetadata(kTokenMetadataKey, token);
}

}  // namespace flare
