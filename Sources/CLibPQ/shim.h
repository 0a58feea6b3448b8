#ifndef ILI_CLIBPQ_SHIM_H
#define ILI_CLIBPQ_SHIM_H
// libpq (libpq-dev): the PostgreSQL back end of the registry.
#include <postgresql/libpq-fe.h>
#endif
