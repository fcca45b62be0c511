#include "shell.h"

#include <histedit.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace maglev::cli {
namespace {

std::atomic<bool> g_interrupted{false};

const char* Prompt(EditLine*) { return "maglev> "; }

int TerminalWidth() {
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

// Words laid out in columns across the terminal.
std::string Columns(const std::vector<std::string>& words, int width) {
  size_t cell = 0;
  for (const auto& w : words) cell = std::max(cell, w.size() + 2);
  size_t per_line = std::max<size_t>(1, static_cast<size_t>(width) / std::max<size_t>(cell, 1));
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    bool last_in_line = (i + 1) % per_line == 0 || i + 1 == words.size();
    out += words[i];
    out += last_in_line ? "\n" : std::string(cell - words[i].size(), ' ');
  }
  return out;
}

std::string HistoryPath() {
  const char* home = std::getenv("HOME");
  if (!home || !*home) return "";
  return std::string(home) + "/.maglevc_history";
}

Shell* ShellOf(EditLine* el) {
  void* data = nullptr;
  el_get(el, EL_CLIENTDATA, &data);
  return static_cast<Shell*>(data);
}

std::string LineBeforeCursor(EditLine* el) {
  const LineInfo* li = el_line(el);
  return std::string(li->buffer, li->cursor);
}

unsigned char CompleteKey(EditLine* el, int) {
  Shell::Completion c = ShellOf(el)->TabComplete(LineBeforeCursor(el), TerminalWidth());
  if (!c.insert.empty()) el_insertstr(el, c.insert.c_str());
  if (c.print.empty()) return c.insert.empty() ? CC_REFRESH_BEEP : CC_REFRESH;
  std::fputs("\n", stdout);
  std::fputs(c.print.c_str(), stdout);
  std::fflush(stdout);
  return CC_REDISPLAY;
}

unsigned char HelpKey(EditLine* el, int) {
  std::string text = ShellOf(el)->HelpText(LineBeforeCursor(el));
  std::fputs("\n", stdout);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  return CC_REDISPLAY;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

void NoteInterrupt() { g_interrupted = true; }

Shell::Shell(const Grammar& grammar, Client& client, bool color)
    : grammar_(grammar), client_(client), names_(client), color_(color) {}

Shell::Completion Shell::TabComplete(const std::string& line, int terminal_width) {
  std::vector<std::string> cands = grammar_.Complete(line, &names_);
  if (cands.empty()) return {};
  bool at_word_start = line.empty() || std::isspace(static_cast<unsigned char>(line.back()));
  std::string partial = at_word_start ? "" : Grammar::Split(line).back();
  if (cands.size() == 1) return {cands[0].substr(partial.size()) + " ", ""};
  std::string common = CommonPrefix(cands);
  if (common.size() > partial.size()) return {common.substr(partial.size()), ""};
  return {"", Columns(cands, terminal_width)};
}

std::string Shell::HelpText(const std::string& line) {
  auto choices = grammar_.Help(line, &names_);
  if (!choices.ok()) return "  " + std::string(choices.status().message()) + "\n";
  if (choices->empty()) return "  (no match)\n";
  size_t width = 0;
  for (const Choice& c : *choices) width = std::max(width, c.word.size());
  std::string out;
  for (const Choice& c : *choices) {
    out += "  " + c.word + std::string(width - c.word.size() + 2, ' ') + c.help + "\n";
  }
  return out;
}

bool Shell::Execute(const std::string& raw, int* status) {
  std::string line = Trim(raw);
  if (line.empty() || line[0] == '#') return true;
  auto parsed = grammar_.Parse(Grammar::Split(line));
  if (!parsed.ok()) {
    std::cerr << "error: " << parsed.status().message() << "\n";
    *status = kExitError;
    return true;
  }
  Output io{std::cout, std::cerr, color_};
  int rc = RunCommand(grammar_, *parsed, client_, io);
  std::cout.flush();
  if (rc == kExitQuit) return false;
  if (rc != kExitOk) *status = rc;
  return true;
}

int Shell::Run() { return isatty(STDIN_FILENO) ? RunInteractive() : RunScript(); }

int Shell::RunScript() {
  int status = kExitOk;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!Execute(line, &status)) break;
  }
  return status;
}

int Shell::RunInteractive() {
  const bool reached = client_.WaitConnected(std::chrono::seconds(3));
  if (!reached) {
    std::cerr << "warning: cannot reach maglevd at " << client_.address()
              << " (commands will fail until it is up)\n";
  }
  EditLine* el = el_init("maglevc", stdin, stdout, stderr);
  History* hist = history_init();
  HistEvent ev;
  history(hist, &ev, H_SETSIZE, 1000);
  history(hist, &ev, H_SETUNIQUE, 1);
  const std::string hist_path = HistoryPath();
  if (!hist_path.empty()) history(hist, &ev, H_LOAD, hist_path.c_str());

  el_set(el, EL_CLIENTDATA, this);
  el_set(el, EL_PROMPT, &Prompt);
  el_set(el, EL_EDITOR, "emacs");
  el_set(el, EL_HIST, history, hist);
  el_set(el, EL_SIGNAL, 1);
  el_set(el, EL_ADDFN, "maglev-complete", "complete the word", &CompleteKey);
  el_set(el, EL_ADDFN, "maglev-help", "list the possible next words", &HelpKey);
  el_set(el, EL_BIND, "^I", "maglev-complete", nullptr);
  el_set(el, EL_BIND, "?", "maglev-help", nullptr);

  std::cout << "maglevc " << MAGLEV_VERSION << (reached ? " connected to " : " for ")
            << client_.address() << ". Tab completes, ? helps, quit leaves.\n";
  int status = kExitOk;
  for (;;) {
    int count = 0;
    g_interrupted = false;
    const char* line = el_gets(el, &count);
    if (!line) {
      if (g_interrupted.exchange(false) || (count == -1 && errno == EINTR)) {
        std::cout << "\n";  // Ctrl-C: drop the line, new prompt
        continue;
      }
      std::cout << "\n";  // Ctrl-D
      break;
    }
    std::string text(line, count);
    if (!Trim(text).empty()) history(hist, &ev, H_ENTER, text.c_str());
    if (!Execute(text, &status)) break;
  }
  if (!hist_path.empty()) history(hist, &ev, H_SAVE, hist_path.c_str());
  history_end(hist);
  el_end(el);
  return kExitOk;
}

}  // namespace maglev::cli
