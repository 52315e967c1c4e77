/* The POETS loop (include/poets/loop.h): set-up, resume, and the rounds propose → evaluate →
 * append → train → commit. Every method of the algorithm page §5 runs through the same
 * buffer, run file and trace. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../objectives/data_path.h"
#include "loop_internal.h"
#include "poets/comm.h"
#include "poets/profile.h"
#include "poets/store.h"
#include "poets/strmap.h"
#include "poets/timer.h"

static int method_is(const loop_t *L, const char *m) { return strcmp(L->cfg.method, m) == 0; }

int loop_member_draw(uint64_t seed, int K, size_t eval_index)
{
    poets_rng_t r;
    poets_rng_keyed(&r, seed, POETS_RNG_MEMBER_DRAW, -1, (uint32_t)eval_index);
    return (int)poets_rng_below(&r, (uint64_t)K);
}

float loop_bootstrap_weight(const poets_config_t *cfg, int k, size_t eval_index)
{
    poets_rng_t r;
    poets_rng_keyed(&r, cfg->seed, POETS_RNG_BOOTSTRAP, k, (uint32_t)eval_index);
    if (strcmp(cfg->bootstrap, "none") == 0) return 1.0f;
    if (strcmp(cfg->bootstrap, "poisson") == 0) return (float)poets_rng_poisson1(&r);
    return poets_rng_uniform(&r) < cfg->bootstrap_p ? 1.0f : 0.0f;
}

/* ---- set-up ---- */

static int setup(loop_t *L, poets_err_t *err)
{
    char model_dir[4096];
    if (poets_objective_create(&L->cfg, &L->obj, err) != 0) return -1;
    if (poets_data_path_resolve("model", L->cfg.model, model_dir, sizeof model_dir, err) != 0) return -1;
    const poets_backend_t *be = poets_backend_select(L->cfg.device, err);
    if (!be || poets_model_load(&L->model, model_dir, be, err) != 0) return -1;
    be->freeze_weights(L->model.param_mem, L->model.n_params); /* the backbone never trains here */
    if (codec_init(&L->codec, &L->model, L->obj, &L->cfg, err) != 0) return -1;
    L->uses_lm = method_is(L, "poets") || method_is(L, "single") || method_is(L, "prior");
    L->trains = method_is(L, "poets") || method_is(L, "single");
    L->K = L->trains ? L->cfg.K : 0;
    L->K_local = L->K > L->rank ? (L->K - L->rank + L->ranks - 1) / L->ranks : 0;
    L->acts = poets_acts_new();
    if (L->trains) loop_ref_cache_init(L); /* only training reads the reference distributions */
    if (L->K_local > 0) {
        poets_lora_spec_t spec = {.rank = L->cfg.lora_rank, .alpha = (float)L->cfg.lora_alpha,
                                  .targets = L->cfg.lora_targets, .top_layers = L->cfg.lora_top_layers};
        if (poets_lora_create(&L->lora, &L->model.cfg, &spec, L->K_local, L->model.be, err) != 0)
            return poets_fail_prefix(err, "lora");
        for (int sl = 0; sl < L->K_local; sl++)
            poets_lora_init_member(&L->lora, sl, loop_member_of_slot(L, sl), L->cfg.seed, (float)L->cfg.lora_init_b_std);
        poets_adamw_create(&L->adam, &L->lora);
        L->grad = L->model.be->alloc((size_t)L->K_local * L->lora.member_floats * sizeof(float));
        L->member_floats = L->lora.member_floats;
    }
    /* only rank 0 proposes for LM-free methods: the GP over every variant lives there alone */
    if (method_is(L, "gp_ts") && L->rank == 0 && poets_gp_ts_create(&L->cfg, L->obj, &L->gp, err) != 0) return -1;
    if (method_is(L, "ga") && L->obj->fixed_len <= 0)
        return poets_fail(err, "method %s: objective %s has no fixed-length candidates", L->cfg.method, L->cfg.objective);
    return 0;
}

