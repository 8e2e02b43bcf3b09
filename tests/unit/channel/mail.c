/* Unit tests of e-mail rendering and building (src/channel/mail.c) and of the retry
 * schedule of outbox delivery (roster_delivery_retry_at, src/core/delivery.c):
 * {{variable}} substitution (data before profile, dotted names, spaces, missing and
 * non-string values, unclosed braces), Courier content (title/body, elements), a stored
 * template or event that roster does not keep, header values that try to add lines, the
 * address check, quoted-printable and RFC 2047 output, HTML escaping, and the backoff.
 */
#include "channel/mail.h"
#include "roster/delivery.h"
#include "test.h"

#include <stdlib.h>

static struct roster_arena arena;

/* Every line of text ends with CRLF and none is longer than 998 bytes; no bare CR or LF. */
static int lines_ok(const char *text)
{
    size_t col = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\r') {
            if (p[1] != '\n')
                return 0;
            p++;
            col = 0;
            continue;
        }
        if (*p == '\n')
            return 0;
        if (++col > 998)
            return 0;
    }
    return 1;
}

/* The header block of a built message (up to the first empty line). */
static char *headers_of(const char *msg)
{
    const char *end = strstr(msg, "\r\n\r\n");
    size_t n = end ? (size_t)(end - msg) + 2 : strlen(msg);
    return roster_arena_strndup(&arena, msg, n);
}

static int count_lines_starting(const char *block, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = block; p && *p;) {
        if (strncmp(p, prefix, len) == 0)
            n++;
        p = strstr(p, "\r\n");
        if (p)
            p += 2;
    }
    return n;
}

static void test_subst(void)
{
    const char *data =
        "{\"name\":\"Ann\",\"n\":42,\"ok\":true,\"obj\":{\"x\":\"in\"},\"nul\":null}";
    const char *prof = "{\"name\":\"Profile\",\"email\":\"a@b.c\"}";
    CHECK_EQ_STR(roster_mail_subst("Hi {{name}}!", data, prof, &arena), "Hi Ann!");
    CHECK_EQ_STR(roster_mail_subst("{{ email }}", data, prof, &arena), "a@b.c");
    CHECK_EQ_STR(roster_mail_subst("{{n}}/{{ok}}/{{obj.x}}", data, prof, &arena), "42/true/in");
    CHECK_EQ_STR(roster_mail_subst("[{{missing}}][{{obj}}][{{nul}}][{{}}]", data, prof, &arena),
                 "[][][][]");
    CHECK_EQ_STR(roster_mail_subst("open {{name", data, prof, &arena), "open {{name");
    CHECK_EQ_STR(roster_mail_subst("{{name}}", NULL, NULL, &arena), "");
    CHECK_EQ_STR(roster_mail_subst("{{name}}", "not json", prof, &arena), "Profile");
    CHECK_EQ_STR(roster_mail_subst("", data, prof, &arena), "");
}

static void test_render(void)
{
    struct roster_mail_text t;
    const char *why = roster_mail_render(
        "{\"content\":{\"title\":\"Hello {{name}}\\r\\nBcc: x@evil\",\"body\":\"Dear {{name}}\"},"
        "\"data\":{\"name\":\"J\\u00f6rg\"},\"to\":{\"email\":\"j@example.com\"}}",
        &arena, &t);
    CHECK(why == NULL);
    CHECK_EQ_STR(t.subject, "Hello J\xc3\xb6rg  Bcc: x@evil"); /* one line: CR LF -> spaces */
    CHECK_EQ_STR(t.body, "Dear J\xc3\xb6rg");

    why = roster_mail_render("{\"content\":{\"version\":\"2022-01-01\",\"elements\":["
                             "{\"type\":\"meta\",\"title\":\"Meta {{x}}\"},"
                             "{\"type\":\"text\",\"content\":\"One {{x}}\"},"
                             "{\"type\":\"image\",\"src\":\"i.png\"},"
                             "{\"type\":\"text\",\"content\":\"Two\"}]},\"data\":{\"x\":\"X\"}}",
                             &arena, &t);
    CHECK(why == NULL);
    CHECK_EQ_STR(t.subject, "Meta X");
    CHECK_EQ_STR(t.body, "One X\n\nTwo");

    why = roster_mail_render("{\"template\":\"welcome\",\"data\":{}}", &arena, &t);
    CHECK(why && strstr(why, "template \"welcome\"") && strstr(why, "not looked up"));
    why = roster_mail_render("{\"event\":\"order-shipped\",\"data\":{}}", &arena, &t);
    CHECK(why && strstr(why, "event \"order-shipped\""));
    CHECK(roster_mail_render("{\"data\":{}}", &arena, &t) != NULL);
    CHECK(roster_mail_render("[1,2]", &arena, &t) != NULL);
    CHECK(roster_mail_render(NULL, &arena, &t) != NULL);
    CHECK(roster_mail_render("{\"content\":", &arena, &t) != NULL);
}

static void test_addr(void)
{
    CHECK(roster_mail_addr_ok("a@example.com"));
    CHECK(roster_mail_addr_ok("first.last+tag@sub.example.org"));
    CHECK(!roster_mail_addr_ok("a@example.com\r\nBcc: b@example.com"));
    CHECK(!roster_mail_addr_ok("a b@example.com"));
    CHECK(!roster_mail_addr_ok("<a@example.com>"));
    CHECK(!roster_mail_addr_ok("a@example.com,b@example.com"));
    CHECK(!roster_mail_addr_ok("@example.com"));
    CHECK(!roster_mail_addr_ok("a@"));
    CHECK(!roster_mail_addr_ok("noat"));
    CHECK(!roster_mail_addr_ok(""));
    CHECK(!roster_mail_addr_ok(NULL));
    char big[300];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[10] = '@';
    CHECK(!roster_mail_addr_ok(big));
}

