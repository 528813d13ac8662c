/* The C API, from C: every handle type, errors and their messages, views, and a server in a
 * forked process. Run by ctest with the ipcx CLI's path (for ipcx_spawn) as argv[1]. */
#define _GNU_SOURCE
#include <ipcx/ipcx.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures = 0;

#define CHECK(cond)                                                                            \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              ipcx_last_error());                                                              \
      ++failures;                                                                              \
    }                                                                                          \
  } while (0)
#define CHECK_OK(call) CHECK((call) == IPCX_OK)

static ipcx_frame text_frame(const char* text) {
  ipcx_frame f = {text, strlen(text)};
  return f;
}

static int frame_is(ipcx_frame f, const char* text) {
  return f.size == strlen(text) && memcmp(f.data, text, f.size) == 0;
}

/* Answers [a, b, ...] with [b, a] (the first two frames swapped), or with the peer's mechanism
 * for ["peer"]; ["later"] is answered from another thread through a responder. */
static void* answer_later(void* arg) {
  ipcx_responder* responder = arg;
  ipcx_frame f = text_frame("answered later");
  if (ipcx_responder_reply(responder, &f, 1) != IPCX_OK) abort();
  ipcx_responder_free(responder);
  return NULL;
}

static atomic_int requests_seen;

static void handler(ipcx_request* request, void* user) {
  (void)user;
  atomic_fetch_add(&requests_seen, 1);
  size_t n = ipcx_request_count(request);
  if (n == 1 && frame_is(ipcx_request_frame(request, 0), "peer")) {
    ipcx_peer peer;
    ipcx_request_peer(request, &peer);
    ipcx_frame f = text_frame(peer.mechanism);
    ipcx_request_reply(request, &f, 1);
    return;
  }
  if (n == 1 && frame_is(ipcx_request_frame(request, 0), "later")) {
    ipcx_responder* responder = NULL;
    if (ipcx_request_respond_later(request, &responder) != IPCX_OK) abort();
    pthread_t thread;
    pthread_create(&thread, NULL, answer_later, responder);
    pthread_detach(thread);
    return;
  }
  ipcx_frame out[2];
  out[0] = ipcx_request_frame(request, n > 1 ? 1 : 0);
  out[1] = ipcx_request_frame(request, 0);
  ipcx_request_reply(request, out, n > 1 ? 2 : 1);
}

static atomic_int connected_events;

static void on_event(const ipcx_event* event, void* user) {
  (void)user;
  if (event->kind == IPCX_EVENT_CONNECTED) atomic_fetch_add(&connected_events, 1);
}

static void test_errors(void) {
  ipcx_client* client = NULL;
  CHECK(ipcx_client_new("bogus://x", NULL, &client) == IPCX_BAD_ENDPOINT);
  CHECK(client == NULL);
  CHECK(strstr(ipcx_last_error(), "bogus://x") != NULL);
  CHECK(strcmp(ipcx_errc_name(IPCX_PEER_CLOSED), "peer_closed") == 0);
  CHECK(strcmp(ipcx_errc_name(IPCX_INVALID_ARGUMENT), "invalid_argument") == 0);
  CHECK(ipcx_client_new(NULL, NULL, &client) == IPCX_INVALID_ARGUMENT);
  CHECK(strlen(ipcx_version()) > 0);
  /* Nobody serves here: a short call fails with a code, not a crash. */
  char url[64];
  snprintf(url, sizeof url, "unix://@ipcx-c-nobody-%d", (int)getpid());
  CHECK_OK(ipcx_client_new(url, NULL, &client));
  ipcx_frame f = text_frame("x");
  ipcx_msg* reply = NULL;
  int rc = ipcx_client_call(client, &f, 1, 200, &reply);
  CHECK(rc == IPCX_REFUSED || rc == IPCX_TIMEOUT);
  CHECK(reply == NULL);
  ipcx_client_free(client);
  ipcx_msg_free(NULL);
  ipcx_server_free(NULL);
}

