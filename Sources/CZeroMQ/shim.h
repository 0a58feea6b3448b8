#ifndef ILI_CZEROMQ_SHIM_H
#define ILI_CZEROMQ_SHIM_H
// libzmq (libzmq3-dev): the fleet's transport.
#include <zmq.h>
#endif
