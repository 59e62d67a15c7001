// Checks of fields that arrive from another process (a peer node, a local
// client) before they become typed values: ids of the right length, and
// resource amounts the raylet can count with. They run where a message
// enters (cpp/raylet/message_checks.h, cpp/gcs/gcs_wire.h), so that the
// code behind may take `FixedId::FromBinary` and `ResourceSet` at their word.
//
// Each returns InvalidArgument naming the field (`what`) and what was wrong.
#ifndef FLARE_COMMON_WIRE_CHECKS_H_
#define FLARE_COMMON_WIRE_CHECKS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "flare.pb.h"

namespace flare {

// The largest amount of one resource a message may carry: the raylet counts
// resources in fixed point (1/10000 units in an int64), and adds up many
// nodes' amounts. 1e14 leaves room for both (and is 100 TB of memory).
inline constexpr double kMaxResourceAmount = 1e14;

// OK when `binary` has `size` bytes, or is empty and `may_be_empty`.
absl::Status CheckIdLength(std::string_view binary, size_t size, std::string_view what,
                           bool may_be_empty = false);

template <typename Id>
absl::Status CheckId(std::string_view binary, std::string_view what, bool may_be_empty = false) {
  return CheckIdLength(binary, Id::kSize, what, may_be_empty);
}

// Every id of a repeated bytes field.
template <typename Id, typename Repeated>
absl::Status CheckIds(const Repeated& ids, std::string_view what) {
  for (const auto& id : ids) {
    if (absl::Status status = CheckId<Id>(id, what); !status.ok()) return status;
  }
  return absl::OkStatus();
}

// OK when every amount is a finite number in [0, kMaxResourceAmount].
absl::Status CheckResourceAmounts(const rpc::ResourceSet& resources, std::string_view what);

}  // namespace flare

#endif  // FLARE_COMMON_WIRE_CHECKS_H_
