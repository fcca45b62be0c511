#include "grammar.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <deque>
#include <functional>
#include <optional>
#include <set>

#include "absl/strings/str_join.h"
#include "common/duration.h"
#include "common/ip_address.h"

namespace maglev::cli {
namespace {

const char* const kLogLevels[] = {"debug", "info", "warn", "error"};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

std::optional<long> ParseInt(std::string_view s) {
  long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Validates (and normalises) the value of an argument.
absl::StatusOr<std::string> CheckArg(const Node& n, const std::string& w) {
  switch (n.arg) {
    case ArgKind::kCount: {
      auto v = ParseInt(w);
      if (!v || *v < 1 || *v > 1'000'000'000) {
        return absl::InvalidArgumentError("invalid count \"" + w + "\": want a positive number");
      }
      return std::to_string(*v);
    }
    case ArgKind::kWeight: {
      auto v = ParseInt(w);
      if (!v || *v < 0 || *v > 100) {
        return absl::InvalidArgumentError("invalid weight \"" + w + "\": want 0-100");
      }
      return std::to_string(*v);
    }
    case ArgKind::kDuration: {
      auto d = ParseDuration(w);
      if (!d || *d <= Duration::zero()) {
        return absl::InvalidArgumentError("invalid duration \"" + w + "\": want e.g. 30s or 5m");
      }
      return w;
    }
    case ArgKind::kAddress: {
      auto a = IpAddress::Parse(w);
      if (!a) {
        return absl::InvalidArgumentError("invalid address \"" + w +
                                          "\": want an IPv4 or IPv6 address");
      }
      return a->ToString();
    }
    case ArgKind::kPort: {
      auto v = ParseInt(w);
      if (!v || *v < 0 || *v > 65535) {
        return absl::InvalidArgumentError("invalid port \"" + w + "\": want 0-65535");
      }
      return std::to_string(*v);
    }
    case ArgKind::kLogLevel: {
      std::vector<std::string> match;
      for (const char* l : kLogLevels) {
        if (w == l) return w;
        if (StartsWith(l, w)) match.push_back(l);
      }
      if (match.size() == 1) return match[0];
      return absl::InvalidArgumentError("invalid log level \"" + w +
                                        "\": want debug, info, warn or error");
    }
    default:
      return w;
  }
}

std::vector<std::string> ArgValues(const Node& n, const Parsed& so_far, NameSource* names) {
  if (n.arg == ArgKind::kLogLevel) return {std::begin(kLogLevels), std::end(kLogLevels)};
  if (n.arg == ArgKind::kCount || n.arg == ArgKind::kWeight || n.arg == ArgKind::kDuration ||
      n.arg == ArgKind::kAddress || n.arg == ArgKind::kPort || n.arg == ArgKind::kPath || !names)
    return {};
  return names->Names(n.arg, so_far);
}

std::string Expected(const Node& n) {
  std::vector<std::string> out;
  for (const Node* c : n.next) out.push_back(c->arg == ArgKind::kNone ? c->word : Placeholder(*c));
  return absl::StrJoin(out, ", ");
}

}  // namespace

std::string Placeholder(const Node& n) {
  switch (n.arg) {
    case ArgKind::kFrontend:
      return "<frontend>";
    case ArgKind::kBackend:
    case ArgKind::kPoolBackend:
      return "<backend>";
    case ArgKind::kHealthCheck:
      return "<healthcheck>";
    case ArgKind::kPool:
      return "<pool>";
    case ArgKind::kCount:
      return "<n>";
    case ArgKind::kWeight:
      return "<0-100>";
    case ArgKind::kLogLevel:
      return "<level>";
    case ArgKind::kDuration:
      return "<duration>";
    case ArgKind::kAddress:
      return "<address>";
    case ArgKind::kPort:
      return "<port>";
    case ArgKind::kPath:
      return "<path>";
    case ArgKind::kNone:
      break;
  }
  return n.word;
}

std::string CommonPrefix(const std::vector<std::string>& words) {
  if (words.empty()) return "";
  std::string prefix = words[0];
  for (const std::string& w : words) {
    size_t i = 0;
    while (i < prefix.size() && i < w.size() && prefix[i] == w[i]) ++i;
    prefix.resize(i);
  }
  return prefix;
}

Node* Grammar::Add(Node* parent, std::string word, std::string help) {
  nodes_.push_back(std::make_unique<Node>());
  Node* n = nodes_.back().get();
  n->word = std::move(word);
  n->help = std::move(help);
  if (parent) parent->next.push_back(n);
  return n;
}

Node* Grammar::AddArg(Node* parent, ArgKind kind, std::string key, std::string help) {
  Node* n = Add(parent, "", std::move(help));
  n->arg = kind;
  n->key = std::move(key);
  return n;
}

Grammar::Grammar() {
  root_ = Add(nullptr, "", "");

  Node* show = Add(root_, "show", "show state");
  Add(show, "version", "versions of maglevc and maglevd")->command = "show version";
  Node* fes = Add(show, "frontends", "list frontends, or show one in detail");
  fes->command = "show frontends";
  fes->summary = "list frontends";
  Node* fe_arg = AddArg(fes, ArgKind::kFrontend, "frontend", "frontend name");
  fe_arg->command = "show frontends";
  fe_arg->summary = "one frontend with every pool backend's weights";
  Node* bes = Add(show, "backends", "list backends, or show one in detail");
  bes->command = "show backends";
  bes->summary = "list backends";
  Node* be_arg = AddArg(bes, ArgKind::kBackend, "backend", "backend name");
  be_arg->command = "show backends";
  be_arg->summary = "one backend with its health counter and transitions";
  Node* hcs = Add(show, "healthchecks", "list health checks, or show one in detail");
  hcs->command = "show healthchecks";
  hcs->summary = "list health checks";
  Node* hc_arg = AddArg(hcs, ArgKind::kHealthCheck, "healthcheck", "health check name");
  hc_arg->command = "show healthchecks";
  hc_arg->summary = "one health check in detail";
  Node* svpp = Add(show, "vpp", "VPP dataplane");
  Add(svpp, "info", "VPP version and connection")->command = "show vpp info";
  Node* slb = Add(svpp, "lb", "VPP load-balancer plugin");
  Add(slb, "state", "VIPs and application servers as VPP has them")->command = "show vpp lb state";
  Node* scnt = Add(slb, "counters", "per-frontend traffic counters from VPP's stats segment");
  scnt->command = "show vpp lb counters";
  AddArg(scnt, ArgKind::kFrontend, "frontend", "this frontend only")->command =
      "show vpp lb counters";
  Node* slk = Add(slb, "lookup", "which application server a new flow lands on");
  Node* slk_fe = AddArg(slk, ArgKind::kFrontend, "frontend", "frontend name");
  Node* slk_src = AddArg(slk_fe, ArgKind::kAddress, "src", "the flow's source address");
  Node* slk_sport = AddArg(slk_src, ArgKind::kPort, "sport", "the flow's source port");
  slk_sport->command = "show vpp lb lookup";
  slk_sport->summary = "where a new flow from SRC:SPORT to the frontend lands";
  AddArg(slk_sport, ArgKind::kPort, "dport",
         "destination port (default: the frontend's; needed for all-port frontends)")
      ->command = "show vpp lb lookup";

  Node* sync = Add(root_, "sync", "reconcile the dataplane with the desired state");
  Node* syvpp = Add(sync, "vpp", "VPP dataplane");
  Node* sylb = Add(syvpp, "lb", "VPP load-balancer plugin");
  Node* systate = Add(sylb, "state", "sync every frontend (and remove stale VIPs)");
  systate->command = "sync vpp lb state";
  Node* syfe = AddArg(systate, ArgKind::kFrontend, "frontend", "sync this frontend only");
  syfe->command = "sync vpp lb state";
  // `preview` after an action: what it would do to each VIP's new-flow
  // table, changing nothing (issue #10).
  Node* sypre = Add(systate, "preview", "show what a sync would move, change nothing");
  sypre->key = "preview";
  sypre->command = "preview sync";
  sypre->summary = "what a sync would move and flush (changes nothing)";
  sypre->exact = true;
  syfe->next.push_back(sypre);

  Node* set = Add(root_, "set", "change runtime state");
  Node* sb = Add(set, "backend", "operator action on a backend");
  Node* sbn = AddArg(sb, ArgKind::kBackend, "backend", "backend name");
  Node* sbpre = Add(nullptr, "preview", "show what the action would move, change nothing");
  sbpre->key = "preview";
  sbpre->command = "preview backend";
  sbpre->summary = "what the action would move and flush (changes nothing)";
  for (auto [word, help] : {std::pair{"pause", "stop probing, keep the state paused"},
                            std::pair{"resume", "probe a paused backend again"},
                            std::pair{"enable", "put a disabled backend back in service"},
                            std::pair{"disable", "take the backend out of service"}}) {
    Node* a = Add(sbn, word, help);
    a->key = "action";
    a->command = "set backend";
    a->next.push_back(sbpre);
  }
  Node* drain = Add(sbn, "drain", "weight 0 without flush, then disable at the timeout");
  drain->key = "action";
  drain->command = "set backend";
  drain->next.push_back(sbpre);
  Node* timeout = AddArg(drain, ArgKind::kDuration, "timeout",
                         "how long existing flows get (default: its drain-timeout)");
  timeout->command = "set backend";
  timeout->next.push_back(sbpre);
  Node* sf = Add(set, "frontend", "runtime weight of a pool backend");
  Node* sfn = AddArg(sf, ArgKind::kFrontend, "frontend", "frontend name");
  Node* sfp = Add(sfn, "pool", "a pool of the frontend");
  Node* sfpn = AddArg(sfp, ArgKind::kPool, "pool", "pool name");
  Node* sfb = Add(sfpn, "backend", "a backend of the pool");
  Node* sfbn = AddArg(sfb, ArgKind::kPoolBackend, "backend", "backend name");
  Node* sfw = Add(sfbn, "weight", "the runtime weight");
  Node* weight = AddArg(sfw, ArgKind::kWeight, "weight", "weight, 0 to 100");
  weight->command = "set frontend weight";
  weight->summary = "set the runtime weight of a pool backend";
  Node* wpre = Add(weight, "preview", "show what the weight would move, change nothing");
  wpre->key = "preview";
  wpre->command = "preview weight";
  wpre->summary = "what the weight change would move (changes nothing)";

  Node* config = Add(root_, "config", "the configuration file");
  Node* check = Add(config, "check", "check the file on disk without applying it");
  check->command = "config check";
  Node* cpre = Add(check, "preview", "what a reload of the file would move, change nothing");
  cpre->key = "preview";
  cpre->command = "preview config";
  AddArg(cpre, ArgKind::kPath, "path", "another file, read by maglevd (default: its own)")
      ->command = "preview config";
  Add(config, "reload", "check the file on disk and apply it")->command = "config reload";

  Node* watch = Add(root_, "watch", "stream events");
  Node* events = Add(watch, "events", "stream log records, backend and frontend events");
  events->command = "watch events";
  // The options may come in any order: each one leads back to the same set.
  Node* num = Add(events, "num", "stop after this many events");
  Node* log = Add(events, "log", "log records (at info unless a level is given)");
  Node* backend = Add(events, "backend", "backend transitions");
  Node* frontend = Add(events, "frontend", "frontend state changes");
  std::vector<const Node*> opts = events->next;
  Node* num_arg = AddArg(num, ArgKind::kCount, "num", "number of events");
  num_arg->command = "watch events";
  num_arg->summary = "stop after n events";
  num_arg->next = opts;
  log->key = "log";
  log->command = "watch events";
  log->next = opts;
  Node* level = Add(log, "level", "minimum log level");
  Node* level_arg = AddArg(level, ArgKind::kLogLevel, "level", "debug, info, warn or error");
  level_arg->command = "watch events";
  level_arg->summary = "log records at or above the level";
  level_arg->next = opts;
  for (Node* n : {backend, frontend}) {
    n->key = n->word;
    n->command = "watch events";
    n->next = opts;
  }

  Add(root_, "help", "list every command")->command = "help";
  Add(root_, "quit", "leave the shell")->command = "quit";
  Add(root_, "exit", "leave the shell")->command = "quit";
}

std::vector<std::string> Grammar::Split(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) out.emplace_back(line.substr(start, i - start));
  }
  return out;
}

