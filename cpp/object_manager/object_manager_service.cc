#include "object_manager/object_manager_service.h"

#include <deque>
#include <utility>

#include <boost/asio/post.hpp>

#include "object_manager/chunk_codec.h"
#include "rpc/outbox.h"
#include "rpc/token.h"

namespace flare {

namespace {

// An object pinned for sending. Unpinned on the loop when the last owner
// lets go: the call, or a chunk's slice that gRPC still holds.
class PinLease {
 public:
  PinLease(std::shared_ptr<SenderContext> context, const ObjectId& id,
           LocalObjects::Pinned pinned)
      : context_(std::move(context)), id_(id), pinned_(pinned) {}
  ~PinLease() {
    std::lock_guard<std::mutex> lock(context_->mu);
    if (!context_->alive) return;
    boost::asio::post(context_->loop, [context = context_, id = id_] {
      std::lock_guard<std::mutex> lock(context->mu);
      if (!context->alive) return;
      context->objects.UnpinSent(id);
      --context->active_sends;
    });
  }
  const LocalObjects::Pinned& pinned() const { return pinned_; }

 private:
  std::shared_ptr<SenderContext> context_;
  ObjectId id_;
  LocalObjects::Pinned pinned_;
};

struct Range {
  uint64_t offset;
  uint64_t length;
};

// One Pull call. Owns itself (self_) until gRPC is done with it; work posted
// to the loop holds another reference, so the object outlives both.
class SendReactor : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                    public std::enable_shared_from_this<SendReactor> {
 public:
  explicit SendReactor(std::shared_ptr<SenderContext> context)
      : context_(std::move(context)), outbox_(this) {}

  void Start(const grpc::Status& allowed) {
    self_ = shared_from_this();
    if (!allowed.ok()) {
      FinishOnce(allowed);
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the receiver closed its side, or the call broke
      outbox_.Close([this] { FinishOnce(grpc::Status::OK); });
      return;
    }
    rpc::PullRequest request;
    if (!DecodeRequest(request_, &request)) {
      FinishOnce(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "malformed pull request"));
      return;
    }
    request_.Clear();
    if (!opened_) {
      opened_ = true;
      if (request.object_id().size() != ObjectId::kSize) {
        FinishOnce(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "the first pull request must name an object"));
        return;
      }
      boost::asio::post(context_->loop, [self = shared_from_this(),
                                         id = ObjectId::FromBinary(request.object_id()),
                                         size = request.object_size()] { self->Pin(id, size); });
    }
    if (request.length() > 0) {
      grpc::Status sent = Queue(Range{request.offset(), request.length()});
      if (!sent.ok()) {
        FinishOnce(sent);
        return;
      }
    }
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override { outbox_.OnWriteDone(ok); }
  void OnCancel() override { FinishOnce(grpc::Status::CANCELLED); }
  void OnDone() override {
    std::shared_ptr<SendReactor> self;
    {
      std::lock_guard<std::mutex> lock(mu_);
      lease_.reset();
      waiting_.clear();
      self = std::move(self_);
    }
    // `self` may be the last reference: this object goes with it.
  }

 private:
  // On the loop: pins the object and sends what was asked meanwhile.
  void Pin(const ObjectId& id, uint64_t expected_size) {
    absl::StatusOr<LocalObjects::Pinned> pinned = context_->objects.PinForSend(id);
    if (!pinned.ok()) {
      FinishOnce(grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(pinned.status().message())));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(context_->mu);
      ++context_->active_sends;
    }
    auto lease = std::make_shared<PinLease>(context_, id, *pinned);
    if (pinned->size != expected_size) {
      FinishOnce(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                              "object " + id.Hex() + " has " + std::to_string(pinned->size) +
                                  " bytes here, not the " + std::to_string(expected_size) +
                                  " the receiver expects"));
      return;
    }
    grpc::Status sent = grpc::Status::OK;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      lease_ = std::move(lease);
      for (const Range& range : waiting_) {
        sent = SendLocked(range);
        if (!sent.ok()) break;
      }
      waiting_.clear();
    }
    if (!sent.ok()) FinishOnce(sent);
  }

  grpc::Status Queue(const Range& range) {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return grpc::Status::OK;
    if (!lease_) {
      waiting_.push_back(range);
      return grpc::Status::OK;
    }
    return SendLocked(range);
  }

  // REQUIRES: mu_ held, lease_ set.
  grpc::Status SendLocked(const Range& range) {
    const LocalObjects::Pinned& pinned = lease_->pinned();
    if (range.length > kMaxChunkBytes || range.offset > pinned.size ||
        range.length > pinned.size - range.offset) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "asked for bytes [" + std::to_string(range.offset) + ", +" +
                              std::to_string(range.length) + ") of an object of " +
                              std::to_string(pinned.size) + " bytes (chunks up to " +
                              std::to_string(kMaxChunkBytes) + ")");
    }
    outbox_.Push(EncodeChunk(range.offset, pinned.data + range.offset, range.length, lease_));
    return grpc::Status::OK;
  }

  void FinishOnce(const grpc::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
    }
    Finish(status);
  }

  std::shared_ptr<SenderContext> context_;
  std::shared_ptr<SendReactor> self_;
  grpc::ByteBuffer request_;
  bool opened_ = false;  // gRPC's read callbacks only
  std::mutex mu_;
  std::shared_ptr<PinLease> lease_;
  std::deque<Range> waiting_;  // asked before the pin
  bool finished_ = false;
  Outbox<grpc::ByteBuffer, SendReactor> outbox_;
};

}  // namespace

ObjectManagerGrpcService::ObjectManagerGrpcService(boost::asio::io_context& loop,
                                                   LocalObjects& objects, std::string token)
    : token_(std::move(token)), shared_(std::make_shared<SenderContext>(loop, objects)) {}

ObjectManagerGrpcService::~ObjectManagerGrpcService() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->alive = false;
}

size_t ObjectManagerGrpcService::active_sends() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->active_sends;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ObjectManagerGrpcService::Pull(
    grpc::CallbackServerContext* context) {
  auto reactor = std::make_shared<SendReactor>(shared_);
  reactor->Start(CheckToken(*context, token_));
  return reactor.get();
}

}  // namespace flare
