/* placeholder: operations being written */
#include "config.h"
#include "agent.h"
const struct agent_op op_disks_ops[] = { { .name = NULL } };