absl::StatusOr<Grammar::Walk> Grammar::Consume(const std::vector<std::string>& words) const {
  Walk walk{root_, {}};
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    const Node* cur = walk.node;
    const Node* exact = nullptr;
    const Node* arg = nullptr;
    std::vector<const Node*> prefixed;
    for (const Node* n : cur->next) {
      if (n->arg != ArgKind::kNone) {
        arg = n;
      } else if (n->word == w) {
        exact = n;
      } else if (StartsWith(n->word, w) && !n->exact) {
        prefixed.push_back(n);
      }
    }
    const Node* match = exact;
    if (!match && prefixed.size() == 1) match = prefixed[0];
    if (!match && prefixed.size() > 1) {
      std::vector<std::string> cands;
      for (const Node* n : prefixed) cands.push_back(n->word);
      std::sort(cands.begin(), cands.end());
      return absl::InvalidArgumentError("ambiguous \"" + w + "\": " + absl::StrJoin(cands, ", "));
    }
    if (!match && arg) {
      auto value = CheckArg(*arg, w);
      if (!value.ok()) return value.status();
      walk.parsed.args[arg->key] = *value;
      match = arg;
    } else if (match && !match->key.empty()) {
      walk.parsed.args[match->key] = match->word;
    }
    if (!match) {
      if (cur == root_) return absl::InvalidArgumentError("unknown command \"" + w + "\"");
      std::vector<std::string> before(words.begin(), words.begin() + i);
      std::string done = absl::StrJoin(before, " ");
      // A complete command takes no more words: say so, rather than
      // "expected" followed by nothing.
      if (cur->next.empty())
        return absl::InvalidArgumentError("unexpected \"" + w + "\": \"" + done +
                                          "\" takes no more words");
      return absl::InvalidArgumentError("unknown word \"" + w + "\" after \"" + done +
                                        "\": expected " + Expected(*cur) +
                                        (cur->command.empty() ? "" : ", or nothing"));
    }
    walk.node = match;
  }
  return walk;
}

