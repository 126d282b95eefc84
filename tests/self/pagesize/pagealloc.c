/* A stand-in for a program whose allocator was built for 4 KiB pages (jemalloc configured with
 * --with-lg-page=12, as many cross-built Rust and C binaries are): built with -DASSUMES_4K_PAGES it
 * aborts the way jemalloc does on a kernel with larger pages.  Built without, it asks the kernel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long page = sysconf(_SC_PAGESIZE);
#ifdef ASSUMES_4K_PAGES
    if (page > 4096) {
        fprintf(stderr, "<jemalloc>: Unsupported system page size\n");
        abort();
    }
#endif
    /* Use the pages: map four, touch each, give them back. */
    char *memory = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (int i = 0; i < 4; i++)
        memset(memory + i * page, i, page);
    munmap(memory, 4 * page);
    if (argc > 1 && strcmp(argv[1], "--version") == 0)
        printf("pagealloc 1.0 (%ld-byte pages)\n", page);
    return 0;
}