static void test_server_and_client(void) {
  ipcx_server_options options;
  ipcx_server_options_init(&options);
  options.on_event = on_event;
  ipcx_server* server = NULL;
  CHECK_OK(ipcx_server_new(&options, &server));
  char unix_url[128], shm_url[128], name[64];
  snprintf(name, sizeof name, "unix://@ipcx-c-%d", (int)getpid());
  CHECK_OK(ipcx_server_bind(server, name, unix_url, sizeof unix_url));
  snprintf(name, sizeof name, "shm://ipcx-c-%d", (int)getpid());
  CHECK_OK(ipcx_server_bind(server, name, shm_url, sizeof shm_url));
  CHECK(strncmp(shm_url, "shm://", 6) == 0);
  CHECK_OK(ipcx_server_on_request(server, handler, NULL));
  CHECK(ipcx_server_fd(server) >= 0);
  CHECK_OK(ipcx_server_start(server));

  const char* urls[] = {unix_url, shm_url};
  for (int u = 0; u < 2; ++u) {
    ipcx_client* client = NULL;
    CHECK_OK(ipcx_client_new(urls[u], NULL, &client));
    CHECK(ipcx_client_fd(client) >= 0);
    ipcx_frame request[2] = {text_frame("one"), text_frame("two")};
    ipcx_msg* reply = NULL;
    CHECK_OK(ipcx_client_call(client, request, 2, 10000, &reply));
    CHECK(ipcx_msg_count(reply) == 2);
    CHECK(frame_is(ipcx_msg_frame(reply, 0), "two"));
    CHECK(frame_is(ipcx_msg_frame(reply, 1), "one"));
    CHECK(ipcx_msg_frame(reply, 2).data == NULL);
    ipcx_msg_free(reply);

    ipcx_frame peer = text_frame("peer");
    CHECK_OK(ipcx_client_call(client, &peer, 1, 10000, &reply));
    CHECK(frame_is(ipcx_msg_frame(reply, 0), u == 0 ? "unix" : "shm"));
    ipcx_msg_free(reply);

    ipcx_frame later = text_frame("later");
    CHECK_OK(ipcx_client_call(client, &later, 1, 10000, &reply));
    CHECK(frame_is(ipcx_msg_frame(reply, 0), "answered later"));
    ipcx_msg_free(reply);

    /* The view lies in the ring on shm:// (a reply that lands while the client switches from
     * looking to reading is copied: rare, so most are in place), and is a copy on unix://. */
    int in_place = 0;
    for (int i = 0; i < 20; ++i) {
      ipcx_view* view = NULL;
      CHECK_OK(ipcx_client_call_view(client, request, 2, 10000, &view));
      CHECK(ipcx_view_count(view) == 2);
      CHECK(frame_is(ipcx_view_frame(view, 0), "two"));
      in_place += ipcx_view_zero_copy(view);
      ipcx_view_release(view);
    }
    CHECK(u == 1 ? in_place > 10 : in_place == 0);

    /* Pipelined: three in flight, each reply names its request. */
    uint32_t ids[3];
    char bodies[3][8];
    for (int i = 0; i < 3; ++i) {
      snprintf(bodies[i], sizeof bodies[i], "r%d", i);
      ipcx_frame f = text_frame(bodies[i]);
      CHECK_OK(ipcx_client_send(client, &f, 1, &ids[i]));
    }
    for (int i = 0; i < 3; ++i) {
      uint32_t id = 0;
      CHECK_OK(ipcx_client_receive(client, 10000, &id, &reply));
      int which = -1;
      for (int j = 0; j < 3; ++j) {
        if (ids[j] == id) which = j;
      }
      CHECK(which >= 0 && frame_is(ipcx_msg_frame(reply, 0), bodies[which]));
      ipcx_msg_free(reply);
    }
    ipcx_client_free(client);
  }
  ipcx_server_stats stats;
  CHECK_OK(ipcx_server_stats_get(server, &stats));
  CHECK(stats.requests >= 14);
  CHECK(atomic_load(&connected_events) >= 2);
  ipcx_server_stop(server);
  ipcx_server_free(server);
}

