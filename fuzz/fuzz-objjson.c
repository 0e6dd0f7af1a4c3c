/* Fuzz target for the JSON codec of CIM objects (objjson.c).
 *
 * The input is read as JSON (any value), then as a class definition and as
 * an instance of a few fixed classes that cover every type, arrays and
 * embedded objects. An instance that reads must write back, and what it
 * writes must be a fixed point: read again and written again, it gives the
 * same text. An object of scalar members read as the daemon's flat
 * PublishEvent path reads it (objjson_instance_from_scalars) must give what
 * the jansson path gives. A mismatch aborts, so the fuzzer reports it. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "class.h"
#include "instance.h"
#include "mem.h"
#include "names.h"
#include "objjson.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const class_texts[] = {
        "{\"__CLASS\": \"Fz_Inner\", \"properties\": {\"Name\": {\"type\": \"string\", \"key\": "
        "true},"
        " \"V\": {\"type\": \"real32\"}, \"T\": {\"type\": \"datetime\"}}}",
        "{\"__CLASS\": \"Fz_All\", \"properties\": {\"Id\": {\"type\": \"uint64\", \"key\": true},"
        " \"S\": {\"type\": \"string\"}, \"B\": {\"type\": \"boolean\"}, \"I8\": {\"type\": "
        "\"sint8\"},"
        " \"U16\": {\"type\": \"uint16\"}, \"I32\": {\"type\": \"sint32\"}, \"I64\": {\"type\": "
        "\"sint64\"},"
        " \"R64\": {\"type\": \"real64\"}, \"DT\": {\"type\": \"datetime\"}, \"Ref\": {\"type\": "
        "\"reference\"},"
        " \"Obj\": {\"type\": \"object\"}, \"AS\": {\"type\": \"string\", \"array\": true},"
        " \"AU\": {\"type\": \"uint64\", \"array\": true}, \"AO\": {\"type\": \"object\", "
        "\"array\": true}}}",
};

static CimClass *classes[2];

static int resolve(void *userdata, const char *name, CimClass **ret, Error *err) {
        (void)userdata;
        for (size_t i = 0; i < 2; i++)
                if (classes[i] && name_equal(classes[i]->name, name)) {
                        *ret = class_ref(classes[i]);
                        return 0;
                }
        return error_set(err, WBEM_E_INVALID_CLASS, "no class %s", name);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void)argc;
        (void)argv;
        for (size_t i = 0; i < 2; i++) {
                json_t *j = json_loads(class_texts[i], 0, NULL);
                CimClass *def = NULL;
                if (!j || objjson_class_from_json(j, NULL, NULL, &def, NULL) != 0 ||
                    class_derive(def, NULL, &classes[i], NULL) != 0)
                        abort();
                class_unref(def);
                json_decref(j);
        }
        return 0;
}

/* Write i; 0 with *ret, or -ENOMEM. Anything else is a bug: an instance
 * read from JSON can always be written. */
static int write_text(const Instance *i, char **ret) {
        json_t *j = NULL;
        int r = objjson_instance_to_json(i, &(ObjJsonOptions){ .host = "h" }, &j, NULL);
        if (r == 0) {
                r = objjson_dump(j, JSON_COMPACT, ret);
                json_decref(j);
        }
        if (r != 0 && r != -ENOMEM)
                abort();
        return r;
}

static void check_instance(json_t *j) {
        Instance *i1 = NULL, *i2 = NULL;
        char *t1 = NULL, *t2 = NULL;
        json_t *j2 = NULL;

        if (objjson_instance_from_json(j, resolve, NULL, &i1, NULL) != 0)
                return;
        if (write_text(i1, &t1) != 0)
                goto done;
        j2 = json_loads(t1, 0, NULL);
        if (!j2)
                abort();
        if (objjson_instance_from_json(j2, resolve, NULL, &i2, NULL) != 0)
                abort();
        if (write_text(i2, &t2) != 0)
                goto done;
        if (strcmp(t1, t2) != 0)
                abort();
done:
        mem_free(t1);
        mem_free(t2);
        if (j2)
                json_decref(j2);
        instance_unref(i1);
        instance_unref(i2);
}

/* objjson_instance_from_scalars() on an object whose members are all
 * scalars (no real) must read what objjson_instance_from_json() reads: the
 * same status and message, or instances that write the same text. */
static void check_scalars(json_t *j) {
        ObjJsonScalar m[64];
        size_t n = 0, key_len;
        const char *key;
        json_t *v;

        if (!json_is_object(j) || json_object_size(j) > 64)
                return;
        json_object_keylen_foreach(j, key, key_len, v) {
                ObjJsonScalar *sc = &m[n++];
                *sc = (ObjJsonScalar){ .name = key, .name_len = key_len };
                if (json_is_string(v)) {
                        sc->kind = OBJJSON_SCALAR_STRING;
                        sc->text = json_string_value(v);
                        sc->len = json_string_length(v);
                } else if (json_is_integer(v)) {
                        sc->kind = OBJJSON_SCALAR_INTEGER;
                        sc->integer = (int64_t)json_integer_value(v);
                } else if (json_is_true(v)) {
                        sc->kind = OBJJSON_SCALAR_TRUE;
                } else if (json_is_false(v)) {
                        sc->kind = OBJJSON_SCALAR_FALSE;
                } else if (json_is_null(v)) {
                        sc->kind = OBJJSON_SCALAR_NULL;
                } else {
                        return;
                }
        }
        Instance *a = NULL, *b = NULL;
        Error ea = { 0 }, eb = { 0 };
        int ra = objjson_instance_from_json(j, resolve, NULL, &a, &ea);
        int rb = objjson_instance_from_scalars(m, n, resolve, NULL, &b, &eb);
        if (ra == -ENOMEM || rb == -ENOMEM)
                goto done;
        if (ra != rb || strcmp(ea.message, eb.message) != 0)
                abort();
        if (ra == 0) {
                char *ta = NULL, *tb = NULL;
                if (write_text(a, &ta) == 0 && write_text(b, &tb) == 0 && strcmp(ta, tb) != 0)
                        abort();
                mem_free(ta);
                mem_free(tb);
        }
done:
        instance_unref(a);
        instance_unref(b);
}

static void check_class(json_t *j) {
        CimClass *def = NULL;
        json_t *out = NULL;
        if (objjson_class_from_json(j, resolve, NULL, &def, NULL) != 0)
                return;
        int r = objjson_class_to_json(def, NULL, &out, NULL);
        if (r != 0 && r != -ENOMEM)
                abort();
        if (out)
                json_decref(out);
        class_unref(def);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (!j)
                return 0;
        check_class(j);
        check_instance(j);
        check_scalars(j);
        json_decref(j);
        return 0;
}
