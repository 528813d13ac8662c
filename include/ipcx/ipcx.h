/* The C API of ipcx (C11; usable from C++ too). Every handle is opaque and owned by the caller,
 * who frees it with its _free function (which accepts NULL). Every call that can fail returns an
 * ipcx_errc (IPCX_OK is 0) and leaves a message describing the failure for the calling thread,
 * read with ipcx_last_error(). Messages go in as arrays of frames and come back as ipcx_msg
 * handles; timeouts are milliseconds, IPCX_FOREVER waits without limit. Handles follow the C++
 * classes' threading rules: a Client, Pusher, Puller, Publisher or Subscriber is used by one
 * thread at a time, a Server's stop() may come from any thread. docs/C-API.md has the guide. */
#ifndef IPCX_IPCX_H
#define IPCX_IPCX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The same codes, in the same order, as ipcx::Errc; IPCX_INVALID_ARGUMENT is the C API's own
 * (a NULL handle, a frame array without frames where one is needed, a missing out-pointer). */
typedef enum ipcx_errc {
  IPCX_OK = 0,
  IPCX_TIMEOUT,
  IPCX_WOULD_BLOCK,
  IPCX_PEER_CLOSED,
  IPCX_REFUSED,
  IPCX_MESSAGE_TOO_LARGE,
  IPCX_PROTOCOL_VIOLATION,
  IPCX_BAD_ENDPOINT,
  IPCX_NOT_SUPPORTED,
  IPCX_PERMISSION_DENIED,
  IPCX_ADDRESS_IN_USE,
  IPCX_RESOURCE_EXHAUSTED,
  IPCX_CANCELLED,
  IPCX_IO_ERROR,
  IPCX_AUTH_FAILED,
  IPCX_INVALID_ARGUMENT = 64
} ipcx_errc;

#define IPCX_FOREVER INT64_C(-1)

/* The calling thread's description of its last failure ("" before any). Valid until that
 * thread's next failing call. */
const char* ipcx_last_error(void);
/* A stable lower-case name for a code: "timeout", "peer_closed", ... */
const char* ipcx_errc_name(int code);
/* The library's version, "0.1.0". */
const char* ipcx_version(void);

/* ---- Messages ------------------------------------------------------------------------------ */

typedef struct ipcx_frame {
  const void* data;
  size_t size;
} ipcx_frame;

/* A received message (a copy): frames readable until ipcx_msg_free. */
typedef struct ipcx_msg ipcx_msg;
size_t ipcx_msg_count(const ipcx_msg* msg);
/* Frame i (i < count); {NULL, 0} past the end. */
ipcx_frame ipcx_msg_frame(const ipcx_msg* msg, size_t i);
void ipcx_msg_free(ipcx_msg* msg);

/* A received message lent in place: on shm:// its frames lie in the connection's ring
 * (zero copy) and that connection delivers nothing more until the view is released. Elsewhere
 * it holds a copy. The handle that lent it must outlive it. */
typedef struct ipcx_view ipcx_view;
size_t ipcx_view_count(const ipcx_view* view);
ipcx_frame ipcx_view_frame(const ipcx_view* view, size_t i);
int ipcx_view_zero_copy(const ipcx_view* view);
/* Gives the space back and frees the handle. */
void ipcx_view_release(ipcx_view* view);

/* ---- Options ------------------------------------------------------------------------------- */

/* Connection events, as ipcx::ConnectionEvent; the strings live for the callback only. */
typedef enum ipcx_event_kind {
  IPCX_EVENT_CONNECTED,
  IPCX_EVENT_DISCONNECTED,
  IPCX_EVENT_HANDSHAKE_FAILED,
  IPCX_EVENT_HEARTBEAT_TIMEOUT,
  IPCX_EVENT_REFUSED
} ipcx_event_kind;

typedef struct ipcx_event {
  ipcx_event_kind kind;
  const char* endpoint;
  const char* peer;
  int pid;
  const char* reason;
  int error; /* an ipcx_errc */
} ipcx_event;

/* Both run on the socket's own thread; they must be quick and must not call back into it. */
typedef void (*ipcx_event_fn)(const ipcx_event* event, void* user);
typedef void (*ipcx_log_fn)(const char* line, size_t length, void* user);

/* CURVE (tcp:// and unix://); keys are 40-character Z85 strings. With curve_server_key set the
 * socket is a CURVE client, else with curve_secret_key a CURVE server, else it speaks NULL. */
