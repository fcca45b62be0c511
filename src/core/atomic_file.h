// SPDX-License-Identifier: Apache-2.0
//
// Files that readers must never see half-written (the state file, the
// servable-VIPs file): written to a temporary file in the same directory,
// fsync'ed, renamed over the target, then the directory fsync'ed.
//
// AtomicFileWriter does this on a thread of its own, so that a slow disk
// never blocks the core loop. Writes coalesce: only the newest content
// submitted while a write is under way is written next.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/mutex.h"

namespace maglev {

// The whole write, synchronously. On error the target is unchanged (and the
// temporary file removed).
absl::Status WriteFileAtomically(const std::string& path, std::string_view content);

class AtomicFileWriter {
 public:
  // `what` names the file in logs (msg `<what>-write-failed`, at warn).
  AtomicFileWriter(std::string path, std::string what);
  // Writes what is still pending, then joins the thread.
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void Submit(std::string content);
  // Blocks until everything submitted so far is written (or failed).
  void Flush();
  const std::string& path() const { return path_; }
  // Writes done and failed (for tests).
  uint64_t writes() const;
  uint64_t failures() const;

 private:
  void Run();

  const std::string path_;
  const std::string what_;
  mutable Mutex mu_;
  CondVar cv_;
  std::optional<std::string> pending_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t writes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace maglev
