/* roster: the server and its admin commands. Everything but this file is in roster_lib. */
#include "roster/cli.h"

int main(int argc, char **argv)
{
    return roster_cli_main(argc, argv);
}
