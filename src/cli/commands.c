/* The subcommand table: `roster <command>` dispatches to serve.c and cli.c. */
#include <stdio.h>
#include <string.h>

#include "roster/cli.h"
#include "roster/jsonutil.h"

struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage;
};

static const struct subcommand commands[] = {
    {"serve", roster_cmd_serve,
     "serve [--listen HOST:PORT] [--store PATH|URL] [--workers N] [--max-body BYTES] "
     "[--log-level debug|info|warn|error] [--tls-cert PEM_FILE --tls-key PEM_FILE]"},
    {"org", roster_cmd_org,
     "org create NAME | org list | org set ORG_ID [--name N] [--address A] [--city C] "
     "[--state S] [--zip Z] [--country C]   [--store PATH|URL]"},
    {"key", roster_cmd_key,
     "key create --org ORG_ID [--name NAME] [--all-orgs] | key list | key revoke KEY_ID | "
     "key create-service-account --org ORG_ID [--name NAME]   [--store PATH|URL]"},
    {"template", roster_cmd_template,
     "template set NAME FILE | template list | template get NAME | template remove NAME   "
     "--org ORG_ID [--store PATH|URL]   (FILE: the content JSON, - for stdin)"},
    {"webhook", roster_cmd_webhook,
     "webhook add --org ORG_ID --url URL [--events TYPE,...] [--secret whsec_...] | "
     "webhook list --org ORG_ID | webhook remove WEBHOOK_ID --org ORG_ID   [--store PATH|URL]"},
    {"outbox", roster_cmd_outbox,
     "outbox list --org ORG_ID [--status ENQUEUED|SENT|UNDELIVERABLE] [--limit N] "
     "[--after MESSAGE_ID] | outbox retry MESSAGE_ID --org ORG_ID   [--store PATH|URL]"},
    {"import", roster_cmd_import,
     "import FILE|- [--store PATH|URL] [--org ORG_ID] [--format csv|ndjson|jsonl|json] "
     "[--map COLUMN=FIELD]... [--mode skip|fail|overwrite|sync] "
     "[--match username|email|employeeid|externalid] [--missing suspend|delete|keep] "
     "[--max-changes N] [--force] [--dry-run] [--report FILE] [--quiet] [--no-progress]"},
    {"export", roster_cmd_export,
     "export --org ORG_ID [--format csv|jsonl|json] [--fields NAME,...] "
     "[--filter FIELD:OP:VALUE]... [--state STATE] [--output FILE|-] [--no-progress] "
     "[--quiet]   [--store PATH|URL]"},
    {"routes", roster_cmd_routes, "routes   (print every HTTP route)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: roster <command> [options]\n\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  roster %s\n", commands[i].usage);
    fprintf(f,
            "\nEvery option also reads an environment variable: ROSTER_LISTEN, "
            "ROSTER_STORE,\nROSTER_WORKERS, ROSTER_MAX_BODY, ROSTER_LOG_LEVEL, ROSTER_TLS_CERT, "
            "ROSTER_TLS_KEY.\nROSTER_BOOTSTRAP_KEY sets the first admin key of a fresh store.\n");
}

int roster_cli_main(int argc, char **argv)
{
    roster_json_alloc_install();
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "roster: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
