/*
 * lsq_analysis._fastjson: LeadSquared activity pages (JSON) -> Arrow column buffers.
 *
 * The fast path of lsq_analysis.frames: one chunk of JSON documents, one per line (API
 * responses, or single activities), is parsed with yyjson and written straight into columns:
 * one per top-level activity key, one per ActivityFields key and one per Data key. Strings
 * become Arrow string views over one shared data buffer per chunk; the core number and
 * boolean keys become int64, float64 and boolean columns.
 *
 * It only takes input of the usual shape. Anything else (a number where a string belongs,
 * a Data entry with other keys, a duplicate key, a lone surrogate, invalid UTF-8, a key
 * holding NUL, ...) makes parse() return None, and the caller reads the chunk the careful
 * way, so results never depend on which path ran. The GIL is released while parsing.
 *
 * parse(buffer, pages: bool, int_keys, float_keys, bool_keys, lead_key)
 *   -> None | (rows, blob, [(namespace, key, kind, validity, values, null_count), ...])
 * namespace: 0 activity key, 1 ActivityFields key, 2 Data key, 3 the page's lead key;
 * kind: 0 string view, 1 int64, 2 float64, 3 boolean; validity: a bitmap or None.
 * Data values "" are null; a Data key seen twice in one activity keeps its first value.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "yyjson.h"

enum { NS_TOP = 0, NS_FIELDS = 1, NS_DATA = 2, NS_LEAD = 3, NS_MARK = 4 };
enum { K_TEXT = 0, K_INT = 1, K_FLOAT = 2, K_BOOL = 3 };

/* ------------------------------------------------------------------ owned buffers */

typedef struct {
    PyObject_HEAD
    char *data;
    Py_ssize_t size;
} Buffer;

