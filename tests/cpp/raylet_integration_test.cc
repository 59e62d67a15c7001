// End to end inside one process: a NodeManager on its own event-loop thread,
// listening on a Unix socket in a temporary directory, and CoreClients
// talking to it. Workers are CoreClients too (a launcher that starts no
// process hands out their ids), so no Python is involved.
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include "client/core_client.h"
#include "gcs/gcs.h"
#include "gcs/in_process_gcs_client.h"
#include "gcs/memory_store.h"
#include "raylet/node_manager.h"
#include "raylet/posix_io.h"

namespace flare {
namespace {

constexpr uint64_t kArenaSize = 64 << 20;
constexpr int kTimeoutMs = 10000;

class RecordingLauncher : public WorkerLauncher {
 public:
  explicit RecordingLauncher(std::vector<WorkerId>* launched) : launched_(launched) {}
  absl::StatusOr<pid_t> Launch(const WorkerId& worker_id) override {
    launched_->push_back(worker_id);
    return 1000 + static_cast<pid_t>(launched_->size());  // never a real worker of ours
  }

 private:
  std::vector<WorkerId>* launched_;
};

// Signals go nowhere: the "workers" above are not processes of this test.
class NoProcesses : public ProcessControl {
 public:
  void Kill(pid_t, int) override {}
  bool Exists(pid_t) override { return true; }
};

class RayletIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/flare-cpp-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    socket_path_ = dir_ + "/raylet.sock";

    NodeOptions options;
    options.resources = ResourceSet::FromMap({{"CPU", 1}});
    options.session_dir = dir_;
    options.socket_path = socket_path_;
    options.max_workers = 1;
    auto arena = Arena::Create(kArenaSize, "flare-test-arena");
    ASSERT_TRUE(arena.ok()) << arena.status();
    server_ = std::make_unique<LocalServer>((*arena)->fd());
    manager_ = std::make_unique<NodeManager>(
        options, std::move(*arena), std::make_unique<RecordingLauncher>(&launched_),
        NodeIo{std::make_unique<NoProcesses>(), std::make_unique<AsioTimers>(io_),
               std::make_unique<ThreadedSpillFiles>(io_, dir_ + "/spill")},
        *server_, gcs_client_, [] {});
    server_->set_handler(manager_.get());
    ASSERT_TRUE(manager_->Start().ok());
    ASSERT_EQ(launched_.size(), 1u) << "one worker prestarted per CPU";
    worker_id_ = launched_[0];

    acceptor_.open();
    acceptor_.bind(boost::asio::local::stream_protocol::endpoint(socket_path_));
    acceptor_.listen();
    Accept();
    loop_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    worker_.reset();
    driver_.reset();
    io_.stop();
    if (loop_.joinable()) loop_.join();
    std::filesystem::remove_all(dir_);
  }

  void Accept() {
    acceptor_.async_accept([this](const boost::system::error_code& error,
                                  boost::asio::local::stream_protocol::socket socket) {
      if (error) return;
      server_->Accept(std::move(socket));
      Accept();
    });
  }