absl::StatusOr<Parsed> Grammar::Parse(const std::vector<std::string>& words) const {
  if (words.empty()) return absl::InvalidArgumentError("empty command");
  auto walk = Consume(words);
  if (!walk.ok()) return walk.status();
  if (walk->node->command.empty()) {
    return absl::InvalidArgumentError("incomplete command \"" + absl::StrJoin(words, " ") +
                                      "\": expected " + Expected(*walk->node));
  }
  walk->parsed.command = walk->node->command;
  return walk->parsed;
}

namespace {
// The words before the cursor that are complete, and the partial last one.
std::pair<std::vector<std::string>, std::string> SplitPartial(std::string_view line) {
  std::vector<std::string> words = Grammar::Split(line);
  std::string partial;
  if (!line.empty() && !std::isspace(static_cast<unsigned char>(line.back())) && !words.empty()) {
    partial = words.back();
    words.pop_back();
  }
  return {words, partial};
}
}  // namespace

std::vector<std::string> Grammar::Complete(std::string_view line, NameSource* names) const {
  auto [words, partial] = SplitPartial(line);
  auto walk = Consume(words);
  if (!walk.ok()) return {};
  std::set<std::string> out;
  for (const Node* n : walk->node->next) {
    if (n->arg == ArgKind::kNone) {
      if (StartsWith(n->word, partial)) out.insert(n->word);
      continue;
    }
    for (const std::string& v : ArgValues(*n, walk->parsed, names)) {
      if (StartsWith(v, partial)) out.insert(v);
    }
  }
  return {out.begin(), out.end()};
}