static void teardown(loop_t *L)
{
    if (L->K_local > 0) {
        L->model.be->free(L->grad);
        poets_adamw_free(&L->adam, &L->lora);
        poets_lora_free(&L->lora);
    }
    if (L->acts) poets_acts_free(L->acts, L->model.be);
    loop_ref_cache_free(L);
    if (L->gp) poets_gp_ts_free(L->gp);
    codec_free(&L->codec);
    if (L->model.param_mem) poets_model_free(&L->model);
    if (L->obj) poets_objective_free(L->obj);
    for (size_t i = 0; i < L->st.replay.n && L->embed; i++) free(L->embed[i]);
    free(L->ref_n), free(L->ref_row), free(L->embed), free(L->gain_L), free(L->targets);
    poets_run_state_free(&L->st);
}

/* Columns of the bootstrap dataset: K members, or one column of weight 1 for methods without
 * an ensemble. */
static int boot_columns(const loop_t *L) { return L->K > 0 ? L->K : 1; }

/* ---- checkpoint ---- */

/* The checkpoint of every member in member order, gathered from the ranks that hold them:
 * per slot, the adapter, its Adam moments m and v, and its step count. */
static void checkpoint_take(loop_t *L)
{
    poets_checkpoint_t *c = &L->st.ckpt;
    c->rounds = (int32_t)L->st.trace.n;
    if (L->K == 0) return;
    size_t mf = L->member_floats, n = (size_t)L->K * mf, per = 3 * mf + 1;
    if (c->n_lora != n) {
        c->lora = poets_xrealloc(c->lora, n * sizeof(float));
        c->adam_m = poets_xrealloc(c->adam_m, n * sizeof(float));
        c->adam_v = poets_xrealloc(c->adam_v, n * sizeof(float));
        c->adam_t = poets_xrealloc(c->adam_t, (size_t)L->K * sizeof(int32_t));
        c->n_lora = n;
    }
    const poets_backend_t *be = L->model.be;
    float *mine = poets_xmalloc(((size_t)L->K_local * per + 1) * sizeof(float));
    for (int sl = 0; sl < L->K_local; sl++) {
        float *d = mine + (size_t)sl * per;
        be->download(d, L->lora.params + (size_t)sl * mf, mf * sizeof(float));
        be->download(d + mf, L->adam.m + (size_t)sl * mf, mf * sizeof(float));
        be->download(d + 2 * mf, L->adam.v + (size_t)sl * mf, mf * sizeof(float));
        d[3 * mf] = (float)L->adam.t[sl]; /* exact: step counts stay far below 2^24 */
    }
    size_t total, *counts = poets_xmalloc((size_t)L->ranks * sizeof(size_t));
    float *all = poets_comm_allgather(mine, (size_t)L->K_local * per * sizeof(float), counts, &total);
    for (int r = 0, at = 0; r < L->ranks; r++) {
        int slots = (int)(counts[r] / (per * sizeof(float)));
        for (int sl = 0; sl < slots; sl++, at++) {
            const float *d = all + (size_t)at * per;
            size_t k = (size_t)sl * L->ranks + r;
            memcpy(c->lora + k * mf, d, mf * sizeof(float));
            memcpy(c->adam_m + k * mf, d + mf, mf * sizeof(float));
            memcpy(c->adam_v + k * mf, d + 2 * mf, mf * sizeof(float));
            c->adam_t[k] = (int32_t)d[3 * mf];
        }
    }
    free(all), free(counts), free(mine);
}

static int checkpoint_restore(loop_t *L, poets_err_t *err)
{
    const poets_checkpoint_t *c = &L->st.ckpt;
    if (L->K == 0 || c->rounds == 0 || c->n_lora == 0) return 0; /* nothing trained yet: fresh init */
    size_t mf = L->member_floats, n = (size_t)L->K * mf;
    if (c->n_lora != n)
        return poets_fail(err, "%s: checkpoint holds %zu adapter floats, the configuration needs %zu",
                          L->opts.resume_path, c->n_lora, n);
    const poets_backend_t *be = L->model.be;
    for (int sl = 0; sl < L->K_local; sl++) { /* this rank's members, from any R the run had */
        size_t k = (size_t)loop_member_of_slot(L, sl);
        be->upload(L->lora.params + (size_t)sl * mf, c->lora + k * mf, mf * sizeof(float));
        be->upload(L->adam.m + (size_t)sl * mf, c->adam_m + k * mf, mf * sizeof(float));
        be->upload(L->adam.v + (size_t)sl * mf, c->adam_v + k * mf, mf * sizeof(float));
        L->adam.t[sl] = c->adam_t[k];
    }
    return 0;
}

