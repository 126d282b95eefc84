/* extdemo._fast: a CPython extension module (stable ABI) that stands in for the native code of real wheels, sound
 * or with one of the defects in defects.h.  Like tests/smoke/uv/native/ext.c (whose stable_abi.h it shares) it is
 * built -nostdlib with no Python headers: every symbol it uses comes from the interpreter that loads it, so one
 * build per arch loads under glibc and musl alike. */
#include "../../smoke/uv/native/stable_abi.h"
#include "defects.h"

static PyObject *page_size(PyObject *self, PyObject *unused) { return PyLong_FromLong(getpagesize()); }

static PyMethodDef methods[] = {{"page_size", page_size, METH_NOARGS, 0}, {0, 0, 0, 0}};
static PyModuleDef module = {{{1, 0}, 0, 0, 0}, "extdemo._fast", 0, 0, methods, 0, 0, 0, 0};

__attribute__((visibility("default"))) PyObject *PyInit__fast(void) {
    run_defects();
    return PyModuleDef_Init(&module);
}
