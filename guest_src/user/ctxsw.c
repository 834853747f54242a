/* Workload ctxsw: N round trips of a token between two processes over two pipes; every hop is a
 * blocking read in one address space and a wake-up in the other. */
#include "ulib.h"

int main(int argc, char **argv)
{
    u32 n = arg_n(argc, argv, 1000);
    int ping[2], pong[2];
    if (pipe(ping) < 0 || pipe(pong) < 0)
        die("pipe");
    int pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        u32 tok;
        close(ping[1]);
        close(pong[0]);
        while (read(ping[0], &tok, sizeof tok) == sizeof tok) {
            tok = tok * 31u + 7u;
            write(pong[1], &tok, sizeof tok);
        }
        exit(0);
    }
    close(ping[0]);
    close(pong[1]);
    u32 tok = 1, h = FNV_INIT;
    for (u32 i = 0; i < n; i++) {
        tok += i;
        if (write(ping[1], &tok, sizeof tok) != sizeof tok || read(pong[0], &tok, sizeof tok) != sizeof tok)
            die("pipe transfer");
        h = fnv_u32(h, tok);
    }
    close(ping[1]);
    int status;
    if (wait(&status) != pid || status != 0)
        die("child");
    printf("ctxsw: round_trips=%u checksum=%08x\n", n, h);
    return 0;
}
