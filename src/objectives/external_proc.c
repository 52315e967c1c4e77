/* A child process spoken to line by line (external_proc.h): fork/exec of /bin/sh -c COMMAND in a
 * process group of its own, non-blocking pipes driven by poll under a deadline, SIGPIPE blocked
 * around writes (EPIPE is handled as the child having gone), and a kill of the whole group plus
 * a reap whenever the child is given up, so that no zombie or straggler is left. */
#include "objectives/external_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLOSE_FALLBACK_MAX 65536 /* highest descriptor closed in the child without close_range */
#define EXIT_GRACE_S 1.0         /* how long a child that closed its pipes gets to exit on its own */

void external_proc_init(external_proc_t *p)
{
    memset(p, 0, sizeof *p);
    p->to_child = p->from_child = -1;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void exec_child(const char *command, int in_fd, int out_fd, long max_fd)
{
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0) _exit(127);
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0) max_fd = 2;
#endif
    for (long fd = 3; fd <= max_fd; fd++) close((int)fd);
    execl("/bin/sh", "sh", "-c", command, (char *)NULL);
    _exit(127);
}

int external_proc_start(external_proc_t *p, const char *command, const char *who, poets_err_t *err)
{
    int in[2], out[2];
    if (pipe(in) != 0) return poets_fail(err, "%s: cannot create a pipe: %s", who, strerror(errno));
    if (pipe(out) != 0) {
        int e = errno;
        close(in[0]), close(in[1]);
        return poets_fail(err, "%s: cannot create a pipe: %s", who, strerror(e));
    }
    long max_fd = sysconf(_SC_OPEN_MAX);
    if (max_fd < 0 || max_fd > CLOSE_FALLBACK_MAX) max_fd = CLOSE_FALLBACK_MAX;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        return poets_fail(err, "%s: cannot start a process: %s", who, strerror(e));
    }
    if (pid == 0) exec_child(command, in[0], out[1], max_fd);
    setpgid(pid, pid); /* also in the parent, so that a kill of the group never races the child */
    close(in[0]), close(out[1]);
    p->pid = pid;
    p->to_child = in[1];
    p->from_child = out[0];
    p->len = 0;
    for (int i = 0; i < 2; i++) {
        int fd = i ? p->to_child : p->from_child;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    return 0;
}

/* Closes our pipe ends, gives the child up to grace_s to exit, kills its process group (the
 * leader is not reaped yet, so the group id cannot have been reused) and reaps it. Returns 1 when
 * it had exited on its own, with its wait status in *status. */
static int reap(external_proc_t *p, double grace_s, int *status)
{
    close_fd(&p->to_child);
    close_fd(&p->from_child);
    p->len = 0;
    if (p->pid <= 0) return 0;
    double deadline = now_s() + grace_s;
    int exited = 0;
    for (;;) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == p->pid) {
            exited = 1;
            break;
        }
        if (now_s() >= deadline) break;
        nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
    }
    kill(-p->pid, SIGKILL);
    if (!exited) kill(p->pid, SIGKILL);
    int st = 0;
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR) continue;
    p->pid = 0;
    if (status) *status = st;
    return exited;
}

void external_proc_stop(external_proc_t *p, double grace_s)
{
    reap(p, grace_s, NULL);
    free(p->buf);
    p->buf = NULL;
    p->len = p->cap = 0;
}

/* The child closed a pipe or went away: reap it and say how it ended. */
static int fail_gone(external_proc_t *p, const char *who, const char *what, poets_err_t *err)
{
    int st = 0;
    if (!reap(p, EXIT_GRACE_S, &st)) return poets_fail(err, "%s: %s (stopped it)", who, what);
    if (WIFSIGNALED(st))
        return poets_fail(err, "%s: killed by signal %d (%s) before replying", who, WTERMSIG(st),
                          strsignal(WTERMSIG(st)));
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (code > 128 && code < 128 + 65) /* a shell reports a child killed by signal N as 128 + N */
        return poets_fail(err, "%s: exited with status %d before replying (128 + signal %d: %s)", who, code, code - 128,
                          strsignal(code - 128));
    return poets_fail(err, "%s: exited with status %d before replying%s", who, code,
                      code == 127 ? " (command not found?)" : "");
}

