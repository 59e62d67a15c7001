#include "rpc/client_stream.h"

#include <iostream>

namespace flare {

void LogStreamEnd(const std::string& peer, const std::string& address, const absl::Status& why) {
  std::cerr << "flare-raylet: ending the stream with the " << peer << " at " << address << ": "
            << why.message() << "\n";
}

absl::Status FromGrpc(const grpc::Status& status, const std::string& address,
                      const std::string& peer) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return absl::UnavailableError("the " + peer + " at " + address + " closed the connection");
    case grpc::StatusCode::UNAVAILABLE:
      return absl::UnavailableError("no flare " + peer + " answered at " + address + " (" +
                                    status.error_message() + ")");
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::UnauthenticatedError("the " + peer + " at " + address +
                                        " refused this node: " + status.error_message());
    case grpc::StatusCode::CANCELLED:
      return absl::CancelledError("the connection to " + address + " was cancelled");
    default:
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          "the " + peer + " at " + address + ": " + status.error_message());
  }
}

}  // namespace flare
