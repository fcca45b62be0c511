// SPDX-License-Identifier: Apache-2.0
#include "core/state_file.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "common/log.h"

namespace maglev {

namespace {

constexpr int64_t kNsPerMs = 1000000;

const char* AdminName(AdminRestore a) {
  switch (a) {
    case AdminRestore::kDisabled:
      return "disabled";
    case AdminRestore::kPaused:
      return "paused";
    case AdminRestore::kEnabled:
      return "enabled";
  }
  return "?";
}

int64_t ToMs(int64_t ns) { return ns / kNsPerMs; }

// ---- decoding: everything is checked, the first mismatch fails the whole file.

struct ShapeError {
  std::string what;
};

[[noreturn]] void Fail(const std::string& what) { throw ShapeError{what}; }

void CheckKeys(const YAML::Node& map, const std::string& where,
               std::initializer_list<std::string_view> allowed) {
  if (!map.IsMap()) Fail(where + ": expected an object");
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) Fail(where + ": a key is not a string");
    const std::string& k = kv.first.Scalar();
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || a == k;
    if (!ok) Fail(where + ": unexpected key \"" + k + "\"");
  }
}

int64_t GetInt(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar() || n.Tag() == "!") Fail(where + ": expected an integer");
  std::string_view s = n.Scalar();
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (i == s.size()) Fail(where + ": expected an integer");
  for (size_t j = i; j < s.size(); ++j)
    if (s[j] < '0' || s[j] > '9') Fail(where + ": expected an integer");
  try {
    return n.as<int64_t>();
  } catch (const YAML::Exception&) {
    Fail(where + ": integer out of range");
  }
}

bool GetBool(const YAML::Node& n, const std::string& where) {
  if (n.IsScalar() && n.Tag() != "!") {
    if (n.Scalar() == "true") return true;
    if (n.Scalar() == "false") return false;
  }
  Fail(where + ": expected true or false");
}

std::string GetString(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar() || n.Tag() != "!") Fail(where + ": expected a string");
  return n.Scalar();
}

