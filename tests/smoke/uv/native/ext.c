/* archsmoke_native._native: a CPython extension module built against the stable ABI (abi3, Python 3.8+).
 *
 * The few declarations it needs are written out in stable_abi.h as the stable ABI fixes them, instead of included
 * from Python.h: one build per arch then loads in every CPython the targets have (bookworm's 3.11,
 * sid's 3.14), and cross-compiling it needs neither the target's Python headers nor its C library
 * (-nostdlib; every symbol it uses comes from the interpreter that loads it).  Built by
 * platform_wheels.py with clang -DBUILT_FOR="<wheel arch>".
 */
#include "stable_abi.h"

extern PyObject *PyUnicode_FromString(const char *);
extern long PyLong_AsLong(PyObject *);

static PyObject *built_for(PyObject *self, PyObject *unused) { return PyUnicode_FromString(BUILT_FOR); }

/* What the CPU running it does with a word in memory: the target's byte order, not the build host's. */
static PyObject *byte_order(PyObject *self, PyObject *unused) {
    union { unsigned int word; unsigned char bytes[sizeof(unsigned int)]; } probe = { 1 };
    return PyUnicode_FromString(probe.bytes[0] == 1 ? "little" : "big");
}

static PyObject *pointer_bits(PyObject *self, PyObject *unused) { return PyLong_FromLong(8 * sizeof(void *)); }

static PyObject *triple(PyObject *self, PyObject *number) { return PyLong_FromLong(3 * PyLong_AsLong(number)); }

static PyMethodDef methods[] = {
    {"built_for", built_for, METH_NOARGS, 0},
    {"byte_order", byte_order, METH_NOARGS, 0},
    {"pointer_bits", pointer_bits, METH_NOARGS, 0},
    {"triple", triple, METH_O, 0},
    {0, 0, 0, 0},
};

static PyModuleDef module = {{{1, 0}, 0, 0, 0}, "archsmoke_native._native", 0, 0, methods, 0, 0, 0, 0};

__attribute__((visibility("default"))) PyObject *PyInit__native(void) { return PyModuleDef_Init(&module); }
