// maglevc's interactive shell on libedit: a prompt with emacs-style editing,
// history in ~/.maglevc_history, Tab completion of keywords and live names,
// and `?` listing the possible next words without consuming the line. When
// stdin is not a terminal, commands are read line by line without prompt
// or editing. Runs on the CLI's main thread.
#pragma once

#include <string>

#include "commands.h"
#include "grammar.h"

namespace maglev::cli {

// Set by the SIGINT handler; the shell discards the line being edited.
void NoteInterrupt();

class Shell {
 public:
  Shell(const Grammar& grammar, Client& client, bool color);

  // Runs until quit/exit or end of input. Returns 0, or (non-terminal
  // input only) 1 when any command failed.
  int Run();

  // What Tab and `?` do, exposed for tests: the text to insert for a Tab at
  // the end of `line`, and the text to print (empty: nothing).
  struct Completion {
    std::string insert;
    std::string print;
  };
  Completion TabComplete(const std::string& line, int terminal_width = 80);
  std::string HelpText(const std::string& line);

 private:
  int RunInteractive();
  int RunScript();
  // Runs one line; false when the shell should end.
  bool Execute(const std::string& line, int* status);

  const Grammar& grammar_;
  Client& client_;
  LiveNames names_;
  bool color_;
};

}  // namespace maglev::cli
