/* Built with cc against the installed ipcx through pkg-config --static: the C API serves and
 * calls itself over an abstract unix socket. */
#include <ipcx/ipcx.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void answer(ipcx_request* request, void* user) {
  (void)user;
  ipcx_frame reply[2] = {{"consumed", 8}, ipcx_request_frame(request, 0)};
  ipcx_request_reply(request, reply, 2);
}

int main(void) {
  char url[64];
  snprintf(url, sizeof url, "unix://@ipcx-c-consumer-%d", (int)getpid());
  ipcx_server* server = NULL;
  ipcx_client* client = NULL;
  ipcx_msg* reply = NULL;
  ipcx_frame hi = {"hi", 2};
  if (ipcx_server_new(NULL, &server) != IPCX_OK || ipcx_server_bind(server, url, NULL, 0) != 0 ||
      ipcx_server_on_request(server, answer, NULL) != 0 || ipcx_server_start(server) != 0 ||
      ipcx_client_new(url, NULL, &client) != IPCX_OK ||
      ipcx_client_call(client, &hi, 1, 10000, &reply) != IPCX_OK) {
    fprintf(stderr, "C consumer: %s\n", ipcx_last_error());
    return 1;
  }
  ipcx_frame first = ipcx_msg_frame(reply, 0);
  int ok = ipcx_msg_count(reply) == 2 && first.size == 8 && memcmp(first.data, "consumed", 8) == 0;
  ipcx_msg_free(reply);
  ipcx_client_free(client);
  ipcx_server_free(server);
  if (!ok) return 1;
  printf("C consumer ok: %s\n", ipcx_version());
  return 0;
}