  std::unique_ptr<CoreClient> Connect(rpc::ClientKind kind, WorkerId worker_id = {}) {
    ClientOptions options;
    options.socket_path = socket_path_;
    options.kind = kind;
    options.worker_id = worker_id;
    options.log_to_driver = false;
    auto client = CoreClient::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  void ConnectDriver() {
    driver_ = Connect(rpc::DRIVER);
    ASSERT_NE(driver_, nullptr);
  }

  rpc::StoreStatsReply Stats() {
    auto stats = driver_->StoreStats(kTimeoutMs);
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : rpc::StoreStatsReply();
  }

  ObjectValue GetOne(const ObjectId& id) {
    auto values = driver_->Get({id}, kTimeoutMs, nullptr);
    EXPECT_TRUE(values.ok()) << values.status();
    if (!values.ok() || values->size() != 1) return ObjectValue();
    return (*values)[0];
  }

  rpc::TaskSpec Spec(const std::map<std::string, double>& resources) {
    rpc::TaskSpec spec;
    spec.set_task_id(driver_->NewTaskId().Binary());
    spec.set_job_id(driver_->job_id().Binary());
    spec.set_function_name("f");
    spec.set_num_returns(1);
    ResourceSet::FromMap(resources).ToProto(spec.mutable_resources());
    return spec;
  }

  // Declared first: destroyed last, after everything that refers to it.
  boost::asio::io_context io_{1};
  boost::asio::local::stream_protocol::acceptor acceptor_{io_};
  std::string dir_;
  std::string socket_path_;
  std::vector<WorkerId> launched_;
  WorkerId worker_id_;
  Gcs gcs_{std::make_unique<MemoryStore>()};
  InProcessGcsClient gcs_client_{gcs_};
  std::unique_ptr<LocalServer> server_;
  std::unique_ptr<NodeManager> manager_;
  std::thread loop_;
  std::unique_ptr<CoreClient> driver_;
  std::unique_ptr<CoreClient> worker_;
};

TEST_F(RayletIntegrationTest, InlinePutIsReadBackAndFreedWhenDropped) {
  ConnectDriver();
  const ObjectId id = driver_->NewPutId();
  ASSERT_TRUE(driver_->PutInline(id, "hello", {}).ok());
  ObjectValue value = GetOne(id);
  ASSERT_EQ(value.error, rpc::ERROR_NONE) << value.error_message;
  ASSERT_NE(value.inline_data, nullptr);
  EXPECT_EQ(*value.inline_data, "hello");
  EXPECT_EQ(Stats().num_inline_objects(), 1u);

  value = ObjectValue();
  driver_->RemoveRef(id);
  const rpc::StoreStatsReply stats = Stats();
  EXPECT_EQ(stats.num_objects(), 0u);
  EXPECT_EQ(stats.num_inline_objects(), 0u);
}

TEST_F(RayletIntegrationTest, StorePutIsReadInPlaceAndItsMemoryComesBack) {
  ConnectDriver();
  const ObjectId id = driver_->NewPutId();
  constexpr uint64_t kSize = 1 << 20;
  auto buffer = driver_->Create(id, kSize, kTimeoutMs);
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  std::memset(*buffer, 0x5a, kSize);
  ASSERT_TRUE(driver_->Seal(id, {}).ok());

  {
    ObjectValue value = GetOne(id);
    ASSERT_EQ(value.error, rpc::ERROR_NONE) << value.error_message;
    EXPECT_EQ(value.size, kSize);
    EXPECT_EQ(value.data, *buffer) << "read in place, not copied";
    EXPECT_EQ(value.data[kSize - 1], 0x5a);
    EXPECT_GE(Stats().used(), kSize);
  }
  driver_->RemoveRef(id);
  EXPECT_EQ(Stats().used(), 0u) << "the arena must be empty once the ref and pin are gone";
}

TEST_F(RayletIntegrationTest, CreateLargerThanTheArenaFailsCleanly) {
  ConnectDriver();
  auto buffer = driver_->Create(driver_->NewPutId(), 2 * kArenaSize, kTimeoutMs);
  EXPECT_EQ(buffer.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Stats().num_objects(), 0u);
}

// CoreClient::Abort sends only AbortObject; nothing of the put may remain.
TEST_F(RayletIntegrationTest, AbortedPutLeavesNothingInTheStore) {
  ConnectDriver();
  const ObjectId id = driver_->NewPutId();
  ASSERT_TRUE(driver_->Create(id, 4096, kTimeoutMs).ok());
  driver_->Abort(id);
  const rpc::StoreStatsReply stats = Stats();
  EXPECT_EQ(stats.used(), 0u);
  EXPECT_EQ(stats.num_objects(), 0u) << "the aborted put's table entry leaked";
}

TEST_F(RayletIntegrationTest, KvValuesAreSharedBetweenCalls) {
  ConnectDriver();
  ASSERT_TRUE(driver_->KvPut("fn:1", "pickled", false).ok());
  auto value = driver_->KvGet("fn:1", kTimeoutMs);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, std::optional<std::string>("pickled"));
  auto missing = driver_->KvGet("fn:2", kTimeoutMs);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(RayletIntegrationTest, InfeasibleTaskFailsInsteadOfHanging) {
  ConnectDriver();
  rpc::TaskSpec spec = Spec({{"CPU", 8}});
  const ObjectId result = ObjectIdFor(TaskId::FromBinary(spec.task_id()), 1);
  ASSERT_TRUE(driver_->SubmitTask(spec).ok());
  ObjectValue value = GetOne(result);
  EXPECT_EQ(value.error, rpc::INFEASIBLE);
  EXPECT_NE(value.error_message.find("CPU"), std::string::npos) << value.error_message;
}

// A departed driver's queued tasks are dropped; their return objects, held by
// nobody and never to be produced, must go too (a long-lived head node would
// otherwise grow with every driver that exits with work queued).
TEST_F(RayletIntegrationTest, DriverExitFreesTheReturnsOfItsQueuedTasks) {
  ConnectDriver();
  // No worker registers, so the task stays queued.
  ASSERT_TRUE(driver_->SubmitTask(Spec({{"CPU", 1}})).ok());
  ASSERT_EQ(Stats().num_tasks(), 1u);
  driver_.reset();

  ConnectDriver();
  rpc::StoreStatsReply stats = Stats();
  // The raylet handles the first driver's disconnect on its own schedule.
  for (int i = 0; i < 10000 && stats.num_tasks() > 0; ++i) stats = Stats();
  ASSERT_EQ(stats.num_tasks(), 0u);
  EXPECT_EQ(stats.num_objects(), 0u) << "the dropped task's return object leaked";
}

TEST_F(RayletIntegrationTest, TaskRunsOnARegisteredWorkerAndItsResultReachesTheCaller) {
  ConnectDriver();
  worker_ = Connect(rpc::WORKER, worker_id_);
  ASSERT_NE(worker_, nullptr);

  rpc::TaskSpec spec = Spec({{"CPU", 1}});
  const TaskId task = TaskId::FromBinary(spec.task_id());
  ASSERT_TRUE(driver_->SubmitTask(spec).ok());

  auto execute = worker_->NextTask(kTimeoutMs, nullptr);
  ASSERT_TRUE(execute.ok()) << execute.status();
  ASSERT_TRUE(execute->has_value()) << "no task reached the worker";
  EXPECT_EQ((*execute)->spec().task_id(), task.Binary());

  rpc::TaskDone done;
  done.set_task_id(task.Binary());
  rpc::ObjectData* data = done.add_returns()->mutable_data();
  data->set_object_id(ObjectIdFor(task, 1).Binary());
  data->set_inline_data("42");
  ASSERT_TRUE(worker_->TaskDone(done).ok());

  ObjectValue value = GetOne(ObjectIdFor(task, 1));
  ASSERT_EQ(value.error, rpc::ERROR_NONE) << value.error_message;
  ASSERT_NE(value.inline_data, nullptr);
  EXPECT_EQ(*value.inline_data, "42");
}

}  // namespace
}  // namespace flare
