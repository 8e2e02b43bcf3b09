/* The Voximplant methods roster answers, by name (users.c, groups.c). Each method reads its
 * parameters, calls core and writes Voximplant's JSON.
 */
#include <stddef.h>

#include "dialect/voximplant/methods.h"

const struct vox_method vox_methods[] = {
    {"AddUser", vox_add_user},
    {"DelUser", vox_del_user},
    {"SetUserInfo", vox_set_user_info},
    {"GetUsers", vox_get_users},
    {"AddApplication", vox_add_application},
    {"GetApplications", vox_get_applications},
    {"DelApplication", vox_del_application},
    {"BindUser", vox_bind_user},
    {"AddSkill", vox_add_skill},
    {"DelSkill", vox_del_skill},
    {"SetSkillInfo", vox_set_skill_info},
    {"GetSkills", vox_get_skills},
    {"BindSkill", vox_bind_skill},
    {"AddQueue", vox_add_queue},
    {"GetQueues", vox_get_queues},
    {"DelQueue", vox_del_queue},
    {"BindUserToQueue", vox_bind_user_to_queue},
    {NULL, NULL},
};
