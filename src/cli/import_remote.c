/* `roster import --url` over HTTP with libcurl (import_remote.h). */
#include "cli/import_remote.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/util.h"

struct roster_remote {
    CURL *curl;
    char *url;
    struct curl_slist *headers;
    struct roster_buf body;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct roster_buf *b = arg;
    roster_buf_add(b, p, size * n);
    return size * n;
}

struct roster_remote *roster_remote_open(const char *url, const char *key, const char *org)
{
    struct roster_remote *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    r->curl = curl_easy_init();
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    r->url = strndup(url, n);
    char h[1024];
    snprintf(h, sizeof(h), "x-api-key: %s", key ? key : "");
    r->headers = curl_slist_append(r->headers, h);
    if (org) {
        snprintf(h, sizeof(h), "x-org-id: %s", org);
        r->headers = curl_slist_append(r->headers, h);
    }
    r->headers = curl_slist_append(r->headers, "content-type: application/json");
    r->headers = curl_slist_append(r->headers, "accept: application/json");
    roster_buf_init(&r->body);
    if (!r->curl || !r->url || !r->headers) {
        roster_remote_close(r);
        return NULL;
    }
    return r;
}

void roster_remote_close(struct roster_remote *r)
{
    if (!r)
        return;
    if (r->curl)
        curl_easy_cleanup(r->curl);
    curl_slist_free_all(r->headers);
    free(r->url);
    roster_buf_release(&r->body);
    free(r);
}

/* One request; *status the HTTP status; the answer in r->body (NUL-terminated). */
static int request(struct roster_remote *r, const char *path, const char *body, size_t len,
                   long *status, char *msg, size_t msg_cap)
{
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", r->url, path);
    roster_buf_reset(&r->body);
    curl_easy_reset(r->curl);
    curl_easy_setopt(r->curl, CURLOPT_URL, url);
    curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(r->curl, CURLOPT_TIMEOUT, 300L);
    if (body) {
        curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode cc = curl_easy_perform(r->curl);
    if (cc != CURLE_OK) {
        snprintf(msg, msg_cap, "%s: %s", url, curl_easy_strerror(cc));
        return -1;
    }
    curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, status);
    roster_buf_addstr(&r->body, ""); /* NUL-terminated, also when empty */
    return 0;
}

/* The server's message of an error answer (JumpCloud: {"message": ...}). */
static void error_of(struct roster_remote *r, long status, char *msg, size_t msg_cap)
{
    json_t *j = json_loads(r->body.data ? r->body.data : "", 0, NULL);
    const char *m = json_string_value(json_object_get(j, "message"));
    snprintf(msg, msg_cap, "HTTP %ld: %s", status, m ? m : (r->body.data ? r->body.data : ""));
    json_decref(j);
}

int roster_remote_submit(struct roster_remote *r, const char *body, size_t len, char *job_id,
                         size_t id_cap, char *msg, size_t msg_cap)
{
    long status = 0;
    if (request(r, "/api/v2/bulk/users", body, len, &status, msg, msg_cap) != 0)
        return -1;
    if (status != 201) {
        error_of(r, status, msg, msg_cap);
        return -1;
    }
    json_t *j = json_loads(r->body.data ? r->body.data : "", 0, NULL);
    const char *id = json_string_value(json_object_get(j, "jobId"));
    int rc = id ? 0 : -1;
    if (id)
        snprintf(job_id, id_cap, "%s", id);
    else
        snprintf(msg, msg_cap, "the answer to the bulk request has no jobId");
    json_decref(j);
    return rc;
}

int roster_remote_results(struct roster_remote *r, const char *job_id, int64_t skip, int64_t limit,
                          json_t **out, char *msg, size_t msg_cap)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v2/bulk/users/%s/results?limit=%lld&skip=%lld", job_id,
             (long long)limit, (long long)skip);
    long status = 0;
    *out = NULL;
    if (request(r, path, NULL, 0, &status, msg, msg_cap) != 0)
        return -1;
    if (status != 200) {
        error_of(r, status, msg, msg_cap);
        return -1;
    }
    *out = json_loads(r->body.data ? r->body.data : "", 0, NULL);
    if (!json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        snprintf(msg, msg_cap, "the results of job %s are not a JSON array", job_id);
        return -1;
    }
    return 0;
}
