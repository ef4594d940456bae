/*
 * The trace exporter's connection to the collector: one at a time, kept
 * alive between batches, plain or TLS (verified as proxy_ssl_verify
 * does), driven by nginx's events.  Each step ends in
 * ngx_http_infer_otel_answered() or ngx_http_infer_otel_failed(), which
 * decide what comes next; worker_shutdown_timeout (c->close) aborts.
 */

#include "ngx_http_infer_otel_export.h"


static void ngx_http_infer_otel_connect(ngx_http_infer_otel_exporter_t *ex);
static void ngx_http_infer_otel_connected(ngx_event_t *ev);
#if (NGX_SSL)
static void ngx_http_infer_otel_ssl_start(ngx_http_infer_otel_exporter_t *ex);
static void ngx_http_infer_otel_ssl_done(ngx_connection_t *c);
#endif
static void ngx_http_infer_otel_send(ngx_event_t *wev);
static void ngx_http_infer_otel_read(ngx_event_t *rev);
static void ngx_http_infer_otel_idle(ngx_event_t *rev);
static void ngx_http_infer_otel_noop(ngx_event_t *ev);


/* the head and the body's pieces, as a chain that send_chain takes */

ngx_int_t
ngx_http_infer_otel_prepare(ngx_http_infer_otel_exporter_t *ex)
{
    int                               niov, i;
    size_t                            len, head;
    struct iovec                      iov[3];
    infer_otel_http_request_t         req;
    ngx_http_infer_otel_main_conf_t  *omcf;

    omcf = ex->omcf;

    len = infer_otel_batch_body(ex->batch, iov, &niov);

    ngx_memzero(&req, sizeof(infer_otel_http_request_t));
    req.host = (char *) omcf->host.data;
    req.host_len = omcf->host.len;
    req.path = (char *) omcf->path.data;
    req.path_len = omcf->path.len;
    req.content_type = infer_otel_content_type(omcf->protocol);
    req.gzip = (omcf->gzip != 0);
    req.content_length = len;
    req.headers = omcf->headers ? omcf->headers->elts : NULL;
    req.nheaders = omcf->headers ? omcf->headers->nelts : 0;
    req.user_agent = "ngx_http_infer_module/" NGX_HTTP_INFER_VERSION;

    head = infer_otel_http_head((char *) ex->head, ex->head_size, &req);
    if (head >= ex->head_size) {
        return NGX_ERROR;
    }

    ngx_memzero(ex->bufs, sizeof(ex->bufs));

    ex->bufs[0].pos = ex->head;
    ex->bufs[0].last = ex->head + head;

    for (i = 0; i < niov; i++) {
        ex->bufs[i + 1].pos = iov[i].iov_base;
        ex->bufs[i + 1].last = (u_char *) iov[i].iov_base + iov[i].iov_len;
    }

    for (i = 0; i <= niov; i++) {
        ex->bufs[i].start = ex->bufs[i].pos;
        ex->bufs[i].end = ex->bufs[i].last;
        ex->bufs[i].memory = 1;
        ex->links[i].buf = &ex->bufs[i];
        ex->links[i].next = (i < niov) ? &ex->links[i + 1] : NULL;
    }

    /*
     * the end of the body: TLS (NGX_SSL_BUFFER) holds a part-filled record
     * back until a buffer says flush
     */

    ex->bufs[niov].flush = 1;
    ex->out = &ex->links[0];

    infer_otel_http_response_init(ex->resp);

    return NGX_OK;
}


/* the prepared batch, on the kept-alive connection or a new one */

void
ngx_http_infer_otel_send_batch(ngx_http_infer_otel_exporter_t *ex)
{
    ngx_connection_t  *c;

    c = ex->c;

    if (c == NULL) {
        ngx_http_infer_otel_connect(ex);
        return;
    }

    ex->reused = 1;
    c->idle = 0;
    c->read->handler = ngx_http_infer_otel_read;
    c->write->handler = ngx_http_infer_otel_send;
    ex->state = NGX_HTTP_INFER_OTEL_SENDING;

    ngx_http_infer_otel_send(c->write);
}


