// Specification of the Redis GCS store: RESP encoding and parsing without a
// socket, redis:// URLs, then the Store contract and a GCS restart against
// a real redis-server (Debian's `redis-server`) the test starts on a free
// port and stops. Those tests are skipped, saying why, only when the
// redis-server binary is absent.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "gcs/gcs.h"
#include "gcs/redis_store.h"
#include "gcs/resp_connection.h"
#include "store_contract.h"

namespace flare {
namespace {

TEST(RespTest, CommandsAreArraysOfBulkStrings) {
  EXPECT_EQ(EncodeRespCommand({"HGET", "h", std::string("\0k", 2)}),
            std::string("*3\r\n$4\r\nHGET\r\n$1\r\nh\r\n$2\r\n\0k\r\n", 29));
}

TEST(RespTest, RepliesOfEveryKindParseAcrossSplitReads) {
  RespParser parser;
  const std::string bytes = "+OK\r\n-ERR no\r\n:42\r\n$3\r\na\r\n\r\n$-1\r\n*2\r\n$1\r\nx\r\n:7\r\n";
  for (char c : bytes) parser.Feed(&c, 1);  // the worst split: a byte at a time
  auto next = [&parser] { return *parser.Next().value(); };
  RespValue ok = next();
  EXPECT_EQ(ok.kind, RespValue::kSimple);
  EXPECT_EQ(ok.text, "OK");
  RespValue error = next();
  EXPECT_EQ(error.kind, RespValue::kError);
  EXPECT_EQ(error.text, "ERR no");
  EXPECT_EQ(next().integer, 42);
  RespValue bulk = next();
  EXPECT_EQ(bulk.kind, RespValue::kBulk);
  EXPECT_EQ(bulk.text, "a\r\n") << "bulk strings are binary: their length decides";
  EXPECT_EQ(next().kind, RespValue::kNil);
  RespValue array = next();
  ASSERT_EQ(array.kind, RespValue::kArray);
  ASSERT_EQ(array.elements.size(), 2u);
  EXPECT_EQ(array.elements[0].text, "x");
  EXPECT_EQ(array.elements[1].integer, 7);
  EXPECT_FALSE(parser.Next().value().has_value()) << "nothing more was received";
}

TEST(RespTest, AnIncompleteReplyWaitsAndGarbageIsDataLoss) {
  RespParser parser;
  parser.Feed("$5\r\nab", 6);
  EXPECT_FALSE(parser.Next().value().has_value());
  parser.Feed("cde\r\n", 5);
  EXPECT_EQ(parser.Next().value()->text, "abcde");
  RespParser garbage;
  garbage.Feed("?what\r\n", 7);
  EXPECT_TRUE(absl::IsDataLoss(garbage.Next().status()));
}

TEST(RedisUrlTest, HostPortAndPrefix) {
  RedisAddress address = ParseRedisUrl("redis://10.0.0.2:7000/mycluster").value();
  EXPECT_EQ(address.host, "10.0.0.2");
  EXPECT_EQ(address.port, 7000);
  EXPECT_EQ(address.prefix, "mycluster");
  address = ParseRedisUrl("redis://localhost").value();
  EXPECT_EQ(address.port, 6379);
  EXPECT_EQ(address.prefix, "flare");
  EXPECT_TRUE(absl::IsInvalidArgument(ParseRedisUrl("redis://h:0").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseRedisUrl("http://h:1").status()));
}

// The redis-server binary, or "" when it is not installed.
std::string RedisServerBinary() {
  for (const char* candidate : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  return "";
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A redis-server of this test's own, without persistence, on a free port.
class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = RedisServerBinary();
    if (binary_.empty()) GTEST_SKIP() << "redis-server is not installed (Debian: redis-server)";
    char pattern[] = "/tmp/flare-redis-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    address_.host = "127.0.0.1";
    address_.port = FreePort();
    StartRedis();
  }
  void TearDown() override {
    StopRedis();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void StartRedis() {
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(address_.port);
      ::execl(binary_.c_str(), binary_.c_str(), "--port", port.c_str(), "--bind", "127.0.0.1",
              "--save", "", "--appendonly", "no", "--dir", dir_.c_str(), "--logfile",
              (dir_ + "/redis.log").c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ASSERT_GT(pid_, 0);
    // Ready once it answers; a server that exits (port taken) ends the wait.
    for (int attempt = 0; attempt < 500; ++attempt) {
      if (RedisStore::Open(address_, std::chrono::milliseconds(200)).ok()) return;
      int status = 0;
      ASSERT_EQ(::waitpid(pid_, &status, WNOHANG), 0) << "redis-server exited";
      ::usleep(10000);
    }
    FAIL() << "redis-server did not answer on port " << address_.port;
  }
  void StopRedis() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::unique_ptr<RedisStore> Open(const std::string& prefix = "flare") {
    RedisAddress address = address_;
    address.prefix = prefix;
    absl::StatusOr<std::unique_ptr<RedisStore>> store =
        RedisStore::Open(address, std::chrono::seconds(5));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::string binary_;
  std::string dir_;
  RedisAddress address_;
  pid_t pid_ = -1;
};

TEST_F(RedisStoreTest, KeepsTheStoreContract) {
  std::unique_ptr<RedisStore> store = Open();
  ASSERT_NE(store, nullptr);
  testing::CheckStoreContract(*store);
}

TEST_F(RedisStoreTest, PrefixesKeepClustersApart) {
  std::unique_ptr<RedisStore> one = Open("one");
  std::unique_ptr<RedisStore> two = Open("two");
  ASSERT_TRUE(one->Put("kv", "k", "1", true).ok());
  EXPECT_EQ(two->Get("kv", "k").value(), std::nullopt);
  EXPECT_EQ(Open("one")->Get("kv", "k").value(), "1");
}

TEST_F(RedisStoreTest, TheGcsRecoversItsStateFromRedis) {
  const ActorId actor = ActorId::FromRandom();
  {
    Gcs first(Open());
    ASSERT_TRUE(first.KvPut("fn:1", "pickled function", true).ok());
    rpc::ActorInfo named;
    named.set_actor_id(actor.Binary());
    named.set_name("counter");
    ASSERT_TRUE(first.RegisterActor(named).ok());
    ASSERT_TRUE(first.ReportActorState(actor, rpc::ACTOR_ALIVE).ok());
  }
  Gcs second(Open());
  ASSERT_TRUE(second.Recover().ok());
  EXPECT_EQ(second.KvGet("fn:1").value(), "pickled function");
  ASSERT_TRUE(second.LookupNamedActor("", "counter").has_value());
  EXPECT_EQ(second.LookupNamedActor("", "counter")->state(), rpc::ACTOR_ALIVE);
}

TEST_F(RedisStoreTest, ARedisThatWentFailsCallsAndOneThatCameBackServesThemAgain) {
  std::unique_ptr<RedisStore> store = Open();
  ASSERT_TRUE(store->Put("kv", "k", "1", true).ok());
  StopRedis();
  absl::StatusOr<std::optional<std::string>> lost = store->Get("kv", "k");
  ASSERT_FALSE(lost.ok()) << "no answer, no value";
  EXPECT_TRUE(absl::IsUnavailable(lost.status())) << lost.status();
  EXPECT_NE(lost.status().message().find(std::to_string(address_.port)), std::string::npos)
      << "the error names the Redis: " << lost.status();
  StartRedis();  // empty: this one keeps nothing
  EXPECT_TRUE(store->Put("kv", "k", "2", true).ok()) << "the store reconnects";
  EXPECT_EQ(store->Get("kv", "k").value(), "2");
}

}  // namespace
}  // namespace flare
