// Socket options for the plain TCP connections between nodes (the object
// manager's raw data connections and the raw links between raylets), which
// gRPC does not manage.
#ifndef FLARE_RPC_TCP_OPTIONS_H_
#define FLARE_RPC_TCP_OPTIONS_H_

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace flare {

// Notices a peer that went away without closing (a downed link, a dead
// machine) as gRPC's keepalive does on the node's other connections:
// probes after 2 s of silence, 2 s apart, and unacknowledged data for 10 s,
// end the connection. Best effort: a failing option is left at the
// system's default.
inline void KeepConnectionAlive(int fd) {
  const int on = 1, idle_s = 2, interval_s = 2, probes = 2, user_timeout_ms = 10000;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof(idle_s));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof(interval_s));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof(user_timeout_ms));
}

// Small messages that someone waits for go out at once (no Nagle delay).
inline void SendSmallWritesAtOnce(int fd) {
  const int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

}  // namespace flare

#endif  // FLARE_RPC_TCP_OPTIONS_H_