/* A server in another process: the client reaches it by name and is answered. */
static void test_server_in_a_child(void) {
  char url[64];
  snprintf(url, sizeof url, "shm://ipcx-c-child-%d", (int)getpid());
  pid_t child = fork();
  if (child == 0) {
    ipcx_server* server = NULL;
    if (ipcx_server_new(NULL, &server) != IPCX_OK) _exit(2);
    if (ipcx_server_bind(server, url, NULL, 0) != IPCX_OK) _exit(3);
    ipcx_server_on_request(server, handler, NULL);
    ipcx_server_run(server); /* until SIGTERM ends the process */
    _exit(0);
  }
  CHECK(child > 0);
  ipcx_client* client = NULL;
  CHECK_OK(ipcx_client_new(url, NULL, &client));
  ipcx_frame request[2] = {text_frame("a"), text_frame("b")};
  ipcx_msg* reply = NULL;
  CHECK_OK(ipcx_client_call(client, request, 2, 20000, &reply));
  CHECK(ipcx_msg_count(reply) == 2 && frame_is(ipcx_msg_frame(reply, 0), "b"));
  ipcx_msg_free(reply);
  ipcx_client_free(client);
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
}

static void test_spawn(const char* cli) {
  const char* argv[] = {cli, "serve", "--bind", "stdio://", NULL};
  ipcx_client* child = NULL;
  CHECK_OK(ipcx_spawn(argv, NULL, &child));
  ipcx_frame f = text_frame("through stdio");
  ipcx_msg* reply = NULL;
  CHECK_OK(ipcx_client_call(child, &f, 1, 20000, &reply));
  CHECK(frame_is(ipcx_msg_frame(reply, 0), "through stdio"));
  ipcx_msg_free(reply);
  ipcx_client_free(child); /* the child exits when its parent hangs up */
}

/* The pusher in a thread of its own: each side drives its connection only inside its calls. */
static void* push_hundred(void* arg) {
  ipcx_pusher* pusher = arg;
  for (int i = 0; i < 100; ++i) {
    char body[16];
    snprintf(body, sizeof body, "m%d", i);
    ipcx_frame f = text_frame(body);
    if (ipcx_pusher_send(pusher, &f, 1, 20000) != IPCX_OK) return (void*)1;
  }
  return ipcx_pusher_flush(pusher, 20000) == IPCX_OK ? NULL : (void*)1;
}

static void test_pipeline(void) {
  ipcx_socket_options options;
  ipcx_socket_options_init(&options);
  CHECK(options.hwm > 0);
  ipcx_puller* puller = NULL;
  ipcx_pusher* pusher = NULL;
  CHECK_OK(ipcx_puller_new(&options, &puller));
  CHECK_OK(ipcx_pusher_new(&options, &pusher));
  char name[64], url[128];
  snprintf(name, sizeof name, "shm://ipcx-c-push-%d", (int)getpid());
  CHECK_OK(ipcx_puller_bind(puller, name, url, sizeof url));
  CHECK_OK(ipcx_pusher_connect(pusher, url));
  pthread_t thread;
  pthread_create(&thread, NULL, push_hundred, pusher);
  int viewed_in_place = 0;
  for (int i = 0; i < 100; ++i) {
    char body[16];
    snprintf(body, sizeof body, "m%d", i);
    if (i % 2 == 0) {
      ipcx_msg* msg = NULL;
      CHECK_OK(ipcx_puller_receive(puller, 20000, &msg));
      CHECK(frame_is(ipcx_msg_frame(msg, 0), body));
      ipcx_msg_free(msg);
    } else {
      ipcx_view* view = NULL;
      CHECK_OK(ipcx_puller_receive_view(puller, 20000, &view));
      CHECK(frame_is(ipcx_view_frame(view, 0), body));
      viewed_in_place += ipcx_view_zero_copy(view);
      ipcx_view_release(view);
    }
  }
  void* pushed = NULL;
  pthread_join(thread, &pushed);
  CHECK(pushed == NULL);
  CHECK(viewed_in_place > 25); /* of 50, as above */
  ipcx_msg* none = NULL;
  CHECK(ipcx_puller_receive(puller, 0, &none) == IPCX_TIMEOUT);
  ipcx_socket_stats stats;
  CHECK_OK(ipcx_puller_stats_get(puller, &stats));
  CHECK(stats.messages == 100);
  CHECK(ipcx_pusher_fd(pusher) >= 0 && ipcx_puller_fd(puller) >= 0);
  ipcx_pusher_free(pusher);
  ipcx_puller_free(puller);
}

