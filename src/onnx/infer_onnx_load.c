/*
 * ModelProto to graph.
 *
 * protobuf-c unpacks the file (onnx.pb-c.c, generated at build time from
 * Debian's onnx.proto); this file turns the message into values and nodes,
 * refuses what the module cannot run exactly (another operator domain,
 * external or sparse data, more than one input, control flow), sorts the
 * nodes topologically (a cycle or a name nothing produces is refused),
 * drops the nodes no output needs, then has each operator read its node,
 * folding the ones whose inputs are all constants, and plans the rest.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "infer_onnx_ir.h"


#define INFER_ONNX_MAX_NODES   (1 << 20)


typedef struct {
    const char  *name;
    int          value;
} infer_onnx_name_t;


typedef struct {
    infer_onnx_name_t  *slots;
    size_t              mask;
} infer_onnx_names_t;


static int infer_onnx_read_opset(infer_onnx_graph_t *g,
    const Onnx__ModelProto *mp);
static int infer_onnx_read_initializers(infer_onnx_graph_t *g,
    infer_onnx_names_t *names, const Onnx__GraphProto *gp,
    const infer_onnx_opts_t *opts);
static int infer_onnx_read_tensor(infer_onnx_graph_t *g,
    const Onnx__TensorProto *t, const char *what, int v);
static int infer_onnx_read_input(infer_onnx_graph_t *g,
    infer_onnx_names_t *names, const Onnx__GraphProto *gp,
    const infer_onnx_opts_t *opts);
static int infer_onnx_read_nodes(infer_onnx_graph_t *g,
    infer_onnx_names_t *names, const Onnx__GraphProto *gp);
static int infer_onnx_read_attr(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    const Onnx__AttributeProto *ap, infer_onnx_attr_t *a);
static int infer_onnx_read_outputs(infer_onnx_graph_t *g,
    infer_onnx_names_t *names, const Onnx__GraphProto *gp);
static int infer_onnx_sort(infer_onnx_graph_t *g);
static int infer_onnx_mark_live(infer_onnx_graph_t *g, char *live);
static int infer_onnx_infer_all(infer_onnx_graph_t *g);
static int infer_onnx_check_outputs(infer_onnx_graph_t *g);
static int infer_onnx_names_init(infer_onnx_graph_t *g,
    infer_onnx_names_t *names, size_t n);
static int *infer_onnx_names_find(infer_onnx_names_t *names,
    const char *name, int add);
static const char *infer_onnx_dtype_name(int32_t dtype);


int
infer_onnx_probe(const unsigned char *data, size_t len)
{
    /*
     * Every exporter writes ModelProto's fields in order, and ir_version,
     * field 1, a varint, is required: its tag is 0x08.  JSON starts with
     * '{' or whitespace.
     */

    return len >= 2 && data[0] == 0x08;
}


/* the graph, from the file's bytes; the plan is made by infer_onnx_plan() */

int
infer_onnx_read(infer_onnx_graph_t *g, const unsigned char *data, size_t len,
    const infer_onnx_opts_t *opts)
{
    int                  rc;
    size_t               i, nnames;
    Onnx__ModelProto    *mp;
    Onnx__GraphProto    *gp;
    infer_onnx_names_t   names;

    /* what folding may compute at load: a ConstantOfShape can ask for GBs */

    g->fold_budget = INFER_ONNX_FOLD_BASE + 8 * len;

    mp = onnx__model_proto__unpack(NULL, len, data);

    if (mp == NULL) {
        snprintf(g->err, g->errlen, "not an ONNX model: the protobuf "
                 "message is truncated or malformed");
        return INFER_EINVAL;
    }

    rc = infer_onnx_read_opset(g, mp);
    if (rc != INFER_OK) {
        goto done;
    }

    gp = mp->graph;

    if (gp == NULL) {
        rc = infer_onnx_fail(g, NULL, "the model has no graph");
        goto done;
    }

    if (gp->n_sparse_initializer) {
        rc = infer_onnx_fail(g, NULL, "sparse initializers are not "
                             "supported");
        goto done;
    }

    if (gp->n_node > INFER_ONNX_MAX_NODES) {
        rc = infer_onnx_fail(g, NULL, "the graph has %zu nodes, more than "
                             "%d", gp->n_node, INFER_ONNX_MAX_NODES);
        goto done;
    }

    nnames = gp->n_initializer + gp->n_input + opts->nbindings;

    for (i = 0; i < gp->n_node; i++) {
        nnames += gp->node[i]->n_output;
    }

    rc = infer_onnx_names_init(g, &names, nnames);
    if (rc != INFER_OK) {
        goto done;
    }

    rc = infer_onnx_read_initializers(g, &names, gp, opts);

    if (rc == INFER_OK) {
        rc = infer_onnx_read_input(g, &names, gp, opts);
    }

    if (rc == INFER_OK) {
        rc = infer_onnx_read_nodes(g, &names, gp);
    }

    if (rc == INFER_OK) {
        rc = infer_onnx_read_outputs(g, &names, gp);
    }

    if (rc == INFER_OK) {
        rc = infer_onnx_sort(g);
    }

    if (rc == INFER_OK) {
        rc = infer_onnx_infer_all(g);
    }

    if (rc == INFER_OK) {
        rc = infer_onnx_check_outputs(g);
    }

done:

    /* the constants the plan keeps were copied into the model's arena */

    if (rc == INFER_OK) {
        g->proto = mp;

    } else {
        onnx__model_proto__free_unpacked(mp, NULL);
    }

    return rc;
}


