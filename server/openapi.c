#include "openapi.h"

void openapi_serve(struct api_call *c)
{
	api_respond_errorf(c, STATUS_NOT_FOUND, "the server could not find the requested resource");
}
