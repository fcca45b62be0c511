// SPDX-License-Identifier: Apache-2.0
#include "core/pipeline.h"

#include "common/log.h"

namespace maglev {

Pipeline::Pipeline(Dispatcher& dispatcher, ProbeRunner& runner, CheckerOptions options)
    : checker_(dispatcher, runner, options),
      lb_(dispatcher, [this](const std::string& backend) { return checker_.StateOf(backend); }) {
  // The lb stage is the checker's first listener: by the time anyone else
  // hears of a transition, the frontends already reflect it.
  listener_ = checker_.AddListener(
      [this](const std::string& backend, const Transition& t) { lb_.OnTransition(backend, t); });
  // A drain ends by disabling the backend (with flush).
  lb_.SetOnDrainTimeout([this](const std::string& backend) { (void)checker_.Disable(backend); });
}

Pipeline::~Pipeline() {
  Stop();
  checker_.RemoveListener(listener_);
}

void Pipeline::Start(std::shared_ptr<const Config> config, const PipelineRestore& restore) {
  lb_.Start(config, &restore.lb);
  checker_.Start(std::move(config), restore.admin);
}

void Pipeline::Reload(std::shared_ptr<const Config> config) {
  lb_.Reload(config, [&] { checker_.Reload(config); });
  LogInfo("config-reload", {{"frontends", static_cast<int64_t>(lb_.config().frontends.size())},
                            {"backends", static_cast<int64_t>(checker_.BackendNames().size())}});
}

ConfigResult Pipeline::ReloadFromFile(const std::string& path) {
  ConfigResult r = LoadConfigFile(path);
  if (!r.ok()) {
    LogError("config-reload-failed",
             {{"path", path},
              {"kind", r.kind == ConfigErrorKind::kParse ? "parse" : "semantic"},
              {"error", r.error}});
    return r;
  }
  Reload(r.config);
  return r;
}

void Pipeline::Stop() { checker_.Stop(); }

absl::StatusOr<BackendSnapshot> Pipeline::Enable(const std::string& backend) {
  // Enabling cancels a drain, also of a backend that never was disabled.
  auto snap = checker_.Enable(backend);
  if (snap.ok()) lb_.CancelDrain(backend);
  return snap;
}

absl::StatusOr<BackendSnapshot> Pipeline::Drain(const std::string& backend, Duration timeout) {
  if (absl::Status st = lb_.Drain(backend, timeout); !st.ok()) return st;
  auto snap = checker_.GetBackend(backend);
  if (!snap) return absl::NotFoundError("backend \"" + backend + "\" not found");
  return *snap;
}

}  // namespace maglev
