/* Idempotency-Key for the dialects (idem.h). */
#include <string.h>

#include "dialect/idem.h"
#include "roster/core.h"
#include "roster/util.h"

#define QUOTE_MAX 64 /* characters of a client's value quoted back in a message */

/* epoch milliseconds (digits only) or an ISO 8601 date-time; -1 when it is neither */
static int parse_expiration(const char *s, int64_t *ms)
{
    size_t n = strlen(s);
    if (n > 0 && n <= 15 && strspn(s, "0123456789") == n) {
        *ms = 0;
        for (size_t i = 0; i < n; i++)
            *ms = *ms * 10 + (s[i] - '0');
        return 0;
    }
    return roster_time_parse(s, ms);
}

int roster_idem_read(struct roster_req *r, const char *scope, const char *const *parts,
                     size_t nparts, struct roster_idem *idem)
{
    const char *key = roster_req_header(r, "idempotency-key");
    if (!key)
        return 0;
    size_t len = strlen(key);
    if (len == 0) {
        roster_resp_error(r, 400, "Idempotency-Key must not be empty");
        return -1;
    }
    if (len > ROSTER_IDEM_KEY_MAX) {
        roster_resp_error(r, 400, "Idempotency-Key is %zu bytes long, at most %d are allowed", len,
                          ROSTER_IDEM_KEY_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch < 0x20 || ch > 0x7e) {
            roster_resp_error(r, 400,
                              "Idempotency-Key may hold printable ASCII characters only (byte "
                              "%zu is 0x%02x)",
                              i, ch);
            return -1;
        }
    }
    int64_t asked = 0;
    const char *exp = roster_req_header(r, "x-idempotency-expiration");
    if (exp && parse_expiration(exp, &asked) != 0) {
        roster_resp_error(r, 400,
                          "X-Idempotency-Expiration \"%.*s\" is neither epoch milliseconds nor an "
                          "ISO 8601 date-time",
                          QUOTE_MAX, exp);
        return -1;
    }
    memset(idem, 0, sizeof(*idem));
    idem->scope = scope;
    idem->key = key;
    const struct roster_app *app = r->ctx.app;
    idem->expires_ms =
        roster_idem_expiry(roster_now_ms(), app ? app->cfg.idempotency_ttl_s : 0, asked);
    roster_idem_hash_req(r, idem, parts, nparts, r->body, r->body_len);
    return 1;
}

void roster_idem_hash_req(struct roster_req *r, struct roster_idem *idem, const char *const *parts,
                          size_t nparts, const char *body, size_t len)
{
    const char **all = roster_arena_alloc(r->ctx.arena, (nparts + 1) * sizeof(*all));
    all[0] = r->path;
    for (size_t i = 0; i < nparts; i++)
        all[i + 1] = parts[i];
    roster_idem_hash(idem, all, nparts + 1, body, len);
}

bool roster_idem_answered(struct roster_req *r, const struct roster_idem *idem, int rc,
                          const struct roster_err *err, int status)
{
    if (!idem)
        return false;
    if (rc == ROSTER_ECONFLICT && err && err->field && strcmp(err->field, ROSTER_IDEM_FIELD) == 0) {
        roster_resp_error(r, status, "%s", err->msg);
        return true;
    }
    if (rc == 0 && idem->replayed)
        roster_resp_header(r, "Idempotent-Replayed", "true");
    return false;
}
