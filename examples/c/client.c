/* Example (C API): call a server once and print the reply's frames, one a line.
 * Usage: example_c_client URL [FRAME...] */
#include <ipcx/ipcx.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: example_c_client URL [FRAME...]\n");
    return 2;
  }
  ipcx_frame request[64] = {{"hello", 5}};
  size_t count = 1;
  if (argc > 2) {
    count = 0;
    for (int i = 2; i < argc && count < 64; ++i, ++count) {
      request[count].data = argv[i];
      request[count].size = strlen(argv[i]);
    }
  }
  ipcx_client* client = NULL;
  if (ipcx_client_new(argv[1], NULL, &client) != IPCX_OK) { /* connects on the first call */
    fprintf(stderr, "%s\n", ipcx_last_error());
    return 1;
  }
  ipcx_msg* reply = NULL;
  int rc = ipcx_client_call(client, request, count, 5000, &reply);
  if (rc != IPCX_OK) {
    fprintf(stderr, "%s: %s\n", argv[1], ipcx_errc_name(rc));
    ipcx_client_free(client);
    return 1;
  }
  for (size_t i = 0; i < ipcx_msg_count(reply); ++i) {
    ipcx_frame f = ipcx_msg_frame(reply, i);
    printf("%.*s\n", (int)f.size, (const char*)f.data);
  }
  ipcx_msg_free(reply);
  ipcx_client_free(client);
  return 0;
}
