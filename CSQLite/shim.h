#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H
// SQLite's C API for the SQLite store (Sources/ThinkbackRuntime/Store/SQLite*). System library:
// libsqlite3-dev (scripts/setup).
#include <sqlite3.h>
#endif
