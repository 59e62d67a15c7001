// The receiving side of object transfer, as decisions without I/O: which
// objects this node is pulling, from which holder, which chunks are asked
// for, and when a pull is done or has failed. Events come in (a pull was
// requested, space was allocated, a chunk arrived, a holder's stream ended,
// a node died, time passed); every event returns the actions the I/O layer
// (ObjectManager) must perform, in order.
//
// Policy:
//   - One pull per object: a second request for an object being pulled
//     joins it (its holders are added); every waiter is told the outcome.
//   - Admission by store space: a pull first asks for a buffer of the
//     object's size (kAllocate). When the store has no room it waits, in
//     request order, asks for space (kAskForSpace: spill or evict) and tries
//     again on OnSpaceFreed; after `admission_timeout` without room it fails
//     with ResourceExhausted.
//   - One holder at a time: the pull opens a stream to its next holder and
//     asks for chunks, at most `max_chunks_in_flight_per_pull` per pull and
//     `max_chunks_in_flight` over all pulls (credit goes round the pulls in
//     admission order). A holder whose stream ends early, that sends nothing
//     for `chunk_timeout` while asked for chunks, or whose node died, is
//     given up and the chunks still missing are asked of the next holder;
//     chunks already received are kept. With no holder left the pull fails
//     with Unavailable, naming why each holder failed.
//   - Chunks may arrive in any order; the object is sealed once every chunk
//     arrived, never before.
//
// Buffer safety: a stream may copy chunk bytes into the buffer on another
// thread until the I/O layer reports it ended (OnAttemptEnded). So the
// manager asks only for chunks it has not received, from one stream at a
// time, and aborts a buffer only when no stream of its pull is open.
//
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_OBJECT_MANAGER_PULL_MANAGER_H_
#define FLARE_OBJECT_MANAGER_PULL_MANAGER_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/ids.h"

namespace flare {

using PullClock = std::chrono::steady_clock;
// Who waits for a pull; chosen by the caller, reported back in kNotify.
using PullWaiterId = uint64_t;
// One stream to one holder for one pull; never reused.
using AttemptId = uint64_t;

struct PullOptions {
  uint64_t chunk_bytes = 4u << 20;
  size_t max_chunks_in_flight_per_pull = 4;
  size_t max_chunks_in_flight = 8;
  std::chrono::milliseconds admission_timeout{30000};
  std::chrono::milliseconds chunk_timeout{10000};
};

struct PullAction {
  enum class Kind {
    kAllocate,     // reserve `size` bytes for `object`; answer with OnAllocated
    kAskForSpace,  // the store lacks room for `size` bytes: spill or evict,
                   // then call OnSpaceFreed
    kOpen,         // open stream `attempt` to `holder` for `object` (`size` bytes)
    kRequest,      // ask stream `attempt` for `chunks` (indexes of chunk_bytes)
    kClose,        // end stream `attempt`: gracefully when `status` is OK
                   // (it delivered everything), at once otherwise (given
                   // up). It may still report chunks, then OnAttemptEnded
                   // (ignored after a kSeal).
    kSeal,         // every byte of `object` arrived: seal its buffer
    kAbort,        // free `object`'s buffer; no stream of it is open
    kNotify,       // the pull of `object` ended with `status`: tell `waiters`
  };
  Kind kind;
  ObjectId object;
  uint64_t size = 0;
  AttemptId attempt = 0;
  NodeId holder;
  std::vector<uint64_t> chunks;
  absl::Status status;
  std::vector<PullWaiterId> waiters;
};

using PullActions = std::vector<PullAction>;

class PullManager {
 public:
  explicit PullManager(PullOptions options);

  // `waiter` wants `object` (`size` bytes) from any of `holders`. Joins the
  // pull of `object` if there is one. With no holder at all it fails at once.
  PullActions Pull(const ObjectId& object, uint64_t size, const std::vector<NodeId>& holders,
                   PullWaiterId waiter, PullClock::time_point now);