/* Rank 0 writes the run file; every rank learns whether it worked. */
static int save(loop_t *L, poets_err_t *err)
{
    const char *path = L->opts.resume_path ? L->opts.resume_path : L->opts.out_path;
    return poets_comm_agree(L->rank == 0 ? poets_store_save(path, &L->st, err) : 0, err);
}

/* ---- propose ---- */

typedef struct proposal {
    int n;
    int *tokens;   /* [n, max_len] */
    int *length;
    char **text;
    int *member;
    int duplicates;
} proposal_t;

static void proposal_free(proposal_t *p)
{
    for (int i = 0; i < p->n; i++) free(p->text[i]);
    free(p->tokens), free(p->length), free(p->text), free(p->member);
}

static int is_duplicate(const poets_strmap_t *seen, const proposal_t *p, int i)
{
    int v;
    if (poets_strmap_get(seen, p->text[i], strlen(p->text[i]), &v)) return 1;
    for (int j = 0; j < i; j++)
        if (strcmp(p->text[j], p->text[i]) == 0) return 1;
    return 0;
}

static poets_strmap_t *buffer_texts(const loop_t *L)
{
    poets_strmap_t *seen = poets_strmap_new();
    for (size_t i = 0; i < L->st.replay.n; i++) poets_strmap_put(seen, L->st.replay.text[i], strlen(L->st.replay.text[i]), 1);
    return seen;
}

/* Samples rows (members[], rngs[]) and writes them into p at positions rows[]. */
#define GENERATE_CHUNK 256

static int sample_rows(loop_t *L, proposal_t *p, const int *rows, int n, poets_rng_t *rngs, poets_err_t *err)
{
    int ml = L->codec.max_len, prompt = L->codec.bos;
    int *members = poets_xmalloc((size_t)n * sizeof(int)), *tok = poets_xmalloc((size_t)n * ml * sizeof(int));
    int *len = poets_xmalloc((size_t)n * sizeof(int));
    double *lp = poets_xmalloc((size_t)n * sizeof(double));
    poets_rng_t *rr = poets_xmalloc((size_t)n * sizeof(poets_rng_t));
    for (int i = 0; i < n; i++) {
        int k = p->member[rows[i]];
        members[i] = k >= 0 ? loop_slot(L, k) : -1; /* rows of this rank's members only */
        rr[i] = rngs[rows[i]];
    }
    poets_gen_spec_t gs = {.R = n, .row_member = members, .prompt = &prompt, .prompt_len = 1, .max_new = ml,
                           .eos = L->codec.eos, .temperature = (float)L->cfg.temperature, .top_p = (float)L->cfg.top_p,
                           .allowed = L->codec.allowed, .template_tokens = L->codec.tmpl,
                           .template_len = L->codec.tmpl ? L->codec.tmpl_len : 0};
    /* in chunks of rows, so that the KV cache stays bounded for large batches */
    int rc = 0;
    for (int first = 0; first < n && rc == 0; first += GENERATE_CHUNK) {
        gs.R = n - first < GENERATE_CHUNK ? n - first : GENERATE_CHUNK;
        gs.row_member = members + first;
        rc = poets_gpt2_generate(&L->model, loop_lora(L), &gs, rr + first, tok + (size_t)first * ml,
                                 len + first, lp + first, err);
    }
    for (int i = 0; i < n && rc == 0; i++) {
        int r = rows[i];
        memcpy(p->tokens + (size_t)r * ml, tok + (size_t)i * ml, (size_t)ml * sizeof(int));
        p->length[r] = len[i];
        rngs[r] = rr[i];
    }
    free(members), free(tok), free(len), free(lp), free(rr);
    return rc;
}

/* Samples the listed rows that this rank generates (those of its members; reference rows are
 * dealt out round-robin), then gives every rank every row and its text. */
