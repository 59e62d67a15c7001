// Specification of the local socket's length-prefixed framing.
#include "common/framing.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/ids.h"

namespace flare {
namespace {

rpc::Message SubmitMessage(int i) {
  rpc::Message message;
  rpc::TaskSpec* spec = message.mutable_submit_task()->mutable_spec();
  spec->set_task_id(TaskId::FromRandom().Binary());
  spec->set_function_key("fn:" + std::to_string(i));
  spec->set_function_name("f");
  spec->set_args(std::string(static_cast<size_t>(i % 50), 'x'));
  spec->set_num_returns(1);
  (*spec->mutable_resources()->mutable_amounts())["CPU"] = 1;
  return message;
}

std::vector<rpc::Message> SomeMessages() {
  std::vector<rpc::Message> messages;
  for (int i = 0; i < 20; ++i) messages.push_back(SubmitMessage(i));
  rpc::Message ping;
  ping.mutable_ping()->set_request_id(7);
  messages.push_back(ping);
  messages.push_back(rpc::Message());  // an empty body frames to 0 bytes
  return messages;
}

std::string Encode(const std::vector<rpc::Message>& messages) {
  std::string bytes;
  for (const rpc::Message& message : messages) AppendFrame(message, &bytes);
  return bytes;
}

// Feeds `bytes` to a decoder `chunk` bytes at a time, collecting messages.
std::vector<rpc::Message> Decode(const std::string& bytes, size_t chunk) {
  FrameDecoder decoder;
  std::vector<rpc::Message> out;
  for (size_t at = 0; at < bytes.size(); at += chunk) {
    decoder.Append(bytes.data() + at, std::min(chunk, bytes.size() - at));
    rpc::Message message;
    absl::Status status;
    while (decoder.Next(&message, &status)) out.push_back(message);
    EXPECT_TRUE(status.ok()) << status;
  }
  EXPECT_EQ(decoder.buffered(), 0u);
  return out;
}

void ExpectSame(const std::vector<rpc::Message>& expected,
                const std::vector<rpc::Message>& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i].SerializeAsString(), actual[i].SerializeAsString())
        << "message " << i << " differs";
  }
}

TEST(FramingTest, LengthPrefixIsFourLittleEndianBytes) {
  rpc::Message ping;
  ping.mutable_ping()->set_request_id(1);
  std::string bytes;
  AppendFrame(ping, &bytes);
  const size_t body = ping.ByteSizeLong();
  ASSERT_EQ(bytes.size(), 4 + body);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), body);
  EXPECT_EQ(bytes.substr(1, 3), std::string(3, '\0'));
}

TEST(FramingTest, SeveralFramesInOneBufferRoundTrip) {
  const std::vector<rpc::Message> messages = SomeMessages();
  const std::string bytes = Encode(messages);
  ExpectSame(messages, Decode(bytes, bytes.size()));
}

TEST(FramingTest, FramesFedByteByByteRoundTrip) {
  const std::vector<rpc::Message> messages = SomeMessages();
  ExpectSame(messages, Decode(Encode(messages), 1));
}

TEST(FramingTest, FramesFedInUnevenChunksRoundTrip) {
  const std::vector<rpc::Message> messages = SomeMessages();
  const std::string bytes = Encode(messages);
  for (size_t chunk : {2, 3, 5, 7, 13, 64, 1000}) {
    SCOPED_TRACE("chunk of " + std::to_string(chunk));
    ExpectSame(messages, Decode(bytes, chunk));
  }
}

TEST(FramingTest, PartialFrameWaitsForTheRestAndKeepsItsBytes) {
  std::string bytes;
  AppendFrame(SubmitMessage(10), &bytes);
  FrameDecoder decoder;
  decoder.Append(bytes.data(), bytes.size() - 1);
  rpc::Message message;
  absl::Status status;
  EXPECT_FALSE(decoder.Next(&message, &status));
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(decoder.buffered(), bytes.size() - 1);
  decoder.Append(bytes.data() + bytes.size() - 1, 1);
  EXPECT_TRUE(decoder.Next(&message, &status));
  EXPECT_TRUE(message.has_submit_task());
}

// Several MiB through one decoder, so that it compacts its buffer while a
// partial frame is pending.
TEST(FramingTest, LongStreamSurvivesBufferCompaction) {
  std::vector<rpc::Message> messages;
  for (int i = 0; i < 200; ++i) {
    rpc::Message message = SubmitMessage(i);
    message.mutable_submit_task()->mutable_spec()->set_args(std::string(20000 + i, 'a' + i % 26));
    messages.push_back(message);
  }
  ExpectSame(messages, Decode(Encode(messages), 4099));
}

TEST(FramingTest, OversizedLengthPrefixIsAnError) {
  const uint32_t length = kMaxFrameSize + 1;
  std::string bytes(reinterpret_cast<const char*>(&length), 4);
  FrameDecoder decoder;
  decoder.Append(bytes.data(), bytes.size());
  rpc::Message message;
  absl::Status status;
  EXPECT_FALSE(decoder.Next(&message, &status));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("exceeds"), std::string::npos) << status;
}

TEST(FramingTest, MalformedBodyIsAnError) {
  const uint32_t length = 3;
  std::string bytes(reinterpret_cast<const char*>(&length), 4);
  bytes += "\xff\xff\xff";
  FrameDecoder decoder;
  decoder.Append(bytes.data(), bytes.size());
  rpc::Message message;
  absl::Status status;
  EXPECT_FALSE(decoder.Next(&message, &status));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace flare