void
infer_onnx_read_done(infer_onnx_graph_t *g)
{
    if (g->proto != NULL) {
        onnx__model_proto__free_unpacked(g->proto, NULL);
        g->proto = NULL;
    }
}


/* the version of the default domain's operator set the nodes mean */

static int
infer_onnx_read_opset(infer_onnx_graph_t *g, const Onnx__ModelProto *mp)
{
    size_t                     i;
    const char                *domain;
    Onnx__OperatorSetIdProto  *os;

    g->opset = 0;

    if (!mp->has_ir_version || mp->ir_version < 3) {
        return infer_onnx_fail(g, NULL, "IR version %lld is older than 3, "
                               "the first with operator sets",
                               (long long) mp->ir_version);
    }

    for (i = 0; i < mp->n_opset_import; i++) {
        os = mp->opset_import[i];
        domain = os->domain ? os->domain : "";

        if (strcmp(domain, "") == 0 || strcmp(domain, "ai.onnx") == 0) {
            g->opset = os->has_version ? (int) os->version : 0;
        }
    }

    if (g->opset == 0) {
        return infer_onnx_fail(g, NULL, "the model imports no version of "
                               "the default operator set (ai.onnx)");
    }

    if (g->opset < INFER_ONNX_OPSET_MIN || g->opset > INFER_ONNX_OPSET_MAX) {
        return infer_onnx_fail(g, NULL, "opset %d is not supported: opsets "
                               "%d to %d are", g->opset, INFER_ONNX_OPSET_MIN,
                               INFER_ONNX_OPSET_MAX);
    }

    return INFER_OK;
}


static int
infer_onnx_read_initializers(infer_onnx_graph_t *g,
    infer_onnx_names_t *names, const Onnx__GraphProto *gp,
    const infer_onnx_opts_t *opts)
{
    int                         v, *slot, rc;
    size_t                      i, j;
    infer_onnx_value_t         *val;
    const Onnx__TensorProto    *t;
    const infer_onnx_binding_t *b;

    for (i = 0; i < gp->n_initializer; i++) {
        t = gp->initializer[i];

        if (t->name == NULL || t->name[0] == '\0') {
            return infer_onnx_fail(g, NULL, "initializer %zu has no name", i);
        }

        slot = infer_onnx_names_find(names, t->name, 1);
        if (slot == NULL) {
            return INFER_ERROR;
        }

        if (*slot != -1) {
            return infer_onnx_fail(g, NULL, "initializer \"%s\" is defined "
                                   "twice", t->name);
        }

        v = infer_onnx_value_new(g, t->name);
        if (v < 0) {
            return INFER_ERROR;
        }

        *slot = v;

        rc = infer_onnx_read_tensor(g, t, "initializer", v);
        if (rc != INFER_OK) {
            return rc;
        }
    }

    /* values given to graph inputs from outside (tests) */

    for (i = 0; i < opts->nbindings; i++) {
        b = &opts->bindings[i];

        slot = infer_onnx_names_find(names, b->name, 1);
        if (slot == NULL) {
            return INFER_ERROR;
        }

        if (*slot != -1 || b->ndims > INFER_ONNX_MAX_RANK
            || (b->dtype != INFER_ONNX_FLOAT && b->dtype != INFER_ONNX_INT64))
        {
            return infer_onnx_fail(g, NULL, "binding \"%s\" is invalid",
                                   b->name);
        }

        v = infer_onnx_value_new(g, b->name);
        if (v < 0) {
            return INFER_ERROR;
        }

        *slot = v;
        val = &g->values[v];

        if (infer_onnx_set_shape(val, b->dtype, (int) b->ndims, b->dims, 0)
            != INFER_OK)
        {
            return infer_onnx_fail(g, NULL, "binding \"%s\" has a negative "
                                   "dimension", b->name);
        }

        if (infer_onnx_const_alloc(g, val) == NULL) {
            return INFER_ERROR;
        }

        j = val->count * (b->dtype == INFER_ONNX_FLOAT ? sizeof(float)
                                                       : sizeof(int64_t));
        memcpy(val->data, b->data, j);
    }

    return INFER_OK;
}