typedef struct ipcx_security {
  const char* curve_secret_key;
  const char* curve_server_key;
  const char* const* curve_allow; /* server: the client public keys admitted */
  size_t curve_allow_count;
  int curve_allow_any; /* server: admit any client that completes the handshake */
} ipcx_security;

/* Writes a new key pair, each 40 characters and a NUL. */
int ipcx_curve_key_pair(char public_key[41], char secret_key[41]);

/* Every options struct is filled with the C++ defaults by its _init function; set fields after.
 * Durations are in the unit their name says; a negative heartbeat turns heartbeats off. */
typedef struct ipcx_server_options {
  size_t max_message_size;
  size_t max_connections;
  size_t max_queued_bytes;
  int64_t spin_us;
  unsigned workers;
  int64_t handshake_timeout_ms;
  int64_t heartbeat_ms;
  int64_t stop_grace_ms;
  size_t shm_ring_bytes;
  uint32_t file_mode;
  const uint32_t* allow_uids;
  size_t allow_uid_count;
  ipcx_security security;
  ipcx_log_fn log;
  void* log_user;
  ipcx_event_fn on_event;
  void* event_user;
} ipcx_server_options;
void ipcx_server_options_init(ipcx_server_options* options);

typedef enum ipcx_envelope {
  IPCX_ENVELOPE_AUTOMATIC,
  IPCX_ENVELOPE_REQUEST_IDS,
  IPCX_ENVELOPE_PLAIN
} ipcx_envelope;

typedef struct ipcx_client_options {
  size_t max_message_size;
  size_t max_queued_bytes;
  int64_t spin_us;
  int64_t handshake_timeout_ms;
  int64_t heartbeat_ms;
  int64_t reconnect_min_ms;
  int64_t reconnect_max_ms;
  ipcx_envelope envelope;
  const uint32_t* server_uids;
  size_t server_uid_count;
  ipcx_security security;
  ipcx_log_fn log;
  void* log_user;
  ipcx_event_fn on_event;
  void* event_user;
} ipcx_client_options;
void ipcx_client_options_init(ipcx_client_options* options);

/* For Pusher, Puller, Publisher and Subscriber. */
typedef struct ipcx_socket_options {
  size_t max_message_size;
  size_t hwm;
  int lossless;
  size_t max_queued_bytes;
  int64_t spin_us;
  int64_t handshake_timeout_ms;
  int64_t heartbeat_ms;
  int64_t linger_ms;
  size_t max_peers;
  int64_t reconnect_min_ms;
  int64_t reconnect_max_ms;
  size_t batch_bytes;
  size_t shm_ring_bytes;
  uint32_t file_mode;
  const uint32_t* allow_uids;
  size_t allow_uid_count;
  const uint32_t* server_uids;
  size_t server_uid_count;
  ipcx_security security;
  ipcx_log_fn log;
  void* log_user;
  ipcx_event_fn on_event;
  void* event_user;
} ipcx_socket_options;
void ipcx_socket_options_init(ipcx_socket_options* options);

/* ---- Request/reply: Server ----------------------------------------------------------------- */

typedef struct ipcx_server ipcx_server;
typedef struct ipcx_request ipcx_request;
typedef struct ipcx_responder ipcx_responder;

/* Who sent a request; the strings live as long as the request. */
typedef struct ipcx_peer {
  const char* mechanism;
  int pid; /* -1 where the mechanism carries no credentials */
  int uid;
  int gid;
  const char* address;
  const char* curve_key;
} ipcx_peer;

typedef struct ipcx_server_stats {
  uint64_t accepted, open, rejected, requests, replies, handler_errors, peer_faults,
      dropped_replies, dropped_input;
} ipcx_server_stats;

/* The handler: `request` is valid for the call only. Reply with ipcx_request_reply, or take a
 * responder to reply later; a request left unanswered counts as a handler error. */
typedef void (*ipcx_handler)(ipcx_request* request, void* user);

/* options may be NULL (defaults). */
int ipcx_server_new(const ipcx_server_options* options, ipcx_server** out);
/* Writes the bound URL (port 0 replaced) into `bound` when it is not NULL, truncated to
 * `capacity` bytes with a NUL. */
