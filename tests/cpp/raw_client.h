// A blocking TCP client that speaks the raw data connection's protocol
// (cpp/object_manager/raw_protocol.h) by hand, for tests that send what a
// healthy node never sends.
#ifndef FLARE_TESTS_CPP_RAW_CLIENT_H_
#define FLARE_TESTS_CPP_RAW_CLIENT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "common/ids.h"
#include "object_manager/raw_protocol.h"

namespace flare {

class RawClient {
 public:
  // Connects to 127.0.0.1:port.
  explicit RawClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    // Every read gives up after 10 s: a test fails, it does not hang.
    timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawClient() { close(fd_); }

  bool connected() const { return connected_; }
  void Send(const std::string& bytes) {
    ASSERT_EQ(send(fd_, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  }
  // Reads exactly `n` bytes; fewer when the connection closed first.
  std::string Read(size_t n) {
    std::string bytes(n, '\0');
    size_t got = 0;
    while (got < n) {
      const ssize_t r = recv(fd_, bytes.data() + got, n - got, 0);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    bytes.resize(got);
    return bytes;
  }
  // The next header and what follows it.
  std::pair<RawChunkHeader, std::string> Answer() {
    const std::string header = Read(RawChunkHeader::kBytes);
    if (header.size() != RawChunkHeader::kBytes) return {RawChunkHeader{0, 0, 999}, ""};
    RawChunkHeader decoded =
        RawChunkHeader::Decode(reinterpret_cast<const uint8_t*>(header.data()));
    return {decoded, Read(decoded.length)};
  }
  // Reads until the peer closes (anything it says first is skipped); false
  // when it stays open for 10 s.
  bool ClosedByPeer() {
    char buffer[4096];
    ssize_t r;
    while ((r = recv(fd_, buffer, sizeof(buffer), 0)) > 0) {
    }
    return r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  int fd_;
  bool connected_ = false;
};

inline std::string Opening(const std::string& token, const ObjectId& id, uint64_t size) {
  std::string bytes(kRawMagic, kRawMagicBytes);
  rpc::PullRequest open;
  open.set_token(token);
  open.set_object_id(id.Data(), ObjectId::kSize);
  open.set_object_size(size);
  AppendRawRequest(open, &bytes);
  return bytes;
}

inline std::string Range(uint64_t offset, uint64_t length) {
  rpc::PullRequest request;
  request.set_offset(offset);
  request.set_length(length);
  std::string bytes;
  AppendRawRequest(request, &bytes);
  return bytes;
}

}  // namespace flare

#endif  // FLARE_TESTS_CPP_RAW_CLIENT_H_
