/* The unique keys of a bulk load (import_keys.h). */
#include "core/import_keys.h"

#include <stdlib.h>

#include "roster/err.h"

/* FNV-1a of the field's tag and the key, folded to lower case (ASCII) when fold; 0 is
 * kept for an empty slot. *ascii is cleared by a byte outside ASCII. */
static uint64_t key_hash(char tag, const char *s, int fold, int *ascii)
{
    uint64_t h = 1469598103934665603ull;
    h = (h ^ (unsigned char)tag) * 1099511628211ull;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x80)
            *ascii = 0;
        if (fold && ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch - 'A' + 'a');
        h = (h ^ ch) * 1099511628211ull;
    }
    return h ? h : 1;
}

static int grow(struct import_keys *k)
{
    size_t nslots = k->nslots ? k->nslots * 2 : 1 << 16;
    uint64_t *slots = calloc(nslots, sizeof(*slots));
    if (!slots)
        return ROSTER_ENOMEM;
    for (size_t i = 0; i < k->nslots; i++) {
        uint64_t h = k->slots[i];
        if (!h)
            continue;
        size_t j = (size_t)h & (nslots - 1);
        while (slots[j])
            j = (j + 1) & (nslots - 1);
        slots[j] = h;
    }
    free(k->slots);
    k->slots = slots;
    k->nslots = nslots;
    return 0;
}

/* Adds h: 1 when it was there already. */
static int add(struct import_keys *k, uint64_t h)
{
    size_t j = (size_t)h & (k->nslots - 1);
    for (; k->slots[j]; j = (j + 1) & (k->nslots - 1))
        if (k->slots[j] == h)
            return 1;
    k->slots[j] = h;
    k->n++;
    return 0;
}

int import_keys_add(struct import_keys *k, const struct roster_user *u)
{
    /* at most three quarters full after this user's four keys (8 bytes a slot: 32 MiB for
     * the 3,000,000 keys of 1,000,000 users) */
    if ((k->n + 4) * 4 > k->nslots * 3 && grow(k))
        return ROSTER_ENOMEM;
    static const struct {
        int field;
        char tag;
        int fold;
    } keys[] = {{RU_USERNAME, 'u', 1}, {RU_EMAIL, 'e', 1}, {RU_EMPLOYEE_ID, 'n', 0}};
    int taken = 0, ascii = 1;
    if (u->id[0])
        taken |= add(k, key_hash('i', u->id, 0, &ascii));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = u->f[keys[i].field];
        if (!v) /* NULL is no key (the unique indexes skip it); "" is one */
            continue;
        int a = 1;
        taken |= add(k, key_hash(keys[i].tag, v, keys[i].fold, &a));
        if (keys[i].fold && !a)
            ascii = 0;
    }
    return taken || !ascii ? IMPORT_KEYS_MAYBE_TAKEN : IMPORT_KEYS_NEW;
}

void import_keys_free(struct import_keys *k)
{
    free(k->slots);
    k->slots = NULL;
    k->nslots = k->n = 0;
}