absl::StatusOr<std::vector<Choice>> Grammar::Help(std::string_view line, NameSource* names) const {
  auto [words, partial] = SplitPartial(line);
  auto walk = Consume(words);
  if (!walk.ok()) return walk.status();
  std::vector<Choice> out;
  for (const Node* n : walk->node->next) {
    if (n->arg == ArgKind::kNone) {
      if (StartsWith(n->word, partial)) out.push_back({n->word, n->help});
      continue;
    }
    std::vector<std::string> values;
    for (const std::string& v : ArgValues(*n, walk->parsed, names)) {
      if (StartsWith(v, partial)) values.push_back(v);
    }
    std::string help = n->help;
    if (!values.empty()) {
      constexpr size_t kMaxShown = 12;
      bool more = values.size() > kMaxShown;
      if (more) values.resize(kMaxShown);
      help += ": " + absl::StrJoin(values, ", ") + (more ? ", ..." : "");
    }
    out.push_back({Placeholder(*n), help});
  }
  if (partial.empty() && !walk->node->command.empty()) out.push_back({"<cr>", "run the command"});
  return out;
}

std::vector<Choice> Grammar::Usage() const {
  // The watch options loop back on themselves: walk the breadth-first tree
  // so that every command appears once, by its shortest spelling.
  std::map<const Node*, const Node*> parent{{root_, nullptr}};
  std::deque<const Node*> queue{root_};
  while (!queue.empty()) {
    const Node* n = queue.front();
    queue.pop_front();
    for (const Node* c : n->next) {
      if (parent.emplace(c, n).second) queue.push_back(c);
    }
  }
  std::vector<Choice> out;
  std::function<void(const Node*, const std::string&)> visit = [&](const Node* n,
                                                                   const std::string& path) {
    for (const Node* c : n->next) {
      if (parent[c] != n) continue;
      std::string word = c->arg == ArgKind::kNone ? c->word : Placeholder(*c);
      std::string p = path.empty() ? word : path + " " + word;
      if (!c->command.empty()) out.push_back({p, c->summary.empty() ? c->help : c->summary});
      visit(c, p);
    }
  };
  visit(root_, "");
  return out;
}

}  // namespace maglev::cli
