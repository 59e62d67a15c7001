// The sending end of raw data connections (raw_protocol.h), which the
// node's SharedPort hands over once it has seen their magic: checks the
// cluster token, pins the object on the event loop (send_pin.h) and answers
// each range asked for with its header and the bytes, written from the
// arena straight to the socket (the kernel's copy is the only one).
//
// Thread rules: connections run on `io`, the node's transfer thread; they
// touch the store only by posting onto the loop. Adopt and CloseAll may be
// called from any thread. Connections and the work posted for them keep
// what they need alive, so the RawSender may go before `io` stops; after
// CloseAll, stopping `io` ends them.
#ifndef FLARE_OBJECT_MANAGER_RAW_SENDER_H_
#define FLARE_OBJECT_MANAGER_RAW_SENDER_H_

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "object_manager/send_pin.h"

namespace flare {

class RawSendConnection;

class RawSender {
 public:
  RawSender(boost::asio::io_context& io, std::shared_ptr<SenderContext> senders,
            std::string token);

  // Serves the connected TCP socket `fd` (of address family `family`),
  // whose unread bytes start with kRawMagic. Takes ownership of `fd`.
  void Adopt(int fd, int family);
  // Closes every connection.
  void CloseAll();

 private:
  struct Shared {
    boost::asio::io_context& io;
    std::shared_ptr<SenderContext> senders;
    std::shared_ptr<const std::string> token;
    std::vector<std::weak_ptr<RawSendConnection>> connections;  // on `io` only
  };
  std::shared_ptr<Shared> shared_;
};

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_RAW_SENDER_H_