PersistedState DecodeOrThrow(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) Fail("empty file");
  if (text[first] != '{') Fail("not a JSON object");
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    Fail(std::string("not valid JSON: ") + e.what());
  }
  if (!root.IsMap()) Fail("not a JSON object");
  if (!root["format"] || !root["format"].IsScalar() || root["format"].Scalar() != kStateFileFormat)
    Fail("not a maglevd state file (no \"format\": \"maglevd-state\")");
  if (!root["version"]) Fail("no \"version\"");
  int64_t version = GetInt(root["version"], "version");
  if (version != kStateFileVersion)
    Fail("version " + std::to_string(version) + " (this maglevd reads version " +
         std::to_string(kStateFileVersion) + ")");
  CheckKeys(root, "top level", {"format", "version", "written_unix_ms", "backends", "weights"});
  PersistedState st;
  if (root["written_unix_ms"])
    st.written_unix_ns = GetInt(root["written_unix_ms"], "written_unix_ms") * kNsPerMs;
  if (const YAML::Node backends = root["backends"]) {
    if (!backends.IsMap()) Fail("backends: expected an object");
    for (const auto& kv : backends) {
      const std::string name = kv.first.Scalar();
      const std::string where = "backends." + name;
      const YAML::Node& b = kv.second;
      CheckKeys(b, where, {"admin", "config_enabled", "drain_deadline_unix_ms", "health"});
      PersistedBackend pb;
      if (b["admin"]) {
        std::string a = GetString(b["admin"], where + ".admin");
        if (a == "disabled") {
          pb.admin = AdminRestore::kDisabled;
        } else if (a == "paused") {
          pb.admin = AdminRestore::kPaused;
        } else if (a == "enabled") {
          pb.admin = AdminRestore::kEnabled;
        } else {
          Fail(where + ".admin: unknown value \"" + a + "\"");
        }
      }
      if (b["config_enabled"]) pb.config_enabled = GetBool(b["config_enabled"], where);
      if (b["drain_deadline_unix_ms"])
        pb.drain_deadline_unix_ns =
            GetInt(b["drain_deadline_unix_ms"], where + ".drain_deadline_unix_ms") * kNsPerMs;
      if (const YAML::Node h = b["health"]) {
        const std::string hw = where + ".health";
        CheckKeys(h, hw, {"state", "since_unix_ms", "seen_unix_ms"});
        if (!h["state"] || !h["since_unix_ms"] || !h["seen_unix_ms"])
          Fail(hw + ": needs state, since_unix_ms and seen_unix_ms");
        PersistedHealth ph;
        std::string s = GetString(h["state"], hw + ".state");
        if (s == "up") {
          ph.state = BackendState::kUp;
        } else if (s == "down") {
          ph.state = BackendState::kDown;
        } else {
          Fail(hw + ".state: expected up or down, got \"" + s + "\"");
        }
        ph.since_unix_ns = GetInt(h["since_unix_ms"], hw + ".since_unix_ms") * kNsPerMs;
        ph.seen_unix_ns = GetInt(h["seen_unix_ms"], hw + ".seen_unix_ms") * kNsPerMs;
        pb.health = ph;
      }
      if (!st.backends.emplace(name, std::move(pb)).second) Fail(where + ": listed twice");
    }
  }
  if (const YAML::Node weights = root["weights"]) {
    if (!weights.IsSequence()) Fail("weights: expected an array");
    std::set<std::tuple<std::string, std::string, std::string>> seen;
    for (size_t i = 0; i < weights.size(); ++i) {
      const std::string where = "weights[" + std::to_string(i) + "]";
      const YAML::Node w = weights[i];
      CheckKeys(w, where, {"frontend", "pool", "backend", "weight", "config_weight"});
      for (const char* k : {"frontend", "pool", "backend", "weight", "config_weight"})
        if (!w[k]) Fail(where + ": no \"" + k + "\"");
      PersistedWeight pw;
      pw.frontend = GetString(w["frontend"], where + ".frontend");
      pw.pool = GetString(w["pool"], where + ".pool");
      pw.backend = GetString(w["backend"], where + ".backend");
      int64_t weight = GetInt(w["weight"], where + ".weight");
      int64_t config_weight = GetInt(w["config_weight"], where + ".config_weight");
      if (weight < 0 || weight > 100) Fail(where + ".weight: out of range 0..100");
      if (config_weight < 0 || config_weight > 100)
        Fail(where + ".config_weight: out of range 0..100");
      pw.weight = static_cast<int>(weight);
      pw.config_weight = static_cast<int>(config_weight);
      if (!seen.insert({pw.frontend, pw.pool, pw.backend}).second) Fail(where + ": listed twice");
      st.weights.push_back(std::move(pw));
    }
  }
  return st;
}

}  // namespace

std::string EncodeState(const PersistedState& state) {
  std::string out = "{\n  \"format\": ";
  AppendJsonString(&out, kStateFileFormat);
  out += ",\n  \"version\": " + std::to_string(kStateFileVersion);
  out += ",\n  \"written_unix_ms\": " + std::to_string(ToMs(state.written_unix_ns));
  out += ",\n  \"backends\": {";
  bool first = true;
  for (const auto& [name, b] : state.backends) {
    out += first ? "\n    " : ",\n    ";
    first = false;
    AppendJsonString(&out, name);
    out += ": {";
    bool f = true;
    auto sep = [&] {
      if (!f) out += ", ";
      f = false;
    };
    if (b.admin) {
      sep();
      out += "\"admin\": \"";
      out += AdminName(*b.admin);
      out += "\", \"config_enabled\": ";
      out += b.config_enabled ? "true" : "false";
    }
    if (b.drain_deadline_unix_ns) {
      sep();
      out += "\"drain_deadline_unix_ms\": " + std::to_string(ToMs(*b.drain_deadline_unix_ns));
    }
    if (b.health) {
      sep();
      out += "\"health\": {\"state\": \"";
      out += BackendStateName(b.health->state);
      out += "\", \"since_unix_ms\": " + std::to_string(ToMs(b.health->since_unix_ns));
      out += ", \"seen_unix_ms\": " + std::to_string(ToMs(b.health->seen_unix_ns)) + "}";
    }
    out += "}";
  }
  out += first ? "}" : "\n  }";
  out += ",\n  \"weights\": [";
  first = true;
  for (const PersistedWeight& w : state.weights) {
    out += first ? "\n    {\"frontend\": " : ",\n    {\"frontend\": ";
    first = false;
    AppendJsonString(&out, w.frontend);
    out += ", \"pool\": ";
    AppendJsonString(&out, w.pool);
    out += ", \"backend\": ";
    AppendJsonString(&out, w.backend);
    out += ", \"weight\": " + std::to_string(w.weight);
    out += ", \"config_weight\": " + std::to_string(w.config_weight) + "}";
  }
  out += first ? "]" : "\n  ]";
  out += "\n}\n";
  return out;
}