static void
ngx_http_infer_otel_connect(ngx_http_infer_otel_exporter_t *ex)
{
    ngx_int_t               rc;
    ngx_addr_t             *addr;
    ngx_connection_t       *c;
    ngx_peer_connection_t   pc;

    if (ex->omcf->naddrs == 0) {
        ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                   "its name did not resolve when the "
                                   "configuration was read");
        return;
    }

    addr = &ex->omcf->addrs[ex->addr];

    ngx_memzero(&pc, sizeof(ngx_peer_connection_t));

    pc.sockaddr = addr->sockaddr;
    pc.socklen = addr->socklen;
    pc.name = &addr->name;
    pc.get = ngx_event_get_peer;
    pc.log = ex->log;
    pc.log_error = NGX_ERROR_ERR;

    ex->reused = 0;
    ex->state = NGX_HTTP_INFER_OTEL_CONNECTING;

    rc = ngx_event_connect_peer(&pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        if (pc.connection != NULL) {
            ngx_close_connection(pc.connection);
        }

        ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                   "cannot connect");
        return;
    }

    c = pc.connection;
    c->data = ex;
    c->read->handler = ngx_http_infer_otel_connected;
    c->write->handler = ngx_http_infer_otel_connected;
    ex->c = c;

    /* TLS allocates from the connection's pool */

    c->pool = ngx_create_pool(1024, ex->log);
    if (c->pool == NULL) {
        ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                   "out of memory");
        return;
    }

    if (rc == NGX_OK) {
        ngx_http_infer_otel_connected(c->write);
    }
}


static void
ngx_http_infer_otel_connected(ngx_event_t *ev)
{
    int                              err;
    socklen_t                        len;
    ngx_connection_t                *c;
    ngx_http_infer_otel_exporter_t  *ex;

    c = ev->data;
    ex = c->data;

    if (c->close) {                         /* worker_shutdown_timeout */
        ngx_http_infer_otel_abort(ex);
        return;
    }

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_log_error(NGX_LOG_DEBUG, ex->log, err,
                      "infer_otel: connect() to %V failed", c->addr_text.len
                      ? &c->addr_text : &ex->omcf->endpoint);
        ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                   err == NGX_ECONNREFUSED
                                   ? "connection refused" : "cannot connect");
        return;
    }

#if (NGX_SSL)
    if (ex->omcf->https) {
        ngx_http_infer_otel_ssl_start(ex);
        return;
    }
#endif

    c->read->handler = ngx_http_infer_otel_read;
    c->write->handler = ngx_http_infer_otel_send;
    ex->state = NGX_HTTP_INFER_OTEL_SENDING;

    ngx_http_infer_otel_send(c->write);
}


#if (NGX_SSL)

static void
ngx_http_infer_otel_ssl_start(ngx_http_infer_otel_exporter_t *ex)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    c = ex->c;
    ex->state = NGX_HTTP_INFER_OTEL_HANDSHAKE;

    if (ngx_ssl_create_connection(ex->omcf->ssl, c,
                                  NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                   "TLS failed");
        return;
    }

#ifdef SSL_CTRL_SET_TLSEXT_HOSTNAME
    if (!ex->omcf->name_is_addr
        && SSL_set_tlsext_host_name(c->ssl->connection,
                                    (char *) ex->omcf->name.data)
           == 0)
    {
        ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                   "TLS server name failed");
        return;
    }
#endif

    if (ex->session != NULL
        && ngx_ssl_set_session(c, ex->session) != NGX_OK)
    {
        ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                   "TLS failed");
        return;
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_infer_otel_ssl_done;
        return;
    }

    ngx_http_infer_otel_ssl_done(c);
}


/* verified as proxy_ssl_verify does: the chain, then the name */

static void
ngx_http_infer_otel_ssl_done(ngx_connection_t *c)
{
    long                             verify;
    ngx_http_infer_otel_exporter_t  *ex;

    ex = c->data;

    if (!c->ssl->handshaked) {
        ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                   "TLS handshake failed");
        return;
    }

    if (ex->omcf->ssl_verify) {
        verify = SSL_get_verify_result(c->ssl->connection);

        if (verify != X509_V_OK) {
            ngx_log_error(NGX_LOG_DEBUG, ex->log, 0,
                          "infer_otel: certificate verify error: (%l:%s)",
                          verify, X509_verify_cert_error_string(verify));
            ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                       "the collector's certificate is not "
                                       "trusted");
            return;
        }

        if (ngx_ssl_check_host(c, &ex->omcf->name) != NGX_OK) {
            ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                       "the collector's certificate does "
                                       "not match its name");
            return;
        }
    }

    if (ex->session != NULL) {
        ngx_ssl_free_session(ex->session);
    }

    ex->session = ngx_ssl_get_session(c);

    c->read->handler = ngx_http_infer_otel_read;
    c->write->handler = ngx_http_infer_otel_send;
    ex->state = NGX_HTTP_INFER_OTEL_SENDING;

    ngx_http_infer_otel_send(c->write);
}

