// Where a head keeps its GCS state, from the raylet's --gcs-storage value:
//
//   (empty)                   the SQLite file gcs.sqlite in the session dir
//   sqlite:///ABS/PATH.db     that SQLite file (created when absent)
//   /A/DIRECTORY or DIR/      gcs.sqlite in that directory (created)
//   /A/FILE                   that SQLite file
//   redis://HOST[:PORT][/P]   an external Redis (redis_store.h)
//   memory                    process memory: nothing survives the head
//
// A head restarted with the same value finds the state again. (The raylet
// keeps the GCS of a head that ends with its driver, --driver-pid, in
// memory unless told otherwise: there is no restart to survive.)
#ifndef FLARE_GCS_STORAGE_SPEC_H_
#define FLARE_GCS_STORAGE_SPEC_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gcs/store.h"

namespace flare {

// The file name of the SQLite store inside a directory.
inline constexpr char kGcsSqliteFile[] = "gcs.sqlite";

// Opens the store `spec` names; `session_dir` is where the default goes.
// InvalidArgument for a value it cannot read; the store's own error when
// it cannot be opened.
absl::StatusOr<std::unique_ptr<Store>> OpenGcsStorage(const std::string& spec,
                                                      const std::string& session_dir);

}  // namespace flare

#endif  // FLARE_GCS_STORAGE_SPEC_H_
