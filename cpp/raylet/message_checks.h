// What a client may send the raylet, checked where a message enters
// (LocalServer::OnLinkMessage), before it becomes a typed call: which
// messages each kind of client sends, and the fields the units behind take
// at their word — ids of their kind's length, resource amounts the
// scheduler can count, a bounded number of returns, a timeout a timer can
// hold. A message that fails is a protocol error: the server drops the
// client that sent it, telling it why where the link can carry that.
//
// Another node's raylet (kind PEER, on the cluster port) sends only what
// RemoteTasks sends: argument values and locations, the task, borrows
// (a ref and a subscription) and reference and pin releases, cancels and
// kills; and, for its placement groups, the rounds that reserve bundles
// here (which no other client may send) and removals. Worker-only messages
// (task_done, generator items, store writes) and driver requests are not for
// it. Which task a peer's cancel may name (only one it submitted here) needs
// state, so the TaskManager checks that (TaskManager::OnCancel). What a node this one dialed answers
// on that link is checked as well (CheckPeerAnswer).
//
// Stateless: the checks need nothing but the message.
#ifndef FLARE_RAYLET_MESSAGE_CHECKS_H_
#define FLARE_RAYLET_MESSAGE_CHECKS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "flare.pb.h"

namespace flare {

// The most returns a task may declare: each is an entry in the object table
// from submission on (and the index must stay clear of put ids).
inline constexpr uint32_t kMaxTaskReturns = 1 << 16;
// The longest timeout_s a task may carry (a timer holds it in milliseconds).
inline constexpr double kMaxTaskTimeoutSeconds = 1e9;

// OK when a client of kind `sender` may send `message` and its fields are
// well formed; PermissionDenied for a message its kind must not send,
// InvalidArgument naming the field otherwise. Registration is checked with
// the kind the client is still unknown as (CLIENT_KIND_UNSPECIFIED).
absl::Status CheckClientMessage(rpc::ClientKind sender, const rpc::Message& message);

// What a node this raylet dialed (its PeerConnection) sends back and the
// raylet acts on — objects (returns, borrowed values), worker logs, its
// registration reply, prepared bundles, tasks it spilled back, actors of
// ours that died there — is well formed.
absl::Status CheckPeerAnswer(const rpc::Message& message);

// The fields of a task as submitted (by a driver, a worker or a peer).
absl::Status CheckTaskSpec(const rpc::TaskSpec& spec);

}  // namespace flare

#endif  // FLARE_RAYLET_MESSAGE_CHECKS_H_
