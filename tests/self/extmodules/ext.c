/* extdemo._fast: a CPython extension module (stable ABI) that stands in for the native code of real wheels,
 * with the two defects that break them on real machines, chosen by a macro:
 *   -DLSE (aarch64, -march=armv8.1-a): an ARMv8.1 atomic (ldaddal) in its init function, as an allocator or C++
 *      code built for ARMv8.1 has: SIGILL on ARMv8.0 (a Raspberry Pi 4's Cortex-A72, QEMU's cortex-a53);
 *   -DPOWER9 (ppc64le, -mcpu=power9): an ISA 3.0 instruction (cnttzd): SIGILL on POWER8;
 *   -DAVX2 (x86_64): one AVX2 instruction: SIGILL below x86-64-v3;
 *   -DASSUMES_4K_PAGES: aborts as jemalloc built with --with-lg-page=12 does on a 16 or 64 KiB kernel.
 * Built without them it is sound everywhere.  Like tests/smoke/uv/native/ext.c it is built -nostdlib with no
 * Python headers: every symbol it uses (Python's, and getpagesize/write/abort from the C library) comes from
 * the interpreter that loads it, so one build per arch loads under glibc and musl alike. */
typedef long Py_ssize_t;
typedef struct _object { Py_ssize_t ob_refcnt; void *ob_type; } PyObject;
typedef PyObject *(*PyCFunction)(PyObject *, PyObject *);
typedef struct { const char *ml_name; PyCFunction ml_meth; int ml_flags; const char *ml_doc; } PyMethodDef;
typedef struct { PyObject ob_base; PyObject *(*m_init)(void); Py_ssize_t m_index; PyObject *m_copy; } PyModuleDef_Base;
typedef struct {
    PyModuleDef_Base m_base;
    const char *m_name;
    const char *m_doc;
    Py_ssize_t m_size;
    PyMethodDef *m_methods;
    void *m_slots, *m_traverse, *m_clear, *m_free;
} PyModuleDef;

extern PyObject *PyModuleDef_Init(PyModuleDef *);
extern PyObject *PyLong_FromLong(long);
extern int getpagesize(void);
extern long write(int, const void *, unsigned long);
extern void abort(void);

static volatile int counter;

static PyObject *page_size(PyObject *self, PyObject *unused) { return PyLong_FromLong(getpagesize()); }

static PyMethodDef methods[] = {{"page_size", page_size, 0x0004, 0}, {0, 0, 0, 0}};
static PyModuleDef module = {{{1, 0}, 0, 0, 0}, "extdemo._fast", 0, 0, methods, 0, 0, 0, 0};

__attribute__((visibility("default"))) PyObject *PyInit__fast(void) {
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
    return PyModuleDef_Init(&module);
}
