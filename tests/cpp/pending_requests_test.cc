// Specification of the client's table of pending requests, and of the
// request id every request and reply carries.
#include "client/pending_requests.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "google/protobuf/descriptor.h"

namespace flare {
namespace {

rpc::Message KvReply(uint64_t id, const std::string& value) {
  rpc::Message reply;
  reply.mutable_kv_reply()->set_request_id(id);
  reply.mutable_kv_reply()->set_value(value);
  return reply;
}

TEST(PendingRequestsTest, RequestIdsAreNeverZeroOrReused) {
  PendingRequests pending;
  std::set<uint64_t> ids;
  for (int i = 0; i < 100; ++i) {
    const uint64_t id = pending.Add();
    EXPECT_NE(id, 0u) << "0 means no request id on the wire";
    EXPECT_TRUE(ids.insert(id).second) << "id " << id << " handed out twice";
    pending.Take(id);
  }
}

TEST(PendingRequestsTest, AReplyIsKeptUntilItsCallerTakesIt) {
  PendingRequests pending;
  const uint64_t id = pending.Add();
  EXPECT_FALSE(pending.HasReply(id));
  EXPECT_TRUE(pending.Complete(id, KvReply(id, "v")));
  EXPECT_TRUE(pending.HasReply(id));
  std::optional<rpc::Message> reply = pending.Take(id);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->kv_reply().value(), "v");
  EXPECT_EQ(pending.size(), 0u);
}

TEST(PendingRequestsTest, RepliesGoToTheirOwnRequests) {
  PendingRequests pending;
  const uint64_t first = pending.Add();
  const uint64_t second = pending.Add();
  pending.Complete(second, KvReply(second, "second"));
  pending.Complete(first, KvReply(first, "first"));
  EXPECT_EQ(pending.Take(first)->kv_reply().value(), "first");
  EXPECT_EQ(pending.Take(second)->kv_reply().value(), "second");
}

TEST(PendingRequestsTest, AReplyNobodyWaitsForIsDropped) {
  PendingRequests pending;
  const uint64_t id = pending.Add();
  EXPECT_FALSE(pending.Take(id).has_value()) << "the caller gave up before the reply";
  EXPECT_FALSE(pending.Complete(id, KvReply(id, "late")));
  EXPECT_FALSE(pending.Complete(12345, KvReply(12345, "unknown")));
  EXPECT_EQ(pending.size(), 0u);
}

TEST(PendingRequestsTest, OnlyTheFirstReplyToARequestCounts) {
  PendingRequests pending;
  const uint64_t id = pending.Add();
  EXPECT_TRUE(pending.Complete(id, KvReply(id, "first")));
  EXPECT_FALSE(pending.Complete(id, KvReply(id, "second")));
  EXPECT_EQ(pending.Take(id)->kv_reply().value(), "first");
}

TEST(RequestIdTest, IsWrittenAndReadForEveryKindOfRequest) {
  rpc::Message kv_get;
  kv_get.mutable_kv_get()->set_key("k");
  rpc::Message ping;
  ping.mutable_ping();
  rpc::Message create;
  create.mutable_create_object()->set_size(10);
  for (rpc::Message* request : {&kv_get, &ping, &create}) {
    ASSERT_TRUE(SetRequestId(request, 42)) << request->ShortDebugString();
    EXPECT_EQ(RequestIdOf(*request), 42u) << request->ShortDebugString();
  }
  EXPECT_EQ(kv_get.kv_get().key(), "k") << "the rest of the body is untouched";
  EXPECT_EQ(create.create_object().size(), 10u);
}

TEST(RequestIdTest, MessagesThatAreNeitherRequestsNorRepliesCarryNone) {
  rpc::Message submit;
  submit.mutable_submit_task();
  EXPECT_FALSE(SetRequestId(&submit, 7));
  EXPECT_EQ(RequestIdOf(submit), 0u);
  rpc::Message ready;
  ready.mutable_object_ready()->set_object_id("x");
  EXPECT_EQ(RequestIdOf(ready), 0u);
  EXPECT_EQ(RequestIdOf(rpc::Message()), 0u) << "an empty envelope";
}

// Every reply kind must carry a request id, or the client cannot tell whose
// reply it is: a new *_reply message without one fails here.
TEST(RequestIdTest, EveryReplyKindCarriesOne) {
  const auto* body = rpc::Message::descriptor()->FindOneofByName("body");
  ASSERT_NE(body, nullptr);
  int replies = 0;
  for (int i = 0; i < body->field_count(); ++i) {
    const auto* field = body->field(i);
    const std::string& name = field->name();
    const bool is_reply =
        name == "pong" || (name.size() > 6 && name.substr(name.size() - 6) == "_reply");
    if (!is_reply || name == "register_reply") continue;  // the handshake precedes the table
    rpc::Message reply;
    reply.GetReflection()->MutableMessage(&reply, field);
    ASSERT_TRUE(SetRequestId(&reply, 1000 + i)) << name << " carries no request_id";
    EXPECT_EQ(RequestIdOf(reply), static_cast<uint64_t>(1000 + i)) << name;
    replies++;
  }
  EXPECT_GE(replies, 9) << "the schema's reply kinds were not found";
}

}  // namespace
}  // namespace flare