static void Buffer_dealloc(Buffer *self) {
    free(self->data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Buffer_getbuffer(Buffer *self, Py_buffer *view, int flags) {
    return PyBuffer_FillInfo(view, (PyObject *)self, self->data, self->size, 1, flags);
}

static PyBufferProcs Buffer_as_buffer = {(getbufferproc)Buffer_getbuffer, NULL};

static PyTypeObject BufferType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lsq_analysis._fastjson.Buffer",
    .tp_basicsize = sizeof(Buffer),
    .tp_dealloc = (destructor)Buffer_dealloc,
    .tp_as_buffer = &Buffer_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Memory the parser filled (read-only, for pyarrow.py_buffer).",
};

/* Hands `data` (malloc'd, `size` bytes) over to a new Buffer; frees it on failure. */
static PyObject *buffer_from(char *data, Py_ssize_t size) {
    Buffer *b = PyObject_New(Buffer, &BufferType);
    if (b == NULL) {
        free(data);
        return NULL;
    }
    b->data = data;
    b->size = size;
    return (PyObject *)b;
}

/* ------------------------------------------------------------------ columns */

typedef struct {
    int ns;
    int kind;
    char *key; /* UTF-8, not NUL-terminated */
    size_t key_len;
    uint64_t hash;
    uint8_t *validity; /* one bit per row */
    uint8_t *values;   /* 16 bytes (view) or 8 bytes (int64/float64) or 1 byte (bool) per row */
    int64_t last_row;  /* the row this column was last written in (-1: never) */
    /* the previous long string written, to share its bytes with an equal next one */
    int32_t prev_len;
    int32_t prev_off;
} Column;

typedef struct {
    Column *cols;
    size_t n_cols, cap_cols;
    int64_t *slots; /* open addressing over (ns, key) -> column index + 1 */
    size_t n_slots;
    size_t rows, cap_rows;
    char *blob; /* the data buffer of every long string view */
    size_t blob_len, blob_cap;
    int has_lead;
    int failed; /* 1: input not of the usual shape; 2: out of memory */
} Builder;

static uint64_t hash_key(int ns, const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)ns;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int grow_slots(Builder *b) {
    size_t n = b->n_slots ? b->n_slots * 2 : 256;
    int64_t *slots = calloc(n, sizeof(int64_t));
    if (slots == NULL) return -1;
    for (size_t i = 0; i < b->n_cols; i++) {
        size_t j = b->cols[i].hash & (n - 1);
        while (slots[j]) j = (j + 1) & (n - 1);
        slots[j] = (int64_t)i + 1;
    }
    free(b->slots);
    b->slots = slots;
    b->n_slots = n;
    return 0;
}

static size_t row_bytes(int kind) {
    return kind == K_TEXT ? 16 : kind == K_BOOL ? 1 : 8;
}

/* The column for (ns, key), made (all null so far) if it is new; NULL when out of memory. */
static Column *column(Builder *b, int ns, const char *key, size_t n, int kind) {
    uint64_t h = hash_key(ns, key, n);
    if (b->n_slots) {
        size_t j = h & (b->n_slots - 1);
        while (b->slots[j]) {
            Column *c = &b->cols[b->slots[j] - 1];
            if (c->hash == h && c->ns == ns && c->key_len == n && memcmp(c->key, key, n) == 0)
                return c;
            j = (j + 1) & (b->n_slots - 1);
        }
    }
    if ((b->n_cols + 1) * 2 > b->n_slots && grow_slots(b) < 0) return NULL;
    if (b->n_cols == b->cap_cols) {
        size_t cap = b->cap_cols ? b->cap_cols * 2 : 64;
        Column *cols = realloc(b->cols, cap * sizeof(Column));
        if (cols == NULL) return NULL;
        b->cols = cols;
        b->cap_cols = cap;
    }
    Column *c = &b->cols[b->n_cols];
    memset(c, 0, sizeof(Column));
    c->ns = ns;
    c->kind = kind;
    c->hash = h;
    c->key_len = n;
    c->key = malloc(n ? n : 1);
    c->validity = calloc((b->cap_rows + 7) / 8 + 1, 1);
    c->values = calloc(b->cap_rows ? b->cap_rows : 1, row_bytes(kind));
    c->last_row = -1;
    if (c->key == NULL || c->validity == NULL || c->values == NULL) {
        free(c->key);
        free(c->validity);
        free(c->values);
        return NULL;
    }
    memcpy(c->key, key, n);
    size_t j = h & (b->n_slots - 1);
    while (b->slots[j]) j = (j + 1) & (b->n_slots - 1);
    b->slots[j] = (int64_t)b->n_cols + 1;
    b->n_cols++;
    return c;
}

/* Room for one more row in every column (new bytes zeroed: null). */
static int add_row(Builder *b) {
    if (b->rows == b->cap_rows) {
        size_t cap = b->cap_rows ? b->cap_rows * 2 : 1024;
        for (size_t i = 0; i < b->n_cols; i++) {
            Column *c = &b->cols[i];
            size_t rb = row_bytes(c->kind);
            uint8_t *v = realloc(c->values, cap * rb);
            if (v == NULL) return -1;
            memset(v + b->cap_rows * rb, 0, (cap - b->cap_rows) * rb);
            c->values = v;
            uint8_t *m = realloc(c->validity, (cap + 7) / 8 + 1);
            if (m == NULL) return -1;
            memset(m + (b->cap_rows + 7) / 8, 0, (cap + 7) / 8 + 1 - (b->cap_rows + 7) / 8);
            c->validity = m;
        }
        b->cap_rows = cap;
    }
    b->rows++;
    return 0;
}

static void set_valid(Column *c, size_t row) {
    c->validity[row >> 3] |= (uint8_t)(1u << (row & 7));
}

#define FAIL(code)         \
    do {                   \
        b->failed = (code); \
        return -1;         \
    } while (0)

/* One string into a string-view column; -1 with b->failed set (1: more text than one chunk's
   32-bit offsets can address, which pyarrow's reader then gets; 2: out of memory). */
static int put_text(Builder *b, Column *c, size_t row, const char *s, size_t n) {
    uint8_t *view = c->values + row * 16;
    if (n > INT32_MAX) FAIL(1);
    int32_t len = (int32_t)n;
    memcpy(view, &len, 4);
    if (n <= 12) {
        memcpy(view + 4, s, n);
    } else {
        int32_t off;
        if (c->prev_len == len && memcmp(b->blob + c->prev_off, s, n) == 0) {
            off = c->prev_off; /* the same text as the row before (a lead id): stored once */
        } else {
            if (b->blob_len + n > INT32_MAX) FAIL(1);
            if (b->blob_len + n > b->blob_cap) {
                size_t cap = b->blob_cap ? b->blob_cap * 2 : 1 << 20;
                while (cap < b->blob_len + n) cap *= 2;
                char *blob = realloc(b->blob, cap);
                if (blob == NULL) FAIL(2);
                b->blob = blob;
                b->blob_cap = cap;
            }
            memcpy(b->blob + b->blob_len, s, n);
            off = (int32_t)b->blob_len;
            b->blob_len += n;
            c->prev_len = len;
            c->prev_off = off;
        }
        int32_t index = 0;
        memcpy(view + 4, s, 4);
        memcpy(view + 8, &index, 4);
        memcpy(view + 12, &off, 4);
    }
    set_valid(c, row);
    return 0;
}

/* ------------------------------------------------------------------ one activity */

typedef struct {
    PyObject *int_keys, *float_keys, *bool_keys; /* frozensets of str (read under the GIL) */
    const char **names;                            /* the typed keys, in a plain table */
    size_t *name_lens;
    int *kinds;
    size_t n_names;
    const char *lead_key;
    size_t lead_key_len;
} Keys;

static int kind_of(const Keys *k, const char *key, size_t n) {
    for (size_t i = 0; i < k->n_names; i++)
        if (k->name_lens[i] == n && memcmp(k->names[i], key, n) == 0) return k->kinds[i];
    return K_TEXT;
}

static int text_or_null(Builder *b, Column *c, size_t row, yyjson_val *v) {
    if (yyjson_is_null(v)) return 0;
    if (!yyjson_is_str(v)) FAIL(1);
    return put_text(b, c, row, yyjson_get_str(v), yyjson_get_len(v));
}

static int has_nul(const char *s, size_t n) { return memchr(s, 0, n) != NULL; }

static int read_data(Builder *b, size_t row, yyjson_val *data) {
    if (yyjson_is_null(data)) return 0;
    if (!yyjson_is_arr(data)) FAIL(1);
    size_t i, max;
    yyjson_val *item;
    yyjson_arr_foreach(data, i, max, item) {
        if (!yyjson_is_obj(item)) FAIL(1);
        yyjson_val *key = NULL, *value = NULL;
        size_t j, jmax;
        yyjson_val *k, *v;
        yyjson_obj_foreach(item, j, jmax, k, v) {
            if (yyjson_equals_str(k, "Key") && key == NULL) {
                key = v;
            } else if (yyjson_equals_str(k, "Value") && value == NULL) {
                value = v;
            } else {
                FAIL(1);
            }
        }
        if (key == NULL || yyjson_is_null(key)) {
            if (value != NULL && !yyjson_is_null(value) && !yyjson_is_str(value)) FAIL(1);
            continue; /* no key: nothing to name a column by */
        }
        if (!yyjson_is_str(key) || has_nul(yyjson_get_str(key), yyjson_get_len(key))) FAIL(1);
        Column *c = column(b, NS_DATA, yyjson_get_str(key), yyjson_get_len(key), K_TEXT);
        if (c == NULL) FAIL(2);
        if (value != NULL && !yyjson_is_null(value) && !yyjson_is_str(value)) FAIL(1);
        if ((size_t)c->last_row == row) continue; /* the first value of a key wins */
        c->last_row = (int64_t)row;
        if (value != NULL && yyjson_is_str(value) && yyjson_get_len(value) > 0) {
            if (put_text(b, c, row, yyjson_get_str(value), yyjson_get_len(value)) < 0) return -1;
        }
    }
    return 0;
}

/* The column of a key met for the first time in this row; NULL, with b->failed set, when out
   of memory or when the row already had that key. */
static Column *first_in_row(Builder *b, int ns, const char *key, size_t n, int kind,
                            size_t row) {
    Column *c = column(b, ns, key, n, kind);
    if (c == NULL) {
        b->failed = 2;
        return NULL;
    }
    if ((size_t)c->last_row == row) {
        b->failed = 1; /* a key twice */
        return NULL;
    }
    c->last_row = (int64_t)row;
    return c;
}

/* first_in_row for an object key as yyjson read it. A key holding NUL is refused: pyarrow's
   reader cuts the name there, and the two parsers must agree. */
static Column *key_column(Builder *b, int ns, yyjson_val *key, int kind, size_t row) {
    if (has_nul(yyjson_get_str(key), yyjson_get_len(key))) {
        b->failed = 1;
        return NULL;
    }
    return first_in_row(b, ns, yyjson_get_str(key), yyjson_get_len(key), kind, row);
}

static int read_fields(Builder *b, size_t row, yyjson_val *fields) {
    if (yyjson_is_null(fields)) return 0;
    if (!yyjson_is_obj(fields)) FAIL(1);
    size_t i, max;
    yyjson_val *k, *v;
    yyjson_obj_foreach(fields, i, max, k, v) {
        Column *c = key_column(b, NS_FIELDS, k, K_TEXT, row);
        if (c == NULL || text_or_null(b, c, row, v) < 0) return -1;
    }
    return 0;
}

static int read_activity(Builder *b, const Keys *keys, yyjson_val *act, yyjson_val *lead) {
    if (!yyjson_is_obj(act)) FAIL(1);
    if (add_row(b) < 0) FAIL(2);
    size_t row = b->rows - 1;
    if (lead != NULL) {
        Column *c = column(b, NS_LEAD, keys->lead_key, keys->lead_key_len, K_TEXT);
        if (c == NULL) FAIL(2);
        if (text_or_null(b, c, row, lead) < 0) return -1;
    }
    size_t i, max;
    yyjson_val *k, *v;
    yyjson_obj_foreach(act, i, max, k, v) {
        int is_data = yyjson_equals_str(k, "Data");
        if (is_data || yyjson_equals_str(k, "ActivityFields")) {
            /* a marker column notes that this row had the key (a second one is refused) */
            if (key_column(b, NS_MARK, k, K_TEXT, row) == NULL) return -1;
            if ((is_data ? read_data(b, row, v) : read_fields(b, row, v)) < 0) return -1;
            continue;
        }
        if (yyjson_equals_strn(k, keys->lead_key, keys->lead_key_len)) FAIL(1);
        int kind = kind_of(keys, yyjson_get_str(k), yyjson_get_len(k));
        Column *c = key_column(b, NS_TOP, k, kind, row);
        if (c == NULL) return -1;
        if (yyjson_is_null(v)) continue;
        switch (kind) {
        case K_TEXT:
            if (text_or_null(b, c, row, v) < 0) return -1;
            break;
        case K_INT:
            if (yyjson_is_sint(v)) {
                int64_t x = yyjson_get_sint(v);
                memcpy(c->values + row * 8, &x, 8);
            } else if (yyjson_is_uint(v) && yyjson_get_uint(v) <= (uint64_t)INT64_MAX) {
                int64_t x = (int64_t)yyjson_get_uint(v);
                memcpy(c->values + row * 8, &x, 8);
            } else {
                FAIL(1);
            }
            set_valid(c, row);
            break;
        case K_FLOAT:
            if (!yyjson_is_num(v)) FAIL(1);
            {
                double x = yyjson_get_num(v);
                memcpy(c->values + row * 8, &x, 8);
            }
            set_valid(c, row);
            break;
        case K_BOOL:
            if (!yyjson_is_bool(v)) FAIL(1);
            c->values[row] = yyjson_get_bool(v) ? 1 : 0;
            set_valid(c, row);
            break;
        }
    }
    return 0;
}

static int read_line(Builder *b, const Keys *keys, const char *s, size_t n, int pages,
                     yyjson_alc *alc) {
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) n--;
    size_t start = 0;
    while (start < n && (s[start] == ' ' || s[start] == '\t' || s[start] == '\r')) start++;
    if (start == n) return 0; /* a blank line: nothing, as for the Arrow reader */
    yyjson_read_err err;
    yyjson_doc *doc = yyjson_read_opts((char *)s + start, n - start, 0, alc, &err);
    if (doc == NULL) FAIL(err.code == YYJSON_READ_ERROR_MEMORY_ALLOCATION ? 2 : 1);
    yyjson_val *root = yyjson_doc_get_root(doc);
    int rc = 0;
    if (!pages) {
        rc = read_activity(b, keys, root, NULL);
    } else if (!yyjson_is_obj(root)) {
        b->failed = 1;
        rc = -1;
    } else {
        yyjson_val *acts = NULL, *lead = NULL;
        size_t i, max;
        yyjson_val *k, *v;
        yyjson_obj_foreach(root, i, max, k, v) {
            if (yyjson_equals_str(k, "ProspectActivities")) {
                if (acts != NULL) rc = -1;
                acts = v;
            } else if (yyjson_equals_strn(k, keys->lead_key, keys->lead_key_len)) {
                if (lead != NULL) rc = -1;
                lead = v;
            }
        }
        if (rc < 0 || (acts != NULL && !yyjson_is_arr(acts) && !yyjson_is_null(acts)) ||
            (lead != NULL && !yyjson_is_str(lead) && !yyjson_is_null(lead))) {
            b->failed = 1;
            rc = -1;
        }
        if (lead != NULL && yyjson_is_str(lead)) b->has_lead = 1;
        if (rc == 0 && acts != NULL && yyjson_is_arr(acts)) {
            yyjson_arr_foreach(acts, i, max, v) {
                if (read_activity(b, keys, v, lead) < 0) {
                    rc = -1;
                    break;
                }
            }
        }
    }
    yyjson_doc_free(doc);
    return rc;
}

