// How the raylet runs its event loop: like io_context::run, except that
// after handling events it may poll for the next ones for a short while
// before sleeping in epoll. A raylet in a chain of round trips (a call
// relayed to another node and its reply on the way back) hears again
// within tens of microseconds, and waking a sleeping process costs about
// that much on a VM. It polls only while the typical gap between events is
// short (a moving average, as the client's Waiter does), so an idle or
// quiet raylet sleeps at once.
#ifndef FLARE_RAYLET_EVENT_LOOP_H_
#define FLARE_RAYLET_EVENT_LOOP_H_

#include <chrono>

#include <boost/asio/io_context.hpp>

namespace flare {

// Measured with bench/microbench.py on the 2-vCPU VM, quiet: 100 us took
// sync task round trips from 10,000 to 17,000/s and actor calls from
// 10,000 to 16,500/s on one node; batches gained 10-25 %.
inline constexpr std::chrono::microseconds kDefaultRayletSpin{100};

// Polls for up to `spin` after events while the typical gap is at most
// kSpinCeiling spins; `spin` of 0 is io_context::run. Returns when `io` is
// stopped or out of work.
void RunEventLoop(boost::asio::io_context& io, std::chrono::microseconds spin);

// The loop's spin from FLARE_RAYLET_SPIN_US (microseconds, at most 10 ms);
// `fallback` when unset or malformed.
std::chrono::microseconds RayletSpinFromEnvironment(std::chrono::microseconds fallback);

}  // namespace flare

#endif  // FLARE_RAYLET_EVENT_LOOP_H_
