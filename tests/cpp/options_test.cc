// Specification of flare-raylet's command line and its --resources JSON.
#include "raylet/options.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace flare {
namespace {

using Amounts = std::map<std::string, double>;

TEST(ParseResourceJsonTest, AcceptsAFlatObjectOfNumbers) {
  auto parsed = ParseResourceJson(R"({"a": 1, "b": 0.5})");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, (Amounts{{"a", 1}, {"b", 0.5}}));
}

TEST(ParseResourceJsonTest, AcceptsEmptyObjectsAndLooseWhitespace) {
  EXPECT_EQ(*ParseResourceJson("{}"), Amounts{});
  EXPECT_EQ(*ParseResourceJson(" { } "), Amounts{});
  EXPECT_EQ(*ParseResourceJson("{\n \"accel\" :2 ,\"x\":1e3}"),
            (Amounts{{"accel", 2}, {"x", 1000}}));
}

TEST(ParseResourceJsonTest, RejectsMalformedInputWithAMessage) {
  for (const char* json : {"", "[]", "{", "{\"a\": 1", "{\"a\" 1}", "{\"a\": }",
                           "{a: 1}", "{\"a\": 1,}", "{\"a: 1}", "{\"a\": \"1\"}"}) {
    auto parsed = ParseResourceJson(json);
    ASSERT_FALSE(parsed.ok()) << "accepted " << json;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("--resources"), std::string::npos)
        << parsed.status();
  }
}

