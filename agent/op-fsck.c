/* placeholder: operations being written */
#include "config.h"
#include "agent.h"
const struct agent_op op_fsck_ops[] = { { .name = NULL } };