static int sample_shared(loop_t *L, proposal_t *p, const int *rows, int n, poets_rng_t *rngs, poets_err_t *err)
{
    int *mine = poets_xmalloc(((size_t)n + 1) * sizeof(int)), n_mine = 0;
    for (int i = 0; i < n; i++) {
        int k = p->member[rows[i]];
        if ((k >= 0 ? loop_owner(L, k) : i % L->ranks) == L->rank) mine[n_mine++] = rows[i];
    }
    int rc = poets_comm_agree(n_mine ? sample_rows(L, p, mine, n_mine, rngs, err) : 0, err);
    if (rc == 0) {
        loop_share_token_rows(p->tokens, p->length, L->codec.max_len, mine, n_mine);
        for (int i = 0; i < n; i++) {
            int r = rows[i];
            free(p->text[r]);
            p->text[r] = codec_text(&L->codec, p->tokens + (size_t)r * L->codec.max_len, p->length[r]);
        }
    }
    free(mine);
    return rc;
}

static int propose_lm(loop_t *L, proposal_t *p, poets_err_t *err)
{
    size_t base = L->st.replay.n;
    poets_rng_t *rngs = poets_xmalloc((size_t)p->n * sizeof(poets_rng_t));
    int *rows = poets_xmalloc((size_t)p->n * sizeof(int));
    for (int c = 0; c < p->n; c++) {
        int k = -1;
        if (method_is(L, "poets")) k = loop_member_draw(L->cfg.seed, L->K, base + (size_t)c);
        else if (method_is(L, "single")) k = 0;
        p->member[c] = k;
        poets_rng_keyed(&rngs[c], L->cfg.seed, POETS_RNG_SAMPLE, k, (uint32_t)(base + c));
        rows[c] = c;
    }
    int rc = sample_shared(L, p, rows, p->n, rngs, err);
    if (rc == 0) {
        poets_strmap_t *seen = buffer_texts(L);
        /* every rank holds the same rows, so every rank resamples the same duplicates */
        for (int attempt = 0; L->cfg.dedupe && attempt < L->cfg.dedupe_tries && rc == 0; attempt++) {
            int n = 0;
            for (int c = 0; c < p->n; c++)
                if (is_duplicate(seen, p, c)) rows[n++] = c;
            if (n == 0) break;
            rc = sample_shared(L, p, rows, n, rngs, err);
        }
        for (int c = 0; c < p->n && rc == 0; c++) p->duplicates += is_duplicate(seen, p, c);
        poets_strmap_free(seen);
    }
    free(rngs), free(rows);
    return rc;
}

/* The n texts of an LM-free method (rank 0 only). */
static int propose_method(loop_t *L, int round, int n, char **out, poets_err_t *err)
{
    if (method_is(L, "random")) return poets_random_propose(L->obj, L->cfg.seed, round, n, L->codec.max_len, out, err);
    if (method_is(L, "ga")) return poets_ga_propose(&L->cfg, L->obj, &L->st.replay, round, n, out, err);
    return poets_gp_ts_propose(L->gp, &L->st.replay, L->cfg.seed, round, n, out, err);
}

static int propose_text(loop_t *L, int round, proposal_t *p, poets_err_t *err)
{
    char **out = poets_xcalloc((size_t)p->n, sizeof(char *));
    /* rank 0 proposes and sends the texts to the others */
    int rc = L->rank == 0 ? propose_method(L, round, p->n, out, err) : 0;
    if ((rc = poets_comm_agree(rc, err)) == 0) loop_share_texts(out, (size_t)p->n);
    if (rc == 0) {
        poets_strmap_t *seen = buffer_texts(L);
        for (int c = 0; c < p->n && rc == 0; c++) {
            p->text[c] = out[c];
            out[c] = NULL;
            p->member[c] = -1;
            rc = codec_tokens(&L->codec, p->text[c], p->tokens + (size_t)c * L->codec.max_len, &p->length[c], err);
            if (rc == 0) p->duplicates += is_duplicate(seen, p, c);
        }
        poets_strmap_free(seen);
    }
    for (int c = 0; c < p->n; c++) free(out[c]);
    free(out);
    return rc;
}

/* ---- evaluate + append ---- */

