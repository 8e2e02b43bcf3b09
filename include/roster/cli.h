/* The command line: `roster serve` and the offline admin commands (org, key, routes).
 * Each subcommand returns the process exit code. */
#ifndef ROSTER_CLI_H
#define ROSTER_CLI_H

#include <stddef.h>

int roster_cli_main(int argc, char **argv);

int roster_cmd_serve(int argc, char **argv);
int roster_cmd_org(int argc, char **argv);
int roster_cmd_key(int argc, char **argv);
int roster_cmd_routes(int argc, char **argv);
int roster_cmd_template(int argc, char **argv); /* src/cli/templates.c */
int roster_cmd_webhook(int argc, char **argv);  /* src/cli/webhook.c */
int roster_cmd_outbox(int argc, char **argv);   /* src/cli/outbox.c */
int roster_cmd_import(int argc, char **argv);   /* src/cli/import.c */
int roster_cmd_export(int argc, char **argv);   /* src/cli/export.c */

/* The store URL from --store / ROSTER_STORE / the default ./roster-data/roster.db */
const char *roster_cli_store_url(const char *flag);

/* One long option of a command: --name VALUE stored in *value, or (value NULL) --name alone,
 * which sets *flag to 1. */
struct roster_cli_opt {
    const char *name;
    const char **value;
    int *flag;
};
#define ROSTER_CLI_OPTS_MAX 32
/* Reads the options of argv (a command's arguments, argv[0] its name) with getopt_long:
 * returns 0 with optind at the first operand, 1 at --help (which every command knows; the
 * options after it are not read), -1 after getopt's message on an unknown option or a
 * missing value. */
int roster_cli_options(int argc, char **argv, const struct roster_cli_opt *opts, size_t n);

struct roster_conn;
struct roster_key;
struct roster_err;
/* Creates an API key for org_id and writes the secret (40 hex chars, or given) into
 * secret[41]; only its SHA-256 is stored. */
int roster_cli_make_key(struct roster_conn *c, const char *org_id, const char *name, int all_orgs,
                        const char *given, char secret[41], struct roster_key *key,
                        struct roster_err *err);

#endif
