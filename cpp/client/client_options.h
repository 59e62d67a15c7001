// ClientOptions: everything a CoreClient is configured with, read once by
// whoever builds the options (the flare._core binding) and passed in.
#ifndef FLARE_CLIENT_CLIENT_OPTIONS_H_
#define FLARE_CLIENT_CLIENT_OPTIONS_H_

#include <chrono>
#include <string>

#include "client/waiter.h"
#include "common/ids.h"
#include "flare.pb.h"

namespace flare {

struct ClientOptions {
  std::string socket_path;
  rpc::ClientKind kind = rpc::DRIVER;
  WorkerId worker_id;
  bool log_to_driver = true;
  std::string job_config;
  std::string job_namespace;  // drivers: recorded in the GCS job table
  int connect_timeout_ms = 10000;
  WaiterOptions waiter;
};

// The spin time a waiter polls before it sleeps, from the text of
// FLARE_SPIN_US (microseconds): the default for nullptr, an empty or
// malformed value; at most 100 ms.
std::chrono::microseconds ParseSpin(const char* text);

// ParseSpin of the process's FLARE_SPIN_US.
std::chrono::microseconds SpinFromEnvironment();

}  // namespace flare

#endif  // FLARE_CLIENT_CLIENT_OPTIONS_H_