static int evaluate_append(loop_t *L, int round, proposal_t *p, poets_err_t *err)
{
    poets_eval_t *ev = poets_xcalloc((size_t)p->n, sizeof *ev);
    if (loop_evaluate_shared(L, (const char *const *)p->text, (size_t)p->n, ev, err) != 0) {
        free(ev);
        return -1;
    }
    size_t base = L->st.replay.n;
    int Kc = boot_columns(L);
    float *w = poets_xmalloc((size_t)Kc * sizeof(float)), *xi = poets_xmalloc((size_t)Kc * sizeof(float));
    for (int c = 0; c < p->n; c++) {
        uint32_t j = (uint32_t)(base + c);
        double reward = NAN;
        if (ev[c].valid && ev[c].has_reward) {
            reward = ev[c].reward;
        } else if (ev[c].valid) {
            reward = ev[c].value;
            if (L->cfg.noise_std > 0) {
                poets_rng_t r;
                poets_rng_keyed(&r, L->cfg.seed, POETS_RNG_NOISE, -1, j);
                reward += L->cfg.noise_std * poets_rng_normal(&r);
            }
        }
        for (int k = 0; k < Kc; k++) {
            w[k] = L->K == 0 ? 1.0f : loop_bootstrap_weight(&L->cfg, k, j);
            poets_rng_t r;
            poets_rng_keyed(&r, L->cfg.seed, POETS_RNG_PERTURB, k, j);
            xi[k] = (float)poets_rng_normal(&r);
        }
        poets_replay_append(&L->st, p->tokens + (size_t)c * L->codec.max_len, p->length[c], p->text[c], reward,
                            ev[c].valid ? ev[c].value : NAN,
                            ev[c].valid, ev[c].feasible, round, p->member[c], NAN, ev[c].error, w,
                            L->st.boot.perturb ? xi : NULL);
    }
    free(w), free(xi), free(ev);
    /* reference log-probabilities: stored with the evaluations, cached for the KL */
    if (loop_ref_fill_shared(L, base, L->st.replay.n, err) != 0) return -1;
    loop_gain_extend(L, base, L->st.replay.n);
    return save(L, err);
}

/* Mean over the round's candidates of the std over members of r_k(x) (before training). Each
 * rank scores its members; the values meet on every rank. */
static int disagreement(loop_t *L, size_t first, size_t last, double *out, poets_err_t *err)
{
    *out = NAN;
    if (L->K < 2 || last <= first) return 0;
    size_t m = last - first, per = m + 1; /* per member: b_k, then r_k's log-probabilities */
    size_t n = m * (size_t)L->K_local;
    size_t *idx = poets_xmalloc((n + 1) * sizeof(size_t));
    int *slot = poets_xmalloc((n + 1) * sizeof(int));
    for (int sl = 0, j = 0; sl < L->K_local; sl++)
        for (size_t i = first; i < last; i++) idx[j] = i, slot[j++] = sl;
    double *logp = poets_xmalloc((n + 1) * sizeof(double));
    double *all = poets_xcalloc((size_t)L->K * per, sizeof(double));
    int rc = poets_comm_agree(loop_score_pairs(L, idx, slot, n, logp, err), err);
    if (rc == 0) {
        for (int sl = 0; sl < L->K_local; sl++) {
            double *d = all + (size_t)loop_member_of_slot(L, sl) * per;
            d[0] = loop_member_offset(L, sl);
            memcpy(d + 1, logp + (size_t)sl * m, m * sizeof(double));
        }
        loop_share_members(L, all, per);
        double total = 0;
        for (size_t i = first; i < last; i++) {
            double s = 0, s2 = 0;
            for (int k = 0; k < L->K; k++) {
                const double *d = all + (size_t)k * per;
                double r = L->cfg.beta * (d[1 + i - first] - (double)L->st.replay.logp_ref[i]) + d[0];
                s += r, s2 += r * r;
            }
            double mean = s / L->K, var = s2 / L->K - mean * mean;
            total += sqrt(var > 0 ? var : 0);
        }
        *out = total / (double)m;
    }
    free(idx), free(slot), free(logp), free(all);
    return rc;
}

/* The members' values of v[K] (floats) from the ranks that hold them, on every rank. */
static void share_member_floats(const loop_t *L, float *v)
{
    double *d = poets_xmalloc(((size_t)L->K + 1) * sizeof(double));
    for (int k = 0; k < L->K; k++) d[k] = v[k];
    loop_share_members(L, d, 1);
    for (int k = 0; k < L->K; k++) v[k] = (float)d[k];
    free(d);
}

