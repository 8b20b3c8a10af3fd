/* placeholder: subcommand being written */
#include "config.h"
#include "client.h"
int
cmd_put(int argc, char **argv)
{
	(void)argc; (void)argv;
	msg_error("put: not available yet");
	return EXIT_USAGE;
}
