/* The dialect layer as the programs see it: the route table of every dialect, for the HTTP
 * server (roster_server_start) and `roster routes`, and the registration of the dialects'
 * job codecs.
 */
#ifndef ROSTER_DIALECTS_H
#define ROSTER_DIALECTS_H

#include "roster/http.h"

extern const struct roster_routes roster_dialect_routes;

/* Registers every dialect's job codecs; call once before the job engine starts. */
void roster_dialects_init(void);

#endif
