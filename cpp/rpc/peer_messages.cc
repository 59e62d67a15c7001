#include "rpc/peer_messages.h"

#include <algorithm>
#include <iostream>
#include <string>
#include <utility>

#include "common/ids.h"

namespace flare {

namespace {

// What a field adds to its message beyond its payload: a tag and a length
// prefix, generously.
constexpr size_t kFieldOverhead = 16;

// Splits `items` into runs of at most `budget` bytes each (a single larger
// item alone) and calls `emit` with each run.
template <typename Items, typename Emit>
void SplitList(const Items& items, size_t budget, Emit&& emit) {
  std::vector<const std::string*> run;
  size_t bytes = 0;
  for (const std::string& item : items) {
    const size_t size = item.size() + kFieldOverhead;
    if (!run.empty() && bytes + size > budget) {
      emit(run);
      run.clear();
      bytes = 0;
    }
    run.push_back(&item);
    bytes += size;
  }
  if (!run.empty()) emit(run);
}

std::string FieldName(const rpc::Message& message) {
  const auto* field = rpc::Message::descriptor()->FindFieldByNumber(message.body_case());
  return field != nullptr ? field->name() : "an empty message";
}

// The value is replaced by an error the reader raises at get.
void ReplaceByError(rpc::ObjectData& data, size_t message_bytes, size_t max_bytes) {
  const std::string id = data.object_id().size() == ObjectId::kSize
                             ? ObjectId::FromBinary(data.object_id()).Hex()
                             : std::string("?");
  data.clear_inline_data();
  data.clear_contained_refs();
  data.set_error(rpc::OBJECT_LOST);
  data.set_error_message("object " + id + " could not be sent to another node: its value is " +
                         std::to_string(message_bytes) + " bytes inline, more than the " +
                         std::to_string(max_bytes) + " one message between nodes may carry");
}

}  // namespace

size_t PeerBatching::Pack(std::deque<rpc::Message>& queue, std::deque<size_t>& sizes,
                          size_t budget, rpc::Message* out) {
  budget = std::min(budget, kPeerBatchBytes);
  size_t count = 0;
  size_t bytes = 0;  // with each field's overhead
  size_t taken = 0;
  while (count < queue.size() && (count == 0 || bytes + sizes[count] + kFieldOverhead <= budget)) {
    bytes += sizes[count] + kFieldOverhead;
    taken += sizes[count];
    ++count;
  }
  if (count == 1) {
    *out = std::move(queue.front());
  } else {
    auto* messages = out->mutable_batch()->mutable_messages();
    messages->Reserve(static_cast<int>(count));
    for (size_t i = 0; i < count; ++i) *messages->Add() = std::move(queue[i]);
  }
  queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(count));
  sizes.erase(sizes.begin(), sizes.begin() + static_cast<std::ptrdiff_t>(count));
  return taken;
}

bool IsHousekeeping(const rpc::Message& message) {
  switch (message.body_case()) {
    case rpc::Message::kReleasePins:
      return true;
    case rpc::Message::kRefUpdate:
      return message.ref_update().add().empty();  // only releases
    default:
      return false;
  }
}

absl::StatusOr<std::vector<rpc::Message>> FitForPeer(rpc::Message message, size_t max_bytes) {
  const size_t bytes = message.ByteSizeLong();
  std::vector<rpc::Message> out;
  if (bytes <= max_bytes) {
    out.push_back(std::move(message));
    return out;
  }
  // Lists are split with room to spare for the message's other fields.
  const size_t budget = max_bytes / 2;
  switch (message.body_case()) {
    case rpc::Message::kRefUpdate: {
      const rpc::RefUpdate& update = message.ref_update();
      SplitList(update.add(), budget, [&](const auto& run) {
        auto* piece = out.emplace_back().mutable_ref_update();
        for (const std::string* id : run) piece->add_add(*id);
      });
      SplitList(update.remove(), budget, [&](const auto& run) {
        auto* piece = out.emplace_back().mutable_ref_update();
        for (const std::string* id : run) piece->add_remove(*id);
      });
      return out;
    }
    case rpc::Message::kReleasePins:
      SplitList(message.release_pins().object_ids(), budget, [&](const auto& run) {
        auto* piece = out.emplace_back().mutable_release_pins();
        for (const std::string* id : run) piece->add_object_ids(*id);
      });
      return out;
    case rpc::Message::kSubscribe:
      SplitList(message.subscribe().object_ids(), budget, [&](const auto& run) {
        auto* piece = out.emplace_back().mutable_subscribe();
        for (const std::string* id : run) piece->add_object_ids(*id);
      });
      return out;
    case rpc::Message::kLogLines: {
      rpc::LogLines& lines = *message.mutable_log_lines();
      for (std::string& line : *lines.mutable_lines()) {
        if (line.size() > budget) {
          line.resize(budget);
          line += " [line cut: too long to send to another node]";
        }
      }
      SplitList(lines.lines(), budget, [&](const auto& run) {
        auto* piece = out.emplace_back().mutable_log_lines();
        piece->set_job_id(lines.job_id());
        piece->set_prefix(lines.prefix());
        piece->set_is_stderr(lines.is_stderr());
        for (const std::string* line : run) piece->add_lines(*line);
      });
      return out;
    }
    case rpc::Message::kObjectReady:
      ReplaceByError(*message.mutable_object_ready(), bytes, max_bytes);
      break;
    case rpc::Message::kPutInline:
      ReplaceByError(*message.mutable_put_inline()->mutable_data(), bytes, max_bytes);
      message.mutable_put_inline()->clear_contained_refs();
      break;
    default:
      return absl::ResourceExhaustedError(
          "a " + FieldName(message) + " message of " + std::to_string(bytes) +
          " bytes is more than the " + std::to_string(max_bytes) +
          " one message between nodes may carry");
  }
  if (message.ByteSizeLong() > max_bytes) {  // an error message that large: not ours
    return absl::ResourceExhaustedError("a " + FieldName(message) + " message of " +
                                        std::to_string(bytes) + " bytes cannot be sent");
  }
  out.push_back(std::move(message));
  return out;
}

void LogDropped(const char* stream, const absl::Status& why) {
  std::cerr << "flare-raylet: not sent on " << stream << ": " << why.message() << "\n";
}

}  // namespace flare
