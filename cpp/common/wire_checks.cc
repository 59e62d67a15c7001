#include "common/wire_checks.h"

#include <cmath>
#include <sstream>

namespace flare {

absl::Status CheckIdLength(std::string_view binary, size_t size, std::string_view what,
                           bool may_be_empty) {
  if (binary.size() == size || (may_be_empty && binary.empty())) return absl::OkStatus();
  return absl::InvalidArgumentError(std::string(what) + " must be an id of " +
                                    std::to_string(size) + " bytes" +
                                    (may_be_empty ? " or empty" : "") + ", not " +
                                    std::to_string(binary.size()));
}

absl::Status CheckResourceAmounts(const rpc::ResourceSet& resources, std::string_view what) {
  for (const auto& [name, amount] : resources.amounts()) {
    if (std::isfinite(amount) && amount >= 0 && amount <= kMaxResourceAmount) continue;
    std::ostringstream message;
    message << what << " has " << amount << " of resource '" << name
            << "': amounts must be finite, at least 0 and at most " << kMaxResourceAmount;
    return absl::InvalidArgumentError(message.str());
  }
  return absl::OkStatus();
}

}  // namespace flare