static void test_build(void)
{
    struct roster_buf b;
    roster_buf_init(&b);
    char body[400];
    memset(body, 'x', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    struct roster_mail_text t = {"Plain subject",
                                 "Line one \n.dot line\n<b>&</b> caf\xc3\xa9 = ok"};
    roster_mail_build(&b, "noreply@example.org", "to@example.com",
                      "1-6b14a036-6b14a03679a55e3412a0d89f", &t, INT64_C(1700000000000));
    roster_buf_addch(&b, '\0');
    const char *msg = b.data;
    CHECK(lines_ok(msg));
    char *h = headers_of(msg);
    CHECK(strstr(h, "From: <noreply@example.org>\r\n") != NULL);
    CHECK(strstr(h, "To: <to@example.com>\r\n") != NULL);
    CHECK(strstr(h, "Subject: Plain subject\r\n") != NULL);
    CHECK(strstr(h, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n") != NULL);
    CHECK(strstr(h, "Message-ID: <1-6b14a036-6b14a03679a55e3412a0d89f@example.org>\r\n") != NULL);
    CHECK(strstr(h, "MIME-Version: 1.0\r\n") != NULL);
    CHECK(strstr(h, "multipart/alternative") != NULL);
    CHECK_EQ_INT(count_lines_starting(h, "Subject:"), 1);
    /* quoted-printable: trailing space, a leading dot, '=' and UTF-8 are encoded */
    CHECK(strstr(msg, "Line one=20\r\n=2Edot line\r\n<b>&</b> caf=C3=A9 =3D ok") != NULL);
    /* the HTML part escapes */
    CHECK(strstr(msg, "&lt;b&gt;&amp;&lt;/b&gt;") != NULL);
    CHECK(strstr(msg, "Content-Type: text/plain; charset=UTF-8") != NULL);
    CHECK(strstr(msg, "Content-Type: text/html; charset=UTF-8") != NULL);
    CHECK(strstr(msg, "--=_roster_1-6b14a036-6b14a03679a55e3412a0d89f--\r\n") != NULL);

    /* long lines are broken softly; a non-ASCII subject becomes encoded words */
    roster_buf_reset(&b);
    struct roster_mail_text u = {"Gr\xc3\xbc\xc3\x9f"
                                 "e an J\xc3\xb6rg und alle anderen aus "
                                 "der langen Liste der Empf\xc3\xa4nger dieser Nachricht",
                                 body};
    roster_mail_build(&b, "bare-host", "to@example.com", "1-abc", &u, 0);
    roster_buf_addch(&b, '\0');
    CHECK(lines_ok(b.data));
    h = headers_of(b.data);
    CHECK(strstr(h, "Subject: =?UTF-8?B?") != NULL);
    /* a sender without a domain: the Message-ID's is "roster" */
    CHECK(strstr(h, "Message-ID: <1-abc@roster>\r\n") != NULL);
    /* encoded words never split a UTF-8 character: each decodes on its own (no word ends
     * in the middle of one, checked by the lengths: 45 bytes of input at most each) */
    CHECK(count_lines_starting(h, " =?UTF-8?B?") >= 1);
    CHECK(strstr(
              b.data,
              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=\r\n") !=
          NULL);
    roster_buf_release(&b);
}

static void test_retry(void)
{
    const int64_t day = INT64_C(86400000), base = 5000, life = 3 * day;
    /* jitter 0.8 at r = 0, 1.2 just below r = 1 */
    CHECK_EQ_INT(roster_delivery_retry_at(0, 1000, 1, base, life, 0.0), 1000 + 4000);
    CHECK_EQ_INT(roster_delivery_retry_at(0, 1000, 1, base, life, 0.5), 1000 + 5000);
    CHECK_EQ_INT(roster_delivery_retry_at(0, 1000, 2, base, life, 0.5), 1000 + 10000);
    CHECK_EQ_INT(roster_delivery_retry_at(0, 1000, 4, base, life, 0.5), 1000 + 40000);
    CHECK(roster_delivery_retry_at(0, 1000, 1, base, life, 0.999) < 1000 + 6000);
    /* capped at an hour between attempts, however many */
    CHECK_EQ_INT(roster_delivery_retry_at(0, 0, 40, base, life, 0.5),
                 ROSTER_DELIVERY_BACKOFF_MAX_MS);
    CHECK_EQ_INT(roster_delivery_retry_at(0, 0, 1000000, base, life, 0.5),
                 ROSTER_DELIVERY_BACKOFF_MAX_MS);
    /* past the lifetime: given up */
    CHECK_EQ_INT(roster_delivery_retry_at(0, life - 1000, 30, base, life, 0.5), -1);
    CHECK(roster_delivery_retry_at(0, life - 10000, 1, base, life, 0.5) > 0);
    /* the schedule over three days: about 80 attempts, none after the lifetime */
    int64_t now = 0;
    int n = 0;
    for (int a = 1;; a++) {
        int64_t at = roster_delivery_retry_at(0, now, a, base, life, 0.5);
        if (at < 0)
            break;
        CHECK(at > now && at <= life);
        now = at;
        n++;
    }
    CHECK(n > 60 && n < 90);
}

int main(void)
{
    roster_arena_init(&arena, 0);
    test_subst();
    test_render();
    test_addr();
    test_build();
    test_retry();
    roster_arena_release(&arena);
    return test_finish();
}