  // The answer to kAllocate: OK (the buffer is reserved), ResourceExhausted
  // (no room now: wait for space) or any other error (fail the pull).
  PullActions OnAllocated(const ObjectId& object, const absl::Status& status,
                          PullClock::time_point now);
  // Store space may have come back: pulls waiting for room try again.
  PullActions OnSpaceFreed();

  // Chunk `index` of the stream `attempt` is in the buffer. Chunks from
  // unknown (finished) attempts are ignored.
  PullActions OnChunk(AttemptId attempt, uint64_t index, PullClock::time_point now);
  // Stream `attempt` is over and copies nothing more; `status` says why
  // (OK: the sender closed it, which is early unless every chunk arrived).
  PullActions OnAttemptEnded(AttemptId attempt, const absl::Status& status,
                             PullClock::time_point now);
  // `node` died: it is no holder of anything any more.
  PullActions OnNodeDead(const NodeId& node);
  // Fails pulls that waited too long for space and gives up holders that
  // stalled. Call at NextDeadline().
  PullActions OnTimer(PullClock::time_point now);

  // When OnTimer has something to do; nullopt when nothing is timed.
  std::optional<PullClock::time_point> NextDeadline() const;

  size_t num_pulls() const { return pulls_.size(); }
  size_t num_waiting_for_space() const { return admission_.size(); }
  size_t chunks_in_flight() const { return in_flight_; }
  bool IsPulling(const ObjectId& object) const { return pulls_.contains(object); }
  // Checks the bookkeeping's invariants (chunk counts against chunk states);
  // an error names the first broken one. For tests.
  absl::Status Validate() const;

 private:
  enum class ChunkState : uint8_t { kMissing, kInFlight, kReceived };
  enum class Phase { kWaitingForSpace, kAllocating, kTransferring };

  struct PullState {
    uint64_t size = 0;
    Phase phase = Phase::kWaitingForSpace;
    std::vector<PullWaiterId> waiters;
    std::vector<NodeId> holders;  // untried holders, in order
    std::string failures;         // why each tried holder failed
    std::optional<PullClock::time_point> space_deadline;
    bool allocated = false;
    std::vector<ChunkState> chunks;
    uint64_t next_missing = 0;  // no missing chunk below this index
    uint64_t received = 0;
    size_t in_flight = 0;
    // The open stream, if any.
    AttemptId attempt = 0;
    NodeId attempt_holder;
    bool closing = false;  // kClose sent; waiting for OnAttemptEnded
    std::string close_reason;
    PullClock::time_point attempt_deadline;
  };

  uint64_t NumChunks(uint64_t size) const;
  // Tries to allocate for the oldest pulls waiting for space.
  void Admit(PullActions& out);
  // Starts the transfer of an allocated pull: a stream to its next holder,
  // or completion for an empty object.
  void StartTransfer(const ObjectId& object, PullState& pull, PullClock::time_point now,
                     PullActions& out);
  void OpenNextHolder(const ObjectId& object, PullState& pull, PullClock::time_point now,
                      PullActions& out);
  // Hands free chunk credit to transferring pulls, round-robin.
  void RequestChunks(PullActions& out);
  void GiveUpAttempt(PullState& pull, std::string reason, PullActions& out);
  // Seals (on success) or aborts, notifies every waiter and forgets the pull.
  void Finish(const ObjectId& object, absl::Status status, PullActions& out);
  absl::Status NoHolderLeft(const ObjectId& object, const PullState& pull) const;

  const PullOptions options_;
  absl::flat_hash_map<ObjectId, PullState, IdHash> pulls_;
  absl::flat_hash_map<AttemptId, ObjectId> attempts_;
  std::deque<ObjectId> admission_;     // waiting for space, oldest first
  std::deque<ObjectId> transferring_;  // round-robin order of chunk credit
  size_t in_flight_ = 0;
  AttemptId next_attempt_ = 1;
  // The oldest waiting pull found no room: later ones wait for OnSpaceFreed.
  bool admission_blocked_ = false;
};

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_PULL_MANAGER_H_
