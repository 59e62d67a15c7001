// End to end: a real flare-raylet process (a head, so its port carries the
// GCS, the peer service and object transfer) with a real driver on its
// Unix socket, and a hostile client on its TCP port that holds the cluster
// token and sends what no healthy node sends: garbage bytes, messages over
// the size limit, requests before registering, an impostor's registration,
// messages a peer must not send, malformed tasks, streams cut mid-way,
// pulls of unknown objects and impossible ranges, on gRPC, on the raw
// data connections and on the raw links between raylets of the same port. After each, the raylet is still alive
// and still serves its driver.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "client/core_client.h"
#include "cluster.grpc.pb.h"
#include "object_manager/chunk_codec.h"
#include "raw_client.h"
#include "common/framing.h"
#include "rpc/raw_peer_protocol.h"
#include "rpc/token.h"

#ifndef FLARE_RAYLET_PATH
#error "FLARE_RAYLET_PATH names the flare-raylet binary under test (CMakeLists.txt)"
#endif

namespace flare {
namespace {

constexpr int kTimeoutMs = 10000;
constexpr uint64_t kStoreBytes = 32 << 20;

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(kTimeoutMs);
}

// "key=value" lines of the raylet's ready file.
std::map<std::string, std::string> ReadReady(const std::string& path) {
  std::map<std::string, std::string> fields;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return fields;
}

class RayletHostilePeerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char dir_template[] = "/tmp/flare-hostile-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = new std::string(dir_template);
    const std::string store = std::to_string(kStoreBytes);
    // Workers that start and never register: tasks stay queued, no Python.
    const std::string worker = *dir_ + "/worker.sh";
    {
      std::ofstream script(worker);
      script << "#!/bin/sh\nexec sleep 120\n";
    }
    std::filesystem::permissions(worker, std::filesystem::perms::owner_all);
    std::vector<std::string> args = {FLARE_RAYLET_PATH, "--head",      "--port", "0",
                                     "--session-dir",   *dir_,         "--num-cpus", "1",
                                     "--object-store-memory", store,  "--python", worker};
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    const std::string ready_path = *dir_ + "/raylet.ready";
    for (int i = 0; i < 500 && !std::filesystem::exists(ready_path); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::map<std::string, std::string> ready = ReadReady(ready_path);
    ASSERT_FALSE(ready["port"].empty()) << "the raylet did not start";
    address_ = new std::string("127.0.0.1:" + ready["port"]);
    head_id_ = new std::string(ready["node_id"]);
    std::ifstream token_file(*dir_ + "/cluster_token");
    token_ = new std::string();
    token_file >> *token_;

    ClientOptions options;
    options.socket_path = ready["socket"];
    options.kind = rpc::DRIVER;
    options.log_to_driver = false;
    auto driver = CoreClient::Connect(options);
    ASSERT_TRUE(driver.ok()) << driver.status();
    driver_ = driver->release();
  }

  static void TearDownTestSuite() {
    delete driver_;
    driver_ = nullptr;
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (dir_ != nullptr) std::filesystem::remove_all(*dir_);
    delete dir_;
    delete address_;
    delete head_id_;
    delete token_;
  }

  // A channel to the raylet's port that sends messages of any size.
  static std::shared_ptr<grpc::Channel> Channel() {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    args.SetMaxReceiveMessageSize(-1);
    return grpc::CreateCustomChannel(*address_, grpc::InsecureChannelCredentials(), args);
  }

  static void WithToken(grpc::ClientContext& context) {
    AttachToken(context, *token_);
    context.set_deadline(Deadline());
  }

