// ipcx: the command-line tool. Subcommands live in their own files (serve.cpp, call.cpp,
// one_way.cpp: push, pull, pub, sub; tour.cpp; bench.cpp).
#include <signal.h>

#include <iostream>

#include "commands.hpp"
#include "ipcx/version.hpp"
#include "security_cli.hpp"

int main(int argc, char** argv) {
  // The tool handles a vanished peer as an error; ignoring SIGPIPE (the library would shield
  // each write from it anyway) saves two syscalls per pipe:// and stdio:// write.
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"ipcx: one API for every Linux IPC mechanism"};
  app.set_version_flag("--version", std::string("ipcx ") + ipcx::kVersionString);
  app.require_subcommand(1);
  ipcx::cli::Runner serve = ipcx::cli::add_serve(app);
  ipcx::cli::Runner call = ipcx::cli::add_call(app);
  ipcx::cli::Runner push = ipcx::cli::add_push(app);
  ipcx::cli::Runner pull = ipcx::cli::add_pull(app);
  ipcx::cli::Runner pub = ipcx::cli::add_pub(app);
  ipcx::cli::Runner sub = ipcx::cli::add_sub(app);
  ipcx::cli::Runner tour = ipcx::cli::add_tour(app);
  ipcx::cli::Runner bench = ipcx::cli::add_bench(app);
  ipcx::cli::Runner proxy = ipcx::cli::add_proxy(app);
  ipcx::cli::Runner keygen = ipcx::cli::add_keygen(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : ipcx::cli::kExitUsage;
  }
  if (app.got_subcommand("serve")) return serve();
  if (app.got_subcommand("call")) return call();
  if (app.got_subcommand("push")) return push();
  if (app.got_subcommand("pull")) return pull();
  if (app.got_subcommand("pub")) return pub();
  if (app.got_subcommand("sub")) return sub();
  if (app.got_subcommand("tour")) return tour();
  if (app.got_subcommand("bench")) return bench();
  if (app.got_subcommand("proxy")) return proxy();
  if (app.got_subcommand("keygen")) return keygen();
  return ipcx::cli::kExitUsage;
}
