/* A Node.js addon (N-API) that stands in for the native code of per-platform npm packages, with the same
 * defects as ext.c, chosen by the same macros (-DLSE, -DPOWER9, -DAVX2, -DASSUMES_4K_PAGES).  Node finds
 * napi_register_module_v1 by name, so no header is needed; built -nostdlib, getpagesize/write/abort come from
 * the C library node has loaded. */
typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;

extern int getpagesize(void);
extern long write(int, const void *, unsigned long);
extern void abort(void);

static volatile int counter;

__attribute__((visibility("default"))) napi_value napi_register_module_v1(napi_env env, napi_value exports) {
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
    return exports;
}
