/* The caller fixture's program: a project that is not archsmoke, built for two arches by its own workflow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
#if defined(TINY_CRASHES_ON_ARM) && defined(__arm__)
        abort();  /* the defect a test plants: the arm build dies where the others answer */
#endif
        puts("tiny 1.0.0");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        puts("usage: tiny [--version] [--help]");
        return 0;
    }
    puts("hello from tiny");
    return 0;
}
