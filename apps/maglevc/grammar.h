// maglevc's command grammar: one table of keywords and arguments that drives
// parsing (with unambiguous-prefix matching: `sh fr` = `show frontends`),
// tab completion (keywords and live names) and the inline `?` help.
// Pure: no I/O; live names come from a NameSource supplied by the caller.
// Single-threaded.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace maglev::cli {

enum class ArgKind {
  kNone,         // a keyword
  kFrontend,     // a frontend name
  kBackend,      // a backend name
  kHealthCheck,  // a health check name
  kPool,         // a pool of the frontend named earlier
  kPoolBackend,  // a backend of the pool named earlier
  kCount,        // a positive integer
  kWeight,       // 0..100
  kLogLevel,     // debug|info|warn|error
  kDuration,     // a Go-style duration, e.g. 5m
  kAddress,      // an IPv4 or IPv6 address
  kPort,         // 0..65535
  kPath,         // a file path
};

struct Node {
  std::string word;  // the keyword (empty for an argument)
  ArgKind arg = ArgKind::kNone;
  // Argument: the key its value is stored under. Keyword: when set, the
  // keyword is stored under this key (e.g. the action of `set backend`).
  std::string key;
  std::string help;
  std::string command;  // non-empty: a command may end here (its id)
  std::string summary;  // what the command ending here does (`help`); default: help
  std::vector<const Node*> next;
  // A keyword that beside an argument matches only when typed in full (so
  // that `sync vpp lb state pr` still names frontend "pr").
  bool exact = false;
};

// A parsed command line.
struct Parsed {
  std::string command;                      // e.g. "show frontends"
  std::map<std::string, std::string> args;  // key -> value (keywords: the keyword)
  bool Has(const std::string& key) const { return args.count(key) > 0; }
  std::string Get(const std::string& key) const {
    auto it = args.find(key);
    return it == args.end() ? "" : it->second;
  }
};

// Live names for completion and help, given what was parsed so far (e.g.
// the frontend whose pools are wanted).
class NameSource {
 public:
  virtual ~NameSource() = default;
  virtual std::vector<std::string> Names(ArgKind kind, const Parsed& so_far) = 0;
};

// One possible next word with its help text.
struct Choice {
  std::string word;  // keyword, or a placeholder like "<frontend>"
  std::string help;
  bool operator==(const Choice&) const = default;
};

class Grammar {
 public:
  Grammar();

  // Splits a line into words on whitespace.
  static std::vector<std::string> Split(std::string_view line);

  // Parses a complete command. Errors (InvalidArgument) read like
  // `unknown command "foo"`, `ambiguous "s": set, show, sync`,
  // `incomplete command: expected one of ...`.
  absl::StatusOr<Parsed> Parse(const std::vector<std::string>& words) const;

  // Completions of the last word of `line` (the text before the cursor): the
  // keywords and live names that extend it, sorted. An empty last word (the
  // line ends in a space) offers every possible next word.
  std::vector<std::string> Complete(std::string_view line, NameSource* names) const;

  // The inline help for `line` (text before the cursor): the possible next
  // words (or those extending a partial word) with their help, plus
  // {"<cr>", ...} when the command is complete as typed. An error when the
  // words typed so far do not parse.
  absl::StatusOr<std::vector<Choice>> Help(std::string_view line, NameSource* names) const;

  // Every command as a usage line with its help, for `help`.
  std::vector<Choice> Usage() const;

  const Node& root() const { return *root_; }

 private:
  struct Walk {
    const Node* node;
    Parsed parsed;
  };
  absl::StatusOr<Walk> Consume(const std::vector<std::string>& words) const;
  Node* Add(Node* parent, std::string word, std::string help);
  Node* AddArg(Node* parent, ArgKind kind, std::string key, std::string help);

  std::vector<std::unique_ptr<Node>> nodes_;
  Node* root_;
};

// "<frontend>", "<0-100>", ...: the placeholder shown for an argument.
std::string Placeholder(const Node& n);
// Longest common prefix of the strings.
std::string CommonPrefix(const std::vector<std::string>& words);

}  // namespace maglev::cli