TEST(ParseResourceJsonTest, RejectsNegativeAmountsNamingTheResource) {
  auto parsed = ParseResourceJson(R"({"accel": -1})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("negative amount for accel"), std::string::npos)
      << parsed.status();
}

// strtod reads "nan" and "inf", which are not JSON and not amounts.
TEST(ParseResourceJsonTest, RejectsNonFiniteAmounts) {
  for (const char* json : {R"({"a": nan})", R"({"a": inf})", R"({"a": infinity})"}) {
    EXPECT_FALSE(ParseResourceJson(json).ok()) << "accepted " << json;
  }
}

TEST(ParseResourceJsonTest, RejectsTextAfterTheObject) {
  EXPECT_FALSE(ParseResourceJson(R"({"a": 1} {"b": 2})").ok());
}

TEST(ParseFlagsTest, AcceptsEveryDocumentedFlag) {
  auto flags = ParseFlags({"--head", "--num-cpus", "4", "--num-gpus", "0.5", "--resources",
                           R"({"accel": 2})", "--object-store-memory", "1000000", "--memory", "12345678901",
                           "--session-dir", "/tmp/s", "--socket", "/tmp/s/r.sock", "--python",
                           "/usr/bin/python3.11", "--driver-pid", "1234"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_TRUE(flags->head);
  EXPECT_EQ(flags->num_cpus, 4);
  EXPECT_EQ(flags->num_gpus, 0.5);
  EXPECT_EQ(flags->resources, (Amounts{{"accel", 2}}));
  EXPECT_EQ(flags->object_store_memory, 1000000u);
  EXPECT_EQ(flags->memory, 12345678901u);
  EXPECT_EQ(flags->session_dir, "/tmp/s");
  EXPECT_EQ(flags->socket_path, "/tmp/s/r.sock");
  EXPECT_EQ(flags->python, "/usr/bin/python3.11");
  EXPECT_EQ(flags->driver_pid, 1234);
  EXPECT_FALSE(flags->help);
}

TEST(ParseFlagsTest, EveryDocumentedFlagAppearsInTheUsageText) {
  const std::string usage = UsageText();
  for (const char* flag : {"--head", "--num-cpus", "--num-gpus", "--resources",
                           "--object-store-memory", "--memory", "--session-dir", "--socket", "--python",
                           "--driver-pid", "--help", "--port", "--node-ip-address", "--address",
                           "--token", "--version", "--node-timeout-ms", "--object-transport",
                           "--peer-transport", "--gcs-storage", "--gcs-reconnect-timeout-s"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

TEST(ParseFlagsTest, DefaultsApplyWhenOnlyTheSessionDirIsGiven) {
  auto flags = ParseFlags({"--session-dir", "/tmp/s", "--head"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->port, 0);
  EXPECT_EQ(flags->node_ip_address, "127.0.0.1");  // nothing exposed by default
  EXPECT_EQ(flags->node_timeout_ms, 5000);
  EXPECT_EQ(flags->num_cpus, -1);
  EXPECT_EQ(flags->object_store_memory, 0u);
  EXPECT_EQ(flags->memory, 0u);
  EXPECT_EQ(flags->python, "python3");
  EXPECT_EQ(flags->socket_path, "/tmp/s/raylet.sock");
  EXPECT_EQ(flags->object_transport, "raw");
  EXPECT_EQ(flags->peer_transport, "raw");
  EXPECT_EQ(flags->gcs_storage, "") << "the session dir's gcs.sqlite";
  EXPECT_EQ(flags->gcs_reconnect_timeout_ms, 20000);
}

TEST(ParseFlagsTest, TheGcsStorageAndTheWaitForALostHead) {
  auto flags = ParseFlags({"--session-dir", "/tmp/s", "--head", "--gcs-storage",
                           "redis://10.0.0.1:6379", "--gcs-reconnect-timeout-s", "2.5"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->gcs_storage, "redis://10.0.0.1:6379");
  EXPECT_EQ(flags->gcs_reconnect_timeout_ms, 2500);
  EXPECT_FALSE(ParseFlags({"--session-dir", "/tmp/s", "--head", "--gcs-reconnect-timeout-s",
                           "-1"}).ok());
}

TEST(ParseFlagsTest, AcceptsTheJoinFlags) {
  auto flags = ParseFlags({"--session-dir", "/tmp/s", "--address", "10.0.0.1:6380", "--token",
                           "abc", "--port", "6381", "--node-ip-address", "10.0.0.2",
                           "--version", "1.2.3"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_FALSE(flags->head);
  EXPECT_EQ(flags->address, "10.0.0.1:6380");
  EXPECT_EQ(flags->token, "abc");
  EXPECT_EQ(flags->port, 6381);
  EXPECT_EQ(flags->node_ip_address, "10.0.0.2");
  EXPECT_EQ(flags->version, "1.2.3");
}

TEST(ParseFlagsTest, ANodeIsAHeadOrJoinsOneWithItsToken) {
  auto neither = ParseFlags({"--session-dir", "/tmp/s"});
  ASSERT_FALSE(neither.ok());
  EXPECT_NE(neither.status().message().find("--address"), std::string::npos) << neither.status();
  auto no_token = ParseFlags({"--session-dir", "/tmp/s", "--address", "h:1"});
  ASSERT_FALSE(no_token.ok());
  EXPECT_NE(no_token.status().message().find("--token"), std::string::npos) << no_token.status();
  EXPECT_FALSE(ParseFlags({"--session-dir", "/tmp/s", "--head", "--address", "h:1"}).ok());
  EXPECT_FALSE(ParseFlags({"--session-dir", "/tmp/s", "--head", "--port", "70000"}).ok());
}

TEST(ParseFlagsTest, ObjectTransportIsRawOrGrpc) {
  auto grpc = ParseFlags({"--session-dir", "/tmp/s", "--head", "--object-transport", "grpc"});
  ASSERT_TRUE(grpc.ok()) << grpc.status();
  EXPECT_EQ(grpc->object_transport, "grpc");
  auto other = ParseFlags({"--session-dir", "/tmp/s", "--head", "--object-transport", "udp"});
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("raw or grpc"), std::string::npos) << other.status();
}

TEST(ParseFlagsTest, PeerTransportIsRawOrGrpc) {
  auto grpc = ParseFlags({"--session-dir", "/tmp/s", "--head", "--peer-transport", "grpc"});
  ASSERT_TRUE(grpc.ok()) << grpc.status();
  EXPECT_EQ(grpc->peer_transport, "grpc");
  EXPECT_EQ(grpc->object_transport, "raw") << "the two are chosen apart";
  auto other = ParseFlags({"--session-dir", "/tmp/s", "--head", "--peer-transport", "udp"});
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("--peer-transport must be raw or grpc"),
            std::string::npos)
      << other.status();
}

TEST(ParseFlagsTest, RejectsUnknownFlagsNamingThem) {
  auto flags = ParseFlags({"--session-dir", "/tmp/s", "--num-cpu", "2"});
  ASSERT_FALSE(flags.ok());
  EXPECT_NE(flags.status().message().find("--num-cpu'"), std::string::npos) << flags.status();
}

TEST(ParseFlagsTest, RequiresTheSessionDir) {
  auto flags = ParseFlags({"--num-cpus", "2"});
  ASSERT_FALSE(flags.ok());
  EXPECT_NE(flags.status().message().find("--session-dir"), std::string::npos)
      << flags.status();
}

TEST(ParseFlagsTest, HelpNeedsNoSessionDir) {
  auto flags = ParseFlags({"--help"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_TRUE(flags->help);
}

TEST(ParseFlagsTest, RejectsAFlagWithoutItsValue) {
  auto flags = ParseFlags({"--session-dir"});
  ASSERT_FALSE(flags.ok());
  EXPECT_NE(flags.status().message().find("needs a value"), std::string::npos)
      << flags.status();
}

TEST(ParseFlagsTest, RejectsNegativeOrNonNumericNumbers) {
  for (const char* value : {"-1", "two", "2x", ""}) {
    EXPECT_FALSE(ParseFlags({"--session-dir", "/tmp/s", "--num-cpus", value}).ok())
        << "accepted --num-cpus '" << value << "'";
  }
}

TEST(ParseFlagsTest, RejectsNonFiniteNumbers) {
  for (const char* value : {"nan", "inf"}) {
    EXPECT_FALSE(ParseFlags({"--session-dir", "/tmp/s", "--num-cpus", value}).ok())
        << "accepted --num-cpus " << value;
  }
}

TEST(ParseFlagsTest, RejectsABadResourcesJson) {
  auto flags = ParseFlags({"--session-dir", "/tmp/s", "--resources", "{accel: 1}"});
  ASSERT_FALSE(flags.ok());
  EXPECT_NE(flags.status().message().find("--resources"), std::string::npos);
}

TEST(ParseFlagsTest, MemoryIsNotACustomResource) {
  for (const char* json : {R"({"memory": 100})", R"({"object_store_memory": 100})"}) {
    auto flags = ParseFlags({"--session-dir", "/tmp/s", "--resources", json});
    ASSERT_FALSE(flags.ok()) << json;
    EXPECT_NE(flags.status().message().find("not a custom resource"), std::string::npos)
        << flags.status();
  }
}

// Ray's defaults: the store takes 30% of the available memory, tasks and
// actors may reserve the rest.
TEST(ResolveNodeMemoryTest, DefaultsSplitTheAvailableMemory) {
  RayletFlags flags;
  const NodeMemory memory = ResolveNodeMemory(flags, 10'000'000'000);
  EXPECT_EQ(memory.object_store, 3'000'000'000u);
  EXPECT_EQ(memory.memory, 7'000'000'000u);
}

TEST(ResolveNodeMemoryTest, AnExplicitStoreLeavesTheRestAsMemory) {
  RayletFlags flags;
  flags.object_store_memory = 1'000'000'000;
  EXPECT_EQ(ResolveNodeMemory(flags, 10'000'000'000).memory, 9'000'000'000u);
  flags.object_store_memory = 20'000'000'000;
  EXPECT_EQ(ResolveNodeMemory(flags, 10'000'000'000).memory, 0u) << "nothing left";
}

TEST(ResolveNodeMemoryTest, ExplicitAmountsWinAndTheDefaultStoreIsCapped) {
  RayletFlags flags;
  flags.memory = 12345678901;
  const NodeMemory memory = ResolveNodeMemory(flags, 2'000'000'000'000);
  EXPECT_EQ(memory.memory, 12345678901u);
  EXPECT_EQ(memory.object_store, 200'000'000'000u);
}

}  // namespace
}  // namespace flare
