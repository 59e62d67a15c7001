#include "rpc/gcs_connection.h"

namespace flare {

GcsConnection::GcsConnection(boost::asio::io_context& loop, const std::string& address,
                             const std::string& token, Callbacks callbacks, StreamLimits limits)
    : ClientStream(loop, address, token, "head", std::move(callbacks), limits),
      stub_(rpc::GcsService::NewStub(channel())) {
  stub_->async()->Connect(context(), this);
  Begin();
}

}  // namespace flare
