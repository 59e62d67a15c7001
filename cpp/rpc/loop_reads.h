// How every stream between nodes hands what it reads to the raylet's event
// loop: counted against the stream's ReadBudget, so that a stream whose
// loop falls behind stops reading (see read_budget.h).
#ifndef FLARE_RPC_LOOP_READS_H_
#define FLARE_RPC_LOOP_READS_H_

#include <cstddef>
#include <memory>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "rpc/read_budget.h"

namespace flare {

// Posts `deliver(message)` onto `loop`; after it ran, `resume()` too when
// the stream had paused and may read again. Returns whether the stream
// reads on at once (else it waits for `resume`). `deliver` and `resume`
// must stay valid until the loop runs them (or the loop is gone).
template <typename Message, typename Deliver, typename Resume>
bool PostToLoop(boost::asio::io_context& loop, const std::shared_ptr<ReadBudget>& budget,
                Message message, Deliver deliver, Resume resume) {
  const size_t bytes = message.ByteSizeLong();
  // Counted and posted as one step: once the count pauses the stream, the
  // loop may resume it at once (it caught up meanwhile), and the next read
  // must not be posted before this one.
  return budget->OnRead(bytes, [&] {
    boost::asio::post(loop, [budget, bytes, message = std::move(message),
                             deliver = std::move(deliver), resume = std::move(resume)]() mutable {
      deliver(message);
      if (budget->OnHandled(bytes)) resume();
    });
  });
}

}  // namespace flare

#endif  // FLARE_RPC_LOOP_READS_H_