static void test_pubsub(void) {
  ipcx_publisher* publisher = NULL;
  ipcx_subscriber* subscriber = NULL;
  CHECK_OK(ipcx_publisher_new(NULL, &publisher));
  CHECK_OK(ipcx_subscriber_new(NULL, &subscriber));
  char url[128];
  CHECK_OK(ipcx_publisher_bind(publisher, "tcp://127.0.0.1:0", url, sizeof url));
  CHECK(strncmp(url, "tcp://127.0.0.1:", 16) == 0 && strcmp(url, "tcp://127.0.0.1:0") != 0);
  CHECK_OK(ipcx_subscriber_subscribe(subscriber, "news", 4));
  CHECK_OK(ipcx_subscriber_connect(subscriber, url));
  /* A subscriber joins some time after it connects: publish until one arrives. */
  ipcx_frame sport[2] = {text_frame("sport"), text_frame("skipped")};
  ipcx_frame news[2] = {text_frame("news"), text_frame("kept")};
  ipcx_msg* msg = NULL;
  int rc = IPCX_TIMEOUT;
  for (int i = 0; i < 2000 && rc == IPCX_TIMEOUT; ++i) {
    CHECK_OK(ipcx_publisher_publish(publisher, sport, 2, NULL));
    CHECK_OK(ipcx_publisher_publish(publisher, news, 2, NULL));
    rc = ipcx_subscriber_receive(subscriber, 10, &msg);
  }
  CHECK(rc == IPCX_OK);
  CHECK(ipcx_msg_count(msg) == 2 && frame_is(ipcx_msg_frame(msg, 1), "kept"));
  ipcx_msg_free(msg);
  CHECK(ipcx_publisher_subscribers(publisher) == 1);
  CHECK_OK(ipcx_subscriber_unsubscribe(subscriber, "news", 4));
  CHECK(ipcx_publisher_publish(publisher, NULL, 0, NULL) == IPCX_INVALID_ARGUMENT);
  CHECK_OK(ipcx_publisher_poll(publisher));
  CHECK_OK(ipcx_publisher_flush(publisher, 1000));
  ipcx_socket_stats stats;
  CHECK_OK(ipcx_publisher_stats_get(publisher, &stats));
  CHECK(stats.messages >= 2);
  CHECK(ipcx_subscriber_gap(subscriber) == 0);
  ipcx_subscriber_free(subscriber);
  ipcx_publisher_free(publisher);
}

