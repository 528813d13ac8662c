/* Example (C API): one server reachable over every URL given, answering each request with its
 * frames reversed. Usage: example_c_server URL [URL...]; stop it with Ctrl-C. */
#define _POSIX_C_SOURCE 200809L
#include <ipcx/ipcx.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

static void reverse(ipcx_request* request, void* user) {
  (void)user;
  ipcx_frame frames[64];
  size_t n = ipcx_request_count(request);
  if (n > 64) n = 64;
  for (size_t i = 0; i < n; ++i) frames[i] = ipcx_request_frame(request, n - 1 - i);
  ipcx_request_reply(request, frames, n);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: example_c_server URL [URL...]\n");
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL); /* before start, so its thread inherits it */

  ipcx_server* server = NULL;
  if (ipcx_server_new(NULL, &server) != IPCX_OK) {
    fprintf(stderr, "%s\n", ipcx_last_error());
    return 1;
  }
  ipcx_server_on_request(server, reverse, NULL);
  for (int i = 1; i < argc; ++i) {
    char bound[256];
    if (ipcx_server_bind(server, argv[i], bound, sizeof bound) != IPCX_OK) {
      fprintf(stderr, "%s\n", ipcx_last_error());
      ipcx_server_free(server);
      return 1;
    }
    printf("bound %s\n", bound);
  }
  fflush(stdout);
  ipcx_server_start(server);
  int sig = 0;
  sigwait(&stop, &sig);
  ipcx_server_free(server); /* stops it first */
  return 0;
}