/* ---- progress ---- */

static void progress(const loop_t *L, const poets_trace_row_t *row, double secs_round, double elapsed)
{
    if (L->opts.quiet || L->rank != 0) return;
    FILE *f = L->opts.progress;
    int tty = isatty(fileno(f));
    double per_eval = row->evals > 0 ? elapsed / row->evals : 0;
    double eta = per_eval * (L->cfg.budget - row->evals);
    fprintf(f, "%sround %d  evals %d/%d  best %.6g  regret %.6g  %.2f s/round  ETA %.0f s%s", tty ? "\r\033[K" : "",
            row->round, row->evals, L->cfg.budget, row->best, row->simple_regret, secs_round, eta, tty ? "" : "\n");
    fflush(f);
}

/* ---- the rounds ---- */

/* Replay entries in [first, last) whose text equals an earlier entry's: the duplicates a round
 * submitted, recounted when a resume continues a round whose evaluations were written before
 * its commit. */
static int replay_duplicates(const loop_t *L, size_t first, size_t last)
{
    poets_strmap_t *seen = poets_strmap_new();
    int n = 0, v;
    for (size_t i = 0; i < last; i++) {
        const char *t = L->st.replay.text[i];
        if (poets_strmap_get(seen, t, strlen(t), &v)) n += i >= first;
        else poets_strmap_put(seen, t, strlen(t), 1);
    }
    poets_strmap_free(seen);
    return n;
}

static int run_rounds(loop_t *L, poets_err_t *err)
{
    int Kc = boot_columns(L);
    float *loss = poets_xmalloc((size_t)Kc * sizeof(float)), *kl = poets_xmalloc((size_t)Kc * sizeof(float));
    float *r2 = poets_xmalloc((size_t)Kc * sizeof(float));
    int rc = 0;
    double t_start = poets_now();
    int duplicates = L->st.trace.n ? L->st.trace.duplicates[L->st.trace.n - 1] : 0;
    for (int done_here = 0; L->opts.max_rounds <= 0 || done_here < L->opts.max_rounds; done_here++) {
        int round = (int)L->st.trace.n;
        size_t first = L->st.replay.n;
        /* evaluations of an uncommitted round (after a resume) are kept: continue at train */
        while (first > 0 && L->st.replay.round[first - 1] == round) first--;
        int pending = first < L->st.replay.n;
        if (!pending && (int)L->st.replay.n >= L->cfg.budget) break;
        double t0 = poets_now(), t_gen = 0, t_eval = 0;
        if (!pending) {
            int n = L->cfg.budget - (int)L->st.replay.n;
            proposal_t p = {.n = n < L->cfg.batch ? n : L->cfg.batch};
            p.tokens = poets_xcalloc((size_t)p.n * L->codec.max_len, sizeof(int));
            p.length = poets_xcalloc((size_t)p.n, sizeof(int));
            p.text = poets_xcalloc((size_t)p.n, sizeof(char *));
            p.member = poets_xcalloc((size_t)p.n, sizeof(int));
            poets_range_push("generate");
            rc = L->uses_lm ? propose_lm(L, &p, err) : propose_text(L, round, &p, err);
            poets_range_pop();
            double t1 = poets_now();
            t_gen = t1 - t0;
            poets_range_push("evaluate");
            if (rc == 0) rc = evaluate_append(L, round, &p, err);
            poets_range_pop();
            t_eval = poets_now() - t1;
            duplicates += p.duplicates;
            proposal_free(&p);
            if (rc != 0) break;
        } else if (L->cfg.dedupe || !L->uses_lm) {
            duplicates += replay_duplicates(L, first, L->st.replay.n); /* as counted when proposed */
        }
        double t2 = poets_now(), dis = NAN;
        for (int k = 0; k < Kc; k++) loss[k] = kl[k] = r2[k] = NAN;
        if (L->trains) {
            poets_range_push("train");
            rc = disagreement(L, first, L->st.replay.n, &dis, err);
            loop_targets(L);
            if (rc == 0) rc = poets_comm_agree(loop_train(L, round, loss, kl, err), err);
            if (rc == 0) rc = poets_comm_agree(loop_fit_r2(L, r2, err), err);
            poets_range_pop();
            if (rc != 0) break;
            share_member_floats(L, loss);
            share_member_floats(L, kl);
            share_member_floats(L, r2);
        }
        double t_train = poets_now() - t2;
        poets_trace_row_t row = {.round = round, .evals = (int32_t)L->st.replay.n, .duplicates = duplicates,
                                 .gain = loop_gain(L), .disagreement = dis, .loss = loss, .fit_r2 = r2, .kl = kl,
                                 .t_generate = t_gen, .t_evaluate = t_eval, .t_train = t_train};
        loop_regret(L, L->st.replay.n, &row.best, &row.simple_regret, &row.cum_regret);
        double secs = poets_now() - t0;
        long tokens = 0;
        for (size_t i = first; i < L->st.replay.n; i++) tokens += L->st.replay.length[i];
        row.tokens_per_s = t_gen > 0 ? (double)tokens / t_gen : 0;
        poets_trace_append(&L->st, &row);
        checkpoint_take(L);
        if ((rc = save(L, err)) != 0) break;
        progress(L, &row, secs, poets_now() - t_start);
    }
    if (!L->opts.quiet && L->rank == 0 && isatty(fileno(L->opts.progress))) fputc('\n', L->opts.progress);
    free(loss), free(kl), free(r2);
    return rc;
}

