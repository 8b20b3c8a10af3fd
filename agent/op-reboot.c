/* placeholder: operations being written */
#include "config.h"
#include "agent.h"
const struct agent_op op_reboot_ops[] = { { .name = NULL } };
