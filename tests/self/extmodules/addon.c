/* A Node.js addon (N-API) that stands in for the native code of per-platform npm packages, sound or with one of
 * the defects in defects.h.  Node finds napi_register_module_v1 by name, so no header of Node's is needed. */
#include "defects.h"

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;

__attribute__((visibility("default"))) napi_value napi_register_module_v1(napi_env env, napi_value exports) {
    run_defects();
    return exports;
}
