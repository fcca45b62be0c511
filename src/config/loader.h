// YAML configuration loader and validator (spec §2): turns the text of a
// maglev.yaml into an immutable Config, or into errors that name the YAML
// path and line of every problem. Two stages with distinct outcomes:
//   - parse errors (unreadable file, invalid YAML, unknown or duplicate key,
//     wrong type, unparsable duration/address/enum): the first one stops;
//   - semantic errors (dangling references, address families, ranges,
//     duplicate VIPs, pool rules, ...): all are reported, one per line, in
//     document order.
// Error lines look like `frontends.web.pools[0].backends.nginx9: line 31:
// unknown backend "nginx9"`, with the path relative to the top-level `maglev`
// key. yaml-cpp exceptions never escape this module.
//
// Pure functions with no shared state: callable from any thread (maglevd
// calls them on the core loop at start and on reload, and from --check).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"

namespace maglev {

enum class ConfigErrorKind { kNone, kParse, kSemantic };

// Returns "ok", "parse" or "semantic".
const char* ConfigErrorKindName(ConfigErrorKind kind);

struct ConfigResult {
  std::shared_ptr<const Config> config;  // set iff ok()
  ConfigErrorKind kind = ConfigErrorKind::kNone;
  // Empty when ok(). Otherwise one error per line (no trailing newline): a
  // single line for a parse error, one or more for semantic errors.
  std::string error;
  bool ok() const { return kind == ConfigErrorKind::kNone; }
};

// Reads and parses the file at `path`. A file that cannot be opened or read
// (or is larger than 16 MiB) is a parse error naming the path.
ConfigResult LoadConfigFile(const std::string& path);

// Parses and validates YAML text. Never throws.
ConfigResult ParseConfig(std::string_view yaml_text);

}  // namespace maglev
