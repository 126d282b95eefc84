/* The few CPython declarations an extension module built against the stable ABI (abi3, Python 3.8+) needs,
 * written out as the stable ABI fixes them instead of included from Python.h (see ext.c); also used by
 * tests/self/extmodules/ext.c. */
typedef long Py_ssize_t; /* ssize_t: long on every Linux ABI the targets use */
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

#define METH_NOARGS 0x0004
#define METH_O 0x0008

extern PyObject *PyModuleDef_Init(PyModuleDef *);
extern PyObject *PyLong_FromLong(long);
