#include "infer_unit_test.h"
#include "infer_image.h"


static int mp(const char *ctype, const char *body, size_t len,
    infer_multipart_part_t *part);


static char  err[INFER_ERRLEN];


static int
mp(const char *ctype, const char *body, size_t len,
    infer_multipart_part_t *part)
{
    err[0] = '\0';

    return infer_multipart_file((const unsigned char *) ctype, strlen(ctype),
                                (const unsigned char *) body, len, part, err,
                                sizeof(err));
}


#define BODY(s)  s, sizeof(s) - 1


void
infer_test_multipart(void)
{
    infer_multipart_part_t  part;
    static const char       curl[] =
        "--------------------------d74496d66958873e\r\n"
        "Content-Disposition: form-data; name=\"image\"; "
        "filename=\"cat.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n"
        "\r\n"
        "\xff\xd8\r\n--not-it\r\n\xff\xd9\r\n"
        "--------------------------d74496d66958873e--\r\n";

    /* what curl -F image=@cat.jpg sends: binary data with CRLFs inside */

    CHECK(mp("multipart/form-data; boundary=------------------------"
             "d74496d66958873e", BODY(curl), &part) == INFER_OK);
    CHECK(part.len == 16);
    CHECK(part.data != NULL && memcmp(part.data, "\xff\xd8\r\n--not-it",
                                      12) == 0);
    CHECK(part.type_len == 10 && memcmp(part.type, "image/jpeg", 10) == 0);

    /* quoted boundary, a preamble, a field before the file, any case */

    CHECK(mp("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b\"",
             BODY("preamble\r\n--a b\r\n"
                  "content-disposition: form-data; name=\"k\"\r\n\r\n"
                  "v\r\n--a b\r\n"
                  "Content-Disposition: form-data; name=\"f\"; "
                  "filename=\"x.png\"\r\n\r\n"
                  "PNGDATA\r\n--a b--"), &part) == INFER_OK);
    CHECK(part.len == 7 && memcmp(part.data, "PNGDATA", 7) == 0);
    CHECK(part.type == NULL);

    /* one part without a filename is the file; two are not */

    CHECK(mp("multipart/form-data; boundary=b",
             BODY("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n"
                  "DATA\r\n--b--\r\n"), &part) == INFER_OK);
    CHECK(part.len == 4);

    CHECK(mp("multipart/form-data; boundary=b",
             BODY("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n"
                  "1\r\n--b\r\nContent-Disposition: form-data; name=\"y\"\r\n"
                  "\r\n2\r\n--b--\r\n"), &part) == INFER_EINVAL);
    CHECK_STR(err, "the multipart body has no file part");

    CHECK(mp("multipart/form-data; boundary=b",
             BODY("--b\r\nContent-Disposition: form-data; filename=\"1\"\r\n"
                  "\r\n1\r\n--b\r\nContent-Disposition: form-data; "
                  "filename=\"2\"\r\n\r\n2\r\n--b--\r\n"), &part)
          == INFER_EINVAL);
    CHECK_STR(err, "send one file: the multipart body has more");

    /* an empty part: no headers */

    CHECK(mp("multipart/form-data; boundary=b", BODY("--b\r\n\r\n\r\n--b--"),
             &part) == INFER_OK);
    CHECK(part.len == 0);

    /* refusals */

    CHECK(mp("multipart/form-data", BODY("--b\r\n\r\nx\r\n--b--"), &part)
          == INFER_EINVAL);
    CHECK(mp("multipart/form-data; boundary=", BODY("--\r\n"), &part)
          == INFER_EINVAL);
    CHECK(mp("multipart/form-data; boundary=\"b", BODY("--b"), &part)
          == INFER_EINVAL);
    CHECK(mp("multipart/form-data; boundary=b", BODY("no boundary"), &part)
          == INFER_EINVAL);
    CHECK_STR(err, "the multipart body has no boundary");
    CHECK(mp("multipart/form-data; boundary=b",
             BODY("--b\r\nContent-Type: image/png\r\n\r\ntruncated"), &part)
          == INFER_EINVAL);
    CHECK_STR(err, "the multipart body is truncated: no closing boundary");
    CHECK(mp("multipart/form-data; boundary=b",
             BODY("--b\r\nContent-Type image/png\r\n\r\nx\r\n--b--"), &part)
          == INFER_EINVAL);
    CHECK(mp("multipart/form-data; boundary=b", BODY("--bX"), &part)
          == INFER_EINVAL);
    CHECK(mp("multipart/form-data; boundary=b", BODY("--b\r\nA: b"), &part)
          == INFER_EINVAL);
    CHECK(mp("multipart/form-data; boundary=b", "", 0, &part)
          == INFER_EINVAL);
}
