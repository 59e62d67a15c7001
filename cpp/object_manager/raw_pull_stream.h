// A TransferStream over a raw data connection (raw_protocol.h) to the
// holder's port: the same requests as the gRPC call, but each chunk's bytes
// are received by the kernel straight into the pull's arena buffer, with no
// copy in user space and no HTTP/2 framing.
//
// Thread rules: all socket work runs on `io` (the node's transfer thread);
// Request, Close and Cancel post onto it and may be called from any thread.
// Held by shared_ptr (the handlers in flight keep it alive).
#ifndef FLARE_OBJECT_MANAGER_RAW_PULL_STREAM_H_
#define FLARE_OBJECT_MANAGER_RAW_PULL_STREAM_H_

#include <array>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "absl/status/status.h"
#include "object_manager/raw_protocol.h"
#include "object_manager/transfer_stream.h"

namespace flare {

class RawPullStream : public TransferStream,
                      public std::enable_shared_from_this<RawPullStream> {
 public:
  RawPullStream(boost::asio::io_context& io, StreamTarget target, StreamEvents events);

  // Connects to `address` ("host:port") and opens the transfer with `token`.
  void Start(const std::string& address, const std::string& token);

  void Request(const std::vector<uint64_t>& chunks) override;
  void Close() override;
  void Cancel() override;

 private:
  void OnConnected(const boost::system::error_code& error);
  void ReadHeader();
  void OnHeader(const RawChunkHeader& header);
  // Receives [at, end) of chunk `chunk` straight into the buffer.
  void ReadData(uint64_t at, uint64_t end, uint64_t chunk);
  void SetLowWater(int bytes);
  void ReadError(const RawChunkHeader& header);
  void Write(std::string bytes);
  void WriteNext();
  // Records why the stream is ending and closes the socket; the read (or
  // connect) under way then ends the stream.
  void Abandon(absl::Status why);
  // Reports the end. Called once, from the read or connect chain only, so
  // nothing is being received into the buffer any more.
  void End(absl::Status status);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::resolver resolver_;
  const StreamTarget target_;
  StreamEvents events_;
  AskedChunks asked_;
  std::array<uint8_t, RawChunkHeader::kBytes> header_;
  std::string error_message_;
  int low_water_ = 1;  // SO_RCVLOWAT now
  std::deque<std::string> outgoing_;  // front: being written
  bool connected_ = false;
  bool writing_ = false;
  bool closing_ = false;  // Close(): shut down once the writes are out
  absl::Status abandoned_;
  bool ended_ = false;
};

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_RAW_PULL_STREAM_H_
