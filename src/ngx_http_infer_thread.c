/*
 * Evaluation on nginx's thread pool (infer_thread_pool), so that a heavy
 * batch never stalls the event loop.
 *
 * A request goes to a thread when its rows times the model's cost per row
 * (measured by each worker at warm-up) passes the location's threshold;
 * cheaper ones stay inline, where a hand-off would cost more than it
 * saves.  The thread runs infer_model_eval() alone, on the immutable model
 * and on request-pool memory no one else touches until it is done.  The
 * r->main->blocked bookkeeping is ngx_http_copy_filter_module's: the
 * request cannot be freed while a thread works for it.
 */

#include "ngx_http_infer_module.h"


#if (NGX_THREADS)

typedef struct {
    const infer_model_t     *model;
    const float             *x;
    float                   *y;
    size_t                   rows;
    ngx_http_infer_image_job_t  *image;       /* decoded first, or NULL */
    uint64_t                 decode_ns;
    uint64_t                 started_ns;
    uint64_t                 done_ns;
    int                      rc;
    ngx_http_infer_done_pt   done;
} ngx_http_infer_task_t;


static void ngx_http_infer_thread_eval(void *data, ngx_log_t *log);
static void ngx_http_infer_thread_done(ngx_event_t *ev);


/*
 * NGX_OK: posted, and done(r, rc) will be called in the event loop with
 * NGX_OK (ctx->y holds the outputs) or NGX_ERROR; NGX_DECLINED: evaluate
 * inline (cheap, or the pool's queue is full).
 */

ngx_int_t
ngx_http_infer_offload(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx,
    ngx_http_infer_done_pt done)
{
    ngx_uint_t                  cost;
    ngx_thread_task_t          *task;
    ngx_http_infer_task_t      *t;
    ngx_http_infer_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_infer_module);

    cost = ctx->rows * ctx->model->ns_per_row;

    if (ctx->image != NULL) {
        cost += (ngx_uint_t) ctx->image->info.width * ctx->image->info.height
                * NGX_HTTP_INFER_IMAGE_NS_PER_PIXEL;
    }

    if (ilcf->thread_pool == NULL || cost < ilcf->offload_ns) {
        return NGX_DECLINED;
    }

    task = ngx_thread_task_alloc(r->pool, sizeof(ngx_http_infer_task_t));
    if (task == NULL) {
        return NGX_DECLINED;
    }

    t = task->ctx;
    t->model = ctx->model->model;
    t->x = ctx->x;
    t->y = ctx->y;
    t->rows = ctx->rows;
    t->image = ctx->image;
    t->done = done;

    ngx_http_infer_stage(ctx, NGX_HTTP_INFER_T_POSTED);

    task->handler = ngx_http_infer_thread_eval;
    task->event.data = r;
    task->event.handler = ngx_http_infer_thread_done;

    /* a full queue (nginx logs it) is no reason to fail the request */

    if (ngx_thread_task_post(ilcf->thread_pool, task) != NGX_OK) {
        ctx->t[NGX_HTTP_INFER_T_POSTED] = 0;
        return NGX_DECLINED;
    }

    r->main->blocked++;
    r->aio = 1;
    ctx->task = t;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "infer: %uz rows of model \"%V\" on a thread",
                   ctx->rows, &ctx->model->name);

    return NGX_OK;
}


/* in a pool thread: nothing of nginx's here */

static void
ngx_http_infer_thread_eval(void *data, ngx_log_t *log)
{
    ngx_http_infer_task_t  *t = data;

    t->started_ns = ngx_http_infer_now_ns();

    /* a refused image is not the model's failure: the job says why */

    if (t->image != NULL) {
        t->decode_ns = t->started_ns;

        if (ngx_http_infer_image_run(t->image) != INFER_OK) {
            t->rc = INFER_OK;
            t->done_ns = ngx_http_infer_now_ns();
            t->started_ns = t->done_ns;
            return;
        }

        t->started_ns = ngx_http_infer_now_ns();
    }

    t->rc = infer_model_eval(t->model, t->x, t->rows, t->y);
    t->done_ns = ngx_http_infer_now_ns();
}


/* back in the event loop: the thread's times are the stages' */

static void
ngx_http_infer_thread_done(ngx_event_t *ev)
{
    ngx_connection_t       *c;
    ngx_http_request_t     *r;
    ngx_http_infer_ctx_t   *ctx;
    ngx_http_infer_task_t  *t;

    r = ev->data;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    r->main->blocked--;
    r->aio = 0;

    ctx = ngx_http_get_module_ctx(r, ngx_http_infer_module);
    t = ctx->task;

    ctx->offloaded = 1;
    ctx->t[NGX_HTTP_INFER_T_DECODE] = t->decode_ns;
    ctx->t[NGX_HTTP_INFER_T_EVAL] = t->started_ns;
    ctx->t[NGX_HTTP_INFER_T_EVALUATED] = t->done_ns;
    ngx_http_infer_stage(ctx, NGX_HTTP_INFER_T_DONE);

    t->done(r, t->rc == INFER_OK ? NGX_OK : NGX_ERROR);

    ngx_http_run_posted_requests(c);
}


#else


ngx_int_t
ngx_http_infer_offload(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx,
    ngx_http_infer_done_pt done)
{
    return NGX_DECLINED;
}


#endif
