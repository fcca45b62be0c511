// SPDX-License-Identifier: Apache-2.0
//
// Command-line conventions shared by every binary of the project (maglevd,
// maglevc, maglev-vppsim, maglevd-frontend), on top of CLI11:
//  - bad usage (unknown flag, bad value) is one line on stderr and exit code
//    kExitUsage, never CLI11's own codes 104-109;
//  - a string option's MAGLEV_* environment fallback counts even when it is
//    set to the empty string, so `MAGLEV_VPP_API_ADDR=` means "off" exactly
//    like `--vpp-api-addr ""` (CLI11's envname ignores empty values).
// Header-only; used on the main thread before anything else starts.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace maglev {

// Exit codes common to every binary (their man pages list them).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;   // bad flag, bad value, unparsable address
inline constexpr int kExitListen = 3;  // a listener or socket cannot be opened

// String options whose environment variable is honoured even when empty.
class EnvFallbacks {
 public:
  CLI::Option* Add(CLI::App& app, const std::string& flags, std::string& target,
                   const std::string& help, const std::string& env) {
    CLI::Option* opt = app.add_option(flags, target, help + " (env " + env + ")");
    items_.push_back({opt, env, &target});
    return opt;
  }
  // After a successful parse: every option not given on the command line
  // takes its environment variable when that is set, even to "".
  void Apply() const {
    for (const Item& it : items_) {
      if (it.option->count() > 0) continue;
      if (const char* v = std::getenv(it.env.c_str())) *it.target = v;
    }
  }

 private:
  struct Item {
    CLI::Option* option;
    std::string env;
    std::string* target;
  };
  std::vector<Item> items_;
};

// Parses the command line. Returns nullopt to go on, or the exit code to
// leave with: kExitOk after --help (printed to stdout), kExitUsage after a
// usage error, printed as one line "PROGRAM: MESSAGE (see --help)".
inline std::optional<int> ParseFlags(CLI::App& app, int argc, char** argv,
                                     std::string_view program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%.*s: %s (see --help)\n", static_cast<int>(program.size()),
                 program.data(), e.what());
    return kExitUsage;
  }
  return std::nullopt;
}

// A usage error found after parsing (e.g. a flag value that does not parse
// as an address): one line, exit code kExitUsage.
inline int UsageError(std::string_view program, std::string_view message) {
  std::fprintf(stderr, "%.*s: %.*s (see --help)\n", static_cast<int>(program.size()),
               program.data(), static_cast<int>(message.size()), message.data());
  return kExitUsage;
}

}  // namespace maglev
