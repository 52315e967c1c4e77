/* libFuzzer target for the OpenQASM subset parser (docs/qasm-subset.md): any input is either
 * accepted — and its circuit then simulated, exercising every kernel under the sanitizers — or
 * rejected with exactly one well-formed `LINE:COL: CODE: message` report; never a crash, leak or
 * out-of-bounds read. Inputs are not NUL-terminated. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "objectives/statevector.h"
#include "poets/qasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    poets_qasm_limits_t lim;
    poets_qasm_limits_default(&lim);
    lim.max_qubits = 10; /* keep each simulation small */
    poets_qasm_circuit_t c;
    poets_qasm_error_t e;
    if (poets_qasm_parse((const char *)data, size, &lim, &c, &e) == 0) {
        if (c.n_qubits < 1 || c.n_qubits > lim.max_qubits || c.n_gates > (size_t)lim.max_gates) __builtin_trap();
        poets_statevector_t sv;
        poets_sv_init(&sv, c.n_qubits);
        poets_sv_run(&sv, &c);
        poets_sv_free(&sv);
        poets_qasm_circuit_free(&c);
        return 0;
    }
    char head[64];
    snprintf(head, sizeof head, "%d:%d: %s: ", e.line, e.col, e.code);
    if (e.line < 1 || e.col < 1 || strncmp(e.code, "E_", 2) != 0 || strncmp(e.text, head, strlen(head)) != 0)
        __builtin_trap();
    for (const char *p = e.text; *p; p++)
        if (*p < 0x20 || *p > 0x7e) __builtin_trap();
    return 0;
}