/* Kills and reaps the child after a protocol failure, then fails with the formatted message. */
static int fail_stop(external_proc_t *p, poets_err_t *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_stop(external_proc_t *p, poets_err_t *err, const char *fmt, ...)
{
    char msg[POETS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reap(p, 0.0, NULL);
    return poets_fail(err, "%s", msg);
}

/* write() with SIGPIPE blocked for this thread; a SIGPIPE raised by EPIPE is consumed. */
static ssize_t write_nosigpipe(int fd, const char *data, size_t n)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t w = write(fd, data, n);
    int e = errno;
    if (w < 0 && e == EPIPE) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) continue;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return w;
}

/* Reads what is available into p->buf: 1 when bytes came, 0 at end of file, -1 on EAGAIN. */
static int read_some(external_proc_t *p)
{
    if (p->cap - p->len < 65536) {
        p->cap = p->cap ? p->cap * 2 : 65536 * 2;
        p->buf = poets_xrealloc(p->buf, p->cap);
    }
    for (;;) {
        ssize_t r = read(p->from_child, p->buf + p->len, p->cap - p->len - 1);
        if (r > 0) {
            p->len += (size_t)r;
            return 1;
        }
        if (r == 0) return 0;
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : 0;
    }
}

/* Up to 60 printable characters of s[0..n), for messages. */
static void excerpt(const char *s, size_t n, char out[64])
{
    size_t j = 0;
    for (; j < n && j < 60; j++) out[j] = (s[j] >= 0x20 && s[j] < 0x7f) ? s[j] : '?';
    if (j < n) out[j - 3] = out[j - 2] = out[j - 1] = '.';
    out[j] = '\0';
}

int external_proc_exchange(external_proc_t *p, const char *request, size_t len, double timeout_s, size_t max_reply,
                           const char *who, char **line, poets_err_t *err)
{
    *line = NULL;
    /* output that nobody asked for (a second line to the previous request, a banner) or an end
     * of file shows before the request is written */
    int got = read_some(p);
    if (got == 0) return fail_gone(p, who, "closed its output", err);
    if (got > 0) {
        char shown[64];
        excerpt(p->buf, p->len, shown);
        return fail_stop(p, err, "%s: wrote output nobody asked for (more than one line per request?): '%s'", who,
                         shown);
    }
    double deadline = now_s() + timeout_s;
    size_t sent = 0;
    char *nl = NULL;
    while (!(nl = memchr(p->buf, '\n', p->len))) {
        if (p->len > max_reply)
            return fail_stop(p, err, "%s: reply longer than %zu bytes (stopped it)", who, max_reply);
        double left = deadline - now_s();
        if (left <= 0) return fail_stop(p, err, "%s: no reply within %g s (stopped it)", who, timeout_s);
        struct pollfd fds[2] = {{.fd = p->from_child, .events = POLLIN}, {.fd = p->to_child, .events = POLLOUT}};
        int ms = left > 1e6 ? 1000000000 : (int)(left * 1000.0) + 1;
        int ready = poll(fds, sent < len ? 2 : 1, ms);
        if (ready < 0 && errno != EINTR) return fail_stop(p, err, "%s: poll failed: %s", who, strerror(errno));
        if (ready <= 0) continue;
        if (sent < len && fds[1].revents) {
            ssize_t w = write_nosigpipe(p->to_child, request + sent, len - sent);
            if (w > 0)
                sent += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return fail_gone(p, who, "closed its input", err);
        }
        if (fds[0].revents && read_some(p) == 0) return fail_gone(p, who, "closed its output without replying", err);
    }
    size_t n = (size_t)(nl - p->buf);
    if (sent < len) return fail_stop(p, err, "%s: replied before reading the whole request (stopped it)", who);
    if (n + 1 < p->len) {
        char shown[64];
        excerpt(nl + 1, p->len - n - 1, shown);
        return fail_stop(p, err, "%s: wrote more than one line for one request: '%s'", who, shown);
    }
    *line = poets_xmalloc(n + 1);
    memcpy(*line, p->buf, n);
    (*line)[n] = '\0';
    p->len = 0;
    return 0;
}