/* a TensorProto into constant value v: float or, as int64, integers */

static int
infer_onnx_read_tensor(infer_onnx_graph_t *g, const Onnx__TensorProto *t,
    const char *what, int v)
{
    int32_t              dtype;
    size_t               i, n, width, have;
    const char          *name;
    const unsigned char *raw;
    int64_t             *out;
    infer_onnx_value_t  *val;

    val = &g->values[v];
    name = val->name;

    if (t->n_external_data || (t->has_data_location
        && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
    {
        return infer_onnx_fail(g, NULL, "%s \"%s\" keeps its data in an "
                               "external file: save the model with its "
                               "data inside", what, name);
    }

    if (t->segment != NULL) {
        return infer_onnx_fail(g, NULL, "%s \"%s\" is segmented", what, name);
    }

    if (t->n_dims > INFER_ONNX_MAX_RANK) {
        return infer_onnx_fail(g, NULL, "%s \"%s\" has %zu dimensions, more "
                               "than %d", what, name, t->n_dims,
                               INFER_ONNX_MAX_RANK);
    }

    dtype = t->data_type;

    switch (dtype) {
    case INFER_ONNX_FLOAT:
        width = 4;
        break;
    case INFER_ONNX_INT64:
        width = 8;
        break;
    case INFER_ONNX_INT32:
        width = 4;
        break;
    case INFER_ONNX_INT8:
    case INFER_ONNX_UINT8:
    case INFER_ONNX_BOOL:
        width = 1;
        break;
    default:
        return infer_onnx_fail(g, NULL, "%s \"%s\" has data type %s: float "
                               "and integer tensors are supported", what, name,
                               infer_onnx_dtype_name(dtype));
    }

    if (infer_onnx_set_shape(val, dtype == INFER_ONNX_FLOAT
                                  ? INFER_ONNX_FLOAT : INFER_ONNX_INT64,
                             (int) t->n_dims, t->dims, 0)
        != INFER_OK)
    {
        return infer_onnx_fail(g, NULL, "%s \"%s\" has a negative or too "
                               "large dimension", what, name);
    }

    n = val->count;
    raw = t->has_raw_data ? t->raw_data.data : NULL;
    val->is_const = 1;

    if (raw != NULL) {
        have = t->raw_data.len / width;

        if (t->raw_data.len % width != 0) {
            have = (size_t) -1;
        }

    } else if (dtype == INFER_ONNX_FLOAT) {
        have = t->n_float_data;

    } else if (dtype == INFER_ONNX_INT64) {
        have = t->n_int64_data;

    } else {
        have = t->n_int32_data;
    }

    if (have != n) {
        return infer_onnx_fail(g, NULL, "%s \"%s\" has %zu elements for a "
                               "shape of %zu", what, name,
                               have == (size_t) -1 ? (size_t) 0 : have, n);
    }

    if (dtype == INFER_ONNX_FLOAT && raw == NULL) {
        val->data = t->float_data;          /* lives as long as the message */
        return INFER_OK;
    }

    if (dtype == INFER_ONNX_FLOAT) {
        if (((uintptr_t) raw & 3) == 0) {
            val->data = (void *) raw;
            return INFER_OK;
        }

        if (infer_onnx_const_alloc(g, val) == NULL) {
            return INFER_ERROR;
        }

        memcpy(val->data, raw, n * 4);
        return INFER_OK;
    }

    if (dtype == INFER_ONNX_INT64 && raw == NULL) {
        val->data = t->int64_data;
        return INFER_OK;
    }

    out = infer_onnx_const_alloc(g, val);
    if (out == NULL) {
        return INFER_ERROR;
    }

    /* raw data is little-endian: the only order the module runs on */

    for (i = 0; i < n; i++) {
        if (raw == NULL) {
            out[i] = t->int32_data[i];

        } else if (width == 8) {
            memcpy(&out[i], raw + i * 8, 8);

        } else if (width == 4) {
            int32_t  i32;

            memcpy(&i32, raw + i * 4, 4);
            out[i] = i32;

        } else if (dtype == INFER_ONNX_INT8) {
            out[i] = (int8_t) raw[i];

        } else {
            out[i] = raw[i];
        }
    }

    return INFER_OK;
}


/*
 * The one graph input that is not an initializer: float, every dimension
 * known but perhaps the first, which is then the batch.
 */

static int
infer_onnx_read_input(infer_onnx_graph_t *g, infer_onnx_names_t *names,
    const Onnx__GraphProto *gp, const infer_onnx_opts_t *opts)
{
    int                            v, *slot, rank, batched;
    size_t                         i, d, found;
    int64_t                        dims[INFER_ONNX_MAX_RANK];
    const char                    *name;
    const Onnx__ValueInfoProto    *vi;
    const Onnx__TypeProto__Tensor *tt;
    Onnx__TensorShapeProto__Dimension  *dim;

    found = 0;
    vi = NULL;

    for (i = 0; i < gp->n_input; i++) {
        name = gp->input[i]->name;

        if (name == NULL || name[0] == '\0') {
            return infer_onnx_fail(g, NULL, "graph input %zu has no name", i);
        }

        slot = infer_onnx_names_find(names, name, 0);

        if (slot != NULL && *slot != -1) {
            continue;                       /* an initializer's default */
        }

        if (found++) {
            return infer_onnx_fail(g, NULL, "the graph has several inputs "
                                   "(\"%s\", \"%s\"): one is supported",
                                   vi->name, name);
        }

        vi = gp->input[i];
    }

    if (vi == NULL) {
        if (opts->no_input_ok) {
            g->folding = 1;
            return INFER_OK;
        }

        return infer_onnx_fail(g, NULL, "the graph has no input");
    }

    name = vi->name;

    if (vi->type == NULL
        || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
    {
        return infer_onnx_fail(g, NULL, "input \"%s\" is not a tensor", name);
    }

    tt = vi->type->tensor_type;

    if (!tt->has_elem_type || tt->elem_type != INFER_ONNX_FLOAT) {
        return infer_onnx_fail(g, NULL, "input \"%s\" has data type %s: "
                               "only float inputs are supported", name,
                               infer_onnx_dtype_name(tt->elem_type));
    }

    if (tt->shape == NULL) {
        return infer_onnx_fail(g, NULL, "input \"%s\" has no shape", name);
    }

    if (tt->shape->n_dim == 0 || tt->shape->n_dim > INFER_ONNX_MAX_RANK) {
        return infer_onnx_fail(g, NULL, "input \"%s\" has %zu dimensions: 1 "
                               "to %d are supported", name, tt->shape->n_dim,
                               INFER_ONNX_MAX_RANK);
    }

    rank = (int) tt->shape->n_dim;
    batched = 0;

    for (d = 0; d < tt->shape->n_dim; d++) {
        dim = tt->shape->dim[d];

        if (dim->value_case
            == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
            && dim->dim_value > 0)
        {
            dims[d] = dim->dim_value;
            continue;
        }

        if (d == 0) {
            batched = 1;
            dims[0] = INFER_ONNX_N;
            continue;
        }

        if (dim->value_case
            == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
        {
            return infer_onnx_fail(g, NULL, "input \"%s\": dimension %zu is "
                                   "symbolic (\"%s\"): only the first, the "
                                   "batch, may be", name, d, dim->dim_param);
        }

        return infer_onnx_fail(g, NULL, "input \"%s\": dimension %zu is "
                               "unknown or zero: only the first, the batch, "
                               "may be", name, d);
    }

    slot = infer_onnx_names_find(names, name, 1);
    if (slot == NULL) {
        return INFER_ERROR;
    }

    v = infer_onnx_value_new(g, name);
    if (v < 0) {
        return INFER_ERROR;
    }

    *slot = v;
    g->input = v;
    g->batched = batched;
    g->values[v].is_input = 1;

    if (infer_onnx_set_shape(&g->values[v], INFER_ONNX_FLOAT, rank, dims,
                             batched)
        != INFER_OK)
    {
        return infer_onnx_fail(g, NULL, "input \"%s\" is too large", name);
    }

    /* a fixed batch of 1 is no dimension of a row */

    g->drop_dim0 = batched || (rank > 1 && dims[0] == 1);

    return INFER_OK;
}


static int
infer_onnx_read_nodes(infer_onnx_graph_t *g, infer_onnx_names_t *names,
    const Onnx__GraphProto *gp)
{
    int                    v, *slot, rc;
    size_t                 i, j;
    char                   label[32];
    const char            *domain;
    infer_onnx_node_t     *n;
    const Onnx__NodeProto *np;

    g->nodes = infer_onnx_arena_calloc(g->tmp, gp->n_node + 1,
                                       sizeof(infer_onnx_node_t));
    if (g->nodes == NULL) {
        return INFER_ERROR;
    }

    for (i = 0; i < gp->n_node; i++) {
        np = gp->node[i];
        n = &g->nodes[i];
        g->nnodes++;

        n->op_type = np->op_type ? np->op_type : "";
        n->opset = g->opset;

        if (np->name != NULL && np->name[0] != '\0') {
            n->name = np->name;

        } else {
            snprintf(label, sizeof(label), "#%zu", i);
            n->name = infer_onnx_arena_strdup(g->tmp, label);
            if (n->name == NULL) {
                return INFER_ERROR;
            }
        }

        domain = np->domain ? np->domain : "";

        if (strcmp(domain, "") != 0 && strcmp(domain, "ai.onnx") != 0) {
            return infer_onnx_fail(g, n, "operator domain \"%s\" is not "
                                   "supported", domain);
        }

        n->nin = (int) np->n_input;
        n->nout = (int) np->n_output;
        n->in = infer_onnx_arena_alloc(g->tmp, (np->n_input + 1) * sizeof(int));
        n->out = infer_onnx_arena_alloc(g->tmp,
                                        (np->n_output + 1) * sizeof(int));
        n->attrs = infer_onnx_arena_calloc(g->tmp, np->n_attribute + 1,
                                           sizeof(infer_onnx_attr_t));

        if (n->in == NULL || n->out == NULL || n->attrs == NULL) {
            return INFER_ERROR;
        }

        for (j = 0; j < np->n_output; j++) {
            if (np->output[j] == NULL || np->output[j][0] == '\0') {
                n->out[j] = -1;             /* an optional output, unused */
                continue;
            }

            slot = infer_onnx_names_find(names, np->output[j], 1);
            if (slot == NULL) {
                return INFER_ERROR;
            }

            if (*slot != -1) {
                return infer_onnx_fail(g, n, "output \"%s\" is already "
                                       "defined elsewhere in the graph",
                                       np->output[j]);
            }

            v = infer_onnx_value_new(g, np->output[j]);
            if (v < 0) {
                return INFER_ERROR;
            }

            *slot = v;
            n = &g->nodes[i];
            n->out[j] = v;
            g->values[v].producer = (int) i;
        }

        for (j = 0; j < np->n_attribute; j++) {
            rc = infer_onnx_read_attr(g, n, np->attribute[j], &n->attrs[j]);
            if (rc != INFER_OK) {
                return rc;
            }

            n = &g->nodes[i];               /* a TENSOR may add values */
            n->nattrs++;
        }
    }

    /* inputs once every output has a value: the file may be out of order */

    for (i = 0; i < gp->n_node; i++) {
        np = gp->node[i];
        n = &g->nodes[i];

        for (j = 0; j < np->n_input; j++) {
            if (np->input[j] == NULL || np->input[j][0] == '\0') {
                n->in[j] = -1;              /* an omitted optional input */
                continue;
            }

            slot = infer_onnx_names_find(names, np->input[j], 0);

            if (slot == NULL || *slot == -1) {
                return infer_onnx_fail(g, n, "input \"%s\" is produced by no "
                                       "node, initializer or graph input",
                                       np->input[j]);
            }

            n->in[j] = *slot;
        }
    }

    return INFER_OK;
}


static int
infer_onnx_read_attr(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    const Onnx__AttributeProto *ap, infer_onnx_attr_t *a)
{
    int    v, rc;
    char  *s, what[160];

    a->name = ap->name ? ap->name : "";
    a->type = ap->has_type ? (int) ap->type : 0;
    a->tensor = -1;

    if (ap->ref_attr_name != NULL && ap->ref_attr_name[0] != '\0') {
        return infer_onnx_fail(g, n, "attribute \"%s\" refers to a function's "
                               "attribute", a->name);
    }

    switch (a->type) {

    case INFER_ONNX_ATTR_FLOAT:
        a->f = ap->f;
        break;

    case INFER_ONNX_ATTR_INT:
        a->i = ap->i;
        break;

    case INFER_ONNX_ATTR_STRING:
        s = infer_onnx_arena_alloc(g->tmp, ap->s.len + 1);
        if (s == NULL) {
            return INFER_ERROR;
        }

        if (ap->s.len) {
            memcpy(s, ap->s.data, ap->s.len);
        }

        s[ap->s.len] = '\0';
        a->s = s;
        break;

    case INFER_ONNX_ATTR_FLOATS:
        a->floats = ap->floats;
        a->n = ap->n_floats;
        break;

    case INFER_ONNX_ATTR_INTS:
        a->ints = ap->ints;
        a->n = ap->n_ints;
        break;

    case INFER_ONNX_ATTR_TENSOR:
        if (ap->t == NULL) {
            return infer_onnx_fail(g, n, "attribute \"%s\" has no tensor",
                                   a->name);
        }

        v = infer_onnx_value_new(g, ap->t->name ? ap->t->name : a->name);
        if (v < 0) {
            return INFER_ERROR;
        }

        snprintf(what, sizeof(what), "node \"%s\" (%s): attribute", n->name,
                 n->op_type);

        rc = infer_onnx_read_tensor(g, ap->t, what, v);
        if (rc != INFER_OK) {
            return rc;
        }

        a->tensor = v;
        break;

    case 5:                                 /* GRAPH */
    case 10:                                /* GRAPHS */
        return infer_onnx_fail(g, n, "attribute \"%s\" holds a graph: "
                               "control flow is not supported", a->name);

    default:
        /* strings, tensors, sparse: refused if the operator reads them */
        break;
    }

    return INFER_OK;
}


static int
infer_onnx_read_outputs(infer_onnx_graph_t *g, infer_onnx_names_t *names,
    const Onnx__GraphProto *gp)
{
    int         *slot;
    size_t       i, j;
    const char  *name;

    if (gp->n_output == 0) {
        return infer_onnx_fail(g, NULL, "the graph has no output");
    }

    g->outputs = infer_onnx_arena_alloc(g->tmp, gp->n_output * sizeof(int));
    if (g->outputs == NULL) {
        return INFER_ERROR;
    }

    for (i = 0; i < gp->n_output; i++) {
        name = gp->output[i]->name;
        slot = (name != NULL) ? infer_onnx_names_find(names, name, 0) : NULL;

        if (slot == NULL || *slot == -1) {
            return infer_onnx_fail(g, NULL, "graph output \"%s\" is produced "
                                   "by no node", name ? name : "");
        }

        for (j = 0; j < i; j++) {
            if (g->outputs[j] == *slot) {
                return infer_onnx_fail(g, NULL, "graph output \"%s\" is "
                                       "listed twice", name);
            }
        }

        g->outputs[i] = *slot;
        g->noutputs++;
    }

    return INFER_OK;
}


/*
 * Kahn's algorithm over the nodes that lead to an output: the file's
 * order is kept where it is already topological.  A node left over sits
 * on a cycle.
 */

static int
infer_onnx_sort(infer_onnx_graph_t *g)
{
    int                 i, j, k, v, p, head, tail, nlive;
    int                *pending, *queue, *start, *users, *fill;
    char               *live;
    infer_onnx_node_t  *sorted, *n;

    live = infer_onnx_arena_calloc(g->tmp, g->nnodes + 1, 1);
    pending = infer_onnx_arena_calloc(g->tmp, g->nnodes + 1, sizeof(int));
    queue = infer_onnx_arena_alloc(g->tmp, (g->nnodes + 1) * sizeof(int));
    start = infer_onnx_arena_calloc(g->tmp, g->nnodes + 2, sizeof(int));

    if (live == NULL || pending == NULL || queue == NULL || start == NULL) {
        return INFER_ERROR;
    }

    nlive = infer_onnx_mark_live(g, live);
    if (nlive < 0) {
        return INFER_ERROR;
    }

    /* users of each node's outputs, as a CSR list */

    for (i = 0; i < g->nnodes; i++) {
        n = &g->nodes[i];

        for (j = 0; live[i] && j < n->nin; j++) {
            v = n->in[j];
            p = (v >= 0) ? g->values[v].producer : -1;

            if (p >= 0) {
                pending[i]++;
                start[p + 1]++;
            }
        }
    }

    for (i = 0; i < g->nnodes; i++) {
        start[i + 1] += start[i];
    }

    users = infer_onnx_arena_alloc(g->tmp,
                                   (start[g->nnodes] + 1) * sizeof(int));
    fill = infer_onnx_arena_calloc(g->tmp, g->nnodes + 1, sizeof(int));

    if (users == NULL || fill == NULL) {
        return INFER_ERROR;
    }

    for (i = 0; i < g->nnodes; i++) {
        n = &g->nodes[i];

        for (j = 0; live[i] && j < n->nin; j++) {
            v = n->in[j];
            p = (v >= 0) ? g->values[v].producer : -1;

            if (p >= 0) {
                users[start[p] + fill[p]++] = i;
            }
        }
    }

    head = 0;
    tail = 0;

    for (i = 0; i < g->nnodes; i++) {
        if (live[i] && pending[i] == 0) {
            queue[tail++] = i;
        }
    }

    while (head < tail) {
        i = queue[head++];

        for (k = start[i]; k < start[i + 1]; k++) {
            if (--pending[users[k]] == 0) {
                queue[tail++] = users[k];
            }
        }
    }

    if (tail != nlive) {
        for (i = 0; i < g->nnodes; i++) {
            if (live[i] && pending[i] > 0) {
                return infer_onnx_fail(g, &g->nodes[i], "the node is on a "
                                       "cycle of the graph");
            }
        }
    }

    sorted = infer_onnx_arena_calloc(g->tmp, nlive + 1,
                                     sizeof(infer_onnx_node_t));
    if (sorted == NULL) {
        return INFER_ERROR;
    }

    for (k = 0; k < nlive; k++) {
        sorted[k] = g->nodes[queue[k]];

        for (j = 0; j < sorted[k].nout; j++) {
            if (sorted[k].out[j] >= 0) {
                g->values[sorted[k].out[j]].producer = k;
            }
        }
    }

    /* the outputs of the dropped nodes are no one's now */

    for (i = 0; i < g->nnodes; i++) {
        if (live[i]) {
            continue;
        }

        n = &g->nodes[i];

        for (j = 0; j < n->nout; j++) {
            if (n->out[j] >= 0) {
                g->values[n->out[j]].producer = -1;
            }
        }
    }

    g->nodes = sorted;
    g->nnodes = nlive;

    return INFER_OK;
}


/* the nodes an output depends on: 1 in live[]; their count */

static int
infer_onnx_mark_live(infer_onnx_graph_t *g, char *live)
{
    int                 i, j, v, p, top, count;
    int                *stack;
    infer_onnx_node_t  *n;

    stack = infer_onnx_arena_alloc(g->tmp, (g->nnodes + 1) * sizeof(int));
    if (stack == NULL) {
        return -1;
    }

    top = 0;
    count = 0;

    for (i = 0; i < g->noutputs; i++) {
        p = g->values[g->outputs[i]].producer;

        if (p >= 0 && !live[p]) {
            live[p] = 1;
            stack[top++] = p;
            count++;
        }
    }

    while (top > 0) {
        n = &g->nodes[stack[--top]];

        for (j = 0; j < n->nin; j++) {
            v = n->in[j];
            p = (v >= 0) ? g->values[v].producer : -1;

            if (p >= 0 && !live[p]) {
                live[p] = 1;
                stack[top++] = p;
                count++;
            }
        }
    }

    return count;
}


/* each node, in order: its operator reads it; all-constant ones fold */

static int
infer_onnx_infer_all(infer_onnx_graph_t *g)
{
    int                 i, j, all_const, rc;
    infer_onnx_node_t  *n;
    infer_onnx_value_t *v;

    for (i = 0; i < g->nnodes; i++) {
        n = &g->nodes[i];

        n->op = infer_onnx_find_op(n->op_type);

        if (n->op == NULL) {
            return infer_onnx_fail(g, n, "operator %s is not supported",
                                   n->op_type);
        }

        if (n->opset < n->op->since) {
            return infer_onnx_fail(g, n, "%s before opset %d is not "
                                   "supported (the model imports opset %d)",
                                   n->op_type, n->op->since, n->opset);
        }

        rc = n->op->infer(g, n);
        if (rc != INFER_OK) {
            return rc;
        }

        n = &g->nodes[i];

        rc = infer_onnx_attrs_all_read(g, n);
        if (rc != INFER_OK) {
            return rc;
        }

        all_const = 1;

        for (j = 0; j < n->nin; j++) {
            if (n->in[j] >= 0 && !g->values[n->in[j]].is_const) {
                all_const = 0;
            }
        }

        if (n->folded) {
            continue;                       /* infer() computed the outputs */
        }

        if (all_const) {
            rc = n->op->fold ? n->op->fold(g, n)
                             : infer_onnx_fold_by_running(g, n);
            if (rc != INFER_OK) {
                return rc;
            }

            n->folded = 1;
            continue;
        }

        for (j = 0; j < n->nout; j++) {
            if (n->out[j] < 0) {
                continue;
            }

            v = &g->values[n->out[j]];

            if (v->dtype != INFER_ONNX_FLOAT) {
                return infer_onnx_fail(g, n, "output \"%s\" would be a %s "
                                       "tensor computed from the input: "
                                       "only float tensors are computed at "
                                       "run time", v->name,
                                       infer_onnx_dtype_name(v->dtype));
            }
        }
    }

    return INFER_OK;
}


/*
 * Each output is float and, in a batched graph, carries the batch: a row's
 * outputs come from its input alone.
 */

static int
infer_onnx_check_outputs(infer_onnx_graph_t *g)
{
    int                  i;
    infer_onnx_value_t  *v;

    for (i = 0; i < g->noutputs; i++) {
        v = &g->values[g->outputs[i]];

        if (g->folding) {
            continue;                       /* compared as they are */
        }

        if (v->dtype != INFER_ONNX_FLOAT) {
            return infer_onnx_fail(g, NULL, "output \"%s\" is a %s tensor: "
                                   "only float outputs are supported",
                                   v->name, infer_onnx_dtype_name(v->dtype));
        }

        if (g->batched && !v->batched) {
            return infer_onnx_fail(g, NULL, "output \"%s\" does not carry the "
                                   "input's batch dimension first", v->name);
        }

        if (v->count == 0) {
            return infer_onnx_fail(g, NULL, "output \"%s\" is empty", v->name);
        }
    }

    return INFER_OK;
}


/* names to values: open addressing, linear probing */

static int
infer_onnx_names_init(infer_onnx_graph_t *g, infer_onnx_names_t *names,
    size_t n)
{
    size_t  size, i;

    for (size = 64; size < n * 2; size *= 2) {
        /* void */
    }

    names->slots = infer_onnx_arena_alloc(g->tmp,
                                          size * sizeof(infer_onnx_name_t));
    if (names->slots == NULL) {
        return INFER_ERROR;
    }

    for (i = 0; i < size; i++) {
        names->slots[i].name = NULL;
        names->slots[i].value = -1;
    }

    names->mask = size - 1;

    return INFER_OK;
}


/* the value slot of name: -1 if new; NULL if absent and not add, or full */

static int *
infer_onnx_names_find(infer_onnx_names_t *names, const char *name, int add)
{
    size_t              h, i;
    const char         *p;
    infer_onnx_name_t  *s;

    h = 14695981039346656037ULL;

    for (p = name; *p; p++) {
        h = (h ^ (unsigned char) *p) * 1099511628211ULL;
    }

    for (i = 0; i <= names->mask; i++) {
        s = &names->slots[(h + i) & names->mask];

        if (s->name == NULL) {
            if (!add) {
                return NULL;
            }

            s->name = name;
            return &s->value;
        }

        if (strcmp(s->name, name) == 0) {
            return &s->value;
        }
    }

    return NULL;
}


static const char *
infer_onnx_dtype_name(int32_t dtype)
{
    static const char  *names[] = {
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32",
        "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64",
        "COMPLEX64", "COMPLEX128", "BFLOAT16"
    };

    if (dtype >= 0 && dtype < (int32_t) (sizeof(names) / sizeof(names[0]))) {
        return names[dtype];
    }

    return "an unknown type";
}