#endif


static void
ngx_http_infer_otel_send(ngx_event_t *wev)
{
    ngx_chain_t                     *cl;
    ngx_connection_t                *c;
    ngx_http_infer_otel_exporter_t  *ex;

    c = wev->data;
    ex = c->data;

    if (ex->state != NGX_HTTP_INFER_OTEL_SENDING) {
        return;
    }

    if (c->close) {                         /* worker_shutdown_timeout */
        ngx_http_infer_otel_abort(ex);
        return;
    }

    cl = c->send_chain(c, ex->out, 0);

    if (cl == NGX_CHAIN_ERROR) {
        ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                   "send failed");
        return;
    }

    ex->out = cl;

    if (cl != NULL) {
        if (ngx_handle_write_event(wev, 0) != NGX_OK) {
            ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                       "send failed");
        }

        return;
    }

    ex->state = NGX_HTTP_INFER_OTEL_READING;

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                   "read failed");
        return;
    }

    if (c->read->ready) {
        ngx_http_infer_otel_read(c->read);
    }
}


static void
ngx_http_infer_otel_read(ngx_event_t *rev)
{
    int                              rc;
    size_t                           used;
    ssize_t                          n;
    ngx_connection_t                *c;
    ngx_http_infer_otel_exporter_t  *ex;

    c = rev->data;
    ex = c->data;

    if (ex->state == NGX_HTTP_INFER_OTEL_SENDING) {
        ngx_http_infer_otel_send(c->write);     /* TLS wants to read */
        return;
    }

    if (ex->state != NGX_HTTP_INFER_OTEL_READING) {
        return;
    }

    if (c->close) {                         /* worker_shutdown_timeout */
        ngx_http_infer_otel_abort(ex);
        return;
    }

    for ( ;; ) {
        n = c->recv(c, ex->rbuf, NGX_HTTP_INFER_OTEL_READ);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                           "read failed");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                       "connection reset");
            return;
        }

        if (n == 0) {
            if (infer_otel_http_response_eof(ex->resp) == INFER_OK) {
                ngx_http_infer_otel_answered(ex, 0);
                return;
            }

            ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                       "the collector closed the "
                                       "connection");
            return;
        }

        rc = infer_otel_http_response_parse(ex->resp, (char *) ex->rbuf, n,
                                            &used, ngx_time());

        if (rc == INFER_OK) {
            /* anything after the response: not a collector to keep */
            ngx_http_infer_otel_answered(ex, (size_t) n == used);
            return;
        }

        if (rc != INFER_AGAIN) {
            ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_NETWORK, -1,
                                       "the answer is not HTTP");
            return;
        }
    }
}


/* idle until the next batch; nginx closes it when the worker exits */

void
ngx_http_infer_otel_keepalive(ngx_http_infer_otel_exporter_t *ex)
{
    ex->c->idle = 1;
    ex->c->read->handler = ngx_http_infer_otel_idle;
    ex->c->write->handler = ngx_http_infer_otel_noop;
}


/* a kept-alive connection: the collector closed it, or nginx exits */

static void
ngx_http_infer_otel_idle(ngx_event_t *rev)
{
    u_char                           buf[1];
    ssize_t                          n;
    ngx_connection_t                *c;
    ngx_http_infer_otel_exporter_t  *ex;

    c = rev->data;
    ex = c->data;

    if (!c->close) {
        n = recv(c->fd, buf, 1, MSG_PEEK);

        if (n == -1 && ngx_socket_errno == NGX_EAGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_infer_otel_close(ex);
            }

            return;
        }
    }

    ngx_http_infer_otel_close(ex);
}


static void
ngx_http_infer_otel_noop(ngx_event_t *ev)
{
}


void
ngx_http_infer_otel_close(ngx_http_infer_otel_exporter_t *ex)
{
    ngx_pool_t        *pool;
    ngx_connection_t  *c;

    c = ex->c;

    if (c == NULL) {
        return;
    }

    ex->c = NULL;

#if (NGX_SSL)
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
#endif

    pool = c->pool;

    ngx_close_connection(c);

    if (pool != NULL) {
        ngx_destroy_pool(pool);
    }
}
