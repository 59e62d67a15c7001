#include "rpc/node_service.h"

#include <iostream>
#include <memory>

#include <boost/asio/post.hpp>

#include "rpc/channel_args.h"
#include "rpc/loop_reads.h"
#include "rpc/outbox.h"
#include "rpc/peer_messages.h"
#include "rpc/token.h"

namespace flare {

namespace {

class RefusedPeer : public grpc::ServerBidiReactor<rpc::Message, rpc::Message> {
 public:
  explicit RefusedPeer(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerUnaryReactor* NodeGrpcService::Info(grpc::CallbackServerContext* context,
                                                const rpc::Empty*, rpc::NodeInfo* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status allowed = CheckToken(*context, token_);
  if (allowed.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    *reply = info_;
  }
  reactor->Finish(std::move(allowed));
  return reactor;
}

// One peer's stream. The link it gives the local server outlives it (the
// server and posted events hold it); once the stream is done the link drops
// what is sent to it. Messages go out in batches; a message too large for
// one is fitted (FitForPeer) or dropped with a log line, never sent to end
// the stream.
class NodeGrpcService::PeerStream : public grpc::ServerBidiReactor<rpc::Message, rpc::Message> {
 public:
  class Link : public ClientLink {
   public:
    void Send(const rpc::Message& message) override { Push(message); }
    bool SendWithFd(const rpc::Message& message, int) override {
      return Push(message);  // a peer maps no arena of ours
    }
    void Close() override {
      std::lock_guard<std::mutex> lock(mu_);
      if (stream_ != nullptr) stream_->FinishAfterWrites(grpc::Status::OK);
    }
    // The peer sees `why` as the status its stream ends with.
    void Refuse(const absl::Status& why) override {
      std::lock_guard<std::mutex> lock(mu_);
      if (stream_ == nullptr) return;
      stream_->FinishAfterWrites(
          grpc::Status(static_cast<grpc::StatusCode>(why.code()), std::string(why.message())));
    }

    ClientId id = 0;  // the local server's id for it; event loop only

   private:
    friend class PeerStream;
    bool Push(const rpc::Message& message) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stream_ == nullptr) return false;
      const absl::Status pushed = PushToPeer(stream_->outbox_, message, "a node's stream");
      if (absl::IsAborted(pushed)) {
        std::cerr << "flare-raylet: ending a node's stream: " << pushed.message() << "\n";
        stream_->context_->TryCancel();
      }
      return pushed.ok();
    }
    void ResumeReading() {
      std::lock_guard<std::mutex> lock(mu_);
      if (stream_ != nullptr) stream_->StartRead(&stream_->message_);
    }

    std::mutex mu_;
    PeerStream* stream_ = nullptr;  // null once the stream is done
  };

  PeerStream(NodeGrpcService& service, grpc::CallbackServerContext* context)
      : service_(service),
        context_(context),
        outbox_(this, service.limits_.max_message_bytes, service.limits_.max_queued_bytes),
        budget_(std::make_shared<ReadBudget>(service.limits_.max_unhandled_bytes)) {
    link_ = std::make_shared<Link>();
    link_->stream_ = this;
    boost::asio::post(service_.loop_, [&clients = service_.clients_, link = link_] {
      link->id = clients.AddLink(link);
    });
    StartRead(&message_);
  }

  void OnReadDone(bool ok) override {
    LocalServer& clients = service_.clients_;
    if (!ok) {
      boost::asio::post(service_.loop_, [&clients, link = link_] { clients.OnLinkClosed(link->id); });
      FinishAfterWrites(grpc::Status::OK);
      return;
    }
    rpc::Message message = std::move(message_);
    message_.Clear();
    const bool read_on = PostToLoop(
        service_.loop_, budget_, std::move(message),
        [&clients, link = link_](rpc::Message& received) {
          ForEachPeerMessage(received,
                             [&](rpc::Message& one) { clients.OnLinkMessage(link->id, one); });
        },
        [link = link_] { link->ResumeReading(); });
    if (read_on) StartRead(&message_);
  }

  void OnWriteDone(bool ok) override { outbox_.OnWriteDone(ok); }

  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(link_->mu_);
      link_->stream_ = nullptr;
    }
    boost::asio::post(service_.loop_,
                      [&clients = service_.clients_, link = link_] { clients.OnLinkClosed(link->id); });
    delete this;
  }

 private:
  void FinishAfterWrites(grpc::Status status) {
    outbox_.Close([this, status = std::move(status)] { Finish(status); });
  }

  NodeGrpcService& service_;
  grpc::CallbackServerContext* const context_;  // gRPC's, valid until OnDone
  std::shared_ptr<Link> link_;
  rpc::Message message_;  // the read in flight
  Outbox<rpc::Message, PeerStream, PeerBatching> outbox_;
  std::shared_ptr<ReadBudget> budget_;
};

grpc::ServerBidiReactor<rpc::Message, rpc::Message>* NodeGrpcService::Connect(
    grpc::CallbackServerContext* context) {
  grpc::Status allowed = CheckToken(*context, token_);
  if (!allowed.ok()) return new RefusedPeer(std::move(allowed));
  return new PeerStream(*this, context);
}

}  // namespace flare
