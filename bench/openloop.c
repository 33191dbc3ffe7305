/*
 * Open-loop HTTP load generator for bench/ingest.py (ack latency at a fixed rate).
 *
 *   openloop HOST PORT PATH RATE BODIES OUT
 *
 * Sends one POST of PATH per line of the file BODIES (a JSON body per line), request i due at
 * start + i / RATE seconds, each on a fresh TCP connection ("Connection: close"), as a webhook
 * sender opens them. Requests do not wait for each other: a slow answer cannot hold back the
 * requests due after it (no coordinated omission). Writes one line per request to OUT:
 * "<latency_us> <lag_us> <status>", where latency = answer complete - due time, lag = connect
 * started - due time (this program's own delay) and status is the HTTP status (0: no answer).
 *
 * Single-threaded, epoll; it sleeps until the next request is due (epoll_pwait2's nanosecond
 * timeout: no spinning), so it costs the machine far less per request than a Python generator
 * and the latency measured is the server's. A request it cannot even start (no socket: too many
 * open files) counts as unanswered (status 0). Built by bench/ingest.py with the system's C
 * compiler (Linux, glibc 2.35 or newer).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define ANSWER_PREFIX 64 /* enough of the answer to read its status line */
#define TIMEOUT_S 30.0

typedef struct {
    char *request; /* the whole HTTP request */
    size_t length, sent;
    double due, started, finished;
    int fd, status, head_len;
    char head[ANSWER_PREFIX];
} Request;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

static char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) die("read bodies");
    data[n] = 0;
    fclose(f);
    *size = (size_t)n;
    return data;
}

static void finish(Request *r, int epoll_fd, double when) {
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, r->fd, NULL);
    close(r->fd);
    r->fd = -1;
    r->finished = when;
    r->head[r->head_len < ANSWER_PREFIX ? r->head_len : ANSWER_PREFIX - 1] = 0;
    int status = 0;
    if (sscanf(r->head, "HTTP/%*s %d", &status) == 1) r->status = status;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT PATH RATE BODIES OUT\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *path = argv[3];
    int port = atoi(argv[2]);
    double rate = atof(argv[4]);
    if (port <= 0 || rate <= 0) {
        fprintf(stderr, "PORT and RATE must be positive\n");
        return 2;
    }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        fprintf(stderr, "HOST must be an IPv4 address\n");
        return 2;
    }

    size_t size;
    char *bodies = read_file(argv[5], &size);
    size_t count = 0;
    for (size_t i = 0; i < size; i++) count += bodies[i] == '\n';
    Request *requests = calloc(count ? count : 1, sizeof(Request));
    char *line = bodies;
    for (size_t i = 0; i < count; i++) {
        char *end = strchr(line, '\n');
        *end = 0;
        size_t body_len = (size_t)(end - line);
        char header[512];
        int header_len = snprintf(header, sizeof header,
                                  "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                                  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                                  path, host, port, body_len);
        if (header_len < 0 || (size_t)header_len >= sizeof header) {
            fprintf(stderr, "PATH is too long\n");
            return 2;
        }
        Request *r = &requests[i];
        r->request = malloc((size_t)header_len + body_len);
        memcpy(r->request, header, (size_t)header_len);
        memcpy(r->request + header_len, line, body_len);
        r->length = (size_t)header_len + body_len;
        r->fd = -1;
        line = end + 1;
    }

    signal(SIGPIPE, SIG_IGN); /* a server that closed early gets EPIPE, not the end of this program */
    struct rlimit files;      /* one descriptor per request in flight: take all the kernel allows */
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }

    int epoll_fd = epoll_create1(0);
    if (epoll_fd < 0) die("epoll_create1");
    struct epoll_event events[MAX_EVENTS];
    double start = now() + 0.2;
    size_t next = 0, done = 0, in_flight = 0;
    while (done < count) {
        double t = now();
        for (; next < count && start + next / rate <= t; next++) {
            Request *r = &requests[next];
            r->due = start + next / rate;
            r->started = now();
            r->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (r->fd < 0) { /* no descriptor left: this request goes unanswered (status 0) */
                r->finished = now();
                done++;
                continue;
            }
            int one = 1;
            setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (connect(r->fd, (struct sockaddr *)&address, sizeof address) < 0 && errno != EINPROGRESS) {
                close(r->fd);
                r->fd = -1;
                r->finished = now();
                done++;
                continue;
            }
            struct epoll_event event = {.events = EPOLLOUT, .data.u64 = next};
            if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, r->fd, &event) < 0) die("epoll_ctl");
            in_flight++;
        }
        double pause = next < count ? start + next / rate - now() : 0.1;
        if (pause < 0) pause = 0;
        struct timespec wait = {.tv_sec = (time_t)pause, .tv_nsec = (long)((pause - (time_t)pause) * 1e9)};
        int ready = epoll_pwait2(epoll_fd, events, MAX_EVENTS, &wait, NULL);
        if (ready < 0 && errno != EINTR) die("epoll_pwait2");
        for (int k = 0; k < ready; k++) {
            Request *r = &requests[events[k].data.u64];
            if (r->fd < 0) continue;
            if (r->sent < r->length) {
                int error = 0;
                socklen_t len = sizeof error;
                getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &error, &len);
                ssize_t n = error ? -1 : send(r->fd, r->request + r->sent, r->length - r->sent, MSG_NOSIGNAL);
                if (n < 0 && (error || (errno != EAGAIN && errno != EWOULDBLOCK))) {
                    finish(r, epoll_fd, now());
                    done++, in_flight--;
                    continue;
                }
                if (n > 0) r->sent += (size_t)n;
                if (r->sent == r->length) {
                    struct epoll_event event = {.events = EPOLLIN, .data.u64 = events[k].data.u64};
                    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, r->fd, &event);
                }
                continue;
            }
            char buffer[4096];
            ssize_t n;
            while ((n = read(r->fd, buffer, sizeof buffer)) > 0) {
                int room = ANSWER_PREFIX - 1 - r->head_len;
                if (room > 0) {
                    int take = n < room ? (int)n : room;
                    memcpy(r->head + r->head_len, buffer, (size_t)take);
                    r->head_len += take;
                }
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) { /* closed: the answer is complete */
                finish(r, epoll_fd, now());
                done++, in_flight--;
            }
        }
        if (next == count && in_flight > 0) { /* give up on answers that never come */
            double t2 = now();
            for (size_t i = 0; i < count; i++) {
                Request *r = &requests[i];
                if (r->fd >= 0 && t2 - r->due > TIMEOUT_S) {
                    finish(r, epoll_fd, t2);
                    r->status = 0;
                    done++, in_flight--;
                }
            }
        }
    }

    FILE *out = fopen(argv[6], "w");
    if (!out) die(argv[6]);
    for (size_t i = 0; i < count; i++) {
        Request *r = &requests[i];
        fprintf(out, "%.0f %.0f %d\n", (r->finished - r->due) * 1e6, (r->started - r->due) * 1e6, r->status);
    }
    fclose(out);
    return 0;
}
