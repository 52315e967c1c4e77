/* A long-lived child process spoken to line by line (for the `external` objective): started
 * with /bin/sh -c COMMAND in its own process group, its stdin and stdout on pipes, stderr
 * inherited. One exchange writes a request and reads one reply line under a deadline. Not a
 * protocol: what the lines mean is external.c's business. Internal to the objectives. */
#ifndef POETS_OBJECTIVES_EXTERNAL_PROC_H
#define POETS_OBJECTIVES_EXTERNAL_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "poets/error.h"

typedef struct external_proc {
    pid_t pid;      /* 0: not running */
    int to_child;   /* write end of the child's stdin, -1 when closed */
    int from_child; /* read end of the child's stdout, -1 when closed */
    char *buf;      /* bytes read from the child and not yet returned */
    size_t len, cap;
} external_proc_t;

/* An idle handle (nothing started). */
void external_proc_init(external_proc_t *p);

/* Starts /bin/sh -c command. On failure fills err with a message starting with `who`. */
int external_proc_start(external_proc_t *p, const char *command, const char *who, poets_err_t *err);

/* Writes request[0..len) to the child's stdin and reads one line from its stdout, both within
 * timeout_s seconds. On success *line (malloc'd, without the newline) is the reply and 0 is
 * returned. On a timeout, an exit, closed pipes or an over-long reply the child is killed and
 * reaped, err says what happened (starting with `who`) and -1 is returned. */
int external_proc_exchange(external_proc_t *p, const char *request, size_t len, double timeout_s, size_t max_reply,
                           const char *who, char **line, poets_err_t *err);

/* Stops the child: closes its stdin, waits up to grace_s for it to exit, then kills its process
 * group; always reaps it. A no-op when nothing runs. */
void external_proc_stop(external_proc_t *p, double grace_s);

#endif
