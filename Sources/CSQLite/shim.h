#ifndef ILI_CSQLITE_SHIM_H
#define ILI_CSQLITE_SHIM_H
// SQLite (libsqlite3-dev): the embedded back end of the registry.
#include <sqlite3.h>
#endif
