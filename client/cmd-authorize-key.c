/* placeholder: subcommand being written */
#include "config.h"
#include "client.h"
int
cmd_authorize_key(int argc, char **argv)
{
	(void)argc; (void)argv;
	msg_error("authorize-key: not available yet");
	return EXIT_USAGE;
}
