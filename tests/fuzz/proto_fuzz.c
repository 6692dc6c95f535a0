/*
 * Fuzz target for server/proto (Kubernetes protobuf bodies to JSON) and
 * lib/protobuf. The seed corpus holds bodies captured from kubectl 1.32.
 * Checks that nothing crashes or leaks, that success comes with an object
 * (whose kind is set) and no message, and failure with a message and no
 * object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "lib/json.h"
#include "server/proto.h"

/* server/ is not in the fuzz library: build the decoder into this target. */
#include "server/proto.c"
#include "server/gen/proto_tables.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *out = NULL;
	char *err = NULL;
	int ret = proto_decode_object(data, size, &out, &err);

	if (ret) {
		if (ret != -EINVAL || out || !err)
			abort();
	} else {
		if (!cJSON_IsObject(out) || err || !json_get_str(out, "kind", NULL))
			abort();
		free(json_print(out));
	}
	cJSON_Delete(out);
	free(err);
	return 0;
}
