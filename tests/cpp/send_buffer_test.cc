// Specification of the send buffer under a socket that takes a little at a
// time: what is unsent never moves between partial sends, and bytes leave in
// the order they were queued. No socket involved.
#include "common/send_buffer.h"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

namespace flare {
namespace {

std::string Pattern(size_t size, char seed) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(seed + i % 251);
  return bytes;
}

TEST(SendBufferTest, PartialSendsLeaveTheUnsentRestInPlace) {
  const std::string message = Pattern(8 << 20, 'a');
  SendBuffer buffer;
  buffer.Append(std::string(message));
  constexpr size_t kTaken = 64 * 1024;  // what the socket takes per write
  std::string received;
  while (!buffer.empty()) {
    const char* before = buffer.data();
    const size_t n = std::min(kTaken, buffer.size());
    received.append(before, n);
    buffer.Consume(n);
    if (!buffer.empty()) {
      ASSERT_EQ(buffer.data(), before + n)
          << "the unsent rest was copied after a partial send of " << n << " bytes";
    }
  }
  EXPECT_TRUE(received == message) << "bytes arrived out of order or altered";
}

TEST(SendBufferTest, AnEmptyBufferTakesTheMessageWithoutCopyingIt) {
  std::string message = Pattern(1 << 20, 'b');
  const char* storage = message.data();
  SendBuffer buffer;
  buffer.Append(std::move(message));
  EXPECT_EQ(buffer.data(), storage);
  EXPECT_EQ(buffer.size(), size_t{1} << 20);
}

TEST(SendBufferTest, MessagesQueuedBetweenPartialSendsLeaveInOrder) {
  SendBuffer buffer;
  std::string expected;
  std::string received;
  for (int i = 0; i < 200; ++i) {
    std::string message = Pattern(1000 + 37 * i, static_cast<char>('A' + i % 26));
    expected += message;
    buffer.Append(std::move(message));
    // The socket takes less than was queued: a backlog builds up and is
    // reclaimed from the front as it goes.
    const size_t n = std::min<size_t>(buffer.size(), 700 + 13 * i);
    received.append(buffer.data(), n);
    buffer.Consume(n);
  }
  while (!buffer.empty()) {
    const size_t n = std::min<size_t>(buffer.size(), 4096);
    received.append(buffer.data(), n);
    buffer.Consume(n);
  }
  EXPECT_TRUE(received == expected) << "bytes arrived out of order or altered";
}

TEST(SendBufferTest, ConsumingEverythingEmptiesTheBuffer) {
  SendBuffer buffer;
  EXPECT_TRUE(buffer.empty());
  buffer.Append("abc");
  buffer.Append("");
  EXPECT_EQ(buffer.size(), 3u);
  buffer.Consume(3);
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.size(), 0u);
  buffer.Append("de");
  EXPECT_EQ(std::string(buffer.data(), buffer.size()), "de");
}

}  // namespace
}  // namespace flare
