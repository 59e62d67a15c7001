#include "object_manager/object_manager_service.h"

#include <deque>
#include <utility>

#include <boost/asio/post.hpp>

#include "object_manager/chunk_codec.h"
#include "rpc/outbox.h"
#include "rpc/token.h"

namespace flare {

namespace {

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
                                         size = request.object_size()] {
        // A spilled object is read back first, off the loop.
        self->context_->objects.WhenSendable(id, [self, id, size] {
          {
            std::lock_guard<std::mutex> lock(self->context_->mu);
            if (!self->context_->alive) return;
          }
          self->Pin(id, size);
        });
      });
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
    absl::StatusOr<std::shared_ptr<PinLease>> lease = PinForSending(context_, id, expected_size);
    if (!lease.ok()) {
      FinishOnce(grpc::Status(static_cast<grpc::StatusCode>(lease.status().code()),
                              std::string(lease.status().message())));
      return;
    }
    grpc::Status sent = grpc::Status::OK;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      lease_ = std::move(*lease);
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
    absl::Status valid = lease_->CheckRange(range.offset, range.length);
    if (!valid.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(valid.message()));
    }
    outbox_.Push(EncodeChunk(range.offset, lease_->pinned().data + range.offset, range.length,
                             lease_));
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

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ObjectManagerGrpcService::Pull(
    grpc::CallbackServerContext* context) {
  auto reactor = std::make_shared<SendReactor>(senders_);
  reactor->Start(CheckToken(*context, token_));
  return reactor.get();
}

}  // namespace flare