  // The raylet process is alive, answers its driver (a put read back) and
  // still counts itself alive in the cluster view.
  static void ExpectServing() {
    ASSERT_EQ(waitpid(pid_, nullptr, WNOHANG), 0) << "the raylet process died";
    const ObjectId id = driver_->NewPutId();
    ASSERT_TRUE(driver_->PutInline(id, "still here", {}).ok());
    auto values = driver_->Get({id}, kTimeoutMs, nullptr);
    ASSERT_TRUE(values.ok()) << values.status();
    ASSERT_EQ(values->size(), 1u);
    ASSERT_NE((*values)[0].inline_data, nullptr) << (*values)[0].error_message;
    EXPECT_EQ(*(*values)[0].inline_data, "still here");
    values->clear();
    driver_->RemoveRef(id);
    auto cluster = driver_->ClusterInfo(kTimeoutMs);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    bool head_alive = false;
    for (const rpc::NodeInfo& node : cluster->nodes()) {
      if (ToHex(node.node_id()) == *head_id_) head_alive = node.alive();
    }
    EXPECT_TRUE(head_alive) << "the head still counts itself alive";
  }

  static rpc::StoreStatsReply Stats() {
    auto stats = driver_->StoreStats(kTimeoutMs);
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : rpc::StoreStatsReply();
  }

