/*
 * commands.h: the `vstate` subcommands that live in their own files
 * (tools/cmd-<name>.c), each run as `vs_cmd_<name>(prog, argc, argv)` with
 * argv[0] the command's name; they return the exit status.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VSTATE_TOOLS_COMMANDS_H
#define VSTATE_TOOLS_COMMANDS_H

int vs_cmd_diff(const char *prog, int argc, char **argv);
int vs_cmd_convert(const char *prog, int argc, char **argv);
int vs_cmd_trace(const char *prog, int argc, char **argv);
int vs_cmd_check(const char *prog, int argc, char **argv);
int vs_cmd_dump(const char *prog, int argc, char **argv);
int vs_cmd_describe(const char *prog, int argc, char **argv);
int vs_cmd_vm(const char *prog, int argc, char **argv);
int vs_cmd_compat(const char *prog, int argc, char **argv);

#endif /* VSTATE_TOOLS_COMMANDS_H */
