/* Unit tests of roster_url_redact (issue 14, finding 9): the passwords of a store URL never
 * reach a log line or an error message, whatever their place in the URL.
 */
#include "roster/util.h"
#include "test.h"

static const char *redact(const char *url)
{
    static char out[512];
    return roster_url_redact(url, out, sizeof(out));
}

int main(void)
{
    CHECK_EQ_STR(redact("postgresql://alice:s3cret@db.example:5432/roster"),
                 "postgresql://alice:***@db.example:5432/roster");
    CHECK_EQ_STR(redact("postgres://alice@db/roster"), "postgres://alice@db/roster");
    CHECK_EQ_STR(redact("postgresql:///roster?host=/tmp/pg&user=roster&password=pw&sslmode=off"),
                 "postgresql:///roster?host=/tmp/pg&user=roster&password=***&sslmode=off");
    CHECK_EQ_STR(redact("postgresql://u:p@h/d?password=a&password=b"),
                 "postgresql://u:***@h/d?password=***&password=***");
    CHECK_EQ_STR(redact("postgresql://u:p%40x@h/d"), "postgresql://u:***@h/d");
    /* an @ or : after the host is not a password */
    CHECK_EQ_STR(redact("postgresql://h:5432/d?application_name=a:b@c"),
                 "postgresql://h:5432/d?application_name=a:b@c");
    CHECK_EQ_STR(redact("postgresql://h/d?xpassword=keep"), "postgresql://h/d?xpassword=keep");
    /* file paths are shown as they are */
    CHECK_EQ_STR(redact("./roster-data/roster.db"), "./roster-data/roster.db");
    CHECK_EQ_STR(redact("/tmp/user:pw@x/roster.db"), "/tmp/user:pw@x/roster.db");
    CHECK_EQ_STR(redact(""), "");
    CHECK_EQ_STR(redact(NULL), "");
    /* truncated to the buffer, never overrun */
    char small[16];
    roster_url_redact("postgresql://a:b@host/db", small, sizeof(small));
    CHECK_EQ_STR(small, "postgresql://a:");
    return test_finish();
}