static void free_builder(Builder *b) {
    for (size_t i = 0; i < b->n_cols; i++) {
        free(b->cols[i].key);
        free(b->cols[i].validity);
        free(b->cols[i].values);
    }
    free(b->cols);
    free(b->slots);
    free(b->blob);
}

/* Bits of a byte-per-row boolean column -> an Arrow bitmap, in place. */
static void pack_bools(uint8_t *values, size_t rows) {
    for (size_t i = 0; i < rows; i++) {
        uint8_t bit = values[i];
        if (i % 8 == 0) values[i / 8] = 0;
        values[i / 8] |= (uint8_t)(bit << (i % 8));
    }
}

static size_t count_nulls(const uint8_t *validity, size_t rows) {
    size_t set = 0;
    for (size_t i = 0; i < rows; i++) set += (validity[i >> 3] >> (i & 7)) & 1;
    return rows - set;
}

static int load_keys(Keys *k, PyObject *sets[3]) {
    Py_ssize_t total = 0;
    for (int s = 0; s < 3; s++) total += PySet_Size(sets[s]);
    k->names = calloc((size_t)total + 1, sizeof(char *));
    k->name_lens = calloc((size_t)total + 1, sizeof(size_t));
    k->kinds = calloc((size_t)total + 1, sizeof(int));
    if (!k->names || !k->name_lens || !k->kinds) {
        PyErr_NoMemory();
        return -1;
    }
    static const int kinds[3] = {K_INT, K_FLOAT, K_BOOL};
    for (int s = 0; s < 3; s++) {
        PyObject *it = PyObject_GetIter(sets[s]), *item;
        if (it == NULL) return -1;
        while ((item = PyIter_Next(it)) != NULL) {
            Py_ssize_t n;
            const char *name = PyUnicode_AsUTF8AndSize(item, &n);
            Py_DECREF(item); /* the frozenset keeps the str (and its UTF-8) alive */
            if (name == NULL) {
                Py_DECREF(it);
                return -1;
            }
            k->names[k->n_names] = name;
            k->name_lens[k->n_names] = (size_t)n;
            k->kinds[k->n_names] = kinds[s];
            k->n_names++;
        }
        Py_DECREF(it);
        if (PyErr_Occurred()) return -1;
    }
    return 0;
}

