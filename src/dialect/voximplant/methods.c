/* The Voximplant methods roster answers, by name: users.c's and groups.c's tables. Each
 * method reads its parameters, calls core and writes Voximplant's JSON.
 */
#include <stddef.h>
#include <string.h>

#include "dialect/voximplant/methods.h"

vox_method_fn vox_method_find(const char *name)
{
    static const struct vox_method *const tables[] = {vox_user_methods, vox_group_methods};
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const struct vox_method *m = tables[t]; m->name; m++)
            if (strcmp(m->name, name) == 0)
                return m->fn;
    return NULL;
}