/* A resumed replay must fit the model and the configuration it is trained with. */
static int check_replay(const loop_t *L, poets_err_t *err)
{
    const poets_replay_t *rp = &L->st.replay;
    if (rp->max_len != L->codec.max_len)
        return poets_fail(err, "%s: /replay/tokens has width %d, the configuration generates %d tokens",
                          L->opts.resume_path, rp->max_len, L->codec.max_len);
    for (size_t i = 0; i < rp->n; i++) {
        if (rp->member[i] < -1 || rp->member[i] >= (L->K > 0 ? L->K : 1))
            return poets_fail(err, "%s: /replay/member[%zu] = %d outside [-1, %d)", L->opts.resume_path, i,
                              rp->member[i], L->K > 0 ? L->K : 1);
        for (int t = 0; t < rp->length[i]; t++) {
            int id = rp->tokens[i * (size_t)rp->max_len + t];
            if (id < 0 || id >= L->codec.V)
                return poets_fail(err, "%s: /replay/tokens[%zu][%d] = %d outside the model's vocabulary [0, %d)",
                                  L->opts.resume_path, i, t, id, L->codec.V);
        }
    }
    if (L->st.boot.K != (L->K > 0 ? L->K : 1))
        return poets_fail(err, "%s: /bootstrap/weights has %d columns, the configuration has %d members",
                          L->opts.resume_path, L->st.boot.K, L->K);
    return 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int run_locked(const poets_run_opts_t *opts, poets_err_t *err);

/* One process per run file: an exclusive lock on RUN.h5.lock, held for the whole run (the run
 * file itself is replaced by every save, so it cannot carry the lock). */
static int lock_run(const char *path, int *fd, char **lock_path, poets_err_t *err)
{
    size_t n = strlen(path) + sizeof ".lock";
    *lock_path = poets_xmalloc(n);
    snprintf(*lock_path, n, "%s.lock", path);
    *fd = open(*lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) {
        int e = errno;
        free(*lock_path);
        *lock_path = NULL;
        return poets_fail(err, "%s: cannot create the lock file: %s", path, strerror(e));
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        close(*fd);
        free(*lock_path);
        *lock_path = NULL;
        return poets_fail(err, "%s: another poets process is running this run file", path);
    }
    return 0;
}

static void unlock_run(int fd, char *lock_path)
{
    if (!lock_path) return;
    unlink(lock_path);
    close(fd);
    free(lock_path);
}

int poets_run(const poets_run_opts_t *opts, poets_err_t *err)
{
    const char *run_path = opts->resume_path ? opts->resume_path : opts->out_path;
    if (!run_path) return poets_fail(err, "--out RUN.h5 is required");
    int lock_fd = -1, rank = poets_comm_rank();
    char *lock_path = NULL;
    int rc = poets_comm_agree(rank == 0 ? lock_run(run_path, &lock_fd, &lock_path, err) : 0, err);
    if (rc == 0) rc = run_locked(opts, err);
    if (rank == 0) unlock_run(lock_fd, lock_path);
    return rc;
}

/* Under mpirun, rank 0's line on what crossed ranks (bench/ranks.sh reads it). */
static void comm_summary(const loop_t *L, size_t rounds, double seconds)
{
    if (L->ranks == 1 || L->rank != 0 || L->opts.quiet) return;
    double bytes, in_comm;
    poets_comm_stats(&bytes, &in_comm);
    fprintf(L->opts.progress,
            "ranks %d: rank 0 sent and received %.0f bytes in %zu rounds (%.0f per round); %.3f s of %.3f s "
            "(%.1f %%) inside communication calls, waiting for other ranks included\n",
            L->ranks, bytes, rounds, rounds ? bytes / (double)rounds : 0.0, in_comm, seconds,
            seconds > 0 ? 100.0 * in_comm / seconds : 0.0);
}

/* After set-up on every rank: the members' size from rank 0, which always holds member 0. */
static void share_adapter_size(loop_t *L)
{
    if (L->K > 0) poets_comm_bcast(&L->member_floats, sizeof L->member_floats, 0);
}

static int run_locked(const poets_run_opts_t *opts, poets_err_t *err)
{
    loop_t L;
    memset(&L, 0, sizeof L);
    L.opts = *opts;
    L.rank = poets_comm_rank();
    L.ranks = poets_comm_size();
    if (!L.opts.progress) L.opts.progress = stderr;
    int rc;
    if (opts->resume_path) {
        if (opts->n_sets > 0 || opts->config_path)
            return poets_fail(err, "--resume continues with the run file's stored configuration: drop CONFIG and --set");
        /* every rank reads the run file; only rank 0 writes it */
        rc = poets_store_load(opts->resume_path, &L.st, err);
        if (rc == 0) rc = poets_config_parse_text(&L.cfg, L.st.config_yaml, strlen(L.st.config_yaml), opts->resume_path, err);
        if (rc == 0) rc = setup(&L, err);
        if (rc == 0) rc = check_replay(&L, err);
        if ((rc = poets_comm_agree(rc, err)) == 0) {
            share_adapter_size(&L);
            rc = poets_comm_agree(checkpoint_restore(&L, err), err);
        }
        /* the reference cache, recomputed: the CPU backend is batch-invariant, so these are the
         * bits the run computed when the entries were new, whatever the ranks then and now */
        if (rc == 0) rc = loop_ref_fill_shared(&L, 0, L.st.replay.n, err);
        if (rc == 0) loop_gain_extend(&L, 0, L.st.replay.n);
        /* trace rows past the checkpoint cannot exist (both are written in one save) */
    } else {
        if (!opts->out_path) return poets_fail(err, "--out RUN.h5 is required");
        rc = L.rank == 0 && file_exists(opts->out_path)
                 ? poets_fail(err, "%s: already exists (use --resume %s to continue it, or choose another --out)",
                              opts->out_path, opts->out_path)
                 : 0;
        if ((rc = poets_comm_agree(rc, err)) != 0) return -1;
        rc = poets_config_load(&L.cfg, opts->config_path, opts->sets, opts->n_sets, err);
        if (rc == 0) rc = setup(&L, err);
        if ((rc = poets_comm_agree(rc, err)) == 0) {
            share_adapter_size(&L);
            char *yaml = poets_config_to_yaml(&L.cfg);
            poets_run_state_init(&L.st, yaml, L.cfg.method, L.cfg.seed, boot_columns(&L), L.codec.max_len,
                                 L.cfg.perturb_sigma > 0);
            free(yaml);
            /* create the run file before the first oracle call: an unwritable path fails now */
            checkpoint_take(&L);
            rc = save(&L, err);
        }
    }
    double t0 = poets_now();
    size_t rounds0 = L.st.trace.n;
    if (rc == 0) rc = run_rounds(&L, err);
    if (rc == 0) comm_summary(&L, L.st.trace.n - rounds0, poets_now() - t0);
    teardown(&L);
    return rc;
}