/* The same memory cut to `size` bytes (kept as it is if the C library cannot). */
static void *shrunk(void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);
    return q ? q : p;
}

static PyObject *result(Builder *b) {
    PyObject *cols = PyList_New(0);
    if (cols == NULL) return NULL;
    for (size_t i = 0; i < b->n_cols; i++) {
        Column *c = &b->cols[i];
        if (c->ns == NS_MARK || (c->ns == NS_LEAD && !b->has_lead))
            continue; /* the "Data"/"ActivityFields" markers, or a lead column of nulls */
        size_t rows = b->rows;
        size_t nulls = count_nulls(c->validity, rows);
        if (c->kind == K_BOOL) pack_bools(c->values, rows);
        PyObject *key = PyUnicode_DecodeUTF8(c->key, (Py_ssize_t)c->key_len, "strict");
        PyObject *validity = NULL;
        if (nulls) {
            c->validity = shrunk(c->validity, (rows + 7) / 8);
            validity = buffer_from((char *)c->validity, (Py_ssize_t)((rows + 7) / 8));
        } else {
            free(c->validity);
            validity = Py_NewRef(Py_None);
        }
        c->validity = NULL;
        size_t size = c->kind == K_BOOL ? (rows + 7) / 8 : rows * row_bytes(c->kind);
        c->values = shrunk(c->values, size); /* the frame keeps these: no spare capacity */
        PyObject *values = buffer_from((char *)c->values, (Py_ssize_t)size);
        c->values = NULL;
        PyObject *tuple = NULL;
        if (key && validity && values)
            tuple = Py_BuildValue("(iOiOOn)", c->ns, key, c->kind, validity, values,
                                  (Py_ssize_t)nulls);
        Py_XDECREF(key);
        Py_XDECREF(validity);
        Py_XDECREF(values);
        if (tuple == NULL || PyList_Append(cols, tuple) < 0) {
            Py_XDECREF(tuple);
            Py_DECREF(cols);
            return NULL;
        }
        Py_DECREF(tuple);
    }
    if (b->blob == NULL && (b->blob = malloc(1)) == NULL) { /* pyarrow wants a pointer */
        Py_DECREF(cols);
        return PyErr_NoMemory();
    }
    b->blob = shrunk(b->blob, b->blob_len);
    PyObject *blob = buffer_from(b->blob, (Py_ssize_t)b->blob_len);
    b->blob = NULL;
    if (blob == NULL) {
        Py_DECREF(cols);
        return NULL;
    }
    return Py_BuildValue("(nNN)", (Py_ssize_t)b->rows, blob, cols);
}