int ipcx_server_bind(ipcx_server* server, const char* url, char* bound, size_t capacity);
/* Serves what arrives on a connection made out to `url` (a broker's backend). */
int ipcx_server_connect(ipcx_server* server, const char* url);
int ipcx_server_on_request(ipcx_server* server, ipcx_handler handler, void* user);
/* Serves on the calling thread until ipcx_server_stop. */
int ipcx_server_run(ipcx_server* server);
/* Serves on a thread of its own. */
int ipcx_server_start(ipcx_server* server);
/* Thread-safe and idempotent. */
void ipcx_server_stop(ipcx_server* server);
/* One turn of the loop for a caller's own event loop (readable fd: work to do). */
int ipcx_server_run_once(ipcx_server* server, int64_t wait_ms);
int ipcx_server_fd(const ipcx_server* server);
int ipcx_server_stats_get(const ipcx_server* server, ipcx_server_stats* out);
/* Stops it, then frees it. */
void ipcx_server_free(ipcx_server* server);

size_t ipcx_request_count(const ipcx_request* request);
ipcx_frame ipcx_request_frame(const ipcx_request* request, size_t i);
void ipcx_request_peer(const ipcx_request* request, ipcx_peer* out);
int ipcx_request_reply(ipcx_request* request, const ipcx_frame* frames, size_t count);
/* A handle to answer the request after the handler returns, from any thread. */
int ipcx_request_respond_later(ipcx_request* request, ipcx_responder** out);
/* IPCX_CANCELLED after the server stopped, IPCX_PEER_CLOSED when the client went away. */
int ipcx_responder_reply(ipcx_responder* responder, const ipcx_frame* frames, size_t count);
/* Unanswered, the request counts as a handler error. */
void ipcx_responder_free(ipcx_responder* responder);

/* ---- Request/reply: Client ----------------------------------------------------------------- */

typedef struct ipcx_client ipcx_client;

/* Does not connect: the first call does. */
int ipcx_client_new(const char* url, const ipcx_client_options* options, ipcx_client** out);
/* Starts argv (NULL-terminated) as a child serving on its stdin/stdout (stdio://). */
int ipcx_spawn(const char* const* argv, const ipcx_client_options* options, ipcx_client** out);
int ipcx_client_call(ipcx_client* client, const ipcx_frame* frames, size_t count,
                     int64_t timeout_ms, ipcx_msg** reply);
/* As call, the reply lent in place where the mechanism allows (shm://). */
int ipcx_client_call_view(ipcx_client* client, const ipcx_frame* frames, size_t count,
                          int64_t timeout_ms, ipcx_view** reply);
/* Pipelining: queues a request; its reply comes from ipcx_client_receive. */
int ipcx_client_send(ipcx_client* client, const ipcx_frame* frames, size_t count, uint32_t* id);
/* The next reply to any request sent; *id (if not NULL) names the request it answers. */
int ipcx_client_receive(ipcx_client* client, int64_t timeout_ms, uint32_t* id, ipcx_msg** reply);
int ipcx_client_fd(const ipcx_client* client);
void ipcx_client_free(ipcx_client* client);

/* ---- Pipeline and publish/subscribe -------------------------------------------------------- */

typedef struct ipcx_pusher ipcx_pusher;
typedef struct ipcx_puller ipcx_puller;
typedef struct ipcx_publisher ipcx_publisher;
typedef struct ipcx_subscriber ipcx_subscriber;

typedef struct ipcx_socket_stats {
  uint64_t peers, ready, messages, bytes, dropped, peer_faults, rejected, lost;
} ipcx_socket_stats;

int ipcx_pusher_new(const ipcx_socket_options* options, ipcx_pusher** out);
int ipcx_pusher_bind(ipcx_pusher* pusher, const char* url, char* bound, size_t capacity);
int ipcx_pusher_connect(ipcx_pusher* pusher, const char* url);
int ipcx_pusher_send(ipcx_pusher* pusher, const ipcx_frame* frames, size_t count,
                     int64_t timeout_ms);
/* Waits until what is queued has left, or the timeout: IPCX_TIMEOUT then. */
int ipcx_pusher_flush(ipcx_pusher* pusher, int64_t timeout_ms);
int ipcx_pusher_fd(const ipcx_pusher* pusher);
int ipcx_pusher_stats_get(const ipcx_pusher* pusher, ipcx_socket_stats* out);
void ipcx_pusher_free(ipcx_pusher* pusher);

int ipcx_puller_new(const ipcx_socket_options* options, ipcx_puller** out);
int ipcx_puller_bind(ipcx_puller* puller, const char* url, char* bound, size_t capacity);
int ipcx_puller_connect(ipcx_puller* puller, const char* url);
int ipcx_puller_receive(ipcx_puller* puller, int64_t timeout_ms, ipcx_msg** out);
int ipcx_puller_receive_view(ipcx_puller* puller, int64_t timeout_ms, ipcx_view** out);
int ipcx_puller_fd(const ipcx_puller* puller);
int ipcx_puller_stats_get(const ipcx_puller* puller, ipcx_socket_stats* out);
void ipcx_puller_free(ipcx_puller* puller);

