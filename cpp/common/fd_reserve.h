// What a listening process does when it runs out of file descriptors. An
// accept that fails with EMFILE or ENFILE leaves the connection waiting,
// so the listening socket stays readable and an event loop that simply
// accepts again spins at full CPU while the client hangs. FdReserve keeps
// one descriptor (of /dev/null) in reserve: on running out, the acceptor
// gives it up, accepts each waiting connection and closes it at once (the
// client sees the connection close, not a hang), takes the reserve back,
// and waits a little before accepting again.
#ifndef FLARE_COMMON_FD_RESERVE_H_
#define FLARE_COMMON_FD_RESERVE_H_

#include <string>

namespace flare {

// True for the errno values that mean this process or the system is out of
// descriptors.
bool IsOutOfDescriptors(int error);

// "out of file descriptors (N open, limit L)" for log lines.
std::string DescribeDescriptorUse();

class FdReserve {
 public:
  FdReserve();
  ~FdReserve();
  FdReserve(const FdReserve&) = delete;
  FdReserve& operator=(const FdReserve&) = delete;

  // Accepts and closes every connection waiting on `listening_fd` (which
  // must be non-blocking), with the reserve given up meanwhile. Returns how
  // many were refused; `use`, when given, gets DescribeDescriptorUse()
  // (which needs the reserve's descriptor to look).
  int RefuseWaiting(int listening_fd, std::string* use = nullptr);

  // An acceptor's side of an episode of running out: RefuseWaiting, with a
  // log line naming `what` (e.g. "new local clients") at its start, and
  // one with the count refused once an accept succeeds again (Accepted).
  void RefuseWhileOut(int listening_fd, const std::string& what);
  void Accepted(const std::string& what);

 private:
  int fd_ = -1;
  bool out_ = false;  // in an episode
  int refused_ = 0;   // in this episode
};

}  // namespace flare

#endif  // FLARE_COMMON_FD_RESERVE_H_
