#ifndef ILI_CZEROMQ_SHIM_H
#define ILI_CZEROMQ_SHIM_H

// The part of libzmq 4.x (libzmq3-dev) that ili calls, declared here rather than through
// <zmq.h> so that Swift sees only these symbols. Values are libzmq's own (zmq.h, 4.3).

#include <stddef.h>
#include <stdint.h>

// Socket types and options.
enum {
    ILI_ZMQ_PAIR = 0, ILI_ZMQ_DEALER = 5, ILI_ZMQ_ROUTER = 6, ILI_ZMQ_REP = 4,
    ILI_ZMQ_ROUTING_ID = 5, ILI_ZMQ_RCVMORE = 13, ILI_ZMQ_LINGER = 17, ILI_ZMQ_RECONNECT_IVL = 18,
    ILI_ZMQ_RECONNECT_IVL_MAX = 21, ILI_ZMQ_MAXMSGSIZE = 22, ILI_ZMQ_SNDHWM = 23, ILI_ZMQ_RCVHWM = 24,
    ILI_ZMQ_LAST_ENDPOINT = 32, ILI_ZMQ_ROUTER_MANDATORY = 33, ILI_ZMQ_IMMEDIATE = 39,
    ILI_ZMQ_CURVE_SERVER = 47, ILI_ZMQ_CURVE_PUBLICKEY = 48, ILI_ZMQ_CURVE_SECRETKEY = 49,
    ILI_ZMQ_CURVE_SERVERKEY = 50, ILI_ZMQ_ZAP_DOMAIN = 55, ILI_ZMQ_HANDSHAKE_IVL = 66
};
// Flags and poll events (errors are the system's errno values on Linux).
enum { ILI_ZMQ_DONTWAIT = 1, ILI_ZMQ_SNDMORE = 2, ILI_ZMQ_POLLIN = 1, ILI_ZMQ_POLLOUT = 2 };

// A message; its size and alignment are libzmq's (64 bytes, pointer-aligned).
typedef struct zmq_msg_t { unsigned char _[64] __attribute__((aligned(sizeof(void *)))); } zmq_msg_t;

typedef struct zmq_pollitem_t {
    void *socket;
    int fd;
    short events;
    short revents;
} zmq_pollitem_t;

void zmq_version(int *major, int *minor, int *patch);
int zmq_has(const char *capability);
int zmq_errno(void);
const char *zmq_strerror(int errnum);

void *zmq_ctx_new(void);
int zmq_ctx_term(void *context);
int zmq_ctx_shutdown(void *context);

void *zmq_socket(void *context, int type);
int zmq_close(void *socket);
int zmq_setsockopt(void *socket, int option, const void *value, size_t length);
int zmq_getsockopt(void *socket, int option, void *value, size_t *length);
int zmq_bind(void *socket, const char *endpoint);
int zmq_connect(void *socket, const char *endpoint);
int zmq_send(void *socket, const void *buffer, size_t length, int flags);
int zmq_poll(zmq_pollitem_t *items, int count, long timeout);

int zmq_msg_init(zmq_msg_t *message);
int zmq_msg_recv(zmq_msg_t *message, void *socket, int flags);
int zmq_msg_close(zmq_msg_t *message);
void *zmq_msg_data(zmq_msg_t *message);
size_t zmq_msg_size(const zmq_msg_t *message);
int zmq_msg_more(const zmq_msg_t *message);
const char *zmq_msg_gets(const zmq_msg_t *message, const char *property);

// CURVE keys: 40-character Z85 text for 32-byte keys.
int zmq_curve_keypair(char *z85_public_key, char *z85_secret_key);
int zmq_curve_public(char *z85_public_key, const char *z85_secret_key);

#endif
