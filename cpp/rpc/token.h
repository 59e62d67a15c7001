// The cluster token: a random secret the head creates; every RPC on a
// node's port carries it as metadata, and calls without it are refused.
#ifndef FLARE_RPC_TOKEN_H_
#define FLARE_RPC_TOKEN_H_

#include <optional>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"

namespace flare {

inline constexpr char kTokenMetadataKey[] = "flare-token";

// 32 random bytes from the kernel, as 64 hex digits.
absl::StatusOr<std::string> NewClusterToken();

// OK when the call carries `token`; otherwise UNAUTHENTICATED with a message
// saying whether the token was missing or wrong. Compares in constant time.
grpc::Status CheckToken(const grpc::CallbackServerContext& context, const std::string& token);

// The same check for a token carried outside gRPC metadata (nullopt: none
// was presented).
grpc::Status CheckPresentedToken(std::optional<std::string_view> presented,
                                 const std::string& token);

// Adds `token` to a call's metadata.
void AttachToken(grpc::ClientContext& context, const std::string& token);

}  // namespace flare

#endif  // FLARE_RPC_TOKEN_H_
