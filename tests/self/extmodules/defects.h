/* The defects real native builds ship, chosen by a macro; shared by ext.c (a CPython extension module) and
 * addon.c (a Node.js addon), which call run_defects() in their init functions:
 *   -DLSE (aarch64, -march=armv8.1-a): an ARMv8.1 atomic (ldaddal), as an allocator or C++ code built for ARMv8.1
 *      has: SIGILL on ARMv8.0 (a Raspberry Pi 4's Cortex-A72, QEMU's cortex-a53);
 *   -DPOWER9 (ppc64le, -mcpu=power9): an ISA 3.0 instruction (cnttzd): SIGILL on POWER8;
 *   -DAVX2 (x86_64): one AVX2 instruction: SIGILL below x86-64-v3;
 *   -DASSUMES_4K_PAGES: aborts as jemalloc built with --with-lg-page=12 does on a 16 or 64 KiB kernel.
 * getpagesize, write and abort come from the C library the loading process has (the module is built -nostdlib). */
extern int getpagesize(void);
extern long write(int, const void *, unsigned long);
extern void abort(void);

static volatile int counter;

static void run_defects(void) {
#ifdef LSE
    int old, one = 1;
    __asm__ volatile("ldaddal %w1, %w0, [%2]" : "=r"(old) : "r"(one), "r"(&counter) : "memory");
#endif
#ifdef POWER9
    long zeros;
    __asm__ volatile("cnttzd %0, %1" : "=r"(zeros) : "r"((long)counter + 8));
    counter = (int)zeros;
#endif
#ifdef AVX2
    __asm__ volatile("vpaddd %%ymm1, %%ymm1, %%ymm1" ::: "xmm1");
#endif
#ifdef ASSUMES_4K_PAGES
    if (getpagesize() > 4096) {
        static const char said[] = "<jemalloc>: Unsupported system page size\n";
        write(2, said, sizeof said - 1);
        abort();
    }
#endif
    counter++;
}