static PyObject *parse(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer input;
    int pages;
    PyObject *sets[3];
    const char *lead_key;
    Py_ssize_t lead_key_len;
    if (!PyArg_ParseTuple(args, "y*pO!O!O!s#", &input, &pages, &PyFrozenSet_Type, &sets[0],
                          &PyFrozenSet_Type, &sets[1], &PyFrozenSet_Type, &sets[2], &lead_key,
                          &lead_key_len))
        return NULL;
    Keys keys = {0};
    keys.lead_key = lead_key;
    keys.lead_key_len = (size_t)lead_key_len;
    Builder b = {0};
    PyObject *out = NULL;
    if (load_keys(&keys, sets) < 0) goto done;

    Py_BEGIN_ALLOW_THREADS
    yyjson_alc *alc = yyjson_alc_dyn_new();
    if (alc == NULL) {
        b.failed = 2;
    } else {
        const char *s = input.buf, *end = s + input.len;
        while (s < end && !b.failed) {
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            const char *line_end = nl ? nl : end;
            if (read_line(&b, &keys, s, (size_t)(line_end - s), pages, alc) < 0 && !b.failed)
                b.failed = 1;
            s = line_end + 1;
        }
        yyjson_alc_dyn_free(alc);
    }
    Py_END_ALLOW_THREADS

    if (b.failed == 2) {
        PyErr_NoMemory();
    } else if (b.failed) {
        out = Py_NewRef(Py_None);
    } else {
        out = result(&b);
    }
done:
    free_builder(&b);
    free(keys.names);
    free(keys.name_lens);
    free(keys.kinds);
    PyBuffer_Release(&input);
    return out;
}

static PyMethodDef methods[] = {
    {"parse", parse, METH_VARARGS,
     "parse(buffer, pages, int_keys, float_keys, bool_keys, lead_key) -> None or "
     "(rows, blob, columns): one chunk of JSON lines -> Arrow column buffers."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastjson",
    "LeadSquared activity JSON -> Arrow column buffers (the fast path of frames).", -1, methods,
};

/* The Python side refuses a module whose INTERFACE differs from the one it was written for
 * (a stale build left by an editable install); raise it with every change to parse(). */
#define FASTJSON_INTERFACE 2

PyMODINIT_FUNC PyInit__fastjson(void) {
    if (PyType_Ready(&BufferType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddIntConstant(m, "INTERFACE", FASTJSON_INTERFACE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
