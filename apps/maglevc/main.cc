// maglevc: the command-line client of maglevd (spec §7).
//   maglevc [--server ADDR] [--color=BOOL] [command...]
// With a command: runs it once and exits non-zero on error. Without: an
// interactive shell. The server defaults to $MAGLEV_SERVER, then
// 127.0.0.1:9090 (maglevd's default --grpc-addr).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "api/tls.h"
#include "commands.h"
#include "common/flags.h"
#include "grammar.h"
#include "shell.h"

namespace {

int g_signal_pipe[2] = {-1, -1};

extern "C" void OnSigint(int) {
  maglev::cli::NoteInterrupt();
  char c = 1;
  // Async-signal-safe hand-off to the watcher thread.
  ssize_t ignored = write(g_signal_pipe[1], &c, 1);
  (void)ignored;
}

// Ctrl-C: stops a running `watch events`; otherwise, in one-shot mode,
// ends the program (the shell handles it at its prompt).
void InstallSigint(bool interactive) {
  if (pipe(g_signal_pipe) != 0) return;
  std::thread([interactive] {
    char c;
    while (read(g_signal_pipe[0], &c, 1) == 1) {
      // A watch ends by itself once cancelled (status 0); in one-shot mode
      // anything else is aborted like an uncaught SIGINT would.
      if (!maglev::cli::CancelActiveWatch() && !interactive) _exit(130);
    }
  }).detach();
  struct sigaction sa {};
  sa.sa_handler = OnSigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: let a blocked read see EINTR
  sigaction(SIGINT, &sa, nullptr);
}

// --color: auto (default: colour when stdout is a terminal), or a boolean.
bool ParseColor(const std::string& v, bool* out) {
  if (v == "auto" || v.empty()) {
    const char* term = std::getenv("TERM");
    *out =
        isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR") && !(term && std::string(term) == "dumb");
    return true;
  }
  if (v == "true" || v == "yes" || v == "1" || v == "on" || v == "always") {
    *out = true;
    return true;
  }
  if (v == "false" || v == "no" || v == "0" || v == "off" || v == "never") {
    *out = false;
    return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "maglevc: command-line client of maglevd.\n"
      "Without a command, starts an interactive shell (Tab completes, ? helps)."};
  std::string server;
  std::string color = "auto";
  bool version = false;
  maglev::ClientTlsOptions tls;
  maglev::EnvFallbacks env;
  app.add_option("-s,--server", server,
                 "maglevd gRPC address host:port (default: $MAGLEV_SERVER, else " +
                     std::string(maglev::cli::kDefaultServer) + ")");
  env.Add(app, "--tls-ca", tls.ca_file,
          "PEM CA that signed maglevd's certificate: talk TLS (maglevd --grpc-tls-cert)",
          "MAGLEV_TLS_CA");
  env.Add(app, "--tls-cert", tls.cert_file,
          "PEM client certificate, for a maglevd that requires one (--grpc-client-ca)",
          "MAGLEV_TLS_CERT");
  env.Add(app, "--tls-key", tls.key_file, "PEM private key of --tls-cert", "MAGLEV_TLS_KEY");
  env.Add(app, "--tls-server-name", tls.server_name,
          "name to verify in maglevd's certificate instead of the address's host",
          "MAGLEV_TLS_SERVER_NAME");
  app.add_option("--color", color, "colour: auto (on a terminal), true or false");
  app.add_flag("--version", version, "print maglevc's version and exit");
  app.prefix_command();  // everything from the first command word on is the command
  app.footer("Commands: run `maglevc help`.");
  if (auto rc = maglev::ParseFlags(app, argc, argv, "maglevc")) return *rc;
  env.Apply();

  if (version) {
    std::cout << "maglevc " << MAGLEV_VERSION << "\n";
    return 0;
  }
  bool use_color = false;
  if (!ParseColor(color, &use_color))
    return maglev::UsageError("maglevc",
                              "--color wants auto, true or false, not \"" + color + "\"");
  if (server.empty()) {
    const char* env_server = std::getenv("MAGLEV_SERVER");
    server = env_server && *env_server ? env_server : maglev::cli::kDefaultServer;
  }
  auto channel = maglev::MakeClientChannel(server, tls);
  if (!channel.ok()) return maglev::UsageError("maglevc", std::string(channel.status().message()));

  maglev::cli::Grammar grammar;
  maglev::cli::Client client(server, *channel);
  std::vector<std::string> words = app.remaining();
  // Options end where the command begins; an unknown option is bad usage,
  // not an unknown command.
  if (!words.empty() && words[0].size() > 1 && words[0][0] == '-')
    return maglev::UsageError("maglevc", "unknown option " + words[0]);
  InstallSigint(words.empty());
  if (words.empty()) {
    maglev::cli::Shell shell(grammar, client, use_color);
    return shell.Run();
  }
  auto parsed = grammar.Parse(words);
  if (!parsed.ok()) {
    std::cerr << "error: " << parsed.status().message() << "\n";
    return 1;
  }
  maglev::cli::Output io{std::cout, std::cerr, use_color};
  int rc = maglev::cli::RunCommand(grammar, *parsed, client, io);
  std::cout.flush();
  return rc == maglev::cli::kExitQuit ? 0 : rc;
}
