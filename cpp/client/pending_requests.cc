#include "client/pending_requests.h"

#include <utility>
#include <vector>

#include "google/protobuf/descriptor.h"

namespace flare {

namespace {

using google::protobuf::FieldDescriptor;

// For one kind of message body: the body field of the envelope and the
// body's request_id field (nullptr when it has none).
struct RequestIdField {
  const FieldDescriptor* body = nullptr;
  const FieldDescriptor* request_id = nullptr;
};

// Indexed by the body's field number (Message::body_case()); read from the
// schema once.
const std::vector<RequestIdField>& RequestIdFields() {
  static const std::vector<RequestIdField> fields = [] {
    std::vector<RequestIdField> table;
    const auto* envelope = rpc::Message::descriptor();
    const auto* body = envelope->FindOneofByName("body");
    for (int i = 0; i < body->field_count(); ++i) {
      const FieldDescriptor* field = body->field(i);
      if (field->type() != FieldDescriptor::TYPE_MESSAGE) continue;
      const FieldDescriptor* id = field->message_type()->FindFieldByName("request_id");
      if (id == nullptr || id->type() != FieldDescriptor::TYPE_UINT64) continue;
      if (table.size() <= static_cast<size_t>(field->number())) table.resize(field->number() + 1);
      table[field->number()] = {field, id};
    }
    return table;
  }();
  return fields;
}

const RequestIdField* FieldOf(const rpc::Message& message) {
  const auto& fields = RequestIdFields();
  const size_t kind = static_cast<size_t>(message.body_case());
  if (kind >= fields.size() || fields[kind].request_id == nullptr) return nullptr;
  return &fields[kind];
}

}  // namespace

uint64_t RequestIdOf(const rpc::Message& message) {
  const RequestIdField* field = FieldOf(message);
  if (field == nullptr) return 0;
  const auto& body = message.GetReflection()->GetMessage(message, field->body);
  return body.GetReflection()->GetUInt64(body, field->request_id);
}

bool SetRequestId(rpc::Message* message, uint64_t id) {
  const RequestIdField* field = FieldOf(*message);
  if (field == nullptr) return false;
  auto* body = message->GetReflection()->MutableMessage(message, field->body);
  body->GetReflection()->SetUInt64(body, field->request_id, id);
  return true;
}

uint64_t PendingRequests::Add() {
  const uint64_t id = next_id_++;
  replies_.emplace(id, std::nullopt);
  return id;
}

bool PendingRequests::Complete(uint64_t id, rpc::Message reply) {
  auto it = replies_.find(id);
  if (it == replies_.end() || it->second.has_value()) return false;
  it->second = std::move(reply);
  return true;
}

bool PendingRequests::HasReply(uint64_t id) const {
  auto it = replies_.find(id);
  return it != replies_.end() && it->second.has_value();
}

std::optional<rpc::Message> PendingRequests::Take(uint64_t id) {
  auto it = replies_.find(id);
  if (it == replies_.end()) return std::nullopt;
  std::optional<rpc::Message> reply = std::move(it->second);
  replies_.erase(it);
  return reply;
}

}  // namespace flare
