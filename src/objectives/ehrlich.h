/* Ehrlich functions (Stanton et al. 2024; docs: ../shared/docs/ehrlich.md, "the spec"): the
 * instance data, its seeded construction by the engine's portable convention ehrlich-c/2,
 * explicit instance files, the objective value with feasibility, and the optimal sequence of
 * spec §5. Internal to the objectives (the registry, the `ehrlich` objective and its tests). */
#ifndef POETS_OBJECTIVES_EHRLICH_H
#define POETS_OBJECTIVES_EHRLICH_H

#include <stddef.h>
#include <stdint.h>

#include "poets/error.h"
#include "poets/objective.h"

#define POETS_EHRLICH_MAX_V 94 /* distinct printable ASCII characters, no space */
#define POETS_EHRLICH_MAX_L 1048576
#define POETS_EHRLICH_DEFAULT_ALPHABET "ACDEFGHIKLMNPQRSTVWYBJOUXZabcdefghijklmnopqrstuvwxyz"

/* Spec §8.2 stream numbers of the instance seed. */
enum { POETS_EHRLICH_STREAM_INSTANCE = 0, POETS_EHRLICH_STREAM_CHAIN = 1, POETS_EHRLICH_STREAM_UNIFORM = 2 };

typedef struct poets_ehrlich {
    int v, L, c, k, q;
    double epistasis;                       /* ε of spec §3.5, in [0, 4) */
    char alphabet[POETS_EHRLICH_MAX_V + 1]; /* character i stands for token i */
    uint8_t *mask;                          /* [v*v] M[i][j] = 1: transition i -> j allowed */
    uint64_t *weights;                      /* [v*v] chain weights W (instance files: W = M) */
    int32_t *motifs;                        /* [c*k] motif i = motifs[i*k .. i*k+k-1] */
    int32_t *offsets;                       /* [c*k] offsets, each motif's first is 0 */
    char provenance[256];                   /* generator and seed, or the file's "provenance" */
} poets_ehrlich_t;

/* Checks the parameters against spec §2 (v in [3, 94], L in [1, POETS_EHRLICH_MAX_L], c >= 1,
 * k >= 2, c*k <= L, q in [1, k] dividing k, q^c < 2^53 so values are exact, 0 <= ε < 4). On a
 * violation returns -1, sets *param to the offending parameter's name ("v", "L", "c", "k", "q",
 * "epistasis") and writes "expected ..., got ..." into why. */
int poets_ehrlich_check_params(int v, int L, int c, int k, int q, double epistasis, const char **param, char *why,
                               size_t cap);

/* Draws the instance of convention ehrlich-c/2 (spec §8.2) from stream 0 of seed, then applies
 * q and ε. Parameter errors name the configuration key ("ehrlich.v", ...); v is at most 52 (the
 * default alphabet). */
int poets_ehrlich_generate(poets_ehrlich_t *e, uint64_t seed, int v, int L, int c, int k, int q, double epistasis,
                           poets_err_t *err);

/* Reads an instance file (spec §9.2) / the same from text; every error names origin and the key. */
int poets_ehrlich_load(poets_ehrlich_t *e, const char *path, poets_err_t *err);
int poets_ehrlich_parse(poets_ehrlich_t *e, const char *text, size_t len, const char *origin, poets_err_t *err);
/* The instance in the file format of spec §9.2 (malloc'd JSON text, one line + newline). */
char *poets_ehrlich_to_json(const poets_ehrlich_t *e);

void poets_ehrlich_free(poets_ehrlich_t *e);

/* Text → tokens (spec §9.1): exactly L characters of the alphabet, case-sensitive. Returns 0, or
 * -1 with the reason in why. */
int poets_ehrlich_decode(const poets_ehrlich_t *e, const char *text, int32_t *x, char *why, size_t cap);
/* Tokens → text (L characters and a NUL). */
void poets_ehrlich_encode(const poets_ehrlich_t *e, const int32_t *x, char *text);

/* Scores n sequences x[n*L] with tokens in [0, v): value f (0 when infeasible; spec §3.4),
 * feasible (spec §3.1), and when max_matches is not NULL the per-motif m_i ([n*c]). */
void poets_ehrlich_eval(const poets_ehrlich_t *e, const int32_t *x, size_t n, double *value, uint8_t *feasible,
                        int32_t *max_matches);

/* The optimal sequence of spec §5 (x[L]): feasible, f = 1. */
void poets_ehrlich_optimum(const poets_ehrlich_t *e, int32_t *x);

/* n chain (DMP) sequences from stream 1 of seed, and n uniform sequences from stream 2
 * (spec §8.2), written to x[n*L]. */
void poets_ehrlich_chain_sequences(const poets_ehrlich_t *e, uint64_t seed, size_t n, int32_t *x);
void poets_ehrlich_uniform_sequences(const poets_ehrlich_t *e, uint64_t seed, size_t n, int32_t *x);

/* The `ehrlich` objective: the instance file cfg->ehrlich_instance, or (when it is "generated")
 * the instance of cfg->ehrlich_{v,L,c,k,q,epistasis,instance_seed}. Candidates are L characters
 * of the alphabet (template of L free positions); f* = 1, f_min = 0; infeasible sequences are
 * valid, value 0, feasible 0. */
int poets_objective_ehrlich(const poets_config_t *cfg, poets_objective_t **out, poets_err_t *err);
/* The instance an `ehrlich` objective optimises (for recording it with a run); NULL for any
 * other objective. */
const poets_ehrlich_t *poets_ehrlich_of(const poets_objective_t *o);

#endif