absl::StatusOr<PersistedState> DecodeState(std::string_view text) {
  try {
    return DecodeOrThrow(text);
  } catch (const ShapeError& e) {
    return absl::InvalidArgumentError(e.what);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(std::string("not valid JSON: ") + e.what());
  }
}

absl::StatusOr<PersistedState> ReadStateFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return absl::NotFoundError(path + ": no such file");
    return absl::UnavailableError(path + ": " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::UnavailableError(path + ": read error");
  return DecodeState(ss.str());
}

RestorePlan PlanRestore(const PersistedState& state, const Config& config, int64_t now) {
  RestorePlan plan;
  std::set<std::string> referenced;
  for (const std::string& b : config.ReferencedBackends()) referenced.insert(b);
  for (const auto& [name, pb] : state.backends) {
    auto cb = config.backends.find(name);
    if (cb == config.backends.end() || !referenced.count(name)) {
      plan.dropped.push_back("backend " + name + ": not in the configuration");
      continue;
    }
    const bool yaml_enabled = cb->second.enabled;
    // (A plain flag and value: GCC sees an optional<enum> as maybe unset.)
    bool has_admin = pb.admin.has_value();
    AdminRestore admin = pb.admin.value_or(AdminRestore::kEnabled);
    if (has_admin && pb.config_enabled != yaml_enabled) {
      plan.dropped.push_back(std::string("backend ") + name + ": " + AdminName(admin) +
                             " dropped, the YAML's enabled changed");
      has_admin = false;
    }
    if (has_admin && admin == AdminRestore::kEnabled && yaml_enabled) has_admin = false;
    if (pb.drain_deadline_unix_ns && yaml_enabled &&
        !(has_admin && admin == AdminRestore::kDisabled)) {
      if (*pb.drain_deadline_unix_ns <= now) {
        // The drain would have ended meanwhile, in a disable.
        has_admin = true;
        admin = AdminRestore::kDisabled;
      } else {
        plan.pipeline.lb.drains[name] = *pb.drain_deadline_unix_ns;
      }
    }
    if (has_admin) plan.pipeline.admin[name] = admin;
    if (pb.health) {
      plan.carried_health[name] = *pb.health;
      const bool young = now - pb.health->seen_unix_ns <= kStateHealthMaxAge.count() &&
                         pb.health->seen_unix_ns <= now + kStateHealthMaxAge.count();
      if (young) {
        plan.health[name] = pb.health->state;
        if (pb.health->state == BackendState::kDown) plan.pipeline.lb.out_of_service.insert(name);
      }
    }
  }
  for (const PersistedWeight& w : state.weights) {
    const PoolBackend* pb = config.FindPoolBackend(w.frontend, w.pool, w.backend);
    std::string what = "weight " + w.frontend + "/" + w.pool + "/" + w.backend;
    if (!pb) {
      plan.dropped.push_back(what + ": not in the configuration");
    } else if (pb->weight != w.config_weight) {
      plan.dropped.push_back(what + ": the YAML's weight changed");
    } else {
      plan.pipeline.lb.overrides[{w.frontend, w.pool, w.backend}] = w.weight;
    }
  }
  return plan;
}

