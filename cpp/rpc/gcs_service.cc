#include "rpc/gcs_service.h"

#include <iostream>
#include <memory>

#include <boost/asio/post.hpp>

#include "rpc/loop_reads.h"
#include "rpc/outbox.h"
#include "rpc/token.h"

namespace flare {

namespace {

// A call refused before it starts (a missing or wrong token).
class Refusal : public grpc::ServerBidiReactor<rpc::GcsRequest, rpc::GcsPush> {
 public:
  explicit Refusal(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

// One node's stream. Reads are posted to the event loop in order (at most
// the service's ReadBudget ahead of it), then the end of the stream; the
// reactor deletes itself when gRPC is done with it.
class GcsGrpcService::Stream : public grpc::ServerBidiReactor<rpc::GcsRequest, rpc::GcsPush> {
 public:
  Stream(GcsGrpcService& service, GcsServer::StreamId id, grpc::CallbackServerContext* context)
      : service_(service),
        id_(id),
        context_(context),
        outbox_(this, service.limits_.max_message_bytes, service.limits_.max_queued_bytes),
        budget_(std::make_shared<ReadBudget>(service.limits_.max_unhandled_bytes)) {
    StartRead(&request_);
  }

  Outbox<rpc::GcsPush, Stream>& outbox() { return outbox_; }
  // Ends the call (its node stopped reading what the GCS sends).
  void Cancel() { context_->TryCancel(); }
  // REQUIRES: the service's lock held (the stream is in its map).
  void ResumeReading() { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    GcsGrpcService& service = service_;
    const GcsServer::StreamId id = id_;
    if (!ok) {  // the node closed its side, or the connection broke
      boost::asio::post(service.loop_, [&service, id] { service.server_->OnStreamClosed(id); });
      outbox_.Close([this] { Finish(grpc::Status::OK); });
      return;
    }
    rpc::GcsRequest request = std::move(request_);
    request_.Clear();
    const bool read_on = PostToLoop(
        service.loop_, budget_, std::move(request),
        [&service, id](rpc::GcsRequest& received) {
          service.server_->OnRequest(id, received, GcsServer::Clock::now());
        },
        [&service, id] { service.ResumeReading(id); });
    if (read_on) StartRead(&request_);
  }

  void OnWriteDone(bool ok) override { outbox_.OnWriteDone(ok); }

  void OnDone() override {
    service_.Forget(id_);
    delete this;
  }

 private:
  GcsGrpcService& service_;
  const GcsServer::StreamId id_;
  grpc::CallbackServerContext* const context_;  // gRPC's, valid until OnDone
  rpc::GcsRequest request_;  // the read in flight
  Outbox<rpc::GcsPush, Stream> outbox_;
  std::shared_ptr<ReadBudget> budget_;
};

grpc::ServerBidiReactor<rpc::GcsRequest, rpc::GcsPush>* GcsGrpcService::Connect(
    grpc::CallbackServerContext* context) {
  grpc::Status allowed = CheckToken(*context, token_);
  if (!allowed.ok()) return new Refusal(std::move(allowed));
  std::lock_guard<std::mutex> lock(mu_);
  const GcsServer::StreamId id = next_stream_++;
  auto* stream = new Stream(*this, id, context);
  streams_.emplace(id, stream);
  return stream;
}

void GcsGrpcService::Forget(GcsServer::StreamId stream) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    streams_.erase(stream);
  }
  // A stream that ended without a clean read end (cancelled) still closes.
  boost::asio::post(loop_, [this, stream] { server_->OnStreamClosed(stream); });
}

void GcsGrpcService::ResumeReading(GcsServer::StreamId stream) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(stream);
  if (it != streams_.end()) it->second->ResumeReading();
}

void GcsGrpcService::Push(GcsServer::StreamId stream, rpc::GcsPush push) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  // The GCS keeps its replies within bounds (GcsServer::Reply); anything
  // else too large is not sent rather than ending the node's membership.
  const absl::Status pushed = it->second->outbox().Push(std::move(push));
  if (absl::IsResourceExhausted(pushed)) {
    std::cerr << "flare-raylet: the GCS did not send a push to stream " << stream << ": "
              << pushed.message() << "\n";
  } else if (absl::IsAborted(pushed)) {
    std::cerr << "flare-raylet: the GCS ends stream " << stream << ": " << pushed.message()
              << "\n";
    it->second->Cancel();
  }
}

void GcsGrpcService::Close(GcsServer::StreamId stream, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  Stream* target = it->second;
  target->outbox().Close(
      [target, why] { target->Finish(grpc::Status(grpc::StatusCode::ABORTED, why)); });
}

void GcsGrpcService::CloseAll(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [stream, target] : streams_) {
    Stream* closing = target;
    closing->outbox().Close(
        [closing, why] { closing->Finish(grpc::Status(grpc::StatusCode::ABORTED, why)); });
  }
}

}  // namespace flare