/* Clients reach a server through a request/reply proxy, the server connecting out to it. */
static void test_proxy(void) {
  ipcx_proxy_options options;
  ipcx_proxy_options_init(&options);
  CHECK(options.pattern == IPCX_PROXY_REQUEST_REPLY);
  ipcx_proxy* proxy = NULL;
  CHECK_OK(ipcx_proxy_new(&options, &proxy));
  char name[64], front[128], back[128];
  snprintf(name, sizeof name, "unix://@ipcx-c-front-%d", (int)getpid());
  CHECK_OK(ipcx_proxy_bind(proxy, IPCX_PROXY_FRONTEND, name, front, sizeof front));
  snprintf(name, sizeof name, "unix://@ipcx-c-back-%d", (int)getpid());
  CHECK_OK(ipcx_proxy_bind(proxy, IPCX_PROXY_BACKEND, name, back, sizeof back));
  CHECK_OK(ipcx_proxy_start(proxy));
  ipcx_server* server = NULL;
  CHECK_OK(ipcx_server_new(NULL, &server));
  CHECK_OK(ipcx_server_connect(server, back));
  CHECK_OK(ipcx_server_on_request(server, handler, NULL));
  CHECK_OK(ipcx_server_start(server));
  ipcx_client_options client_options;
  ipcx_client_options_init(&client_options);
  client_options.spin_us = 0;
  ipcx_client* client = NULL;
  CHECK_OK(ipcx_client_new(front, &client_options, &client));
  ipcx_frame request[2] = {text_frame("via"), text_frame("proxy")};
  ipcx_msg* reply = NULL;
  CHECK_OK(ipcx_client_call(client, request, 2, 20000, &reply));
  CHECK(frame_is(ipcx_msg_frame(reply, 0), "proxy"));
  ipcx_msg_free(reply);
  /* The proxy counts a reply after it has forwarded it: wait for the count, not for time. */
  ipcx_proxy_stats stats;
  for (int i = 0; i < 10000; ++i) {
    CHECK_OK(ipcx_proxy_stats_get(proxy, &stats));
    if (stats.to_frontend == 1) break;
    usleep(1000);
  }
  CHECK(stats.to_backend == 1 && stats.to_frontend == 1);
  ipcx_client_free(client);
  ipcx_server_free(server);
  ipcx_proxy_stop(proxy);
  ipcx_proxy_free(proxy);
}

/* CURVE: a client holding the server's key is answered; one holding another key is not. */
static void test_curve(void) {
  char server_public[41], server_secret[41], other_public[41], other_secret[41];
  CHECK_OK(ipcx_curve_key_pair(server_public, server_secret));
  CHECK_OK(ipcx_curve_key_pair(other_public, other_secret));
  CHECK(strlen(server_public) == 40 && strcmp(server_public, other_public) != 0);
  ipcx_server_options options;
  ipcx_server_options_init(&options);
  options.security.curve_secret_key = server_secret;
  options.security.curve_allow_any = 1;
  ipcx_server* server = NULL;
  CHECK_OK(ipcx_server_new(&options, &server));
  char url[128];
  CHECK_OK(ipcx_server_bind(server, "tcp://127.0.0.1:0", url, sizeof url));
  CHECK_OK(ipcx_server_on_request(server, handler, NULL));
  CHECK_OK(ipcx_server_start(server));
  const char* keys[] = {server_public, other_public};
  for (int k = 0; k < 2; ++k) {
    ipcx_client_options client_options;
    ipcx_client_options_init(&client_options);
    client_options.security.curve_server_key = keys[k];
    ipcx_client* client = NULL;
    CHECK_OK(ipcx_client_new(url, &client_options, &client));
    ipcx_frame f = text_frame("secret");
    ipcx_msg* reply = NULL;
    int rc = ipcx_client_call(client, &f, 1, k == 0 ? 20000 : 2000, &reply);
    if (k == 0) {
      CHECK(rc == IPCX_OK && frame_is(ipcx_msg_frame(reply, 0), "secret"));
    } else {
      CHECK(rc != IPCX_OK && reply == NULL);
    }
    ipcx_msg_free(reply);
    ipcx_client_free(client);
  }
  ipcx_server_free(server);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s IPCX_CLI\n", argv[0]);
    return 2;
  }
  test_server_in_a_child(); /* first: fork before this process has threads */
  test_errors();
  test_server_and_client();
  test_spawn(argv[1]);
  test_pipeline();
  test_pubsub();
  test_proxy();
  test_curve();
  if (failures > 0) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("8 passed, 0 failed: C API\n");
  return 0;
}