PersistedState CaptureState(const Pipeline& pipeline,
                            const std::map<std::string, PersistedHealth>& health, int64_t now) {
  PersistedState st;
  st.written_unix_ns = now;
  const Config& cfg = pipeline.config();
  const LbStage& lb = pipeline.lb();
  for (const std::string& name : pipeline.checker().BackendNames()) {
    auto cb = cfg.backends.find(name);
    if (cb == cfg.backends.end()) continue;
    const bool yaml_enabled = cb->second.enabled;
    BackendState s = pipeline.checker().StateOf(name);
    PersistedBackend pb;
    pb.config_enabled = yaml_enabled;
    if (s == BackendState::kDisabled && yaml_enabled) pb.admin = AdminRestore::kDisabled;
    if (s == BackendState::kPaused) pb.admin = AdminRestore::kPaused;
    if (s != BackendState::kDisabled && !yaml_enabled) pb.admin = AdminRestore::kEnabled;
    pb.drain_deadline_unix_ns = lb.DrainDeadline(name);
    if (auto h = health.find(name); h != health.end()) {
      pb.health = h->second;
      if (s == h->second.state) pb.health->seen_unix_ns = now;
    }
    if (pb.admin || pb.drain_deadline_unix_ns || pb.health) st.backends[name] = std::move(pb);
  }
  for (const auto& [key, w] : lb.weight_overrides()) {
    const auto& [fe, pool, backend] = key;
    const PoolBackend* pb = cfg.FindPoolBackend(fe, pool, backend);
    if (!pb) continue;
    st.weights.push_back({fe, pool, backend, w, pb->weight});
  }
  return st;
}

// ---- StatePersister

StatePersister::StatePersister(Dispatcher& dispatcher, Pipeline& pipeline, std::string path)
    : dispatcher_(dispatcher), pipeline_(pipeline), path_(std::move(path)) {}

StatePersister::~StatePersister() { Stop(); }

RestorePlan StatePersister::Load(const Config& config) {
  auto read = ReadStateFile(path_);
  if (!read.ok()) {
    if (absl::IsNotFound(read.status())) {
      LogInfo("state-file-missing", {{"path", path_}});
    } else {
      LogWarn("state-file-ignored",
              {{"path", path_}, {"error", std::string(read.status().message())}});
    }
    return {};
  }
  RestorePlan plan = PlanRestore(*read, config, dispatcher_.WallNowNs());
  for (const std::string& d : plan.dropped)
    LogInfo("state-file-entry-dropped", {{"path", path_}, {"entry", d}});
  health_ = plan.carried_health;
  LogInfo("state-file-restored",
          {{"path", path_},
           {"admin", static_cast<int64_t>(plan.pipeline.admin.size())},
           {"weights", static_cast<int64_t>(plan.pipeline.lb.overrides.size())},
           {"drains", static_cast<int64_t>(plan.pipeline.lb.drains.size())},
           {"health", static_cast<int64_t>(plan.health.size())},
           {"dropped", static_cast<int64_t>(plan.dropped.size())}});
  return plan;
}

void StatePersister::Start() {
  if (started_) return;
  started_ = true;
  writer_ = std::make_unique<AtomicFileWriter>(path_, "state-file");
  delay_timer_ = dispatcher_.CreateTimer([this] { WriteNow(); });
  refresh_timer_ = dispatcher_.CreateTimer([this] {
    MarkDirty();
    refresh_timer_->Enable(kStateRefreshInterval);
  });
  refresh_timer_->Enable(kStateRefreshInterval);
  checker_listener_ =
      pipeline_.checker().AddListener([this](const std::string& backend, const Transition& t) {
        if (t.to == BackendState::kUp || t.to == BackendState::kDown) {
          health_[backend] = {t.to, t.at_unix_ns, t.at_unix_ns};
        } else if (t.to == BackendState::kRemoved) {
          health_.erase(backend);
        }
        MarkDirty();
      });
  lb_listener_ = pipeline_.lb().AddListener([this](const LbUpdate& u) {
    if (u.cause == LbUpdate::Cause::kWeight || u.cause == LbUpdate::Cause::kDrain ||
        u.cause == LbUpdate::Cause::kReload)
      MarkDirty();
  });
}

void StatePersister::MarkDirty() {
  if (delay_timer_ && !delay_timer_->Enabled()) delay_timer_->Enable(kStateWriteDelay);
}

void StatePersister::WriteNow() {
  if (!writer_) return;
  writer_->Submit(EncodeState(CaptureState(pipeline_, health_, dispatcher_.WallNowNs())));
}

void StatePersister::Stop() {
  if (!started_) return;
  started_ = false;
  pipeline_.checker().RemoveListener(checker_listener_);
  pipeline_.lb().RemoveListener(lb_listener_);
  delay_timer_->Disable();
  refresh_timer_->Disable();
  WriteNow();
  writer_->Flush();
  writer_.reset();
}

}  // namespace maglev
