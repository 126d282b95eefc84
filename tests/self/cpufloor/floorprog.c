/* A stand-in for a program built above its arch's CPU floor.  Built with -DAVX2 (x86_64) it executes one
 * AVX2 instruction, as code built with -march=x86-64-v3 or -C target-cpu=native does; built with
 * -march=armv8.1-a (aarch64) its atomic add compiles to an LSE instruction (ldadd/stadd), as an allocator
 * or C++ code built for ARMv8.1 does.  Either dies with SIGILL on a CPU below that level.  Built for the
 * baseline, it runs everywhere. */
#include <stdio.h>
#include <string.h>

static volatile long counter;

int main(int argc, char **argv) {
#ifdef AVX2
    __asm__ volatile("vpaddd %%ymm1, %%ymm1, %%ymm1" ::: "xmm1");
#endif
    __atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
    if (argc > 1 && strcmp(argv[1], "--version") == 0)
        printf("floorprog 1.0 (%ld)\n", counter);
    return 0;
}