  // Polls the raylet's store stats until `holds` (false after the timeout:
  // a bound against hangs, not a measurement).
  static bool WaitForStats(const std::function<bool(const rpc::StoreStatsReply&)>& holds) {
    const auto deadline = Deadline();
    while (std::chrono::system_clock::now() < deadline) {
      if (holds(Stats())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return holds(Stats());
  }

  // Opens NodeService.Connect and registers as `kind`.
  struct PeerCall {
    grpc::ClientContext context;
    std::unique_ptr<rpc::NodeService::Stub> stub;
    std::unique_ptr<grpc::ClientReaderWriter<rpc::Message, rpc::Message>> stream;
  };
  static std::unique_ptr<PeerCall> OpenPeer(rpc::ClientKind kind) {
    auto call = std::make_unique<PeerCall>();
    call->stub = rpc::NodeService::NewStub(Channel());
    WithToken(call->context);
    call->stream = call->stub->Connect(&call->context);
    rpc::Message hello;
    hello.mutable_register_client()->set_kind(kind);
    hello.mutable_register_client()->set_node_id(NodeId::FromRandom().Binary());
    call->stream->Write(hello);
    return call;
  }

  // Reads until the raylet ends the stream; returns how it ended.
  static grpc::Status Ending(PeerCall& call) {
    rpc::Message ignored;
    while (call.stream->Read(&ignored)) {
    }
    return call.stream->Finish();
  }

  // Sends raw bytes as one message of `method` on a bidi stream and returns
  // how the call ended.
  static grpc::Status SendRawBytes(const std::string& method, const std::string& bytes) {
    grpc::GenericStub stub(Channel());
    grpc::CompletionQueue queue;
    grpc::ClientContext context;
    WithToken(context);
    auto call = stub.PrepareCall(&context, method, &queue);
    auto step = [&queue](void* tag) {
      void* got = nullptr;
      bool ok = false;
      const auto next = queue.AsyncNext(&got, &ok, Deadline());
      EXPECT_EQ(next, grpc::CompletionQueue::GOT_EVENT) << "the call hung";
      EXPECT_EQ(got, tag);
      return ok;
    };
    call->StartCall(reinterpret_cast<void*>(1));
    step(reinterpret_cast<void*>(1));
    grpc::Slice slice(bytes);
    grpc::ByteBuffer message(&slice, 1);
    call->Write(message, reinterpret_cast<void*>(2));
    step(reinterpret_cast<void*>(2));
    grpc::ByteBuffer reply;
    call->Read(&reply, reinterpret_cast<void*>(3));
    while (step(reinterpret_cast<void*>(3))) call->Read(&reply, reinterpret_cast<void*>(3));
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(4));
    step(reinterpret_cast<void*>(4));
    queue.Shutdown();
    void* tag;
    bool ok;
    while (queue.Next(&tag, &ok)) {
    }
    return status;
  }

  static pid_t pid_;
  static std::string* dir_;
  static std::string* address_;
  static std::string* head_id_;
  static std::string* token_;
  static CoreClient* driver_;
};

pid_t RayletHostilePeerTest::pid_ = 0;
std::string* RayletHostilePeerTest::dir_ = nullptr;
std::string* RayletHostilePeerTest::address_ = nullptr;
std::string* RayletHostilePeerTest::head_id_ = nullptr;
std::string* RayletHostilePeerTest::token_ = nullptr;
CoreClient* RayletHostilePeerTest::driver_ = nullptr;

TEST_F(RayletHostilePeerTest, GarbageBytesOnEveryStreamEndOnlyThatCall) {
  const std::string garbage = "\xff\xff\xff\xff\x0f garbage that is no protobuf";
  // gRPC ends a typed stream whose message does not parse as if the sender
  // had closed it; the pull, which parses its own bytes, says why.
  for (const char* method : {"/flare.rpc.NodeService/Connect", "/flare.rpc.GcsService/Connect"}) {
    SCOPED_TRACE(method);
    SendRawBytes(method, garbage);  // returns once the raylet ended the call
    ExpectServing();
  }
  const grpc::Status pull = SendRawBytes(kPullMethod, garbage);
  EXPECT_EQ(pull.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << pull.error_message();
  ExpectServing();
}

TEST_F(RayletHostilePeerTest, AMessageOverTheSizeLimitIsRefusedAndTheRayletServesOn) {
  auto peer = OpenPeer(rpc::PEER);
  rpc::Message huge;
  huge.mutable_put_inline()->mutable_data()->set_object_id(
      ObjectIdFor(TaskId::FromRandom(), 1).Binary());
  huge.mutable_put_inline()->mutable_data()->set_inline_data(std::string((64 << 20) + 16, 'x'));
  peer->stream->Write(huge);
  const grpc::Status status = Ending(*peer);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  ExpectServing();
}

TEST_F(RayletHostilePeerTest, APeerThatRegistersAsADriverOrSendsWorkerMessagesIsRefused) {
  auto as_driver = OpenPeer(rpc::DRIVER);
  grpc::Status status = Ending(*as_driver);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_NE(status.error_message().find("DRIVER"), std::string::npos) << status.error_message();

  auto worker_talk = OpenPeer(rpc::PEER);
  rpc::Message done;
  done.mutable_task_done()->set_task_id(TaskId::FromRandom().Binary());
  worker_talk->stream->Write(done);
  status = Ending(*worker_talk);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_NE(status.error_message().find("task_done"), std::string::npos)
      << status.error_message();
  ExpectServing();
}

TEST_F(RayletHostilePeerTest, AMalformedTaskIsRefusedNamingTheFieldAndNothingIsKept) {
  const uint64_t objects_before = Stats().num_objects();

  auto peer = OpenPeer(rpc::PEER);
  rpc::Message submit;
  rpc::TaskSpec& spec = *submit.mutable_submit_task()->mutable_spec();
  spec.set_task_id(TaskId::FromRandom().Binary());
  spec.set_function_name("f");
  spec.set_num_returns(4000000000u);  // would register four billion returns
  peer->stream->Write(submit);
  const grpc::Status status = Ending(*peer);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("num_returns"), std::string::npos)
      << status.error_message();
  ExpectServing();
  EXPECT_EQ(Stats().num_objects(), objects_before);
}

TEST_F(RayletHostilePeerTest, AStreamCutMidTaskLeavesNothingBehind) {
  const rpc::StoreStatsReply before = Stats();
  ASSERT_EQ(before.num_tasks(), 0u);

  auto peer = OpenPeer(rpc::PEER);
  const ObjectId arg = ObjectIdFor(TaskId::FromRandom(), 1);
  rpc::Message value;
  value.mutable_put_inline()->mutable_data()->set_object_id(arg.Binary());
  value.mutable_put_inline()->mutable_data()->set_inline_data("argument");
  peer->stream->Write(value);
  rpc::Message submit;
  rpc::TaskSpec& spec = *submit.mutable_submit_task()->mutable_spec();
  spec.set_task_id(TaskId::FromRandom().Binary());
  spec.set_function_name("never_runs");
  spec.set_num_returns(2);
  spec.add_dependencies(arg.Binary());
  (*spec.mutable_resources()->mutable_amounts())["CPU"] = 1;
  peer->stream->Write(submit);
  // Queued (this node's workers never come up): the task, its two returns
  // and its argument are here.
  EXPECT_TRUE(WaitForStats([&](const rpc::StoreStatsReply& now) {
    return now.num_tasks() == 1 && now.num_objects() == before.num_objects() + 3;
  })) << "the task was not queued";
  peer->context.TryCancel();  // the connection goes, mid-way
  peer.reset();

  EXPECT_TRUE(WaitForStats([&](const rpc::StoreStatsReply& now) {
    return now.num_tasks() == 0 && now.num_objects() == before.num_objects();
  })) << "the task, its returns and its argument go with the peer";
  ExpectServing();
}

TEST_F(RayletHostilePeerTest, TheGcsRefusesUnregisteredStreamsAndImpostorsOfTheHead) {
  auto stub = rpc::GcsService::NewStub(Channel());
  {
    grpc::ClientContext context;
    WithToken(context);
    auto stream = stub->Connect(&context);
    rpc::GcsRequest early;
    early.set_request_id(1);
    early.mutable_kv_put()->set_key("k");
    stream->Write(early);
    rpc::GcsPush push;
    ASSERT_TRUE(stream->Read(&push));
    EXPECT_EQ(push.reply().status_code(),
              static_cast<int32_t>(absl::StatusCode::kFailedPrecondition));
    while (stream->Read(&push)) {
    }
    EXPECT_FALSE(stream->Finish().ok()) << "the stream is closed";
  }
  {
    grpc::ClientContext context;
    WithToken(context);
    auto stream = stub->Connect(&context);
    // The head's own record, as the cluster view shows it.
    auto cluster = driver_->ClusterInfo(kTimeoutMs);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    rpc::GcsRequest impostor;
    impostor.set_request_id(1);
    for (const rpc::NodeInfo& node : cluster->nodes()) {
      if (ToHex(node.node_id()) == *head_id_) *impostor.mutable_register_node() = node;
    }
    ASSERT_TRUE(impostor.has_register_node());
    stream->Write(impostor);
    rpc::GcsPush push;
    ASSERT_TRUE(stream->Read(&push));
    EXPECT_EQ(push.reply().status_code(), static_cast<int32_t>(absl::StatusCode::kAlreadyExists))
        << push.reply().status_message();
    while (stream->Read(&push)) {
    }
    stream->Finish();
  }  // the impostor's stream ends: the head must not be marked dead
  ExpectServing();
}

TEST_F(RayletHostilePeerTest, PullsOfUnknownObjectsAndImpossibleRangesEndOnlyThatCall) {
  // An object in the arena to ask impossible ranges of.
  const ObjectId id = driver_->NewPutId();
  constexpr uint64_t kSize = 4096;
  auto buffer = driver_->Create(id, kSize, kTimeoutMs);
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  ASSERT_TRUE(driver_->Seal(id, {}).ok());

  auto pull = [](const std::vector<rpc::PullRequest>& requests) {
    grpc::GenericStub stub(Channel());
    grpc::ClientContext context;
    WithToken(context);
    grpc::CompletionQueue queue;
    auto call = stub.PrepareCall(&context, kPullMethod, &queue);
    auto step = [&queue](intptr_t tag) {
      void* got = nullptr;
      bool ok = false;
      EXPECT_EQ(queue.AsyncNext(&got, &ok, Deadline()), grpc::CompletionQueue::GOT_EVENT)
          << "the call hung";
      EXPECT_EQ(reinterpret_cast<intptr_t>(got), tag);
      return ok;
    };
    call->StartCall(reinterpret_cast<void*>(1));
    step(1);
    for (const rpc::PullRequest& request : requests) {
      call->Write(EncodeRequest(request), reinterpret_cast<void*>(2));
      step(2);
    }
    grpc::ByteBuffer chunk;
    call->Read(&chunk, reinterpret_cast<void*>(3));
    while (step(3)) call->Read(&chunk, reinterpret_cast<void*>(3));
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(4));
    step(4);
    queue.Shutdown();
    void* tag;
    bool ok;
    while (queue.Next(&tag, &ok)) {
    }
    return status;
  };
  rpc::PullRequest open;
  open.set_object_id(id.Binary());
  open.set_object_size(kSize);
  rpc::PullRequest unknown = open;
  unknown.set_object_id(ObjectIdFor(TaskId::FromRandom(), 1).Binary());
  unknown.set_length(1);
  EXPECT_EQ(pull({unknown}).error_code(), grpc::StatusCode::NOT_FOUND);
  rpc::PullRequest short_id = open;
  short_id.set_object_id("short");
  EXPECT_EQ(pull({short_id}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  rpc::PullRequest far = open;
  far.set_offset(uint64_t{1} << 63);
  far.set_length(1);
  EXPECT_EQ(pull({far}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  rpc::PullRequest negative = open;
  negative.set_offset(16);
  negative.set_length(~uint64_t{0} - 7);  // -8 as an unsigned length
  EXPECT_EQ(pull({negative}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  rpc::PullRequest wrong_size = open;
  wrong_size.set_object_size(uint64_t{1} << 60);
  wrong_size.set_length(1);
  EXPECT_EQ(pull({wrong_size}).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  driver_->RemoveRef(id);
  EXPECT_TRUE(WaitForStats([](const rpc::StoreStatsReply& now) { return now.used() == 0; }))
      << "every failed pull let go of its pin";
  ExpectServing();
}

TEST_F(RayletHostilePeerTest, RawConnectionsOnThePortCheckTheTokenAndRefuseBadInput) {
  const ObjectId id = driver_->NewPutId();
  constexpr uint64_t kSize = 4096;
  auto buffer = driver_->Create(id, kSize, kTimeoutMs);
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  std::memset(*buffer, 7, kSize);
  ASSERT_TRUE(driver_->Seal(id, {}).ok());
  const int port = std::stoi(address_->substr(address_->rfind(':') + 1));
  // Answer to `bytes` sent on a fresh raw connection.
  auto answer = [port](const std::string& bytes) {
    RawClient client(port);
    EXPECT_TRUE(client.connected());
    client.Send(bytes);
    auto answered = client.Answer();
    EXPECT_TRUE(answered.first.status == 0 || client.ClosedByPeer()) << "refused, then closed";
    return answered;
  };

  auto [missing, missing_message] = answer(Opening("", id, kSize) + Range(0, 8));
  EXPECT_EQ(missing.status, static_cast<uint32_t>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_NE(missing_message.find("missing cluster token"), std::string::npos) << missing_message;
  auto [wrong, wrong_message] = answer(Opening(*token_ + "x", id, kSize) + Range(0, 8));
  EXPECT_EQ(wrong.status, static_cast<uint32_t>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_NE(wrong_message.find("wrong cluster token"), std::string::npos) << wrong_message;
  auto [oversized, oversized_message] =
      answer(std::string(kRawMagic, kRawMagicBytes) + std::string("\xff\xff\xff\x7f", 4));
  EXPECT_EQ(oversized.status, static_cast<uint32_t>(grpc::StatusCode::INVALID_ARGUMENT));
  auto [malformed, malformed_message] = answer(std::string(kRawMagic, kRawMagicBytes) +
                                               std::string("\x03\x00\x00\x00\xff\xff\xff", 7));
  EXPECT_EQ(malformed.status, static_cast<uint32_t>(grpc::StatusCode::INVALID_ARGUMENT));
  auto [far, far_message] = answer(Opening(*token_, id, kSize) + Range(kSize - 1, 2));
  EXPECT_EQ(far.status, static_cast<uint32_t>(grpc::StatusCode::INVALID_ARGUMENT));
  {
    RawClient cut(port);  // a connection cut in the middle of its opening
    cut.Send(Opening(*token_, id, kSize).substr(0, 13));
  }

  auto [served, data] = answer(Opening(*token_, id, kSize) + Range(8, 16));
  EXPECT_EQ(served.status, 0u) << data;
  EXPECT_EQ(data, std::string(16, '\x07'));
  driver_->RemoveRef(id);
  EXPECT_TRUE(WaitForStats([](const rpc::StoreStatsReply& now) { return now.used() == 0; }))
      << "every raw connection let go of its pin";
  ExpectServing();
}

TEST_F(RayletHostilePeerTest, RawPeerLinksCheckTheTokenAndDropBadInput) {
  const int port = std::stoi(address_->substr(address_->rfind(':') + 1));
  auto register_as = [](rpc::ClientKind kind) {
    rpc::Message hello;
    hello.mutable_register_client()->set_kind(kind);
    hello.mutable_register_client()->set_node_id(NodeId::FromRandom().Binary());
    std::string frame;
    AppendFrame(hello, &frame);
    return frame;
  };
  // The answer to a hello of `bytes`: its code and message.
  auto answer = [](RawClient& client, const std::string& bytes) {
    EXPECT_TRUE(client.connected());
    client.Send(bytes);
    const std::string header = client.Read(kRawPeerAnswerHeaderBytes);
    if (header.size() != kRawPeerAnswerHeaderBytes) return std::make_pair(999u, std::string());
    return std::make_pair(GetU32(header.data()), client.Read(GetU32(header.data() + 4)));
  };

  {
    RawClient client(port);
    auto [code, message] = answer(client, EncodePeerHello(""));
    EXPECT_EQ(code, static_cast<uint32_t>(grpc::StatusCode::UNAUTHENTICATED));
    EXPECT_NE(message.find("missing cluster token"), std::string::npos) << message;
    EXPECT_TRUE(client.ClosedByPeer());
  }
  {
    RawClient client(port);
    auto [code, message] = answer(client, EncodePeerHello(*token_ + "x") +
                                              register_as(rpc::PEER));
    EXPECT_EQ(code, static_cast<uint32_t>(grpc::StatusCode::UNAUTHENTICATED));
    EXPECT_NE(message.find("wrong cluster token"), std::string::npos) << message;
    EXPECT_TRUE(client.ClosedByPeer()) << "nothing after a wrong token is read";
  }
  {
    RawClient client(port);
    auto [code, message] = answer(
        client, std::string(kRawPeerMagic, kRawPeerMagicBytes) + std::string("\xff\xff\xff\x7f", 4));
    EXPECT_EQ(code, static_cast<uint32_t>(grpc::StatusCode::INVALID_ARGUMENT)) << message;
  }
  {
    RawClient client(port);  // a frame far over the limit, after a good hello
    auto [code, message] = answer(client, EncodePeerHello(*token_) + register_as(rpc::PEER) +
                                              std::string("\xff\xff\xff\x7f", 4));
    EXPECT_EQ(code, 0u) << message;
    EXPECT_TRUE(client.ClosedByPeer());
  }
  {
    RawClient client(port);  // not a node
    auto [code, message] = answer(client, EncodePeerHello(*token_) + register_as(rpc::DRIVER));
    EXPECT_EQ(code, 0u) << message;
    EXPECT_TRUE(client.ClosedByPeer());
  }
  {
    RawClient cut(port);  // cut in the middle of its hello
    cut.Send(EncodePeerHello(*token_).substr(0, 14));
  }
  {
    RawClient client(port);
    auto [code, message] = answer(client, EncodePeerHello(*token_) + register_as(rpc::PEER));
    EXPECT_EQ(code, 0u) << message;
    const std::string length = client.Read(4);
    ASSERT_EQ(length.size(), 4u);
    rpc::Message reply;
    ASSERT_TRUE(reply.ParseFromString(client.Read(GetU32(length.data()))));
    EXPECT_TRUE(reply.has_register_reply()) << "a node registered: " << reply.DebugString();
  }
  ExpectServing();
}

}  // namespace
}  // namespace flare