int ipcx_publisher_new(const ipcx_socket_options* options, ipcx_publisher** out);
int ipcx_publisher_bind(ipcx_publisher* publisher, const char* url, char* bound, size_t capacity);
int ipcx_publisher_connect(ipcx_publisher* publisher, const char* url);
/* *delivered (if not NULL): how many subscribers took the message. */
int ipcx_publisher_publish(ipcx_publisher* publisher, const ipcx_frame* frames, size_t count,
                           size_t* delivered);
/* Takes in subscriptions and connections without publishing. */
int ipcx_publisher_poll(ipcx_publisher* publisher);
int ipcx_publisher_flush(ipcx_publisher* publisher, int64_t timeout_ms);
size_t ipcx_publisher_subscribers(const ipcx_publisher* publisher);
int ipcx_publisher_fd(const ipcx_publisher* publisher);
int ipcx_publisher_stats_get(const ipcx_publisher* publisher, ipcx_socket_stats* out);
void ipcx_publisher_free(ipcx_publisher* publisher);

int ipcx_subscriber_new(const ipcx_socket_options* options, ipcx_subscriber** out);
int ipcx_subscriber_bind(ipcx_subscriber* subscriber, const char* url, char* bound,
                         size_t capacity);
int ipcx_subscriber_connect(ipcx_subscriber* subscriber, const char* url);
/* Topics are prefixes of the first frame, as bytes; "" subscribes to everything. */
int ipcx_subscriber_subscribe(ipcx_subscriber* subscriber, const void* topic, size_t size);
int ipcx_subscriber_unsubscribe(ipcx_subscriber* subscriber, const void* topic, size_t size);
int ipcx_subscriber_receive(ipcx_subscriber* subscriber, int64_t timeout_ms, ipcx_msg** out);
/* Messages lost before the last one received (shm:// and udp:// count them). */
uint64_t ipcx_subscriber_gap(const ipcx_subscriber* subscriber);
int ipcx_subscriber_fd(const ipcx_subscriber* subscriber);
int ipcx_subscriber_stats_get(const ipcx_subscriber* subscriber, ipcx_socket_stats* out);
void ipcx_subscriber_free(ipcx_subscriber* subscriber);

/* ---- Proxy --------------------------------------------------------------------------------- */

typedef struct ipcx_proxy ipcx_proxy;

typedef enum ipcx_proxy_pattern {
  IPCX_PROXY_REQUEST_REPLY,
  IPCX_PROXY_PIPELINE,
  IPCX_PROXY_PUBLISH_SUBSCRIBE
} ipcx_proxy_pattern;

typedef struct ipcx_proxy_options {
  ipcx_proxy_pattern pattern;
  size_t max_message_size;
  size_t max_held;
  size_t hwm;
  int64_t heartbeat_ms;
  int64_t handshake_timeout_ms;
  const uint32_t* server_uids;
  size_t server_uid_count;
  ipcx_security frontend_security;
  ipcx_security backend_security;
  ipcx_log_fn log;
  void* log_user;
  ipcx_event_fn on_event;
  void* event_user;
} ipcx_proxy_options;
void ipcx_proxy_options_init(ipcx_proxy_options* options);

typedef struct ipcx_proxy_stats {
  uint64_t to_backend, to_frontend, dropped, captured;
} ipcx_proxy_stats;

typedef enum ipcx_proxy_side {
  IPCX_PROXY_FRONTEND,
  IPCX_PROXY_BACKEND,
  IPCX_PROXY_CAPTURE
} ipcx_proxy_side;

int ipcx_proxy_new(const ipcx_proxy_options* options, ipcx_proxy** out);
int ipcx_proxy_bind(ipcx_proxy* proxy, ipcx_proxy_side side, const char* url, char* bound,
                    size_t capacity);
int ipcx_proxy_connect(ipcx_proxy* proxy, ipcx_proxy_side side, const char* url);
int ipcx_proxy_run(ipcx_proxy* proxy);
int ipcx_proxy_start(ipcx_proxy* proxy);
void ipcx_proxy_stop(ipcx_proxy* proxy);
int ipcx_proxy_stats_get(const ipcx_proxy* proxy, ipcx_proxy_stats* out);
void ipcx_proxy_free(ipcx_proxy* proxy);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* IPCX_IPCX_H */
